//! The bus hop: a typed publish with confirms through the bus, consumed and acked by a typed
//! handler, against the same work written directly on lapin (see [`crate::raw`]).
//!
//! Each measurement gets a fresh vhost. The consumers start first, a warm-up batch goes through,
//! then `messages` probes are published in batches of pipelined confirms while the consumers
//! work; the clock stops when every bound queue has handled every message. With three queues each
//! message is handled three times (fan-out), and the rate counts published messages.
//!
//! Variants:
//! - `bus`: `Publisher::publish_batch` of typed messages; `EventBus::on` with a handler that does
//!   nothing, so what is measured is the bus's own work (decode, inbox transaction, commit, ack).
//! - `raw lapin + inbox`: the same on lapin, with the same inbox transaction per message.
//! - `raw lapin, no inbox`: decoded and acked only; what the inbox costs shows against it.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use event_bus::{
    EventBus, Handler, HandlerContext, HandlerResult, OutgoingMessage, Publisher, RunningBus,
    testing::{TestBroker, TestDatabase},
};
use tokio_util::sync::CancellationToken;

use crate::{
    raw,
    support::{self, Probe, Progress, Section, median, probe, rate},
};

/// How long one measurement may take before it is declared stuck.
const PATIENCE: Duration = Duration::from_secs(600);

pub struct Config {
    /// Messages published per measurement.
    pub messages: u64,
    /// Messages published (and handled) before the clock starts.
    pub warmup: u64,
    /// Messages per batch of pipelined confirms: the confirm window.
    pub batch: u64,
    /// `basic.qos` of every consumer (the bus's default; the raw consumers use the same).
    pub prefetch: u16,
    /// Messages each bus consumer handles at once (the bus's default).
    pub concurrency: usize,
    /// Deliveries the bus handles in one transaction, how long a batch that is not full waits
    /// for more, and whether each handler of a batch gets a savepoint (the bus's defaults).
    pub batch_size: usize,
    pub batch_linger_ms: u64,
    pub savepoint_per_handler: bool,
    /// Messages each raw consumer handles at once, each acked on its own: fixed, so that the
    /// baseline stays what a user of plain lapin would run whatever the bus is set to (with
    /// fewer, raw lapin without the inbox is slower: 7.5k msg/s with 2 against 11k with 16).
    pub raw_concurrency: usize,
    /// Measurements of each variant, interleaved; the median is reported.
    pub rounds: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Variant {
    Bus,
    RawInbox,
    RawBare,
}

impl Variant {
    const ALL: [Self; 3] = [Self::Bus, Self::RawInbox, Self::RawBare];

    fn label(self) -> &'static str {
        match self {
            Self::Bus => "event-bus",
            Self::RawInbox => "raw lapin + inbox",
            Self::RawBare => "raw lapin, no inbox",
        }
    }
}

/// One measurement: messages per second published (confirmed) and handled end to end.
#[derive(Debug, Clone, Copy)]
struct Measured {
    publish: f64,
    hop: f64,
    /// CPU time of this process (publisher and consumers) per published message, µs.
    cpu_us: f64,
}

/// A handler that only counts: the bus does the rest.
struct Count(Arc<Progress>);

impl Handler<Probe> for Count {
    async fn handle(&self, _: &mut HandlerContext<'_>, event: Probe) -> HandlerResult {
        std::hint::black_box(&event);
        self.0.add();
        Ok(())
    }
}

/// The producing side of one variant.
enum Source {
    Bus(RunningBus, Publisher),
    Raw(Box<raw::Publisher>),
}

impl Source {
    async fn publish(&self, numbers: std::ops::Range<u64>) {
        match self {
            Self::Bus(_, publisher) => {
                let messages: Vec<OutgoingMessage> = numbers
                    .map(|n| {
                        let event = probe(n);
                        OutgoingMessage::new(&event, event.order_id.to_string(), None)
                            .expect("encode a probe")
                    })
                    .collect();
                for outcome in publisher
                    .publish_batch(&messages)
                    .await
                    .expect("publish a batch")
                {
                    outcome.expect("the broker took the probe");
                }
            }
            Self::Raw(publisher) => publisher.publish_batch(numbers).await,
        }
    }

