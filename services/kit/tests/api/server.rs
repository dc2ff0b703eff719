use std::sync::Arc;
use std::time::Duration;

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};
use service_kit::{ApiError, Readiness};
use tokio::sync::Notify;

use crate::helpers::{TestServer, maintenance_pool, spawn_server, unreachable_pool};

#[derive(Deserialize)]
struct Greeting {
    name: String,
}

async fn greet(greeting: web::Json<Greeting>) -> Result<HttpResponse, ApiError> {
    if greeting.name.is_empty() {
        return Err(ApiError::validation("name", "must not be empty"));
    }
    Ok(HttpResponse::Ok().json(json!({ "hello": greeting.name })))
}

/// One resource with a route per method (`web::resource(..).route(..)`); the services' style,
/// one `config.route(path, ..)` per method, is tested by
/// `a_method_the_path_lacks_returns_a_405_listing_the_paths_methods`.
fn greeting_routes(config: &mut web::ServiceConfig) {
    config.service(web::resource("/greetings").route(web::post().to(greet)));
}

fn healthy_server() -> TestServer {
    spawn_server(Readiness::new(maintenance_pool(), || true), greeting_routes)
}

async fn json_of(response: reqwest::Response) -> Value {
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(content_type, "application/json");
    response.json().await.unwrap()
}

#[tokio::test]
async fn live_returns_a_200() {
    let server = healthy_server();
    let response = server.get("/health/live").await;
    assert_eq!(response.status(), 200);
    assert_eq!(json_of(response).await, json!({ "status": "live" }));
    server.stop().await;
}

#[tokio::test]
async fn ready_returns_a_200_when_the_database_and_the_broker_are_up() {
    let server = healthy_server();
    let response = server.get("/health/ready").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        json_of(response).await,
        json!({ "status": "ready", "database": true, "broker": true })
    );
    server.stop().await;
}

#[tokio::test]
async fn ready_returns_a_503_when_the_broker_is_down() {
    let server = spawn_server(
        Readiness::new(maintenance_pool(), || false),
        greeting_routes,
    );
    let response = server.get("/health/ready").await;
    assert_eq!(response.status(), 503);
    assert_eq!(
        json_of(response).await,
        json!({ "status": "not_ready", "database": true, "broker": false })
    );
    server.stop().await;
}

#[tokio::test]
async fn ready_returns_a_503_when_the_database_is_unreachable() {
    let server = spawn_server(Readiness::new(unreachable_pool(), || true), greeting_routes);
    let response = server.get("/health/ready").await;
    assert_eq!(response.status(), 503);
    assert_eq!(
        json_of(response).await,
        json!({ "status": "not_ready", "database": false, "broker": true })
    );
    server.stop().await;
}

#[tokio::test]
async fn the_services_routes_are_served_with_the_kits_json_config() {
    let server = healthy_server();
    let url = format!("{}/greetings", server.address);

    let ok = server
        .client
        .post(&url)
        .json(&json!({ "name": "Ada" }))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(json_of(ok).await, json!({ "hello": "Ada" }));

    let malformed = server
        .client
        .post(&url)
        .header("content-type", "application/json")
        .body("{\"name\":")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    assert_eq!(json_of(malformed).await["error"], "bad_request");

    let invalid = server
        .client
        .post(&url)
        .json(&json!({ "name": "" }))
        .send()
        .await
        .unwrap();
    assert_eq!(invalid.status(), 422);
    assert_eq!(json_of(invalid).await["field"], "name");
    server.stop().await;
}

#[tokio::test]
async fn an_unknown_route_returns_a_json_404() {
    let server = healthy_server();
    let response = server.get("/nowhere").await;
    assert_eq!(response.status(), 404);
    assert_eq!(json_of(response).await["error"], "not_found");
    server.stop().await;
}

#[tokio::test]
async fn a_wrong_method_returns_a_json_405() {
    let server = healthy_server();
    let response = server.get("/greetings").await;
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST");
    assert_eq!(json_of(response).await["error"], "method_not_allowed");
    server.stop().await;
}

