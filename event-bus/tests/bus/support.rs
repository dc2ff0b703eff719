//! Test events, handlers and a harness: one vhost and one database per test.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use event_bus::{
    BusSettings, DecodeError, Event, EventBus, EventTransaction, Handler, HandlerContext,
    HandlerResult, RunningBus,
    event::decode_json,
    testing::{TestBroker, TestDatabase},
};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

/// A plain event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ping {
    pub id: String,
}
event_bus::event!(Ping, exchange = "probe", name = "ping", version = 1);

/// The legacy shape of a note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoteV1 {
    pub text: String,
}
event_bus::event!(NoteV1, exchange = "probe", name = "note", version = 1);

/// The newest shape: v1 is upcast into it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Note {
    pub text: String,
    pub words: u32,
}

impl Event for Note {
    const EXCHANGE: &'static str = "probe";
    const NAME: &'static str = "note";
    const VERSION: u32 = 2;
    const ROUTING_KEY: &'static str = event_bus::routing_key!("probe", "note", 2);

    fn decode(version: u32, payload: &[u8]) -> Result<Self, DecodeError> {
        match version {
            1 => decode_json::<NoteV1>(payload).map(|v1| Note {
                words: v1.text.split_whitespace().count() as u32,
                text: v1.text,
            }),
            2 => decode_json(payload),
            version => Err(DecodeError::UnknownVersion {
                event: event_bus::event::family::<Self>(),
                version,
            }),
        }
    }
}

/// Records every event it handles in table `effects` of the test database, in the handler's
/// transaction, so a row means "applied and committed".
pub struct Record;

impl Handler<Ping> for Record {
    async fn handle(&self, ctx: &mut HandlerContext<'_>, event: Ping) -> HandlerResult {
        record(ctx, "ping", &event.id).await
    }
}

impl Handler<Note> for Record {
    async fn handle(&self, ctx: &mut HandlerContext<'_>, event: Note) -> HandlerResult {
        let detail = format!("{}|{}|v{}", event.text, event.words, ctx.metadata().version);
        record(ctx, "note", &detail).await
    }
}

async fn record(ctx: &mut HandlerContext<'_>, kind: &str, detail: &str) -> HandlerResult {
    let message_id = ctx.metadata().message_id.clone();
    sqlx::query("INSERT INTO effects (kind, detail, message_id) VALUES ($1, $2, $3)")
        .bind(kind)
        .bind(detail)
        .bind(message_id)
        .execute(ctx.db())
        .await?;
    Ok(())
}

impl Handler<event_bus::AnyEvent> for Record {
    async fn handle(
        &self,
        ctx: &mut HandlerContext<'_>,
        event: event_bus::AnyEvent,
    ) -> HandlerResult {
        let detail = format!("{} {}", ctx.metadata().routing_key, event.payload);
        record(ctx, "any", &detail).await
    }
}

/// Answers every ping with a note, staged through the handler's outbox.
pub struct Answer;

impl Handler<Ping> for Answer {
    async fn handle(&self, ctx: &mut HandlerContext<'_>, event: Ping) -> HandlerResult {
        ctx.publish(&Note {
            text: format!("answer to {}", event.id),
            words: 3,
        })?;
        Ok(())
    }
}

/// Fails every time, remembering the attempt numbers it saw.
#[derive(Clone, Default)]
pub struct AlwaysFail {
    pub attempts: Arc<Mutex<Vec<u32>>>,
}

impl Handler<Ping> for AlwaysFail {
    async fn handle(&self, ctx: &mut HandlerContext<'_>, _: Ping) -> HandlerResult {
        self.attempts
            .lock()
            .expect("attempts lock")
            .push(ctx.metadata().attempt);
        Err(anyhow::anyhow!("the ledger is closed").into())
    }
}

/// One test's world: a vhost, a database with an `effects` table, a shutdown token.
pub struct World {
    pub broker: TestBroker,
    pub db: TestDatabase,
    pub shutdown: CancellationToken,
}

impl World {
    pub async fn new() -> Self {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "warn".into()),
            )
            .with_test_writer()
            .try_init();
        let broker = TestBroker::new().await;
        let db = TestDatabase::new().await;
        sqlx::query(
            "CREATE TABLE effects (id BIGSERIAL PRIMARY KEY, kind TEXT NOT NULL,
             detail TEXT NOT NULL, message_id TEXT NOT NULL)",
        )
        .execute(&db.pool)
        .await
        .expect("create effects");
        Self {
            broker,
            db,
            shutdown: CancellationToken::new(),
        }
    }

    pub fn settings(&self, service: &str) -> BusSettings {
        self.broker.bus_settings(service)
    }

    pub fn bus(&self, service: &str) -> EventBus {
        EventBus::new(self.settings(service), self.db.pool.clone())
    }

    /// Starts `bus` and waits until it is connected with its topology declared.
    pub async fn start(&self, bus: EventBus) -> RunningBus {
        let running = bus.start(self.shutdown.clone()).await.expect("start bus");
        tokio::time::timeout(Duration::from_secs(20), running.connected())
            .await
            .expect("bus connects within 20 s");
        running
    }

    /// Polls `effects` until `count(kind)` reaches `expected` (bounded at 20 s), returns the rows.
    pub async fn wait_effects(&self, kind: &str, expected: usize) -> Vec<String> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let rows = self.effects(kind).await;
            if rows.len() >= expected {
                return rows;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "expected {expected} `{kind}` effects, saw {rows:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn effects(&self, kind: &str) -> Vec<String> {
        sqlx::query_scalar("SELECT detail FROM effects WHERE kind = $1 ORDER BY id")
            .bind(kind)
            .fetch_all(&self.db.pool)
            .await
            .expect("read effects")
    }

    pub async fn stop(self, buses: Vec<RunningBus>) {
        self.shutdown.cancel();
        for bus in buses {
            bus.stopped().await;
        }
        self.broker.cleanup().await;
        self.db.cleanup().await;
    }
}