    /// Publishes `count` probes from `first`, `batch` at a time.
    async fn publish_all(&self, first: u64, count: u64, batch: u64) {
        let mut next = first;
        while next < first + count {
            let end = (next + batch.max(1)).min(first + count);
            self.publish(next..end).await;
            next = end;
        }
    }
}

/// Runs every variant with one and three queues, `rounds` times, and reports the medians.
pub async fn run(config: &Config) -> Section {
    let db = TestDatabase::new().await;
    event_bus::schema::install(&db.pool)
        .await
        .expect("install the inbox table");
    let mut results: HashMap<(usize, Variant), Vec<Measured>> = HashMap::new();
    for round in 0..config.rounds {
        for queues in [1, 3] {
            // A different variant goes first in each round, so that none always gets the
            // freshest (or the most disturbed) minute of the machine.
            for i in 0..Variant::ALL.len() {
                let variant = Variant::ALL[(i + round) % Variant::ALL.len()];
                let measured = measure(variant, queues, config, &db).await;
                eprintln!(
                    "hop round {}/{}: {queues} queue(s), {:<20} publish {:>7} msg/s, hop {:>7} msg/s, {:>5.0} µs CPU/msg",
                    round + 1,
                    config.rounds,
                    variant.label(),
                    rate(measured.publish),
                    rate(measured.hop),
                    measured.cpu_us,
                );
                results.entry((queues, variant)).or_default().push(measured);
            }
        }
    }
    db.cleanup().await;
    section(config, &results)
}

async fn measure(variant: Variant, queues: usize, config: &Config, db: &TestDatabase) -> Measured {
    sqlx::query("TRUNCATE event_bus_inbox")
        .execute(&db.pool)
        .await
        .expect("empty the inbox");
    let broker = TestBroker::new().await;
    let shutdown = CancellationToken::new();
    let progress = Progress::new();
    let pool_size = config.concurrency.max(config.raw_concurrency) as u32 + 2;

    let mut buses = Vec::new();
    let mut raws = Vec::new();
    for i in 0..queues {
        let name = format!("sink-{i}");
        let pool = support::pool(db, pool_size).await;
        match variant {
            Variant::Bus => {
                let mut settings = broker.bus_settings(&name);
                settings.prefetch = config.prefetch;
                settings.concurrency = config.concurrency;
                settings.batch_size = config.batch_size;
                settings.batch_linger_ms = config.batch_linger_ms;
                settings.savepoint_per_handler = config.savepoint_per_handler;
                let bus = EventBus::new(settings, pool)
                    .on::<Probe, _>(Count(progress.clone()))
                    .start(shutdown.clone())
                    .await
                    .expect("start a consuming bus");
                bus.connected().await;
                buses.push(bus);
            }
            Variant::RawInbox | Variant::RawBare => {
                let inbox = (variant == Variant::RawInbox).then_some(pool);
                raws.push(
                    raw::Consumer::start(
                        &broker,
                        &name,
                        config.prefetch,
                        config.raw_concurrency,
                        inbox,
                        progress.clone(),
                    )
                    .await,
                );
            }
        }
    }
    let source = match variant {
        Variant::Bus => {
            let bus = EventBus::new(broker.bus_settings("source"), support::pool(db, 2).await)
                .publishes::<Probe>()
                .start(shutdown.clone())
                .await
                .expect("start the publishing bus");
            bus.connected().await;
            let publisher = bus.publisher();
            Source::Bus(bus, publisher)
        }
        Variant::RawInbox | Variant::RawBare => {
            Source::Raw(Box::new(raw::Publisher::connect(&broker).await))
        }
    };

    progress.expect(config.warmup * queues as u64);
    source.publish_all(0, config.warmup, config.batch).await;
    progress.reached(PATIENCE, "warm-up").await;

    progress.expect(config.messages * queues as u64);
    let start = Instant::now();
    let cpu_start = support::process_cpu_ms();
    source
        .publish_all(config.warmup, config.messages, config.batch)
        .await;
    let published = start.elapsed();
    progress.reached(PATIENCE, variant.label()).await;
    let handled = start.elapsed();
    let cpu_ms = support::process_cpu_ms() - cpu_start;

    shutdown.cancel();
    match source {
        Source::Bus(bus, _) => bus.stopped().await,
        Source::Raw(publisher) => publisher.close().await,
    }
    for bus in buses {
        bus.stopped().await;
    }
    for consumer in raws {
        consumer.stop().await;
    }
    broker.cleanup().await;
    let messages = config.messages as f64;
    Measured {
        publish: messages / published.as_secs_f64(),
        hop: messages / handled.as_secs_f64(),
        cpu_us: cpu_ms * 1_000.0 / messages,
    }
}

