//! An event that must be heard is not dropped when no queue is bound to it yet: it waits in the
//! outbox and is published once its subscriber's queue exists. One declared `may_go_unheard` is
//! published once and forgotten.

use std::time::Duration;

use event_bus::EventTransaction;
use serde::{Deserialize, Serialize};

use crate::{
    ping,
    support::{Ping, Record, World},
};

/// A notification nobody has to hear.
#[derive(Debug, Serialize, Deserialize)]
struct Murmur {
    text: String,
}
event_bus::event!(
    Murmur,
    exchange = "probe",
    name = "murmur",
    version = 1,
    may_go_unheard
);

/// `(published, unroutable, unheard attempts)` of the outbox row of `message_id`.
async fn row(world: &World, message_id: &str) -> (bool, bool, i32) {
    sqlx::query_as(
        "SELECT published_at IS NOT NULL, unroutable, unheard_attempts
         FROM event_bus_outbox WHERE message_id = $1::uuid",
    )
    .bind(message_id)
    .fetch_one(&world.db.pool)
    .await
    .expect("the outbox row")
}

/// Polls the row of `message_id` until `done` says so (bounded).
async fn row_until(world: &World, message_id: &str, done: impl Fn((bool, bool, i32)) -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let state = row(world, message_id).await;
        if done(state) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "outbox row of {message_id} stuck at {state:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn an_event_staged_before_its_subscriber_exists_is_delivered_once_its_queue_is_bound() {
    let world = World::new().await;
    let source = world.start(world.bus("source").publishes::<Ping>()).await;
    let mut tx = source.outbox().begin().await.expect("begin");
    let id = tx.publish(&ping("early")).expect("stage");
    tx.commit().await.expect("commit");
    // Returned unroutable at least once, and still pending.
    row_until(&world, &id, |(published, unroutable, attempts)| {
        !published && unroutable && attempts >= 1
    })
    .await;

    let sink = world.start(world.bus("sink").on::<Ping, _>(Record)).await;
    assert_eq!(world.wait_effects("ping", 1).await, vec!["early"]);
    row_until(&world, &id, |(published, _, _)| published).await;
    world.stop(vec![source, sink]).await;
}

#[tokio::test]
async fn an_event_that_may_go_unheard_is_published_once_and_not_kept() {
    let world = World::new().await;
    let source = world.start(world.bus("source").publishes::<Murmur>()).await;
    let mut tx = source.outbox().begin().await.expect("begin");
    let id = tx
        .publish(&Murmur {
            text: "anyone?".into(),
        })
        .expect("stage");
    tx.commit().await.expect("commit");
    row_until(&world, &id, |(published, unroutable, attempts)| {
        published && unroutable && attempts == 0
    })
    .await;
    world.stop(vec![source]).await;
}
