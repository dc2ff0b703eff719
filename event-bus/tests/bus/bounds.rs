//! What the consumer takes in is bounded: an oversized message is dead-lettered with the reason
//! before it is decoded, and the next one is handled.

use event_bus::{EventBus, envelope};
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
