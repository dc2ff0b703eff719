//! The outbox path: events staged in PostgreSQL transactions (one event per transaction, as a
//! service stages what a state change causes) and published by the relay of a running bus.
//!
//! A raw consumer on a queue bound to the event notes when each message arrives; the lag of an
//! event is from the moment its staging transaction's commit returned to the moment it was
//! delivered: an upper bound of commit → publish, as a consumer sees it.
//!
//! Two phases: `saturated`, where producers commit as fast as they can (events per second, and
//! the lag under that load), and `paced`, a steady rate well below it (the lag a flow sees).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures_util::StreamExt;
use lapin::{Connection, ConnectionProperties, options::BasicConsumeOptions, types::FieldTable};
use sqlx::PgPool;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use event_bus::{
    EventBus, EventTransaction, Outbox,
    testing::{TestBroker, TestDatabase},
};

use crate::{
    raw,
    support::{self, Distribution, Latencies, Probe, Progress, Section, probe, rate},
};

const PATIENCE: Duration = Duration::from_secs(600);

pub struct Config {
    /// Events staged in the saturated phase.
    pub events: u64,
    /// Transactions staging at once in the saturated phase.
    pub producers: usize,
    /// Events per second of the paced phase.
    pub paced_rate: u64,
    /// Length of the paced phase.
    pub paced_secs: u64,
}

/// When each message arrived, by message id.
type Arrivals = Arc<Mutex<HashMap<Uuid, Instant>>>;

/// Staged event ids with the instant their transaction's commit returned.
type Commits = Vec<(Uuid, Instant)>;

/// One phase's figures.
struct Phase {
    name: String,
    events: u64,
    staged_per_sec: f64,
    relayed_per_sec: f64,
    lag: Latencies,
}

pub async fn run(config: &Config) -> Section {
    let broker = TestBroker::new().await;
    let db = TestDatabase::new().await;
    let shutdown = CancellationToken::new();
    let progress = Progress::new();
    let arrivals: Arrivals = Arc::default();
    let sink = sink(&broker, progress.clone(), arrivals.clone()).await;

    let relay = EventBus::new(broker.bus_settings("outbox-source"), db.pool.clone())
        .publishes::<Probe>()
        .start(shutdown.clone())
        .await
        .expect("start the relaying bus");
    relay.connected().await;
    let producers = support::pool(&db, config.producers as u32 + 1).await;
    let outbox = relay.outbox();

    // Warm-up: connections opened, statements prepared, the relay awake.
    progress.expect(100);
    saturate(&outbox, &producers, 0, 100, config.producers).await;
    progress.reached(PATIENCE, "outbox warm-up").await;
    arrivals.lock().expect("arrivals").clear();

    progress.expect(config.events);
    let start = Instant::now();
    let commits = saturate(&outbox, &producers, 100, config.events, config.producers).await;
    let staged = start.elapsed();
    progress.reached(PATIENCE, "outbox, saturated").await;
    let saturated = phase(
        format!("saturated, {} producers", config.producers),
        start,
        staged,
        &commits,
        &arrivals,
    );

    let paced_events = config.paced_rate * config.paced_secs;
    progress.expect(paced_events);
    let start = Instant::now();
    let commits = pace(
        &outbox,
        &producers,
        100 + config.events,
        paced_events,
        config.paced_rate,
    )
    .await;
    let staged = start.elapsed();
    progress.reached(PATIENCE, "outbox, paced").await;
    let paced = phase(
        format!("paced, {} events/s", config.paced_rate),
        start,
        staged,
        &commits,
        &arrivals,
    );

    shutdown.cancel();
    relay.stopped().await;
    sink.stop.cancel();
    let _ = sink.connection.close(200, "done".into()).await;
    producers.close().await;
    db.cleanup().await;
    broker.cleanup().await;
    section(config, [saturated, paced])
}

struct Sink {
    connection: Connection,
    stop: CancellationToken,
}

