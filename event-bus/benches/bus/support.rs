//! What the benchmarks share: the probe event, a counter to wait on, latency statistics and the
//! result file that `loadgen report` turns into the report.

use std::{
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgPool, postgres::PgPoolOptions};
use tokio::sync::Notify;
use uuid::Uuid;

use event_bus::testing::TestDatabase;

/// An event shaped like the shop's `order.v2.submit` (about 300 bytes of JSON), so the bytes on
/// the wire are those of a real hop.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Probe {
    pub order_id: Uuid,
    pub customer_id: String,
    pub email: String,
    pub currency: String,
    pub lines: Vec<ProbeLine>,
    pub total_cents: i64,
    pub submitted_at: DateTime<Utc>,
}
event_bus::event!(Probe, exchange = "bench", name = "probe", version = 1);

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProbeLine {
    pub sku: String,
    pub quantity: u32,
    pub unit_price_cents: i64,
}

/// The `n`th probe.
pub fn probe(n: u64) -> Probe {
    Probe {
        order_id: Uuid::now_v7(),
        customer_id: format!("customer-{}", n % 1_000),
        email: format!("customer-{}@example.com", n % 1_000),
        currency: "EUR".into(),
        lines: vec![
            ProbeLine {
                sku: format!("SKU-{}", n % 100),
                quantity: 2,
                unit_price_cents: 1_999,
            },
            ProbeLine {
                sku: "SKU-GIFT-WRAP".into(),
                quantity: 1,
                unit_price_cents: 250,
            },
        ],
        total_cents: 4_248,
        submitted_at: Utc::now(),
    }
}

/// A pool of `size` connections on the test database, so that no variant waits on another's pool.
pub async fn pool(db: &TestDatabase, size: u32) -> PgPool {
    PgPoolOptions::new()
        .max_connections(size)
        .connect_with(TestDatabase::server().database(&db.name))
        .await
        .expect("connect a benchmark pool")
}

/// Counts handled messages and wakes the waiter when the expected number is reached.
#[derive(Default)]
pub struct Progress {
    count: AtomicU64,
    target: AtomicU64,
    reached: Notify,
}

impl Progress {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Starts a new count towards `target`.
    pub fn expect(&self, target: u64) {
        self.count.store(0, Ordering::SeqCst);
        self.target.store(target, Ordering::SeqCst);
    }

    pub fn add(&self) {
        let count = self.count.fetch_add(1, Ordering::SeqCst) + 1;
        if count == self.target.load(Ordering::SeqCst) {
            self.reached.notify_one();
        }
    }

    pub fn count(&self) -> u64 {
        self.count.load(Ordering::SeqCst)
    }

    /// Waits for the target, failing after `patience` with how far it got.
    pub async fn reached(&self, patience: Duration, what: &str) {
        if tokio::time::timeout(patience, self.reached.notified())
            .await
            .is_err()
        {
            panic!(
                "{what}: only {} of {} messages arrived within {patience:?}",
                self.count(),
                self.target.load(Ordering::SeqCst)
            );
        }
    }
}

/// Latencies in microseconds.
pub struct Latencies(hdrhistogram::Histogram<u64>);

impl Default for Latencies {
    fn default() -> Self {
        Self(hdrhistogram::Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("histogram"))
    }
}

impl Latencies {
    pub fn record(&mut self, latency: Duration) {
        self.0.saturating_record(
            u64::try_from(latency.as_micros())
                .unwrap_or(u64::MAX)
                .max(1),
        );
    }

    /// The latency at percentile `p` (0–100), in milliseconds.
    pub fn ms(&self, p: f64) -> f64 {
        self.0.value_at_quantile(p / 100.0) as f64 / 1_000.0
    }

    /// The distribution as `(percentile, ms)` points, evenly spaced in "nines" up to 99.99.
    pub fn points(&self) -> Vec<(f64, f64)> {
        (0..=80)
            .map(|step| {
                let nines = f64::from(step) / 20.0;
                let p = 100.0 * (1.0 - 10f64.powf(-nines));
                (p, self.ms(p))
            })
            .chain(std::iter::once((100.0, self.0.max() as f64 / 1_000.0)))
            .collect()
    }
}

/// One part of the report, as `loadgen report` reads it (the same shape is declared in
/// `services/loadgen/src/section.rs`).
#[derive(Debug, Default, Serialize)]
pub struct Section {
    /// Orders sections in the report: `10-bus-hop`, `20-outbox`, `30-flow`.
    pub key: String,
    pub title: String,
    /// Paragraphs under the title: what was measured and how.
    pub notes: Vec<String>,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// One line per figure, printed and quoted at the top of the report.
    pub summary: Vec<String>,
    pub distributions: Vec<Distribution>,
}

/// A latency distribution to plot.
#[derive(Debug, Serialize)]
pub struct Distribution {
    pub name: String,
    /// `(percentile, milliseconds)`.
    pub points: Vec<(f64, f64)>,
}

impl Section {
    /// Prints the summary lines and writes `<dir>/<key>.json`.
    pub fn publish(&self, dir: &Path) {
        for line in &self.summary {
            println!("{line}");
        }
        std::fs::create_dir_all(dir).expect("create the results folder");
        let path = dir.join(format!("{}.json", self.key));
        let json = serde_json::to_vec_pretty(self).expect("section as JSON");
        std::fs::write(&path, json).expect("write the section");
        eprintln!("wrote {}", path.display());
    }
}

/// CPU time (user + system) of this process so far, in milliseconds: `/proc/self/stat` counts
/// 10 ms ticks. Measures what the bus costs its host whatever else the machine is doing.
pub fn process_cpu_ms() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let Some((_, fields)) = stat.rsplit_once(')') else {
        return 0.0;
    };
    let fields: Vec<&str> = fields.split_whitespace().collect();
    // After the command name, field 3 (the state) comes first: utime is 14, stime 15.
    let ticks = |field: usize| {
        fields
            .get(field - 3)
            .and_then(|value| value.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (ticks(14) + ticks(15)) as f64 * 10.0
}

/// A rate as a whole number: `1234.6` as `1235`.
pub fn rate(value: f64) -> String {
    format!("{value:.0}")
}

/// The median of `values` (they need not be sorted).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}
