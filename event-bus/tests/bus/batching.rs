//! Deliveries that wait together share one transaction (`bus.batch_size`), and a failure in a
//! batch is charged to its own message only: the others commit, and no handler runs twice.
//!
//! Which deliveries end up in one batch depends on what the client has read off the socket when a
//! worker is free, so each test checks its invariants on every round and looks for the batching
//! it is about over up to [`ROUNDS`] rounds: a round piles messages up behind a held one, then
//! lets them through.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
    time::Duration,
};

use event_bus::{
    BusSettings, EventBus, Handler, HandlerContext, HandlerResult, OutgoingMessage, RunningBus,
};
use tokio::sync::Semaphore;

use crate::{
    header_text, ping,
    support::{Ping, World},
};

/// Rounds a test may take to see the batching it is about (one is almost always enough).
const ROUNDS: usize = 5;

/// Records each ping with the id of the transaction it was applied in. A ping named `gate…`
/// waits at the gate on its first call, so that what is published meanwhile piles up behind it;
/// pings named `bad…` fail; pings named `quiet…` never touch the transaction (and so share the
/// savepoint of the handler before them). It counts its calls per ping, as a stand-in for an
/// effect outside the database (an email).
#[derive(Clone)]
struct Gated {
    gate: Arc<Semaphore>,
    calls: Arc<Mutex<HashMap<String, u32>>>,
}

