//! `GET /dead-letters`: the dead letters of the bus's vhost, grouped; `POST
//! /dead-letters/replay`: some of them back into their service's queue.
//!
//! Staff only: a listing shows the messages the services gave up on (customers' orders among
//! them), and a replay moves messages, recorded in the audit log under the staff member's name
//! (their token's subject). The [`Staff`] extractor comes before the body in [`replay`], so a
//! request without a staff token is refused before its body is read.

use actix_web::{HttpResponse, ResponseError, http::StatusCode, web};
use serde::Deserialize;
use serde_json::Value;
use service_kit::{ApiError, Staff};
use shopctl::{DeadLetterQueue, Selector};

use crate::dead_letters::DeadLetters;

/// The most message ids one replay may name.
pub const MAX_IDS: usize = 1_000;

/// The longest message id: an AMQP short string.
const MAX_ID_BYTES: usize = 255;

/// Which dead letters to replay: those of `queue` named by `ids`, or all of them.
///
/// The fields are read as any JSON and checked by [`ReplayRequest::parse`], so that a mistyped
/// one is a 422 naming it (serde's own message would only give a line and column); an unknown
/// field is a 400 naming it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayRequest {
    /// The dead-letter queue, `billing.dead`, or its service's queue, `billing`. Required.
    #[schema(value_type = String, example = "billing.dead")]
    #[serde(default)]
    pub queue: Value,
    /// The message ids to replay (a group's `message_ids`, or one); every copy of an id.
    #[schema(value_type = Option<Vec<String>>)]
    #[serde(default)]
    pub ids: Value,
    /// `true` to replay every dead letter of the queue, those without a message id included.
    #[schema(value_type = Option<bool>)]
    #[serde(default)]
    pub all: Value,
}

impl ReplayRequest {
    /// The queue and the selector, or a 422 naming the field at fault.
    pub fn parse(self) -> Result<(DeadLetterQueue, Selector), ApiError> {
        let queue = match self.queue {
            Value::String(queue) => queue,
            Value::Null => return Err(ApiError::validation("queue", "is required")),
            _ => {
                return Err(ApiError::validation(
                    "queue",
                    "must be a string: a dead-letter queue or its service's queue",
                ));
            }
        };
        let queue: DeadLetterQueue = queue
            .trim()
            .parse()
            .map_err(|error: shopctl::Error| ApiError::validation("queue", error.to_string()))?;
        let all = match self.all {
            Value::Null => false,
            Value::Bool(all) => all,
            _ => return Err(ApiError::validation("all", "must be true or false")),
        };
        let selector = match (self.ids, all) {
            (Value::Null, true) => Selector::All,
            (Value::Null, false) => {
                return Err(ApiError::validation(
                    "ids",
                    "give the message ids to replay, or \"all\": true",
                ));
            }
            (_, true) => {
                return Err(ApiError::validation(
                    "all",
                    "give either ids or all, not both",
                ));
            }
            (ids, false) => Selector::Ids(parse_ids(ids)?),
        };
        Ok((queue, selector))
    }
}

fn parse_ids(ids: Value) -> Result<Vec<String>, ApiError> {
    let not_ids = || ApiError::validation("ids", "must be a list of message ids (strings)");
    let Value::Array(ids) = ids else {
        return Err(not_ids());
    };
    let ids = ids
        .into_iter()
        .map(|id| match id {
            Value::String(id) => Ok(id),
            _ => Err(not_ids()),
        })
        .collect::<Result<Vec<String>, ApiError>>()?;
    if ids.is_empty() {
        return Err(ApiError::validation("ids", "must name at least one id"));
    }
    if ids.len() > MAX_IDS {
        return Err(ApiError::validation(
            "ids",
            format!("at most {MAX_IDS} ids at a time"),
        ));
    }
    if ids
        .iter()
        .any(|id| id.trim().is_empty() || id.len() > MAX_ID_BYTES)
    {
        return Err(ApiError::validation(
            "ids",
            format!("every id must be a non-blank message id of at most {MAX_ID_BYTES} bytes"),
        ));
    }
    Ok(ids)
}