/// The methods of an `Allow` header, sorted.
fn allowed(response: &reqwest::Response) -> Vec<String> {
    let mut methods: Vec<String> = response
        .headers()
        .get_all("allow")
        .iter()
        .flat_map(|value| value.to_str().unwrap().split(','))
        .map(|method| method.trim().to_owned())
        .collect();
    methods.sort();
    methods
}

#[tokio::test]
async fn a_method_the_path_lacks_returns_a_405_listing_the_paths_methods() {
    async fn show() -> HttpResponse {
        HttpResponse::Ok().json(json!({ "shown": true }))
    }
    let server = spawn_server(Readiness::new(maintenance_pool(), || true), |config| {
        config
            .route("/stock/{sku}", web::get().to(show))
            .route("/stock/{sku}", web::put().to(show));
    });
    let url = format!("{}/stock/PEN-7", server.address);

    let response = server.client.delete(&url).send().await.unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(allowed(&response), ["GET", "PUT"]);
    let body = json_of(response).await;
    assert_eq!(body["error"], "method_not_allowed");
    assert_eq!(
        body["message"],
        "DELETE is not allowed here; allowed: GET, PUT"
    );

    // The kit's own routes too; and the methods that exist still answer.
    let response = server
        .client
        .post(format!("{}/metrics", server.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(allowed(&response), ["GET"]);
    let response = server.client.put(&url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(json_of(response).await, json!({ "shown": true }));

    // A path no route has is still a 404, without `Allow`.
    let response = server
        .client
        .delete(format!("{}/nowhere", server.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert!(allowed(&response).is_empty());
    assert_eq!(json_of(response).await["error"], "not_found");
    server.stop().await;
}

#[tokio::test]
async fn missing_app_data_returns_a_json_500_without_details() {
    async fn needs_data(_: web::Data<String>) -> HttpResponse {
        HttpResponse::Ok().finish()
    }
    let server = spawn_server(Readiness::new(maintenance_pool(), || true), |config| {
        config.route("/needs-data", web::get().to(needs_data));
    });
    let response = server.get("/needs-data").await;
    assert_eq!(response.status(), 500);
    assert_eq!(
        json_of(response).await,
        json!({ "error": "internal", "message": "internal error" })
    );
    server.stop().await;
}

#[tokio::test]
async fn a_request_in_flight_when_shutdown_is_cancelled_still_completes() {
    let started = Arc::new(Notify::new());
    let routes = {
        let started = started.clone();
        move |config: &mut web::ServiceConfig| {
            let started = started.clone();
            config.route(
                "/slow",
                web::get().to(move || {
                    let started = started.clone();
                    async move {
                        started.notify_one();
                        // The work the shutdown must wait for.
                        tokio::time::sleep(Duration::from_millis(300)).await;
                        HttpResponse::Ok().json(json!({ "done": true }))
                    }
                }),
            );
        }
    };
    let server = spawn_server(Readiness::new(maintenance_pool(), || true), routes);
    let request = tokio::spawn(server.client.get(format!("{}/slow", server.address)).send());
    started.notified().await;

    server.stop().await;

    let response = request.await.unwrap().expect("in-flight request answered");
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn ready_shows_what_waits_in_the_outbox_without_being_unready_for_it() {
    let settings = crate::helpers::unique_database("kit_ready_outbox");
    let pool = service_kit::database::prepare(&settings, &sqlx::migrate::Migrator::DEFAULT)
        .await
        .expect("prepared");
    // One event published already, one waiting for a subscriber's queue.
    sqlx::query(
        "INSERT INTO event_bus_outbox (message_id, exchange, routing_key, version, correlation_id,
                                       payload, published_at, unroutable)
         VALUES (gen_random_uuid(), 'x', 'x.v1.sent', 1, 'f', '{}', now(), false),
                (gen_random_uuid(), 'x', 'x.v1.waits', 1, 'f', '{}', NULL, true)",
    )
    .execute(&pool)
    .await
    .expect("insert outbox rows");
    let server = spawn_server(Readiness::new(pool.clone(), || true), greeting_routes);
    let response = server.get("/health/ready").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        json_of(response).await,
        json!({
            "status": "ready", "database": true, "broker": true,
            "outbox": { "pending": 1, "waiting_for_subscribers": 1 }
        })
    );
    server.stop().await;
    pool.close().await;
    service_kit::database::drop_database(&settings)
        .await
        .unwrap();
}
