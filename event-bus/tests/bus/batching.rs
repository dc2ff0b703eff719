//! Deliveries that wait together share one transaction (`bus.batch_size`), and a failure in a
//! batch is charged to its own message only: the others commit, and no handler runs twice.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use event_bus::{EventBus, Handler, HandlerContext, HandlerResult, OutgoingMessage, RunningBus};
use tokio::sync::Semaphore;

use crate::{
    header_text, ping,
    support::{Ping, World},
};

/// Records each ping with the id of the transaction it was applied in. The ping `first` waits at
/// a gate, so that what is published meanwhile piles up behind it; pings named `bad…` fail.
/// It counts its calls per ping, as a stand-in for an effect outside the database (an email).
#[derive(Clone)]
struct Gated {
    gate: Arc<Semaphore>,
    calls: Arc<Mutex<HashMap<String, u32>>>,
}

impl Handler<Ping> for Gated {
    async fn handle(&self, ctx: &mut HandlerContext<'_>, event: Ping) -> HandlerResult {
        *self
            .calls
            .lock()
            .expect("calls")
            .entry(event.id.clone())
            .or_default() += 1;
        if event.id == "first" {
            self.gate.acquire().await.expect("gate").forget();
        }
        let message_id = ctx.metadata().message_id.clone();
        sqlx::query(
            "INSERT INTO effects (kind, detail, message_id)
             VALUES ('ping', $1 || ':' || txid_current(), $2)",
        )
        .bind(&event.id)
        .bind(message_id)
        .execute(ctx.db())
        .await?;
        if event.id.starts_with("bad") {
            return Err(anyhow::anyhow!("{} is refused", event.id).into());
        }
        Ok(())
    }
}

/// A bus handling up to 16 deliveries per transaction with one worker, and no retries (a failure
/// is dead-lettered at once), with its gate closed.
async fn start_batched(world: &World, savepoint_per_handler: bool) -> (RunningBus, Gated) {
    let mut settings = world.settings("batched");
    settings.concurrency = 1;
    settings.batch_size = 16;
    settings.savepoint_per_handler = savepoint_per_handler;
    settings.retry_delays_ms = vec![];
    let handler = Gated {
        gate: Arc::new(Semaphore::new(0)),
        calls: Arc::default(),
    };
    let bus = world
        .start(EventBus::new(settings, world.db.pool.clone()).on::<Ping, _>(handler.clone()))
        .await;
    (bus, handler)
}

/// Publishes `first` and then `messages` while `first` is held at the gate, waits until the broker
/// has handed all of them to the consumer, and opens the gate.
async fn pile_up_behind_the_gate(
    world: &World,
    bus: &RunningBus,
    gate: &Semaphore,
    messages: &[OutgoingMessage],
) {
    let publisher = bus.publisher();
    publisher
        .publish(&ping("first"), "flow")
        .await
        .expect("publish first");
    for message in messages {
        publisher.publish_message(message).await.expect("publish");
    }
    let probe = world.broker.raw_channel().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while world.broker.queue_length(&probe, "batched").await > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the broker kept messages ready behind a held delivery"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    gate.add_permits(1);
}

/// `detail` rows `id:txid`, as id → txid.
fn by_id(rows: &[String]) -> HashMap<String, String> {
    rows.iter()
        .map(|row| {
            let (id, txid) = row.split_once(':').expect("id:txid");
            (id.to_owned(), txid.to_owned())
        })
        .collect()
}