/// The hop rate of `variant` over that of `reference`, round by round, as (median, lowest,
/// highest).
///
/// Paired by round, because the variants of a round run back to back: the machine's speed drifts
/// by a third from one minute to the next here (the same variant measured 2700 and 3900 msg/s a
/// few minutes apart), and a ratio of two medians could pair a slow minute of one variant with a
/// fast minute of the other.
fn paired_ratio(
    results: &HashMap<(usize, Variant), Vec<Measured>>,
    queues: usize,
    variant: Variant,
    reference: Variant,
) -> (f64, f64, f64) {
    let ratios: Vec<f64> = results[&(queues, variant)]
        .iter()
        .zip(&results[&(queues, reference)])
        .map(|(measured, reference)| measured.hop / reference.hop)
        .collect();
    let low = ratios.iter().copied().fold(f64::INFINITY, f64::min);
    let high = ratios.iter().copied().fold(0.0, f64::max);
    (median(&ratios), low, high)
}

fn section(config: &Config, results: &HashMap<(usize, Variant), Vec<Measured>>) -> Section {
    let hop = |queues, variant| {
        let runs = &results[&(queues, variant)];
        median(&runs.iter().map(|m| m.hop).collect::<Vec<_>>())
    };
    let mut rows = Vec::new();
    for queues in [1usize, 3] {
        for variant in Variant::ALL {
            let runs = &results[&(queues, variant)];
            let hops: Vec<f64> = runs.iter().map(|m| m.hop).collect();
            let publishes: Vec<f64> = runs.iter().map(|m| m.publish).collect();
            let cpu: Vec<f64> = runs.iter().map(|m| m.cpu_us).collect();
            let spread = hops.iter().copied().fold(f64::INFINITY, f64::min)
                ..=hops.iter().copied().fold(0.0, f64::max);
            rows.push(vec![
                queues.to_string(),
                variant.label().to_owned(),
                rate(median(&publishes)),
                rate(median(&hops)),
                format!("{}–{}", rate(*spread.start()), rate(*spread.end())),
                rate(median(&hops) * queues as f64),
                format!(
                    "{:.2}",
                    paired_ratio(results, queues, variant, Variant::RawBare).0
                ),
                format!(
                    "{:.2}",
                    paired_ratio(results, queues, variant, Variant::RawInbox).0
                ),
                format!("{:.0}", median(&cpu)),
            ]);
        }
    }
    let mut summary = Vec::new();
    let plural = |queues| if queues == 1 { "" } else { "s" };
    // The honest baseline: what a user who gives up exactly-once runs (decode and ack).
    for queues in [1usize, 3] {
        let (ratio, low, high) = paired_ratio(results, queues, Variant::Bus, Variant::RawBare);
        summary.push(format!(
            "bus/raw-lapin ratio, {queues} queue{}: {ratio:.2} (against raw lapin without the inbox; median of {} rounds, {low:.2}–{high:.2}; medians: bus {} msg/s, raw lapin {} msg/s; target >= 0.80: {})",
            plural(queues),
            results[&(queues, Variant::Bus)].len(),
            rate(hop(queues, Variant::Bus)),
            rate(hop(queues, Variant::RawBare)),
            if ratio >= 0.8 { "met" } else { "NOT met" },
        ));
    }
    for queues in [1usize, 3] {
        let (ratio, low, high) = paired_ratio(results, queues, Variant::Bus, Variant::RawInbox);
        summary.push(format!(
            "bus/raw-lapin-with-inbox ratio, {queues} queue{}: {ratio:.2} (median of {} rounds, {low:.2}–{high:.2}; raw lapin doing the same inbox work {} msg/s)",
            plural(queues),
            results[&(queues, Variant::Bus)].len(),
            rate(hop(queues, Variant::RawInbox)),
        ));
    }
    let cpu = |queues, variant| {
        let runs = &results[&(queues, variant)];
        median(&runs.iter().map(|m| m.cpu_us).collect::<Vec<_>>())
    };
    for queues in [1usize, 3] {
        summary.push(format!(
            "bus client CPU per message, {queues} queue{}: {:.0} µs (raw lapin with the inbox {:.0} µs, without {:.0} µs)",
            if queues == 1 { "" } else { "s" },
            cpu(queues, Variant::Bus),
            cpu(queues, Variant::RawInbox),
            cpu(queues, Variant::RawBare),
        ));
    }
    for queues in [1usize, 3] {
        let bare = hop(queues, Variant::RawBare);
        let inbox = hop(queues, Variant::RawInbox);
        summary.push(format!(
            "inbox cost, {queues} queue{}: raw lapin {} msg/s without the inbox transaction, {} with it ({:.2}x)",
            if queues == 1 { "" } else { "s" },
            rate(bare),
            rate(inbox),
            inbox / bare,
        ));
    }
    Section {
        key: "10-bus-hop".into(),
        title: "Bus hop: event-bus against raw lapin".into(),
        notes: vec![
            format!(
                "{} persistent, `mandatory` messages of {} bytes (shaped like `order.v2.submit`) per measurement after {} of warm-up; confirms pipelined in batches of {}; prefetch {}; each consumer on its own connection and pool. The bus on its shipped settings (`BusSettings::default()`): {} workers per queue, batches of up to {} deliveries per transaction with a linger of {} ms, savepoint per handler {}. The raw consumers handle {} messages at once and ack each on its own. The median of {} interleaved round(s) is shown, with the spread of the hop rate. The variants of a round run back to back, each first in turn.",
                config.messages,
                serde_json::to_vec(&probe(0)).map(|json| json.len()).unwrap_or_default(),
                config.warmup,
                config.batch,
                config.prefetch,
                config.concurrency,
                config.batch_size,
                config.batch_linger_ms,
                if config.savepoint_per_handler { "on" } else { "off" },
                config.raw_concurrency,
                config.rounds,
            ),
            "*hop msg/s*: published messages per second until every bound queue has handled each (decoded, inbox transaction, counted); *publish msg/s*: the publisher alone, confirms included, while the consumers work. *vs raw*: the hop rate over that of raw lapin without the inbox (decode and ack only: what a user who gives up exactly-once runs) in the same round; *vs raw + inbox*: over raw lapin doing the same inbox work; the median over the rounds (a machine whose speed drifts from minute to minute moves both alike). *client CPU µs/msg*: CPU time of the benchmark process (publisher and consumers, not the broker nor PostgreSQL) per published message: what the bus costs its host, and less disturbed by a busy machine than the rates.".into(),
        ],
        columns: [
            "queues",
            "variant",
            "publish msg/s",
            "hop msg/s",
            "hop spread",
            "handled msg/s",
            "vs raw",
            "vs raw + inbox",
            "client CPU µs/msg",
        ]
        .map(String::from)
        .to_vec(),
        rows,
        summary,
        distributions: Vec::new(),
    }
}
