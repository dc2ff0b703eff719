//! The middlewares every service's App is wrapped in: one log line per request, and JSON
//! bodies for the error answers actix-web builds itself (405 from routing, with its `Allow`; a
//! missing `web::Data`; an extractor without a kit config), so a client never has to parse
//! plain text;
//! and, in files of their own, the trace context of a request and its metrics.

mod http_metrics;
mod trace_context;

pub(crate) use http_metrics::record_metrics;
pub(crate) use trace_context::trace_context;

use std::time::Instant;

use actix_web::Error;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{ALLOW, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::middleware::Next;
use event_bus::TraceContext;
use tracing::Instrument;
use uuid::Uuid;

use crate::api_error::json_error;

/// Logs method, path (without the query, which may carry personal data), status and latency
/// once the response is ready; handlers' own events are inside an `http_request` span with the
/// same request id and the trace id of the request's trace context (set by
/// [`trace_context`], which runs outside this one). Probes of `/health/*` log at debug, so they do not drown the rest; 5xx
/// at warn.
pub(crate) async fn log_request<B: MessageBody>(
    request: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, Error> {
    let method = request.method().clone();
    let path = request.path().to_owned();
    let request_id = Uuid::new_v4();
    let trace_id = TraceContext::current().map(|context| context.trace_id());
    let trace_id = trace_id.as_deref().unwrap_or("");
    let span = tracing::info_span!("http_request", %method, %path, %request_id, trace_id);
    let started = Instant::now();
    let result = next.call(request).instrument(span).await;
    let latency_ms = started.elapsed().as_millis() as u64;
    let status = match &result {
        Ok(response) => response.status(),
        Err(error) => error.as_response_error().status_code(),
    }
    .as_u16();
    if path.starts_with("/health/") {
        tracing::debug!(%method, %path, status, latency_ms, %request_id, trace_id, "request");
    } else if status >= 500 {
        // The cause was logged at error level where it happened; this is the access line.
        tracing::warn!(%method, %path, status, latency_ms, %request_id, trace_id, "request");
    } else {
        tracing::info!(%method, %path, status, latency_ms, %request_id, trace_id, "request");
    }
    result
}

/// Replaces the body of any error answer that is not JSON with the crate's JSON error shape.
/// A 4xx keeps actix-web's message (it describes the request); a 5xx says only
/// `internal error`, and its cause goes to the log. The answer's headers are kept (but those
/// describing the old body): `Allow` of a 405, `Retry-After`, `WWW-Authenticate` mean as much
/// with the new body.
pub(crate) async fn json_errors<B: MessageBody>(
    request: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, Error> {
    let response = next.call(request).await?;
    let status = response.status();
    if status.as_u16() < 400 || is_json(&response) {
        return Ok(response.map_into_left_body());
    }
    let (request, response) = response.into_parts();
    let mut replacement = if status.is_server_error() {
        if let Some(error) = response.error() {
            tracing::error!(error = ?error, %status, "request failed unexpectedly");
        }
        json_error(status, "internal", "internal error", None)
    } else {
        let message = match (response.error(), response.headers().get(ALLOW)) {
            (Some(error), _) => error.to_string(),
            (None, Some(allowed)) => format!(
                "{} is not allowed here; allowed: {}",
                request.method(),
                allowed.to_str().unwrap_or_default()
            ),
            (None, None) => reason(status).to_lowercase(),
        };
        json_error(status, &kind(status), &message, None)
    };
    for (name, value) in response.headers() {
        if ![CONTENT_TYPE, CONTENT_LENGTH, CONTENT_ENCODING].contains(name) {
            replacement
                .headers_mut()
                .append(name.clone(), value.clone());
        }
    }
    Ok(ServiceResponse::new(request, replacement).map_into_right_body())
}

fn is_json<B>(response: &ServiceResponse<B>) -> bool {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"))
}

/// `method_not_allowed` for 405: the reason phrase in snake case.
fn kind(status: StatusCode) -> String {
    reason(status).to_lowercase().replace([' ', '-'], "_")
}

fn reason(status: StatusCode) -> &'static str {
    status.canonical_reason().unwrap_or("Error")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_snake_case_reason_phrases() {
        assert_eq!(kind(StatusCode::METHOD_NOT_ALLOWED), "method_not_allowed");
        assert_eq!(
            kind(StatusCode::UNSUPPORTED_MEDIA_TYPE),
            "unsupported_media_type"
        );
    }
}
