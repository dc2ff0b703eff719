//! The one error type every handler returns, and the extractor configurations that make
//! actix-web report malformed input with the same JSON shape.
//!
//! The rule: an answer's body is always `{"error": "<kind>", "message": "..."}` (plus `"field"`
//! for validation errors). Client mistakes say what was wrong; anything unexpected is a 500 whose
//! body says nothing more than `internal error`, while the log gets the whole cause chain.

use actix_web::error::{JsonPayloadError, PathError, PayloadError, QueryPayloadError};
use actix_web::http::StatusCode;
use actix_web::http::header::{RETRY_AFTER, WWW_AUTHENTICATE};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use serde::Serialize;
use utoipa::ToSchema;

/// The largest JSON body a handler accepts. The shop's requests are small; anything larger is a
/// mistake or an attack, and is refused before it is buffered.
pub const JSON_LIMIT: usize = 64 * 1024;

/// What a handler can fail with. Return `Err(ApiError::…)` (or use `?` on an
/// `anyhow::Result`, after `.context("…")`) and the response is built here, once.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Well-formed input that breaks a rule of the domain → 422.
    #[error("{field}: {message}")]
    Validation { field: String, message: String },
    /// Input that cannot be read at all (syntax, types, content type) → 400.
    #[error("{0}")]
    BadRequest(String),
    /// No valid bearer token → 401 with `WWW-Authenticate: Bearer ...` (`error="invalid_token"`
    /// when a token was sent but refused).
    #[error("{message}")]
    Unauthorized { message: String, token_sent: bool },
    /// A valid token without the right → 403.
    #[error("{0}")]
    Forbidden(String),
    /// The addressed thing does not exist → 404.
    #[error("{0}")]
    NotFound(String),
    /// The request contradicts the current state (duplicate, wrong status) → 409.
    #[error("{0}")]
    Conflict(String),
    /// The body is larger than [`JSON_LIMIT`] → 413.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// This caller has too much in flight: try again after `retry_after_secs` → 429 with
    /// `Retry-After`. Others are still served.
    #[error("{message}")]
    TooManyRequests {
        message: String,
        retry_after_secs: u64,
    },
    /// The service sheds load: try again after `retry_after_secs` → 503 with `Retry-After`.
    #[error("{message}")]
    Overloaded {
        message: String,
        retry_after_secs: u64,
    },
    /// Anything the client cannot fix → 500. The cause chain is logged, never sent.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl ApiError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest(message.into())
    }

    /// No token was sent.
    pub fn missing_token() -> Self {
        Self::Unauthorized {
            message: "a bearer token is required (Authorization: Bearer <token>)".into(),
            token_sent: false,
        }
    }

    /// A token was sent and refused; `message` says why.
    pub fn invalid_token(message: impl Into<String>) -> Self {
        Self::Unauthorized {
            message: message.into(),
            token_sent: true,
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden(message.into())
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound(message.into())
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict(message.into())
    }

    pub fn overloaded(message: impl Into<String>, retry_after_secs: u64) -> Self {
        Self::Overloaded {
            message: message.into(),
            retry_after_secs,
        }
    }

    pub fn too_many_requests(message: impl Into<String>, retry_after_secs: u64) -> Self {
        Self::TooManyRequests {
            message: message.into(),
            retry_after_secs,
        }
    }

    /// The `error` field of the body: stable, for clients to branch on.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Validation { .. } => "validation",
            Self::BadRequest(_) => "bad_request",
            Self::Unauthorized { .. } => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::Conflict(_) => "conflict",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::TooManyRequests { .. } => "too_many_requests",
            Self::Overloaded { .. } => "overloaded",
            Self::Unexpected(_) => "internal",
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Overloaded { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (message, field) = match self {
            Self::Validation { field, message } => (message.as_str(), Some(field.as_str())),
            Self::Unauthorized {
                message,
                token_sent,
            } => {
                let mut response =
                    json_error(self.status_code(), self.kind(), message.as_str(), None);
                if let Ok(value) = www_authenticate(message, *token_sent).parse() {
                    response.headers_mut().insert(WWW_AUTHENTICATE, value);
                }
                return response;
            }
            Self::BadRequest(message)
            | Self::Forbidden(message)
            | Self::NotFound(message)
            | Self::Conflict(message)
            | Self::PayloadTooLarge(message) => (message.as_str(), None),
            Self::Overloaded {
                message,
                retry_after_secs,
            }
            | Self::TooManyRequests {
                message,
                retry_after_secs,
            } => {
                let mut response =
                    json_error(self.status_code(), self.kind(), message.as_str(), None);
                if let Ok(value) = retry_after_secs.to_string().parse() {
                    response.headers_mut().insert(RETRY_AFTER, value);
                }
                return response;
            }
            Self::Unexpected(cause) => {
                // `{:?}` of an anyhow error prints every `.context` and the root cause.
                tracing::error!(error = ?cause, "request failed unexpectedly");
                ("internal error", None)
            }
        };
        json_error(self.status_code(), self.kind(), message, field)
    }
}

