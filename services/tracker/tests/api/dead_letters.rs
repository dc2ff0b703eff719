//! `GET /dead-letters` and `POST /dead-letters/replay` against the real broker: dead letters
//! parked by hand as the bus parks them, listed and replayed through shopctl's library.

use event_bus::envelope::{self, ORIGINAL_EXCHANGE, ORIGINAL_ROUTING_KEY, header_str, header_u32};
use serde_json::{Value, json};
use shopctl::{Selector, audit::Action};

use crate::helpers::{DeadLetter, STAFF, TestApp, spawn_app, spawn_app_with, staff_token};

/// The queue of a service (`order`, which consumes `billing.v1.charged`) and its dead letters,
/// declared on the test vhost, with `letters` parked in the latter.
async fn order_queue_with(app: &TestApp, letters: &[&DeadLetter]) {
    let probe = app.probe().await;
    probe.declare("order.queue").await;
    probe.declare("order.queue.dead").await;
    event_bus::testing::declare_retry_path(&probe.channel, "order.queue").await;
    for letter in letters {
        probe.park(&app.broker, "order.queue.dead", letter).await;
    }
}

/// The entry of `queue` in a listing.
fn queue<'a>(listing: &'a Value, name: &str) -> &'a Value {
    listing["queues"]
        .as_array()
        .expect("queues")
        .iter()
        .find(|queue| queue["queue"] == name)
        .unwrap_or_else(|| panic!("{name} is not listed: {listing}"))
}

