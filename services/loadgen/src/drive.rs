//! Loops of journeys: open (orders due at a fixed rate, whatever happens to the earlier ones) and
//! closed (a fixed number of orders waiting for their confirmation, each followed by the next as
//! soon as its customer has seen it confirmed). A phase ends once every order it placed is final:
//! the confirmed ones are settled from the order service's records ([`crate::records`]).
//! Progress goes to stderr every few seconds.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use tokio::task::JoinSet;

use crate::journey::{Due, End, Journey, Shop};
use crate::records::OrderRecords;

/// How often progress is printed.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// How a phase loads the shop.
#[derive(Debug, Clone, Copy)]
pub enum Load {
    /// `rate` orders per second for `secs` seconds.
    Open { rate: u64, secs: u64 },
    /// `in_flight` orders at all times for `secs` seconds.
    Closed { in_flight: usize, secs: u64 },
}

impl Load {
    /// `open loop, 100 orders/s` / `closed loop, 64 in flight`.
    pub fn label(&self) -> String {
        match self {
            Self::Open { rate, .. } => format!("open loop, {rate} orders/s"),
            Self::Closed { in_flight, .. } => format!("closed loop, {in_flight} in flight"),
        }
    }
}

/// Counts for the progress lines.
#[derive(Default)]
struct Tally {
    posted: AtomicU64,
    confirmed: AtomicU64,
    shipped: AtomicU64,
    cancelled: AtomicU64,
    failed: AtomicU64,
}

impl Tally {
    fn note(&self, journey: &Journey) {
        if journey.confirmed.is_some() {
            self.confirmed.fetch_add(1, Ordering::Relaxed);
        }
        let counter = match journey.end {
            End::AwaitingShipment => return,
            End::Shipped => &self.shipped,
            End::Cancelled => &self.cancelled,
            End::Stuck | End::Failed(_) => &self.failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn line(&self, label: &str, elapsed: Duration, secs: u64) -> String {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let finished = get(&self.shipped) + get(&self.cancelled) + get(&self.failed);
        format!(
            "{label}: {:>4.0}s/{secs}s  posted {}  confirmed {}  shipped {}  cancelled {}  failed {}  in flight {}",
            elapsed.as_secs_f64(),
            get(&self.posted),
            get(&self.confirmed),
            get(&self.shipped),
            get(&self.cancelled),
            get(&self.failed),
            get(&self.posted).saturating_sub(finished),
        )
    }
}

/// The journeys of one phase and when it started.
pub struct Outcome {
    pub load: Load,
    pub started: Due,
    pub journeys: Vec<Journey>,
}

/// Runs `load` against the shop; returns once every order it placed is final (or given up).
pub async fn drive(
    shop: &Shop,
    records: &OrderRecords,
    load: Load,
    first_order: u64,
) -> anyhow::Result<Outcome> {
    let tally = Arc::new(Tally::default());
    let label = load.label();
    let secs = match load {
        Load::Open { secs, .. } | Load::Closed { secs, .. } => secs,
    };
    let started = Due::now();
    let progress = {
        let tally = tally.clone();
        let label = label.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(PROGRESS_EVERY);
            tick.tick().await;
            loop {
                tick.tick().await;
                eprintln!("{}", tally.line(&label, started.instant.elapsed(), secs));
            }
        })
    };
    let mut journeys = match load {
        Load::Open { rate, secs } => open(shop, &tally, started, rate, secs, first_order).await,
        Load::Closed { in_flight, secs } => {
            closed(shop, &tally, started, in_flight, secs, first_order).await
        }
    };
    eprintln!("{label}: every order seen confirmed or ended; waiting for the rest to be final");
    let settled = records.settle(&mut journeys).await;
    progress.abort();
    settled?;
    let tally = Tally::default();
    tally.posted.store(journeys.len() as u64, Ordering::Relaxed);
    journeys.iter().for_each(|journey| tally.note(journey));
    eprintln!("{}", tally.line(&label, started.instant.elapsed(), secs));
    Ok(Outcome {
        load,
        started,
        journeys,
    })
}

async fn open(
    shop: &Shop,
    tally: &Arc<Tally>,
    started: Due,
    rate: u64,
    secs: u64,
    first_order: u64,
) -> Vec<Journey> {
    let rate = rate.max(1);
    let count = rate * secs;
    let mut tasks = JoinSet::new();
    for i in 0..count {
        let due = started.plus(Duration::from_secs_f64(i as f64 / rate as f64));
        tokio::time::sleep_until(due.instant.into()).await;
        let shop = shop.clone();
        let tally = tally.clone();
        tally.posted.fetch_add(1, Ordering::Relaxed);
        tasks.spawn(async move {
            let journey = shop.journey(first_order + i, due).await;
            tally.note(&journey);
            journey
        });
    }
    let mut journeys = Vec::with_capacity(count as usize);
    while let Some(journey) = tasks.join_next().await {
        journeys.push(journey.expect("a journey task"));
    }
    journeys
}

async fn closed(
    shop: &Shop,
    tally: &Arc<Tally>,
    started: Due,
    in_flight: usize,
    secs: u64,
    first_order: u64,
) -> Vec<Journey> {
    let until = started.instant + Duration::from_secs(secs);
    let next = Arc::new(AtomicU64::new(first_order));
    let mut workers = JoinSet::new();
    for _ in 0..in_flight.max(1) {
        let shop = shop.clone();
        let tally = tally.clone();
        let next = next.clone();
        workers.spawn(async move {
            let mut journeys = Vec::new();
            while Instant::now() < until {
                let n = next.fetch_add(1, Ordering::Relaxed);
                tally.posted.fetch_add(1, Ordering::Relaxed);
                let journey = shop.journey(n, Due::now()).await;
                tally.note(&journey);
                journeys.push(journey);
            }
            journeys
        });
    }
    let mut journeys = Vec::new();
    while let Some(part) = workers.join_next().await {
        journeys.extend(part.expect("a closed-loop worker"));
    }
    journeys
}
