//! `GET /dead-letters`: the dead letters of the bus's vhost, grouped; `POST
//! /dead-letters/replay`: some of them back into their service's queue.
//!
//! Staff only: a listing shows the messages the services gave up on (customers' orders among
//! them), and a replay moves messages, recorded in the audit log under the staff member's name
//! (their token's subject). The [`Staff`] extractor comes before the body in [`replay`], so a
//! request without a staff token is refused before its body is read.

mod replay_request;

use actix_web::{HttpResponse, ResponseError, http::StatusCode, web};
use service_kit::{ApiError, Staff};

use replay_request::ReplayRequest;

use crate::dead_letters::DeadLetters;

/// Why a dead-letter request failed.
#[derive(Debug, thiserror::Error)]
pub enum DeadLetterError {
    /// Input the client can fix (400 or 422, naming the field), a queue that is not there (404),
    /// or an unexpected failure (500, the cause logged only): the kit's errors.
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
            // A replay needs both the dead-letter queue and the service's queue. A 404, not a 422:
            // the request is valid (the document allows any such name), what it names is not
            // there.
            Error::NoSuchQueue(ref queue) => {
                ApiError::not_found(format!("there is no queue {queue:?} in the bus's vhost"))
                    .into()
            }
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
            // shopctl's token signing and broker provisioning; listing and replaying never
            // raise them.
            Error::Key { .. } | Error::Provision { .. } | Error::Secret { .. } => {
                ApiError::Unexpected(
                    anyhow::Error::new(error).context("shopctl failed outside dead letters"),
                )
                .into()
            }
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
    request_body(content = ReplayRequest, description = "`{\"queue\", \"ids\": [...]}` or `{\"queue\", \"all\": true}`: exactly what the schema allows is read (see `ReplayRequest`)"),
    responses(
        (status = 200, description = "What was replayed, as recorded in the audit log", body = crate::dead_letters::Replayed),
        (status = 400, description = "A body that is not such JSON, or has a field other than `queue`, `ids` and `all` (names it)", body = service_kit::api_error::ErrorBody),
        (status = 401, description = "No bearer token, or one refused (`WWW-Authenticate` says why)", body = service_kit::api_error::ErrorBody),
        (status = 403, description = "A valid token that is not a staff token", body = service_kit::api_error::ErrorBody),
        (status = 404, description = "The dead-letter queue or its service's queue is not in the bus's vhost", body = service_kit::api_error::ErrorBody),
        (status = 413, description = "A body over 64 KiB: the schema allows larger ones (1,000 ids of 255 characters), JSON Schema having no bound on a body's size", body = service_kit::api_error::ErrorBody),
        (status = 422, description = "A body the schema refuses: `queue` missing, mistyped or not a dead-letter queue's or service queue's name, no valid choice of `ids` or `all` (`field` names it)", body = service_kit::api_error::ErrorBody),
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
    use super::*;

    #[test]
    fn broker_trouble_is_a_503_and_a_missing_queue_a_404() {
        let missing = DeadLetterError::from(shopctl::Error::NoSuchQueue("billing".into()));
        assert_eq!(missing.status_code(), StatusCode::NOT_FOUND);
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