#[tokio::test]
async fn the_dead_letters_are_listed_by_queue_routing_key_and_reason_and_left_in_place() {
    let app = spawn_app().await;
    let closed = [
        DeadLetter::charged("the ledger is closed"),
        DeadLetter::charged("the ledger is closed"),
    ];
    let timeout = DeadLetter::charged("timeout after 10s");
    order_queue_with(&app, &[&closed[0], &timeout, &closed[1]]).await;

    let (status, listing) = app.get("/dead-letters").await;

    assert_eq!(status, 200, "{listing}");
    assert_eq!(listing["vhost"], app.broker.vhost);
    let names: Vec<&str> = listing["queues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|queue| queue["queue"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["order.queue.dead", "tracker.queue.dead"]);
    let order = queue(&listing, "order.queue.dead");
    assert_eq!(order["service_queue"], "order.queue");
    assert_eq!(order["count"], 3);
    assert_eq!(order["truncated"], false);
    let groups = order["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2, "{order}");
    assert_eq!(groups[0]["routing_key"], "billing.v1.charged");
    assert_eq!(groups[0]["reason"], "the ledger is closed");
    assert_eq!(groups[0]["count"], 2);
    assert_eq!(
        groups[0]["message_ids"],
        json!([closed[0].message_id, closed[1].message_id])
    );
    assert!(groups[0]["oldest"].is_string() && groups[0]["newest"].is_string());
    assert!(groups[0]["oldest"].as_str() <= groups[0]["newest"].as_str());
    assert_eq!(groups[1]["reason"], "timeout after 10s");
    assert_eq!(groups[1]["message_ids"], json!([timeout.message_id]));
    let tracker = queue(&listing, "tracker.queue.dead");
    assert_eq!(
        (&tracker["count"], &tracker["groups"]),
        (&json!(0), &json!([]))
    );

    // Listing moved nothing: listed again, the same; nothing was recorded.
    let (_, again) = app.get("/dead-letters").await;
    assert_eq!(again, listing);
    assert!(app.tracker.audit_records().is_empty());
    app.cleanup().await;
}

#[tokio::test]
async fn a_replay_puts_a_dead_letter_back_into_its_service_queue_at_attempt_one_and_records_it() {
    let app = spawn_app().await;
    let replayed = DeadLetter::charged("the ledger is closed");
    let staying = DeadLetter::charged("the ledger is closed");
    order_queue_with(&app, &[&replayed, &staying]).await;

    let (status, body) = app
        .post(
            "/dead-letters/replay",
            &json!({"queue": "order", "ids": [replayed.message_id]}),
        )
        .await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({
            "queue": "order.queue.dead",
            "replayed_to": "order.queue",
            "count": 1,
            "messages": [{"message_id": replayed.message_id, "routing_key": "billing.v1.charged",
                          "reason": "the ledger is closed"}],
            "stopped_early": false,
            "limit_reached": false,
        })
    );
    // In the service's queue: the same message, read as the event it was, at attempt 1.
    let probe = app.probe().await;
    let message = app
        .broker
        .take(&probe.channel, "order.queue")
        .await
        .delivery;
    let properties = &message.properties;
    let headers = properties.headers().as_ref();
    assert_eq!(
        properties.message_id().as_ref().map(|id| id.as_str()),
        Some(replayed.message_id.as_str())
    );
    assert_eq!(message.data, replayed.payload);
    assert_eq!(header_u32(headers, envelope::ATTEMPT), None);
    assert_eq!(header_str(headers, envelope::ERROR), None);
    assert_eq!(header_str(headers, envelope::DEAD_LETTER_KIND), None);
    assert_eq!(
        header_str(headers, ORIGINAL_ROUTING_KEY).as_deref(),
        Some("billing.v1.charged")
    );
    assert_eq!(
        header_str(headers, ORIGINAL_EXCHANGE).as_deref(),
        Some("billing")
    );
    // Through the service's own retry path, where its record of the event is believed.
    assert_eq!(message.exchange.as_str(), "order.queue.retry");
    let read = event_bus::Envelope::decode("order.queue.retry", "order.queue", properties, true)
        .expect("a bus message");
    assert_eq!(read.routing_key, "billing.v1.charged");
    assert_eq!(read.attempt, 1);

    // The other one stays a dead letter.
    let (_, listing) = app.get("/dead-letters").await;
    let order = queue(&listing, "order.queue.dead");
    assert_eq!(order["count"], 1);
    assert_eq!(
        order["groups"][0]["message_ids"],
        json!([staying.message_id])
    );

    // Recorded as shopctl records a replay, naming the staff member who asked (the subject of
    // their token) as who acted.
    let records = app.tracker.audit_records();
    assert_eq!(records.len(), 1, "{records:?}");
    let record = &records[0];
    assert_eq!(record.action, Action::Replay);
    assert_eq!(record.operator.as_deref(), Some(STAFF));
    assert_eq!(record.vhost, app.broker.vhost);
    assert_eq!(record.queue, "order.queue.dead");
    assert_eq!(record.replayed_to.as_deref(), Some("order.queue"));
    assert_eq!(
        record.selector,
        Selector::Ids(vec![replayed.message_id.clone()])
    );
    assert_eq!(record.count, 1);

    // Replaying it again finds nothing: 200, nothing replayed.
    let (status, again) = app
        .post(
            "/dead-letters/replay",
            &json!({"queue": "order.queue.dead", "ids": [replayed.message_id]}),
        )
        .await;
    assert_eq!((status, &again["count"]), (200, &json!(0)), "{again}");
    app.cleanup().await;
}

#[tokio::test]
async fn a_dead_letter_of_the_trackers_own_queue_replayed_is_recorded_in_its_flow() {
    let app = spawn_app().await;
    let letter = DeadLetter::charged("the database was down");
    let probe = app.probe().await;
    probe.park(&app.broker, "tracker.queue.dead", &letter).await;

    let (status, body) = app
        .post(
            "/dead-letters/replay",
            &json!({"queue": "tracker", "all": true}),
        )
        .await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(body["count"], 1);
    assert_eq!(body["replayed_to"], "tracker.queue");
    let correlation = letter
        .properties
        .correlation_id()
        .as_ref()
        .map(|id| id.to_string())
        .expect("a correlation id");
    let flow = app
        .flow_with(correlation.parse().expect("a UUID order id"), 1)
        .await;
    assert_eq!(flow["events"][0]["message_id"], letter.message_id);
    assert_eq!(flow["events"][0]["routing_key"], "billing.v1.charged");
    assert_eq!(app.tracker.audit_records()[0].selector, Selector::All);
    app.cleanup().await;
}

#[tokio::test]
async fn bad_replay_requests_are_answered_4xx_with_a_json_body_naming_the_field() {
    let app = spawn_app().await;
    let letter = DeadLetter::charged("the ledger is closed");
    order_queue_with(&app, &[&letter]).await;

    // Bodies that cannot be read: 400; an unknown field is named.
    let (status, answer) = app
        .post(
            "/dead-letters/replay",
            &json!({"queue": "order", "id": "a"}),
        )
        .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["error"], "bad_request", "{answer}");
    assert!(
        answer["message"].as_str().unwrap().contains("`id`"),
        "{answer}"
    );
    let malformed = app
        .client
        .post(format!("{}/dead-letters/replay", app.tracker.address))
        .bearer_auth(staff_token())
        .header("content-type", "application/json")
        .body(r#"{"queue": "#)
        .send()
        .await
        .expect("POST");
    assert_eq!(malformed.status(), 400);
    let answer: Value = malformed.json().await.expect("a JSON body");
    assert_eq!(answer["error"], "bad_request");

    // Readable, but missing, mistyped or not a valid choice: 422 naming the field.
    for (body, field) in [
        (json!({"ids": ["a"]}), "queue"),
        (json!({"queue": 7, "all": true}), "queue"),
        (json!({"queue": "order", "ids": "a"}), "ids"),
        (json!({"queue": "order", "all": "yes"}), "all"),
        (json!({"queue": "order.retry.50ms", "all": true}), "queue"),
        (json!({"queue": "order"}), "ids"),
        (json!({"queue": "order", "ids": []}), "ids"),
        (json!({"queue": "order", "ids": [""]}), "ids"),
        (json!({"queue": "order", "ids": ["a"], "all": true}), "all"),
    ] {
        let (status, answer) = app.post("/dead-letters/replay", &body).await;
        assert_eq!(status, 422, "{body}: {answer}");
        assert_eq!(answer["error"], "validation", "{body}: {answer}");
        assert_eq!(answer["field"], field, "{body}: {answer}");
    }

    // A valid request naming a queue that is not there: 404.
    let (status, answer) = app
        .post(
            "/dead-letters/replay",
            &json!({"queue": "nowhere", "all": true}),
        )
        .await;
    assert_eq!(status, 404, "{answer}");
    assert_eq!(answer["error"], "not_found", "{answer}");

    // Nothing moved, nothing recorded.
    let (_, listing) = app.get("/dead-letters").await;
    assert_eq!(queue(&listing, "order.queue.dead")["count"], 1);
    assert!(app.tracker.audit_records().is_empty());
    app.cleanup().await;
}

#[tokio::test]
async fn the_dead_letters_are_a_503_with_a_json_body_while_the_management_api_cannot_be_read() {
    let app = spawn_app_with(|settings| {
        // Nothing listens on port 9 (discard) here; the call fails at once.
        settings.service.management.url = "http://127.0.0.1:9".into();
    })
    .await;

    let (status, body) = app.get("/dead-letters").await;

    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"], "unavailable");
    assert!(!body["message"].as_str().unwrap().contains("127.0.0.1"));
    app.cleanup().await;
}

#[tokio::test]
async fn both_routes_are_in_the_openapi_document() {
    let app = spawn_app().await;
    let (status, document) = app.get("/openapi.json").await;
    assert_eq!(status, 200);
    let list = &document["paths"]["/dead-letters"]["get"];
    assert!(list["responses"]["503"].is_object(), "{list}");
    let replay = &document["paths"]["/dead-letters/replay"]["post"];
    assert!(replay["requestBody"].is_object(), "{replay}");
    for status in ["200", "400", "404", "413", "422", "503"] {
        assert!(
            replay["responses"][status].is_object(),
            "{status}: {replay}"
        );
    }
    let schemas = &document["components"]["schemas"];
    for schema in ["Listing", "Replayed", "ReplayRequest"] {
        assert!(schemas[schema].is_object(), "{schema}: {schemas}");
    }
    app.cleanup().await;
}