/// A queue bound to the probe, consumed without acks, noting each arrival.
async fn sink(broker: &TestBroker, progress: Arc<Progress>, arrivals: Arrivals) -> Sink {
    let connection = Connection::connect_uri(
        broker.broker_settings().uri(),
        ConnectionProperties::default().with_connection_name("outbox-sink".into()),
    )
    .await
    .expect("connect the sink");
    let channel = connection.create_channel().await.expect("open a channel");
    raw::declare_queue(&channel, "outbox-sink").await;
    let mut consumer = channel
        .basic_consume(
            "outbox-sink".into(),
            "".into(),
            BasicConsumeOptions {
                no_ack: true,
                ..BasicConsumeOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .expect("consume the sink");
    let stop = CancellationToken::new();
    let stopping = stop.clone();
    tokio::spawn(async move {
        loop {
            let delivery = tokio::select! {
                _ = stopping.cancelled() => break,
                delivery = consumer.next() => delivery,
            };
            let Some(Ok(delivery)) = delivery else { break };
            let arrived = Instant::now();
            let id = delivery
                .properties
                .message_id()
                .as_ref()
                .and_then(|id| Uuid::parse_str(id.as_str()).ok())
                .expect("a UUID message id");
            arrivals.lock().expect("arrivals").insert(id, arrived);
            progress.add();
        }
    });
    Sink { connection, stop }
}

/// Stages one probe in a transaction of its own; returns its id and when the commit returned.
async fn stage(outbox: &Outbox, pool: &PgPool, n: u64) -> (Uuid, Instant) {
    let event = probe(n);
    let mut tx = outbox.wrap(pool.begin().await.expect("begin"));
    let id = tx
        .publish_in(&event.order_id.to_string(), &event)
        .expect("stage");
    let id = Uuid::parse_str(&id).expect("a UUID message id");
    tx.commit().await.expect("commit");
    (id, Instant::now())
}

/// `producers` tasks staging `count` probes from `first` as fast as they can.
async fn saturate(
    outbox: &Outbox,
    pool: &PgPool,
    first: u64,
    count: u64,
    producers: usize,
) -> Commits {
    let producers = producers.max(1) as u64;
    let mut tasks = JoinSet::new();
    for p in 0..producers {
        let pool = pool.clone();
        let outbox = outbox.clone();
        tasks.spawn(async move {
            let mut commits = Vec::new();
            let mut n = first + p;
            while n < first + count {
                commits.push(stage(&outbox, &pool, n).await);
                n += producers;
            }
            commits
        });
    }
    let mut commits = Vec::with_capacity(count as usize);
    while let Some(part) = tasks.join_next().await {
        commits.extend(part.expect("a producer"));
    }
    commits
}

/// Stages `count` probes from `first` at `per_sec`, each in its own task (an open loop).
async fn pace(outbox: &Outbox, pool: &PgPool, first: u64, count: u64, per_sec: u64) -> Commits {
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / per_sec.max(1) as f64));
    let mut tasks = JoinSet::new();
    for n in first..first + count {
        tick.tick().await;
        let pool = pool.clone();
        let outbox = outbox.clone();
        tasks.spawn(async move { stage(&outbox, &pool, n).await });
    }
    let mut commits = Vec::with_capacity(count as usize);
    while let Some(commit) = tasks.join_next().await {
        commits.push(commit.expect("a producer"));
    }
    commits
}

fn phase(
    name: String,
    start: Instant,
    staged: Duration,
    commits: &Commits,
    arrivals: &Arrivals,
) -> Phase {
    let mut arrivals = arrivals.lock().expect("arrivals");
    let mut lag = Latencies::default();
    let mut last = start;
    for (id, committed) in commits {
        let arrived = arrivals.remove(id).expect("every staged event arrived");
        lag.record(arrived.saturating_duration_since(*committed));
        last = last.max(arrived);
    }
    let events = commits.len() as u64;
    Phase {
        name,
        events,
        staged_per_sec: events as f64 / staged.as_secs_f64(),
        relayed_per_sec: events as f64 / (last - start).as_secs_f64(),
        lag,
    }
}

fn section(config: &Config, phases: [Phase; 2]) -> Section {
    let [saturated, paced] = &phases;
    let rows = phases
        .iter()
        .map(|phase| {
            vec![
                phase.name.clone(),
                phase.events.to_string(),
                rate(phase.staged_per_sec),
                rate(phase.relayed_per_sec),
                format!("{:.1}", phase.lag.ms(50.0)),
                format!("{:.1}", phase.lag.ms(99.0)),
                format!("{:.1}", phase.lag.ms(100.0)),
            ]
        })
        .collect();
    let summary = vec![
        format!(
            "outbox relay, saturated ({} producers): {} events/s committed to delivered (staged {} /s); lag p50 {:.1} ms, p99 {:.1} ms",
            config.producers,
            rate(saturated.relayed_per_sec),
            rate(saturated.staged_per_sec),
            saturated.lag.ms(50.0),
            saturated.lag.ms(99.0),
        ),
        format!(
            "outbox lag commit->publish at {} events/s: p50 {:.1} ms, p99 {:.1} ms",
            config.paced_rate,
            paced.lag.ms(50.0),
            paced.lag.ms(99.0),
        ),
    ];
    let distributions = phases
        .iter()
        .map(|phase| Distribution {
            name: format!("outbox lag, {}", phase.name),
            points: phase.lag.points(),
        })
        .collect();
    Section {
        key: "20-outbox".into(),
        title: "Outbox: staged in PostgreSQL, relayed to the broker".into(),
        notes: vec![
            "Each event is staged through the bus's `Outbox` in a transaction of its own (`publish_in`, then `commit`: one insert, the commit, then a wake of the relay of the process). The relay of the running bus (woken in-process, batches of 200, pipelined confirms) publishes it; a consumer without acks notes its arrival.".into(),
            "*events/s*: events over the time from the first staging to the last arrival; *staged/s*: the producers' commit rate alone. *lag*: from the return of the staging commit to the arrival at the consumer, an upper bound of commit → publish.".into(),
        ],
        columns: [
            "phase",
            "events",
            "staged/s",
            "events/s",
            "lag p50 ms",
            "lag p99 ms",
            "lag max ms",
        ]
        .map(String::from)
        .to_vec(),
        rows,
        summary,
        distributions,
    }
}
