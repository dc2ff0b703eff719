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

    let dead = world.broker.take(&probe, "bounded.dead").await;
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
