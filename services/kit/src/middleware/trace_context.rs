//! W3C trace context over HTTP: the request joins the caller's trace (its `traceparent`
//! header) or starts one, everything the request does runs inside that context, so the events it
//! stages carry the trace on, and the answer names the span with a `traceparent` header.

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use event_bus::TraceContext;
use event_bus::trace_context::TRACEPARENT;

/// Scopes the rest of the request in its trace context: a child of the caller's when the
/// request has a valid `traceparent`, a new trace otherwise (a malformed header is ignored, as
/// the recommendation asks).
pub(crate) async fn trace_context<B: MessageBody>(
    request: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, Error> {
    let context = request
        .headers()
        .get(TRACEPARENT)
        .and_then(|value| value.to_str().ok())
        .and_then(TraceContext::parse)
        .map_or_else(TraceContext::root, |parent| parent.child());
    let mut response = context.scope(next.call(request)).await?;
    if let Ok(value) = HeaderValue::from_str(&context.to_string()) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(TRACEPARENT), value);
    }
    Ok(response)
}