/// Why a dead-letter request failed.
#[derive(Debug, thiserror::Error)]
pub enum DeadLetterError {
    /// Input the client can fix (400 or 422, naming the field), or an unexpected failure (500,
    /// the cause logged only): the kit's errors.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The broker or its management API could not be reached or failed: its problem, not the
    /// client's, and possibly passing, hence 503.
    #[error("{message}")]
    Unavailable {
        message: &'static str,
        #[source]
        source: shopctl::Error,
    },
}

impl From<shopctl::Error> for DeadLetterError {
    fn from(error: shopctl::Error) -> Self {
        use shopctl::Error;
        let unavailable = |message, source| Self::Unavailable { message, source };
        match error {
            Error::NotADeadLetterQueue(_) => {
                ApiError::validation("queue", error.to_string()).into()
            }
            // A replay needs both the dead-letter queue and the service's queue.
            Error::NoSuchQueue(ref queue) => ApiError::validation(
                "queue",
                format!("there is no queue {queue:?} in the bus's vhost"),
            )
            .into(),
            Error::Connect { .. } => unavailable("the broker could not be reached", error),
            Error::Management { .. } => {
                unavailable("the RabbitMQ management API could not be read", error)
            }
            // Once messages move, a failure goes into the replay's record instead
            // (`stopped_early`): an error here means nothing was moved.
            Error::Broker { .. } => unavailable(
                "the broker failed while reading the dead letters; nothing was moved",
                error,
            ),
            Error::Audit { .. } => ApiError::Unexpected(
                anyhow::Error::new(error)
                    .context("Dead letters were replayed, but the audit line was not written"),
            )
            .into(),
            // shopctl's token signing; listing and replaying never raise it.
            Error::Key { .. } => ApiError::Unexpected(
                anyhow::Error::new(error).context("shopctl failed with a signing key error"),
            )
            .into(),
        }
    }
}

impl ResponseError for DeadLetterError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Api(error) => error.status_code(),
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Api(error) => error.error_response(),
            Self::Unavailable { message, source } => {
                // The cause (host, queue, AMQP error) goes to the log; the client gets the kit's
                // error shape.
                tracing::warn!(error = ?source, "a dead-letter request failed");
                HttpResponse::build(self.status_code()).json(serde_json::json!({
                    "error": "unavailable",
                    "message": message,
                }))
            }
        }
    }
}

/// Every dead-letter queue of the bus's vhost with its dead letters grouped by original routing
/// key and reason: count, oldest, newest, message ids.
///
/// Staff only. Reads every message and gives it back in place (as `shopctl dead list`).
#[utoipa::path(
    get,
    path = "/dead-letters",
    tag = "dead letters",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The dead-letter queues of the bus's vhost, each with its groups", body = crate::dead_letters::Listing),
        (status = 401, description = "No bearer token, or one refused (`WWW-Authenticate` says why)", body = service_kit::api_error::ErrorBody),
        (status = 403, description = "A valid token that is not a staff token", body = service_kit::api_error::ErrorBody),
        (status = 503, description = "The broker or its management API could not be reached", body = service_kit::api_error::ErrorBody)
    )
)]
pub async fn list(
    _staff: Staff,
    dead_letters: web::Data<DeadLetters>,
) -> Result<HttpResponse, DeadLetterError> {
    let listing = dead_letters.list().await?;
    Ok(HttpResponse::Ok().json(listing))
}

