//! HTTP metrics: `http_requests_total{method, route, status}` and
//! `http_request_duration_seconds{method, route}`.
//!
//! The rule: every label has a bounded set of values. `route` is the pattern that matched
//! (`/orders/{id}`), never the raw path, and `unmatched` when nothing did (the kit's catch-all
//! of [`crate::fallback`] counts as nothing); a method outside the standard ones counts as
//! `other`. Otherwise a scan of random URLs would grow the registry without end.

use std::time::Instant;

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;

/// The `route` label of a request no route matched.
pub(crate) const UNMATCHED: &str = "unmatched";

/// Counts the request and records its latency once the response is ready.
pub(crate) async fn record_metrics<B: MessageBody>(
    request: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, Error> {
    let method = method_label(request.method());
    let route = request
        .match_pattern()
        .filter(|pattern| pattern != crate::fallback::ANY_PATH)
        .unwrap_or_else(|| UNMATCHED.to_owned());
    let started = Instant::now();
    let result = next.call(request).await;
    let status = match &result {
        Ok(response) => response.status(),
        Err(error) => error.as_response_error().status_code(),
    };
    metrics::counter!(
        "http_requests_total",
        "method" => method,
        "route" => route.clone(),
        "status" => status.as_str().to_owned(),
    )
    .increment(1);
    metrics::histogram!(
        "http_request_duration_seconds",
        "method" => method,
        "route" => route,
    )
    .record(started.elapsed().as_secs_f64());
    result
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unusual_methods_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        let custom = Method::from_bytes(b"BREW").expect("a valid method token");
        assert_eq!(method_label(&custom), "other");
    }
}
