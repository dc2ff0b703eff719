//! `GET /topology`: the test vhost's exchanges, bindings, queues and consumers, read live.

use std::time::Duration;

use serde_json::Value;

use crate::helpers::{DEADLINE, spawn_app, spawn_app_with};

fn names<'a>(list: &'a Value, key: &str) -> Vec<&'a str> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|item| item[key].as_str().expect("a name"))
        .collect()
}

#[tokio::test]
async fn the_topology_shows_the_vhosts_exchanges_queues_and_the_trackers_bindings() {
    let app = spawn_app().await;
    let (status, topology) = app.get("/topology").await;
    assert_eq!(status, 200, "{topology}");
    assert_eq!(topology["vhost"], app.broker.vhost);
    assert_eq!(
        names(&topology["exchanges"], "name"),
        ["billing", "logistics", "mailer", "order"]
    );
    let queues = names(&topology["queues"], "name");
    assert_eq!(queues[0], "tracker.queue");
    assert!(queues.contains(&"tracker.queue.dead"), "{queues:?}");
    assert_eq!(topology["queues"][0]["role"], "service");
    let bindings: Vec<(&str, &str, &str)> = topology["bindings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["exchange"].as_str().unwrap(),
                b["queue"].as_str().unwrap(),
                b["pattern"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        bindings,
        [
            ("billing", "tracker.queue", "#"),
            ("logistics", "tracker.queue", "#"),
            ("mailer", "tracker.queue", "#"),
            ("order", "tracker.queue", "#"),
        ]
    );
    app.cleanup().await;
}

#[tokio::test]
async fn the_tracker_is_named_as_the_consumer_of_its_queue() {
    let app = spawn_app().await;
    // The management API lists consumers after its next statistics round.
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let (_, topology) = app.get("/topology").await;
        if topology["services"] == serde_json::json!(["tracker"]) {
            assert_eq!(
                topology["queues"][0]["services"],
                serde_json::json!(["tracker"])
            );
            assert_eq!(topology["queues"][0]["consumers"], 1);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no consumer named tracker within {DEADLINE:?}: {topology}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    app.cleanup().await;
}

#[tokio::test]
async fn an_unreachable_management_api_is_a_503_with_a_json_body() {
    let app = spawn_app_with(|settings| {
        // Nothing listens on port 9 (discard) here; the call fails at once.
        settings.service.management.url = "http://127.0.0.1:9".into();
    })
    .await;
    let (status, body) = app.get("/topology").await;
    assert_eq!(status, 503);
    assert_eq!(body["error"], "unavailable");
    assert!(!body["message"].as_str().unwrap().contains("127.0.0.1"));
    app.cleanup().await;
}
