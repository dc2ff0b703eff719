//! A database out of reach is waited out: the consumer gives back what it holds and stops taking
//! deliveries, with no attempt counted, and resumes by itself when the database answers.

use std::time::Duration;

use event_bus::{EventBus, Handler, HandlerContext, HandlerResult, testing};
use lapin::Channel;

use crate::{
    ping,
    support::{Ping, World},
};

/// Records each ping with the attempt it was handled on.
struct RecordAttempt;

impl Handler<Ping> for RecordAttempt {
    async fn handle(&self, ctx: &mut HandlerContext<'_>, event: Ping) -> HandlerResult {
        let detail = format!("{} on attempt {}", event.id, ctx.metadata().attempt);
        let message_id = ctx.metadata().message_id.clone();
        sqlx::query("INSERT INTO effects (kind, detail, message_id) VALUES ('ping', $1, $2)")
            .bind(detail)
            .bind(message_id)
            .execute(ctx.db())
            .await?;
        Ok(())
    }
}

/// `(messages ready, consumers)` of `queue`.
async fn queue_state(channel: &Channel, queue: &str) -> (u32, u32) {
    let state = testing::queue_state(channel, queue).await;
    (state.messages, state.consumers)
}

#[tokio::test]
async fn a_database_outage_is_waited_out_without_using_up_attempts() {
    let world = World::new().await;
    let mut settings = world.settings("patient");
    // One quick retry: an outage counted as handler failures would dead-letter in a moment.
    settings.retry_delays_ms = vec![50];
    let bus = world
        .start(EventBus::new(settings, world.db.pool.clone()).on::<Ping, _>(RecordAttempt))
        .await;
    let publisher = bus.publisher();
    publisher
        .publish(&ping("before"), "f")
        .await
        .expect("publish");
    world.wait_effects("ping", 1).await;

    world.db.refuse_connections().await;
    publisher
        .publish(&ping("during"), "f")
        .await
        .expect("publish");
    // The consumer finds the database out of reach, gives the message back and stops consuming.
    let probe = world.broker.raw_channel().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while queue_state(&probe, "patient.queue").await != (1, 0) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the consumer did not pause with the message given back: {:?}",
            queue_state(&probe, "patient.queue").await
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(queue_state(&probe, "patient.queue.retry.50ms").await.0, 0);
    assert_eq!(queue_state(&probe, "patient.queue.dead").await.0, 0);

    world.db.accept_connections().await;
    assert_eq!(
        world.wait_effects("ping", 2).await,
        vec!["before on attempt 1", "during on attempt 1"]
    );
    assert_eq!(queue_state(&probe, "patient.queue.dead").await.0, 0);
    world.stop(vec![bus]).await;
}