/// Replays dead letters of one queue into its service's queue, at attempt 1, as `shopctl dead
/// replay` does.
///
/// Staff only. The record appended to the audit log names the staff member (the token's
/// subject) as its `operator`. Naming ids no longer there replays nothing (200, count 0).
#[utoipa::path(
    post,
    path = "/dead-letters/replay",
    tag = "dead letters",
    security(("bearer" = [])),
    request_body(content = ReplayRequest, description = "`{\"queue\", \"ids\": [...]}` or `{\"queue\", \"all\": true}`"),
    responses(
        (status = 200, description = "What was replayed, as recorded in the audit log", body = crate::dead_letters::Replayed),
        (status = 400, description = "A body that is not such JSON (names the field)", body = service_kit::api_error::ErrorBody),
        (status = 401, description = "No bearer token, or one refused (`WWW-Authenticate` says why)", body = service_kit::api_error::ErrorBody),
        (status = 403, description = "A valid token that is not a staff token", body = service_kit::api_error::ErrorBody),
        (status = 422, description = "Not a dead-letter queue, no such queue, or no valid choice of ids or all (`field` names it)", body = service_kit::api_error::ErrorBody),
        (status = 503, description = "The broker or its management API could not be reached", body = service_kit::api_error::ErrorBody)
    )
)]
pub async fn replay(
    staff: Staff,
    dead_letters: web::Data<DeadLetters>,
    request: web::Json<ReplayRequest>,
) -> Result<HttpResponse, DeadLetterError> {
    let (queue, selector) = request.into_inner().parse()?;
    let replayed = dead_letters.replay(&staff.name, queue, selector).await?;
    Ok(HttpResponse::Ok().json(replayed))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(body: serde_json::Value) -> Result<(DeadLetterQueue, Selector), (u16, String)> {
        let request: ReplayRequest =
            serde_json::from_value(body).map_err(|e| (400, e.to_string()))?;
        request.parse().map_err(|error| {
            let status = error.status_code().as_u16();
            match error {
                ApiError::Validation { field, .. } => (status, field),
                other => (status, other.to_string()),
            }
        })
    }

    #[test]
    fn a_queue_is_the_dead_letter_queue_or_its_service() {
        for name in ["billing.dead", "billing", " billing "] {
            let (queue, selector) = parse(json!({"queue": name, "all": true})).unwrap();
            assert_eq!(queue.name(), "billing.dead");
            assert_eq!(selector, Selector::All);
        }
        let (_, selector) = parse(json!({"queue": "billing", "ids": ["a", "b"]})).unwrap();
        assert_eq!(selector, Selector::Ids(vec!["a".into(), "b".into()]));
        // `"all": false` beside ids says nothing more.
        let (_, selector) = parse(json!({"queue": "billing", "ids": ["a"], "all": false})).unwrap();
        assert_eq!(selector, Selector::Ids(vec!["a".into()]));
    }

    #[test]
    fn bad_choices_are_refused_naming_the_field() {
        let refused = |body| parse(body).unwrap_err();
        assert_eq!(
            refused(json!({"queue": "billing.retry.50ms", "all": true})),
            (422, "queue".into())
        );
        assert_eq!(
            refused(json!({"queue": "", "all": true})),
            (422, "queue".into())
        );
        assert_eq!(refused(json!({"queue": "billing"})), (422, "ids".into()));
        assert_eq!(
            refused(json!({"queue": "billing", "all": false})),
            (422, "ids".into())
        );
        assert_eq!(
            refused(json!({"queue": "billing", "ids": []})),
            (422, "ids".into())
        );
        assert_eq!(
            refused(json!({"queue": "billing", "ids": [" "]})),
            (422, "ids".into())
        );
        assert_eq!(
            refused(json!({"queue": "billing", "ids": ["x".repeat(256)]})),
            (422, "ids".into())
        );
        let too_many: Vec<String> = (0..=MAX_IDS).map(|i| i.to_string()).collect();
        assert_eq!(
            refused(json!({"queue": "billing", "ids": too_many})),
            (422, "ids".into())
        );
        assert_eq!(
            refused(json!({"queue": "billing", "ids": ["a"], "all": true})),
            (422, "all".into())
        );
    }

    #[test]
    fn an_unknown_field_cannot_be_read() {
        let (status, message) = parse(json!({"queue": "billing", "id": "a"})).unwrap_err();
        assert_eq!(status, 400);
        assert!(message.contains("`id`"), "{message}");
    }

    #[test]
    fn broker_trouble_is_a_503_and_a_missing_queue_a_422_naming_it() {
        let missing = DeadLetterError::from(shopctl::Error::NoSuchQueue("billing".into()));
        assert_eq!(missing.status_code(), StatusCode::UNPROCESSABLE_ENTITY);
        let management = DeadLetterError::from(shopctl::Error::Management {
            vhost: "/".into(),
            source: event_bus::management::ManagementError::InvalidUrl {
                url: "x".into(),
                source: None,
            },
        });
        assert_eq!(management.status_code(), StatusCode::SERVICE_UNAVAILABLE);
        let audit = DeadLetterError::from(shopctl::Error::Audit {
            path: "data/audit.log".into(),
            source: std::io::Error::other("read-only"),
        });
        assert_eq!(audit.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