#[tokio::test]
async fn deliveries_waiting_together_share_a_transaction_and_each_is_applied_once() {
    let world = World::new().await;
    let (bus, handler) = start_batched(&world, true).await;
    let mut messages: Vec<OutgoingMessage> = ["a", "b", "c", "d", "e", "f"]
        .iter()
        .map(|id| OutgoingMessage::new(&ping(id), "flow", None).expect("encode"))
        .collect();
    // The same message twice in one batch.
    messages.push(messages[2].clone());

    pile_up_behind_the_gate(&world, &bus, &handler.gate, &messages).await;

    let rows = world.wait_effects("ping", 7).await;
    let applied = by_id(&rows);
    assert_eq!(
        rows.len(),
        7,
        "each message applied once, the copy not at all: {rows:?}"
    );
    let mut ids: Vec<&str> = applied.keys().map(String::as_str).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["a", "b", "c", "d", "e", "f", "first"]);
    let later: std::collections::HashSet<&String> = ["a", "b", "c", "d", "e", "f"]
        .iter()
        .map(|id| &applied[*id])
        .collect();
    assert!(
        later.len() < 6,
        "deliveries that waited together were applied in one transaction each: {rows:?}"
    );
    let inbox: i64 = sqlx::query_scalar("SELECT count(*) FROM event_bus_inbox")
        .fetch_one(&world.db.pool)
        .await
        .expect("inbox");
    assert_eq!(inbox, 7, "one inbox row per distinct message");
    world.stop(vec![bus]).await;
}

#[tokio::test]
async fn a_failure_in_a_batch_dead_letters_its_own_message_and_applies_the_others() {
    let world = World::new().await;
    let (bus, handler) = start_batched(&world, true).await;
    let messages: Vec<OutgoingMessage> = ["good-1", "bad", "good-2", "good-3"]
        .iter()
        .map(|id| OutgoingMessage::new(&ping(id), "flow", None).expect("encode"))
        .collect();

    pile_up_behind_the_gate(&world, &bus, &handler.gate, &messages).await;

    let probe = world.broker.raw_channel().await;
    let dead = world.broker.take(&probe, "batched.dead").await;
    assert_eq!(
        dead.delivery
            .properties
            .message_id()
            .as_ref()
            .map(|id| id.to_string()),
        Some(messages[1].message_id.to_string())
    );
    assert_eq!(
        header_text(&dead.delivery.properties, event_bus::message::ERROR),
        "bad is refused"
    );
    let rows = world.wait_effects("ping", 4).await;
    let mut ids: Vec<String> = by_id(&rows).into_keys().collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        ["first", "good-1", "good-2", "good-3"],
        "the refused message's write rolled back, every other one committed once: {rows:?}"
    );
    assert_eq!(rows.len(), 4, "{rows:?}");
    let applied = by_id(&rows);
    let transactions: std::collections::HashSet<&String> = ["good-1", "good-2", "good-3"]
        .iter()
        .map(|id| &applied[*id])
        .collect();
    assert!(
        transactions.len() < 3,
        "the messages batched with the failure committed together, not one by one: {rows:?}"
    );
    let calls = handler.calls.lock().expect("calls").clone();
    for id in ["first", "good-1", "good-2", "good-3", "bad"] {
        assert_eq!(calls.get(id), Some(&1), "{id} handled once: {calls:?}");
    }
    world.stop(vec![bus]).await;
}

#[tokio::test]
async fn without_savepoints_a_failure_rolls_the_batch_back_and_each_message_is_handled_alone() {
    let world = World::new().await;
    let (bus, handler) = start_batched(&world, false).await;
    let messages: Vec<OutgoingMessage> = ["good-1", "bad", "good-2"]
        .iter()
        .map(|id| OutgoingMessage::new(&ping(id), "flow", None).expect("encode"))
        .collect();

    pile_up_behind_the_gate(&world, &bus, &handler.gate, &messages).await;

    let probe = world.broker.raw_channel().await;
    let dead = world.broker.take(&probe, "batched.dead").await;
    assert_eq!(
        header_text(&dead.delivery.properties, event_bus::message::ERROR),
        "bad is refused"
    );
    let rows = world.wait_effects("ping", 3).await;
    let applied = by_id(&rows);
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_ne!(
        applied["good-1"], applied["good-2"],
        "after the rollback, each message committed alone: {rows:?}"
    );
    let calls = handler.calls.lock().expect("calls").clone();
    assert_eq!(
        calls.get("good-1"),
        Some(&2),
        "ran in the batch, then again alone: {calls:?}"
    );
    world.stop(vec![bus]).await;
}
