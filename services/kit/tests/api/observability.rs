use actix_web::{HttpResponse, web};
use event_bus::TraceContext;
use serde_json::{Value, json};
use service_kit::Readiness;

use crate::helpers::{TestServer, maintenance_pool, spawn_server};

/// Answers the trace context the handler runs in.
async fn current_trace() -> HttpResponse {
    let context = TraceContext::current();
    HttpResponse::Ok().json(json!({
        "trace_id": context.map(|context| context.trace_id()),
        "traceparent": context.map(|context| context.to_string()),
    }))
}

fn traced_server() -> TestServer {
    spawn_server(Readiness::new(maintenance_pool(), || true), |config| {
        config.service(web::resource("/traces/{id}").route(web::get().to(current_trace)));
    })
}

const CALLER: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

#[tokio::test]
async fn a_request_with_a_traceparent_runs_in_a_child_span_of_that_trace() {
    let server = traced_server();
    let response = server
        .client
        .get(format!("{}/traces/1", server.address))
        .header("traceparent", CALLER)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let answered = response.headers()["traceparent"]
        .to_str()
        .unwrap()
        .to_owned();
    let seen: Value = response.json().await.unwrap();
    assert_eq!(seen["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(seen["traceparent"], answered.as_str());
    let answered = TraceContext::parse(&answered).expect("a valid traceparent answered");
    assert_eq!(answered.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_ne!(answered.to_string(), CALLER, "the server's span is its own");
    server.stop().await;
}

#[tokio::test]
async fn a_request_without_a_valid_traceparent_starts_a_trace() {
    let server = traced_server();
    let response = server
        .client
        .get(format!("{}/traces/1", server.address))
        .header("traceparent", "garbage")
        .send()
        .await
        .unwrap();
    let answered = TraceContext::parse(response.headers()["traceparent"].to_str().unwrap())
        .expect("a valid traceparent answered");
    let seen: Value = response.json().await.unwrap();
    assert_eq!(seen["trace_id"], answered.trace_id().as_str());
    server.stop().await;
}

#[tokio::test]
async fn metrics_count_requests_by_route_pattern_not_by_path() {
    let server = traced_server();
    let marker = uuid::Uuid::new_v4().simple().to_string();
    server.get(&format!("/traces/{marker}")).await;
    server.get(&format!("/nowhere/{marker}")).await;
    let response = server.get("/metrics").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4"
    );
    let page = response.text().await.unwrap();
    assert!(!page.contains(&marker), "a raw path leaked into a label");
    let counted = |route: &str, status: &str| {
        page.lines().any(|line| {
            line.starts_with("http_requests_total{")
                && line.contains(&format!("route=\"{route}\""))
                && line.contains(&format!("status=\"{status}\""))
                && line.contains("method=\"GET\"")
        })
    };
    assert!(counted("/traces/{id}", "200"), "{page}");
    assert!(counted("unmatched", "404"), "{page}");
    assert!(
        page.contains("http_request_duration_seconds_bucket{"),
        "latency is a histogram with buckets: {page}"
    );
    server.stop().await;
}

#[tokio::test]
async fn the_openapi_document_describes_the_kit_routes_and_the_error_body() {
    let server = traced_server();
    let response = server.get("/openapi.json").await;
    assert_eq!(response.status(), 200);
    let document: Value = response.json().await.unwrap();
    assert!(
        document["openapi"].as_str().unwrap().starts_with("3."),
        "{document}"
    );
    for path in [
        "/health/live",
        "/health/ready",
        "/metrics",
        "/openapi.json",
        "/docs",
    ] {
        assert!(
            document["paths"][path]["get"].is_object(),
            "{path}: {document}"
        );
    }
    assert!(document["components"]["schemas"]["ErrorBody"].is_object());
    server.stop().await;
}

#[tokio::test]
async fn the_openapi_document_declares_the_bearer_scheme_and_leaves_the_kit_routes_open() {
    let server = traced_server();
    let document: Value = server.get("/openapi.json").await.json().await.unwrap();
    assert_eq!(
        document["components"]["securitySchemes"]["bearer"],
        json!({
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": document["components"]["securitySchemes"]["bearer"]["description"],
        })
    );
    for path in [
        "/health/live",
        "/health/ready",
        "/metrics",
        "/openapi.json",
        "/docs",
    ] {
        assert_eq!(
            document["paths"][path]["get"]["security"],
            json!([]),
            "{path}"
        );
    }
    // Open for real: no token needed.
    assert_eq!(server.get("/health/live").await.status(), 200);
    assert_eq!(server.get("/metrics").await.status(), 200);
    server.stop().await;
}

#[tokio::test]
async fn the_docs_page_is_html_that_reads_the_openapi_document() {
    let server = traced_server();
    let response = server.get("/docs").await;
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let page = response.text().await.unwrap();
    assert!(page.starts_with("<!doctype html>"));
    assert!(page.contains("fetch(\"/openapi.json\")"));
    // Offline: nothing is loaded from elsewhere.
    assert!(!page.contains("http://") && !page.contains("https://"));
    server.stop().await;
}

#[tokio::test]
async fn the_docs_page_sends_the_token_it_keeps_for_the_tab() {
    let server = traced_server();
    let page = server.get("/docs").await.text().await.unwrap();
    assert!(page.contains(r#"<input id="token""#), "a token input");
    assert!(page.contains("sessionStorage"), "kept for the tab only");
    assert!(
        page.contains(r#"headers["authorization"] = `Bearer ${token()}`"#),
        "sent with every request"
    );
    assert!(
        page.contains("needs a bearer token"),
        "a lock on secured operations"
    );
    server.stop().await;
}