impl Handler<Ping> for Gated {
    async fn handle(&self, ctx: &mut HandlerContext<'_>, event: Ping) -> HandlerResult {
        let call = {
            let mut calls = self.calls.lock().expect("calls");
            let count = calls.entry(event.id.clone()).or_default();
            *count += 1;
            *count
        };
        // Only the first call waits: a gate read in one batch with what piled up behind it runs
        // again alone when that batch is rolled back, and its permit is spent by then.
        if event.id.starts_with("gate") && call == 1 {
            self.gate.acquire().await.expect("gate").forget();
        }
        if event.id.starts_with("quiet") {
            return Ok(());
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

/// A bus handling up to 16 deliveries per transaction with one worker, with no retries (a
/// failure is dead-lettered at once).
struct Batched {
    world: World,
    bus: RunningBus,
    handler: Gated,
}

impl Batched {
    async fn start(savepoint_per_handler: bool) -> Self {
        Self::start_with(|settings| settings.savepoint_per_handler = savepoint_per_handler).await
    }

    /// [`Batched::start`] with `adjust` applied to the settings last.
    async fn start_with(adjust: impl FnOnce(&mut BusSettings)) -> Self {
        let world = World::new().await;
        let mut settings = world.settings("batched");
        settings.concurrency = 1;
        settings.batch_size = 16;
        settings.retry_delays_ms = vec![];
        adjust(&mut settings);
        let handler = Gated {
            gate: Arc::new(Semaphore::new(0)),
            calls: Arc::default(),
        };
        let bus = world
            .start(EventBus::new(settings, world.db.pool.clone()).on::<Ping, _>(handler.clone()))
            .await;
        Self {
            world,
            bus,
            handler,
        }
    }

    /// Publishes `gate-<round>` and then `messages` while the gate holds it, waits until the
    /// broker has handed all of them to the consumer, and opens the gate.
    async fn pile_up(&self, round: usize, messages: &[OutgoingMessage]) {
        let publisher = self.bus.publisher();
        publisher
            .publish(&ping(&format!("gate-{round}")), "flow")
            .await
            .expect("publish the gate");
        for message in messages {
            publisher.publish_message(message).await.expect("publish");
        }
        self.handed_over().await;
        self.handler.gate.add_permits(1);
    }

    /// Waits until the broker has handed every message of the queue to the consumer.
    async fn handed_over(&self) {
        let probe = self.world.broker.raw_channel().await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while self
            .world
            .broker
            .queue_length(&probe, "batched.queue")
            .await
            > 0
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the broker kept messages ready behind a held delivery"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits until `expected` pings are recorded in all, and returns them as id → txid.
    async fn applied(&self, expected: usize) -> HashMap<String, String> {
        let rows = self.world.wait_effects("ping", expected).await;
        assert_eq!(rows.len(), expected, "nothing applied twice: {rows:?}");
        rows.iter()
            .map(|row| {
                let (id, txid) = row.split_once(':').expect("id:txid");
                (id.to_owned(), txid.to_owned())
            })
            .collect()
    }

    /// Takes the dead letter of `bad-<round>` and checks its reason.
    async fn dead_letter(&self, round: usize) {
        let probe = self.world.broker.raw_channel().await;
        let dead = self.world.broker.take(&probe, "batched.queue.dead").await;
        assert_eq!(
            header_text(&dead.delivery.properties, event_bus::envelope::ERROR),
            format!("bad-{round} is refused")
        );
    }

    /// Piles `ids` up behind the gate of `round`, one of them `bad-<round>`, takes its dead
    /// letter, and checks that the refused write was rolled back and that every handler ran
    /// once; returns every ping applied so far (`recorded` counts them: the gates and `good…`).
    async fn through_a_failure(
        &self,
        round: usize,
        ids: &[String],
        recorded: &mut usize,
    ) -> HashMap<String, String> {
        self.pile_up(round, &messages(ids)).await;
        self.dead_letter(round).await;
        *recorded += 1 + ids.iter().filter(|id| id.starts_with("good")).count();
        let applied = self.applied(*recorded).await;
        assert!(
            !applied.contains_key(&format!("bad-{round}")),
            "the refused message's write was rolled back"
        );
        for id in ids {
            assert_eq!(
                self.calls(id),
                1,
                "{id} handled once, whatever failed beside it"
            );
        }
        applied
    }

    fn calls(&self, id: &str) -> u32 {
        self.handler
            .calls
            .lock()
            .expect("calls")
            .get(id)
            .copied()
            .unwrap_or(0)
    }

    async fn stop(self) {
        self.world.stop(vec![self.bus]).await;
    }
}

fn messages(ids: &[String]) -> Vec<OutgoingMessage> {
    ids.iter()
        .map(|id| OutgoingMessage::new(&ping(id), "flow", None).expect("encode"))
        .collect()
}

/// How many distinct transactions applied `ids`.
fn transactions(applied: &HashMap<String, String>, ids: &[String]) -> usize {
    ids.iter()
        .map(|id| &applied[id])
        .collect::<HashSet<_>>()
        .len()
}

#[tokio::test]
async fn deliveries_waiting_together_share_a_transaction_and_each_is_applied_once() {
    let shop = Batched::start(true).await;
    let mut recorded = 0;
    let mut shared = false;
    for round in 0..ROUNDS {
        let ids: Vec<String> = (0..6).map(|n| format!("m-{round}-{n}")).collect();
        let mut batch = messages(&ids);
        // The same message twice, most likely in one batch.
        batch.push(batch[2].clone());
        shop.pile_up(round, &batch).await;

        recorded += 1 + ids.len();
        let applied = shop.applied(recorded).await;
        for id in &ids {
            assert!(applied.contains_key(id), "{id} applied");
            assert_eq!(shop.calls(id), 1, "{id} handled once, its copy not at all");
        }
        if transactions(&applied, &ids) < ids.len() {
            shared = true;
            break;
        }
    }
    assert!(
        shared,
        "in {ROUNDS} rounds, deliveries that waited together never shared a transaction"
    );
    let inbox: i64 = sqlx::query_scalar("SELECT count(*) FROM event_bus_inbox")
        .fetch_one(&shop.world.db.pool)
        .await
        .expect("inbox");
    assert_eq!(
        inbox as usize, recorded,
        "one inbox row per distinct message"
    );
    shop.stop().await;
}

#[tokio::test]
async fn a_failure_in_a_batch_dead_letters_its_own_message_and_commits_the_others() {
    let shop = Batched::start(true).await;
    let mut recorded = 0;
    let mut shared = false;
    for round in 0..ROUNDS {
        let good: Vec<String> = (0..3).map(|n| format!("good-{round}-{n}")).collect();
        let ids = [
            good[0].clone(),
            format!("bad-{round}"),
            good[1].clone(),
            good[2].clone(),
        ];
        let applied = shop.through_a_failure(round, &ids, &mut recorded).await;
        if transactions(&applied, &good) < good.len() {
            shared = true;
            break;
        }
    }
    assert!(
        shared,
        "in {ROUNDS} rounds, the messages beside a failure never committed together"
    );
    shop.stop().await;
}

/// A handler that fails right after one that never took the transaction rolls back to the
/// savepoint taken before that one: its own write goes, the writes before stay.
#[tokio::test]
async fn a_failure_after_handlers_that_do_not_touch_the_database_rolls_back_only_its_own_write() {
    let shop = Batched::start(true).await;
    let mut recorded = 0;
    let mut shared = false;
    for round in 0..ROUNDS {
        // Two before the failure: the first may be read in one batch with the gate.
        let good: Vec<String> = (0..3).map(|n| format!("good-{round}-{n}")).collect();
        let quiet: Vec<String> = (0..2).map(|n| format!("quiet-{round}-{n}")).collect();
        let ids = [
            good[0].clone(),
            good[1].clone(),
            quiet[0].clone(),
            format!("bad-{round}"),
            quiet[1].clone(),
            good[2].clone(),
        ];
        let applied = shop.through_a_failure(round, &ids, &mut recorded).await;
        for id in &good {
            assert!(applied.contains_key(id), "{id} applied");
        }
        // The failure was in their batch when a message before it and one after it committed
        // together.
        if good[..2]
            .iter()
            .any(|before| applied[before] == applied[&good[2]])
        {
            shared = true;
            break;
        }
    }
    assert!(
        shared,
        "in {ROUNDS} rounds, the messages around the failure never committed together"
    );
    shop.stop().await;
}

#[tokio::test]
async fn without_savepoints_a_failure_rolls_the_batch_back_and_each_message_is_handled_alone() {
    let shop = Batched::start(false).await;
    let mut recorded = 0;
    let mut redone = false;
    for round in 0..ROUNDS {
        let good: Vec<String> = (0..2).map(|n| format!("good-{round}-{n}")).collect();
        let ids = [good[0].clone(), format!("bad-{round}"), good[1].clone()];
        shop.pile_up(round, &messages(&ids)).await;

        shop.dead_letter(round).await;
        recorded += 1 + good.len();
        let applied = shop.applied(recorded).await;
        for id in &good {
            assert!(applied.contains_key(id), "{id} applied once");
        }
        // Batched with the failure, a message ran in the batch and then again alone.
        if good.iter().any(|id| shop.calls(id) == 2) {
            assert_eq!(
                transactions(&applied, &good),
                good.len(),
                "after the rollback, each message committed alone"
            );
            redone = true;
            break;
        }
    }
    assert!(
        redone,
        "in {ROUNDS} rounds, no message was ever batched with the failure"
    );
    shop.stop().await;
}

/// A batch that is not full waits for more deliveries (`bus.batch_linger_ms`) until it is full,
/// and shutdown cuts the wait short. The linger here is an hour: a test that ends saw neither
/// wait run out.
#[tokio::test]
async fn a_lingering_batch_waits_until_it_is_full_or_the_bus_stops() {
    let shop = Batched::start_with(|settings| {
        settings.batch_size = 2;
        settings.batch_linger_ms = 3_600_000;
    })
    .await;
    let publisher = shop.bus.publisher();
    publisher
        .publish(&ping("first"), "flow")
        .await
        .expect("publish");
    shop.handed_over().await;
    assert!(
        shop.world.effects("ping").await.is_empty(),
        "a batch of one was handled without lingering"
    );

    publisher
        .publish(&ping("second"), "flow")
        .await
        .expect("publish");
    let applied = shop.applied(2).await;
    let ids = ["first".to_owned(), "second".to_owned()];
    assert_eq!(
        transactions(&applied, &ids),
        1,
        "the second joined the lingering batch: {applied:?}"
    );

    publisher
        .publish(&ping("third"), "flow")
        .await
        .expect("publish");
    shop.handed_over().await;
    shop.world.shutdown.cancel();
    shop.bus.stopped().await;
    let applied = shop.world.effects("ping").await;
    assert_eq!(
        applied.len(),
        3,
        "the lingering third was handled at shutdown: {applied:?}"
    );
    shop.world.broker.cleanup().await;
    shop.world.db.cleanup().await;
}