/// The challenge of a 401 (RFC 6750): the scheme and realm, and for a refused token the error
/// and why. The description keeps only printable ASCII without quotes and backslashes (RFC 6750
/// §3: `error_description` is `%x20-21 / %x23-5B / %x5D-7E`), so the header is always
/// well-formed and never dropped.
fn www_authenticate(message: &str, token_sent: bool) -> String {
    if token_sent {
        let description: String = message
            .chars()
            .filter(|c| matches!(c, ' '..='~') && *c != '"' && *c != '\\')
            .collect();
        format!(r#"Bearer realm="shop", error="invalid_token", error_description="{description}""#)
    } else {
        r#"Bearer realm="shop""#.to_owned()
    }
}

/// The body of every error answer; services name it in their OpenAPI documents
/// (`body = service_kit::api_error::ErrorBody`), so every error is described by one schema.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable kind, for clients to branch on: `validation`, `bad_request`, `not_found`,
    /// `unauthorized`, `forbidden`, `conflict`, `payload_too_large`, `too_many_requests`, `overloaded`, `internal`, or the snake-cased reason
    /// phrase.
    #[schema(example = "validation")]
    pub error: String,
    /// What was wrong, for a human; `internal error` for anything unexpected.
    pub message: String,
    /// The offending field of a validation error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// An error answer in the crate's JSON shape, for the few answers that are not an [`ApiError`]
/// (e.g. 405 from actix-web's routing).
pub(crate) fn json_error(
    status: StatusCode,
    kind: &str,
    message: &str,
    field: Option<&str>,
) -> HttpResponse {
    HttpResponse::build(status).json(ErrorBody {
        error: kind.to_owned(),
        message: message.to_owned(),
        field: field.map(str::to_owned),
    })
}

/// `web::Json<T>` settings: bodies up to [`JSON_LIMIT`], `application/json` required, and every
/// failure answered as an [`ApiError`] carrying serde's message (which names the field).
pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(JSON_LIMIT)
        .error_handler(|error, _request| json_payload_error(error).into())
}

/// `web::Path<T>` settings: an unparsable segment (say, an id that is not a UUID) is a 400.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|error, _request| {
        let cause = match error {
            PathError::Deserialize(cause) => cause.to_string(),
            other => other.to_string(),
        };
        ApiError::BadRequest(format!("invalid path: {cause}")).into()
    })
}

/// `web::Query<T>` settings: a missing or mistyped parameter is a 400.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|error, _request| {
        let cause = match error {
            QueryPayloadError::Deserialize(cause) => cause.to_string(),
            other => other.to_string(),
        };
        ApiError::BadRequest(format!("invalid query string: {cause}")).into()
    })
}

/// The default service: a route no one registered is a JSON 404.
pub async fn not_found(request: HttpRequest) -> HttpResponse {
    ApiError::NotFound(format!(
        "no route for {} {}",
        request.method(),
        request.path()
    ))
    .error_response()
}

