//! Flows and events past the retention are deleted, against the real database: old and recent
//! rows recorded as the recorder records them, then pruned.

use std::time::Duration;

use chrono::{DateTime, Utc};
use event_bus::Envelope;
use event_bus::testing::{TestBroker, TestDatabase};
use sqlx::PgPool;
use tracker::{recorded::RecordedEvent, retention, store};
use uuid::Uuid;

use crate::helpers::{DEADLINE, RunningTracker, test_settings};

const DAY: Duration = Duration::from_secs(24 * 3_600);
const RETENTION: Duration = Duration::from_secs(30 * 24 * 3_600);

/// `days` days ago.
fn days_ago(days: u32) -> DateTime<Utc> {
    Utc::now() - DAY * days
}

/// An event of `flow` (or of no flow: a correlation id that is not a UUID) created at `at`.
fn event(flow: Option<Uuid>, routing_key: &str, at: DateTime<Utc>) -> RecordedEvent {
    let envelope = Envelope {
        message_id: Uuid::new_v4().to_string(),
        exchange: routing_key.split('.').next().unwrap_or_default().into(),
        routing_key: routing_key.into(),
        version: 1,
        correlation_id: Some(flow.map_or_else(|| "batch-import".into(), |id| id.to_string())),
        causation_id: None,
        producer: Some("order".into()),
        sender: None,
        timestamp: Some(at),
        traceparent: None,
        attempt: 1,
    };
    RecordedEvent::from_message(envelope, serde_json::json!({}), Utc::now())
}

/// Records `event` as the recorder does, in a transaction of its own.
async fn record(pool: &PgPool, event: &RecordedEvent) {
    let mut tx = pool.begin().await.expect("begin");
    store::record(&mut tx, event).await.expect("record");
    tx.commit().await.expect("commit");
}

/// A database with the tracker's tables.
async fn database() -> TestDatabase {
    let database = TestDatabase::new().await;
    tracker::MIGRATOR
        .run(&database.pool)
        .await
        .expect("the tracker's migrations");
    database
}

async fn count(pool: &PgPool, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
        .fetch_one(pool)
        .await
        .expect("count")
}

#[tokio::test]
async fn flows_and_events_past_the_retention_are_deleted_whole_and_recent_ones_kept() {
    let database = database().await;
    let pool = &database.pool;
    // All its activity 40 days ago: goes, with its three events.
    let old = Uuid::now_v7();
    for (key, days) in [
        ("order.v2.submit", 41),
        ("billing.v1.charged", 40),
        ("order.v1.confirmed", 40),
    ] {
        record(pool, &event(Some(old), key, days_ago(days))).await;
    }
    // Started 40 days ago, active yesterday: kept whole, its old event included.
    let revived = Uuid::now_v7();
    record(pool, &event(Some(revived), "order.v2.submit", days_ago(40))).await;
    record(
        pool,
        &event(Some(revived), "order.v1.cancelled", days_ago(1)),
    )
    .await;
    // Recent: kept.
    let recent = Uuid::now_v7();
    record(pool, &event(Some(recent), "order.v2.submit", days_ago(1))).await;
    // Of no flow: the old one goes, the recent one stays.
    let flowless_old = event(None, "legacy.v1.imported", days_ago(31));
    record(pool, &flowless_old).await;
    record(pool, &event(None, "legacy.v1.imported", days_ago(29))).await;

    let pruned = retention::prune(pool, RETENTION).await.expect("prune");

    assert_eq!(
        pruned,
        store::Pruned {
            flows: 1,
            events: 4,
            flowless: 1
        }
    );
    assert!(store::flow_events(pool, old).await.unwrap().is_empty());
    assert_eq!(store::flow_events(pool, revived).await.unwrap().len(), 2);
    assert_eq!(store::flow_events(pool, recent).await.unwrap().len(), 1);
    let flows: Vec<Uuid> = store::recent_flows(pool, 10)
        .await
        .unwrap()
        .iter()
        .map(|flow| flow.order_id)
        .collect();
    assert_eq!(flows.len(), 2);
    assert!(
        flows.contains(&revived) && flows.contains(&recent),
        "{flows:?}"
    );
    assert_eq!(count(pool, "events").await, 4);

    // Idempotent: nothing more is past the retention.
    let again = retention::prune(pool, RETENTION).await.expect("prune");
    assert_eq!(again, store::Pruned::default());
    assert_eq!(count(pool, "events").await, 4);

    // Forgotten: a copy arriving now is recorded again (and goes at the next round).
    record(pool, &flowless_old).await;
    assert_eq!(count(pool, "events").await, 5);
    database.cleanup().await;
}

#[tokio::test]
async fn a_backlog_is_deleted_in_batches_each_full_one_asking_for_another() {
    let database = database().await;
    let pool = &database.pool;
    let backlog = retention::BATCH + 1;
    // One event and its flow each, 60 days ago.
    sqlx::query(
        "WITH made AS ( \
           SELECT gen_random_uuid() AS flow_id, now() - interval '60 days' AS at \
           FROM generate_series(1, $1)), \
         flows AS ( \
           INSERT INTO flows (flow_id, events, first_at, last_at, last_routing_key, compensated) \
           SELECT flow_id, 1, at, at, 'order.v2.submit', false FROM made) \
         INSERT INTO events (message_id, routing_key, flow_id, occurred_at, envelope, payload) \
         SELECT flow_id::text, 'order.v2.submit', flow_id, at, '{}'::jsonb, '{}'::jsonb FROM made",
    )
    .bind(backlog)
    .execute(pool)
    .await
    .expect("insert the backlog");
    let recent = Uuid::now_v7();
    record(pool, &event(Some(recent), "order.v2.submit", days_ago(0))).await;

    let first = retention::prune(pool, RETENTION).await.expect("prune");
    let batch = retention::BATCH as u64;
    assert_eq!((first.flows, first.events), (batch, batch));
    assert!(first.full(retention::BATCH), "{first:?}");
    let second = retention::prune(pool, RETENTION).await.expect("prune");
    assert_eq!((second.flows, second.events), (1, 1));
    assert!(!second.full(retention::BATCH), "{second:?}");

    assert_eq!(count(pool, "flows").await, 1);
    assert_eq!(count(pool, "events").await, 1);
    assert_eq!(store::flow_events(pool, recent).await.unwrap().len(), 1);
    database.cleanup().await;
}

#[tokio::test]
async fn the_running_tracker_deletes_what_is_past_its_retention() {
    let broker = TestBroker::new().await;
    let settings = test_settings(&broker);
    // The tracker's database, with an old flow and a recent one, before it starts.
    let pool = service_kit::database::prepare(&settings.database, &tracker::MIGRATOR)
        .await
        .expect("prepare the tracker's database");
    let old = Uuid::now_v7();
    record(&pool, &event(Some(old), "order.v2.submit", days_ago(45))).await;
    let recent = Uuid::now_v7();
    record(&pool, &event(Some(recent), "order.v2.submit", days_ago(2))).await;
    assert_eq!(settings.service.retention(), RETENTION);

    let client = reqwest::Client::new();
    let tracker = RunningTracker::start(settings, &client).await;

    // Its first round runs at start.
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while !store::flow_events(&pool, old).await.unwrap().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the old flow was still there after {DEADLINE:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(store::flow_events(&pool, recent).await.unwrap().len(), 1);
    pool.close().await;
    tracker.stop().await;
    broker.cleanup().await;
}
