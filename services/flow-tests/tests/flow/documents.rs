//! Every service documents its HTTP API: `/openapi.json` generated from its handlers, with the
//! kit's routes added, and the interactive page at `/docs`. Each service runs alone here (the
//! kit's test harness), since a document does not need the others.

use serde_json::Value;
use service_kit::testing::TestApp;

/// `/openapi.json` is an OpenAPI 3 document titled `title` with every one of `paths` (and the
/// kit's), and `/docs` is the HTML page that reads it.
async fn documents<S>(app: &TestApp<S>, title: &str, paths: &[&str]) {
    let document: Value = app.get_json("/openapi.json").await;
    let version = document["openapi"].as_str().expect("an openapi version");
    assert!(
        version.starts_with("3.1.") || version.starts_with("3.0."),
        "{version}"
    );
    assert_eq!(document["info"]["title"], title);
    for path in paths.iter().chain(&["/health/ready", "/metrics", "/docs"]) {
        assert!(
            document["paths"][path].is_object(),
            "{path} is not documented: {document}"
        );
    }
    assert!(document["components"]["schemas"]["ErrorBody"].is_object());

    let page = app.get("/docs").await;
    assert_eq!(page.status(), 200);
    let content_type = page.headers()["content-type"].to_str().expect("text");
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(page.text().await.expect("a body").contains("/openapi.json"));
}

#[tokio::test]
async fn order_documents_its_api() {
    let app = TestApp::spawn("order", order::DEFAULT_SETTINGS, order::build, |_| {}).await;
    documents(&app, "order", &["/orders", "/orders/{id}"]).await;
    let document = app.get_json("/openapi.json").await;
    let submit = &document["paths"]["/orders"]["post"];
    assert!(submit["requestBody"].is_object(), "{submit}");
    assert!(submit["responses"]["202"].is_object(), "{submit}");
    let stalled = &document["paths"]["/orders"]["get"];
    assert!(
        stalled["parameters"]
            .as_array()
            .is_some_and(|parameters| parameters.iter().any(|p| p["name"] == "stalled")),
        "{stalled}"
    );
    assert!(stalled["responses"]["400"].is_object(), "{stalled}");
    app.cleanup().await;
}

#[tokio::test]
async fn billing_documents_its_api() {
    let app = TestApp::spawn("billing", billing::DEFAULT_SETTINGS, billing::build, |_| {}).await;
    documents(&app, "billing", &["/customers/{id}"]).await;
    app.cleanup().await;
}

#[tokio::test]
async fn logistics_documents_its_api() {
    let app = TestApp::spawn(
        "logistics",
        logistics::DEFAULT_SETTINGS,
        logistics::build,
        |_| {},
    )
    .await;
    documents(&app, "logistics", &["/stock/{sku}"]).await;
    app.cleanup().await;
}

#[tokio::test]
async fn mailer_documents_its_api() {
    let app = TestApp::spawn("mailer", mailer::DEFAULT_SETTINGS, mailer::build, |_| {}).await;
    documents(&app, "mailer", &["/emails"]).await;
    app.cleanup().await;
}

#[tokio::test]
async fn tracker_documents_its_api() {
    let app = TestApp::spawn("tracker", tracker::DEFAULT_SETTINGS, tracker::build, |_| {}).await;
    documents(
        &app,
        "tracker",
        &["/flows", "/flows/{order_id}", "/topology", "/stalled"],
    )
    .await;
    app.cleanup().await;
}

#[tokio::test]
async fn loyalty_serves_the_kits_document_under_its_name() {
    let app = TestApp::spawn("loyalty", loyalty::DEFAULT_SETTINGS, loyalty::build, |_| {}).await;
    documents(&app, "loyalty", &[]).await;
    app.cleanup().await;
}
