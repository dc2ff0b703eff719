//! The page and its assets are served by the tracker itself, to anyone: a static shell that
//! signs in with a staff token (the APIs it reads are staff only).

use crate::helpers::spawn_app;

#[tokio::test]
async fn the_page_and_its_assets_are_served_with_their_content_types() {
    let app = spawn_app().await;
    for (path, content_type, needle) in [
        ("/", "text/html", "/assets/app.js"),
        ("/", "text/html", "id=\"sign-in-form\""),
        (
            "/assets/app.js",
            "text/javascript",
            "authorization: `Bearer",
        ),
        ("/assets/app.js", "text/javascript", "/topology"),
        ("/assets/style.css", "text/css", ".event.compensation"),
    ] {
        let response = app
            .client
            .get(format!("{}{path}", app.tracker.address))
            .send()
            .await
            .expect("GET");
        assert_eq!(response.status(), 200, "{path}");
        let header = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(header.starts_with(content_type), "{path}: {header}");
        let body = response.text().await.unwrap();
        assert!(body.contains(needle), "{path} lacks {needle}");
        // Offline: nothing is loaded from another host.
        assert!(!body.contains("https://"), "{path} refers to another host");
    }
    let missing = app.get_as(None, "/assets/missing.js").await;
    assert_eq!(missing.status(), 404);
    let body: serde_json::Value = missing.json().await.expect("a JSON body");
    assert_eq!(body["error"], "not_found");
    app.cleanup().await;
}
