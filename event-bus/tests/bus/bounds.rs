//! What the consumer takes in is bounded: an oversized message is dead-lettered with the reason
//! before it is decoded, and the next one is handled; a handler stuck on a lock gives its worker
//! back within the handler timeout.

use event_bus::{EventBus, Handler, HandlerContext, HandlerResult, envelope};
use lapin::BasicProperties;

use crate::{
    header_text, ping,
    support::{Ping, Record, World},
};

#[tokio::test]
async fn a_message_over_the_size_bound_is_dead_lettered_before_it_is_decoded() {
    let world = World::new().await;
    let mut settings = world.settings("bounded");
    settings.max_message_bytes = 64;
    let bus = world
        .start(EventBus::new(settings, world.db.pool.clone()).on::<Ping, _>(Record))
        .await;
    let probe = world.broker.raw_channel().await;
    let oversized = format!(r#"{{"id":"{}"}}"#, "x".repeat(100));
    world
        .broker
        .publish_raw(
            &probe,
            "probe",
            "probe.v1.ping",
            oversized.as_bytes(),
            BasicProperties::default().with_message_id("too-large".into()),
        )
        .await;
    bus.publisher()
        .publish(&ping("small"), "f")
        .await
        .expect("publish");

    let dead = world.broker.take(&probe, "bounded.queue.dead").await;
    assert_eq!(dead.delivery.data, oversized.as_bytes());
    let reason = header_text(&dead.delivery.properties, envelope::ERROR);
    assert!(
        reason.contains("is 109 bytes, more than the 64 taken in"),
        "reason: {reason}"
    );
    assert_eq!(
        header_text(&dead.delivery.properties, envelope::DEAD_LETTER_KIND),
        "decode"
    );
    assert_eq!(world.wait_effects("ping", 1).await, vec!["small"]);
    world.stop(vec![bus]).await;
}

#[tokio::test]
async fn the_inbox_forgets_messages_handled_before_its_retention_and_keeps_the_rest() {
    let world = World::new().await;
    event_bus::schema::install(&world.db.pool)
        .await
        .expect("schema");
    sqlx::query(
        "INSERT INTO event_bus_inbox (consumer, message_id, routing_key, handled_at)
         VALUES ('q', 'old', 'probe.v1.ping', now() - interval '8 days'),
                ('q', 'recent', 'probe.v1.ping', now() - interval '6 days')",
    )
    .execute(&world.db.pool)
    .await
    .expect("insert inbox rows");

    let week = std::time::Duration::from_secs(7 * 24 * 3_600);
    let pruned = event_bus::inbox::prune(&world.db.pool, week)
        .await
        .expect("prune");
    assert_eq!(pruned, 1);
    let left: Vec<String> = sqlx::query_scalar("SELECT message_id FROM event_bus_inbox")
        .fetch_all(&world.db.pool)
        .await
        .expect("read the inbox");
    assert_eq!(left, vec!["recent"]);
    // Still remembered: the recent one is a duplicate.
    let mut connection = world.db.pool.acquire().await.expect("connection");
    let new = event_bus::inbox::record(&mut connection, "q", "recent", "probe.v1.ping")
        .await
        .expect("record");
    assert!(!new, "a message within the retention is remembered");
    drop(connection);
    world.stop(Vec::new()).await;
}

/// Waits on the `held` row's lock for the event `locked`; records any other event.
struct WaitsOnHeldRow;

impl Handler<Ping> for WaitsOnHeldRow {
    async fn handle(&self, ctx: &mut HandlerContext<'_>, event: Ping) -> HandlerResult {
        if event.id == "locked" {
            sqlx::query("SELECT id FROM held WHERE id = 1 FOR UPDATE")
                .execute(ctx.db())
                .await?;
        }
        Record.handle(ctx, event).await
    }
}

/// A handler timed out on a row locked from outside the service, in a database that bounds no
/// statement: the abandoned statement must end soon after the handler's time, or it keeps the
/// message's inbox row and the worker waits on it for as long as the lock is held.
#[tokio::test]
async fn a_handler_timed_out_on_a_lock_frees_its_worker_and_is_dead_lettered() {
    let world = World::new().await;
    sqlx::query("CREATE TABLE held (id INT PRIMARY KEY)")
        .execute(&world.db.pool)
        .await
        .expect("create held");
    sqlx::query("INSERT INTO held VALUES (1)")
        .execute(&world.db.pool)
        .await
        .expect("insert held");
    let mut outside = world.db.pool.begin().await.expect("outside transaction");
    sqlx::query("SELECT id FROM held WHERE id = 1 FOR UPDATE")
        .execute(&mut *outside)
        .await
        .expect("lock the row from outside");
    let no_bound: String = sqlx::query_scalar("SHOW statement_timeout")
        .fetch_one(&world.db.pool)
        .await
        .expect("statement timeout");
    assert_eq!(no_bound, "0", "the test database bounds no statement");

    let mut settings = world.settings("locked");
    settings.handler_timeout_ms = 300;
    settings.concurrency = 1;
    settings.batch_size = 1;
    settings.retry_delays_ms = vec![50, 50];
    let bus = world
        .start(EventBus::new(settings, world.db.pool.clone()).on::<Ping, _>(WaitsOnHeldRow))
        .await;
    let publisher = bus.publisher();
    publisher
        .publish(&ping("locked"), "f")
        .await
        .expect("publish");
    publisher
        .publish(&ping("free"), "f")
        .await
        .expect("publish");

    // One worker: "free" is handled only once the worker is out of the locked message's way.
    assert_eq!(world.wait_effects("ping", 1).await, vec!["free"]);
    let probe = world.broker.raw_channel().await;
    let dead = world.broker.take(&probe, "locked.queue.dead").await;
    let reason = header_text(&dead.delivery.properties, envelope::ERROR);
    // The handler's bound or the statement's, whichever fired first on the last attempt.
    assert!(
        reason.contains("did not finish within") || reason.contains("statement timeout"),
        "reason: {reason}"
    );
    outside.rollback().await.expect("release the lock");
    world.stop(vec![bus]).await;
}