fn json_payload_error(error: JsonPayloadError) -> ApiError {
    let too_large = || ApiError::PayloadTooLarge(format!("the body exceeds {JSON_LIMIT} bytes"));
    match error {
        JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => {
            too_large()
        }
        JsonPayloadError::Payload(PayloadError::Overflow) => too_large(),
        JsonPayloadError::ContentType => {
            ApiError::BadRequest("the body must have content type application/json".into())
        }
        JsonPayloadError::Deserialize(cause) => {
            ApiError::BadRequest(format!("invalid JSON body: {cause}"))
        }
        JsonPayloadError::Payload(cause) => {
            ApiError::BadRequest(format!("could not read the body: {cause}"))
        }
        other => ApiError::Unexpected(anyhow::anyhow!("reading a JSON body: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use actix_web::body::MessageBody;
    use actix_web::{App, test as actix_test};
    use anyhow::Context;
    use serde::Deserialize;
    use serde_json::{Value, json};
    use uuid::Uuid;

    use super::*;

    #[derive(Deserialize)]
    struct NewOrder {
        #[allow(dead_code)]
        quantity: u32,
    }

    #[derive(Deserialize)]
    struct Page {
        #[allow(dead_code)]
        limit: u32,
    }

    async fn create(_order: web::Json<NewOrder>) -> HttpResponse {
        HttpResponse::Created().finish()
    }

    async fn show(_id: web::Path<Uuid>) -> HttpResponse {
        HttpResponse::Ok().finish()
    }

    async fn list(_page: web::Query<Page>) -> HttpResponse {
        HttpResponse::Ok().finish()
    }

    async fn explode() -> Result<HttpResponse, ApiError> {
        Err(std::io::Error::other("disk on fire at /var/secret"))
            .context("Failed to load the order")?;
        unreachable!()
    }

    async fn reject() -> Result<HttpResponse, ApiError> {
        Err(ApiError::validation("quantity", "must be at least 1"))
    }

    /// Sends `request` to an app with the crate's extractor configs and returns status and body.
    async fn call(request: actix_test::TestRequest) -> (StatusCode, Value) {
        let app = actix_test::init_service(
            App::new()
                .app_data(json_config())
                .app_data(path_config())
                .app_data(query_config())
                .route("/orders", web::post().to(create))
                .route("/orders", web::get().to(list))
                .route("/orders/{id}", web::get().to(show))
                .route("/explode", web::get().to(explode))
                .route("/reject", web::get().to(reject))
                .default_service(web::to(not_found)),
        )
        .await;
        let response = actix_test::call_service(&app, request.to_request()).await;
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        let bytes = response.into_body().try_into_bytes().unwrap();
        assert_eq!(
            content_type.as_deref(),
            Some("application/json"),
            "status {status}, body {bytes:?}"
        );
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    fn post_json(body: &str) -> actix_test::TestRequest {
        actix_test::TestRequest::post()
            .uri("/orders")
            .insert_header(("content-type", "application/json"))
            .set_payload(body.to_owned())
    }

    #[actix_web::test]
    async fn malformed_json_returns_a_400_with_a_json_body() {
        let (status, body) = call(post_json("{\"quantity\": ")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "bad_request");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .starts_with("invalid JSON body")
        );
    }

    #[actix_web::test]
    async fn a_missing_field_returns_a_400_naming_the_field() {
        let (status, body) = call(post_json("{}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["message"].as_str().unwrap().contains("quantity"));
    }

    #[actix_web::test]
    async fn a_mistyped_field_returns_a_400() {
        let (status, body) = call(post_json(r#"{"quantity": "many"}"#)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "bad_request");
    }

    #[actix_web::test]
    async fn a_wrong_content_type_returns_a_400() {
        let request = actix_test::TestRequest::post()
            .uri("/orders")
            .insert_header(("content-type", "text/plain"))
            .set_payload(r#"{"quantity": 1}"#);
        let (status, body) = call(request).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "bad_request");
    }

    #[actix_web::test]
    async fn an_oversized_body_returns_a_413_with_a_json_body() {
        let padding = " ".repeat(JSON_LIMIT);
        let (status, body) = call(post_json(&format!("{{\"quantity\": 1{padding}}}"))).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(body["error"], "payload_too_large");
    }

    #[actix_web::test]
    async fn a_path_id_that_is_not_a_uuid_returns_a_400() {
        let (status, body) = call(actix_test::TestRequest::get().uri("/orders/not-a-uuid")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "bad_request");
    }

    #[actix_web::test]
    async fn a_mistyped_query_parameter_returns_a_400() {
        let (status, body) = call(actix_test::TestRequest::get().uri("/orders?limit=ten")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["message"].as_str().unwrap().contains("invalid query"));
    }

    #[actix_web::test]
    async fn an_unknown_route_returns_a_404_with_a_json_body() {
        let (status, body) = call(actix_test::TestRequest::get().uri("/nowhere")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["error"], "not_found");
    }

    #[actix_web::test]
    async fn a_validation_error_returns_a_422_naming_the_field() {
        let (status, body) = call(actix_test::TestRequest::get().uri("/reject")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            body,
            json!({"error": "validation", "message": "must be at least 1", "field": "quantity"})
        );
    }

    #[actix_web::test]
    async fn an_unexpected_error_returns_a_500_without_its_cause() {
        let (status, body) = call(actix_test::TestRequest::get().uri("/explode")).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            body,
            json!({"error": "internal", "message": "internal error"})
        );
    }

    #[test]
    fn client_errors_keep_their_message_and_field() {
        let error = ApiError::conflict("order already paid");
        assert_eq!(error.status_code(), StatusCode::CONFLICT);
        assert_eq!(error.to_string(), "order already paid");
        assert_eq!(ApiError::not_found("x").kind(), "not_found");
        assert_eq!(ApiError::bad_request("x").kind(), "bad_request");
    }

    #[test]
    fn the_challenge_of_a_refused_token_is_a_valid_header_whatever_the_message() {
        let challenge = www_authenticate("the \"subject\" é\\ is\nbad", true);
        assert_eq!(
            challenge,
            r#"Bearer realm="shop", error="invalid_token", error_description="the subject  isbad""#
        );
        let response = ApiError::invalid_token("naïve \"token\"").error_response();
        assert!(response.headers().contains_key(WWW_AUTHENTICATE));
        assert_eq!(
            www_authenticate("anything", false),
            r#"Bearer realm="shop""#
        );
    }

    #[actix_web::test]
    async fn an_overloaded_service_answers_503_with_retry_after_and_the_json_body() {
        let response = ApiError::overloaded("too many orders pending", 2).error_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok()),
            Some("2")
        );
        let body = actix_web::body::to_bytes(response.into_body())
            .await
            .expect("the body is in memory");
        let body: Value = serde_json::from_slice(&body).expect("a JSON body");
        assert_eq!(
            body,
            json!({"error": "overloaded", "message": "too many orders pending"})
        );
    }
}
