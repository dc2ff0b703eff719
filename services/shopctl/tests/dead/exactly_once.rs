//! The reason replay exists: a message dead-lettered while something was broken, replayed once it
//! is fixed, has its effect exactly once — and replaying it again changes nothing.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use event_bus::{
    EventBus, Handler, HandlerContext, HandlerResult,
    testing::{TestBroker, TestDatabase},
};
use serde::{Deserialize, Serialize};
use shopctl::{Broker, Choice, Selector};
use tokio_util::sync::CancellationToken;

use crate::support::{Rig, dead, management_url};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Ping {
    id: String,
}
event_bus::event!(Ping, exchange = "probe", name = "ping", version = 1);

/// Fails while `broken` is set; otherwise records the ping in `effects`, in the handler's
/// transaction. Remembers every call: message id and attempt.
#[derive(Clone, Default)]
struct Flaky {
    broken: Arc<AtomicBool>,
    calls: Arc<Mutex<Vec<(String, u32)>>>,
}

impl Handler<Ping> for Flaky {
    async fn handle(&self, ctx: &mut HandlerContext<'_>, event: Ping) -> HandlerResult {
        let metadata = ctx.metadata();
        self.calls
            .lock()
            .expect("calls")
            .push((metadata.message_id.clone(), metadata.attempt));
        if self.broken.load(Ordering::SeqCst) {
            return Err(anyhow::anyhow!("the ledger is closed").into());
        }
        sqlx::query("INSERT INTO effects (ping) VALUES ($1)")
            .bind(&event.id)
            .execute(ctx.db())
            .await?;
        Ok(())
    }
}

impl Flaky {
    fn attempts_of(&self, message_id: &str) -> Vec<u32> {
        let calls = self.calls.lock().expect("calls");
        calls
            .iter()
            .filter(|(id, _)| id == message_id)
            .map(|(_, attempt)| *attempt)
            .collect()
    }
}

async fn effects(db: &TestDatabase) -> Vec<String> {
    sqlx::query_scalar("SELECT ping FROM effects ORDER BY id")
        .fetch_all(&db.pool)
        .await
        .expect("read effects")
}

/// Waits (bounded) until `ping`'s effect is recorded.
async fn wait_effect(db: &TestDatabase, ping: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let rows = effects(db).await;
        if rows.iter().any(|row| row == ping) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no effect of {ping} after 20 s: {rows:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_dead_letter_replayed_after_its_cause_is_fixed_has_its_effect_exactly_once() {
    let broker = TestBroker::new().await;
    let db = TestDatabase::new().await;
    sqlx::query("CREATE TABLE effects (id BIGSERIAL PRIMARY KEY, ping TEXT NOT NULL)")
        .execute(&db.pool)
        .await
        .expect("create effects");
    let flaky = Flaky::default();
    flaky.broken.store(true, Ordering::SeqCst);

    // One retry, 50 ms later; one delivery at a time, so that the queue is handled in its order.
    let mut settings = broker.bus_settings("flaky");
    settings.retry_delays_ms = vec![50];
    settings.concurrency = 1;
    settings.prefetch = 1;
    settings.batch_size = 1;
    let shutdown = CancellationToken::new();
    let bus = EventBus::new(settings, db.pool.clone())
        .on::<Ping, _>(flaky.clone())
        .start(shutdown.clone())
        .await
        .expect("start the bus");
    tokio::time::timeout(Duration::from_secs(20), bus.connected())
        .await
        .expect("the bus connects within 20 s");

    // shopctl beside the running service, with the test's probe.
    let shopctl = Broker::connect(&broker.broker_settings(), &management_url())
        .await
        .expect("shopctl connects");
    let rig = Rig::from_parts(broker, shopctl).await;

    // Broken: the first attempt and its retry fail, and the ping is dead-lettered.
    let id = bus
        .publisher()
        .publish(&Ping { id: "p-1".into() }, "flow-1")
        .await
        .expect("publish");
    rig.wait_depth("flaky.queue.dead", 1).await;
    assert_eq!(flaky.attempts_of(&id), vec![1, 2]);
    assert!(effects(&db).await.is_empty());
    let copy = shopctl::show(&rig.shopctl, &id, Some(&dead("flaky.queue.dead")), 100)
        .await
        .expect("show")
        .pop()
        .expect("the dead letter");
    assert_eq!(copy.reason.as_deref(), Some("the ledger is closed"));
    assert_eq!(copy.kind.as_deref(), Some("handler"));

    // Fixed, then replayed: applied once, at a fresh first attempt.
    flaky.broken.store(false, Ordering::SeqCst);
    let replay = Choice {
        queue: dead("flaky.queue.dead"),
        selector: Selector::Ids(vec![id.clone()]),
        limit: 100,
    };
    let record = shopctl::replay(&rig.shopctl, &replay, &rig.audit)
        .await
        .expect("replay");
    assert_eq!((record.count, record.error.as_deref()), (1, None));
    wait_effect(&db, "p-1").await;
    assert_eq!(flaky.attempts_of(&id), vec![1, 2, 1]);
    assert_eq!(rig.depth("flaky.queue.dead").await, 0);

    // The same dead letter again (a copy kept from before the replay), replayed again: the inbox
    // knows the id, the handler is not even called.
    rig.put("flaky.queue.dead", &copy.payload, copy.properties.clone())
        .await;
    let record = shopctl::replay(&rig.shopctl, &replay, &rig.audit)
        .await
        .expect("second replay");
    assert_eq!((record.count, record.error.as_deref()), (1, None));
    // One delivery at a time, in queue order: once a ping published after it is applied, the
    // replayed duplicate has been settled.
    bus.publisher()
        .publish(&Ping { id: "p-2".into() }, "flow-2")
        .await
        .expect("publish");
    wait_effect(&db, "p-2").await;
    assert_eq!(effects(&db).await, vec!["p-1", "p-2"]);
    assert_eq!(flaky.attempts_of(&id), vec![1, 2, 1]);
    assert_eq!(rig.depth("flaky.queue.dead").await, 0);
    assert_eq!(rig.depth("flaky.queue").await, 0);
    assert_eq!(rig.audit.records().expect("audit").len(), 2);

    shutdown.cancel();
    bus.stopped().await;
    rig.cleanup().await;
    db.cleanup().await;
}
