//! A whole `loadgen run`: the idle background work first, then each load phase with the system's
//! counters around it, turned into two report sections (latency and throughput; cost per order).

use std::{collections::BTreeMap, path::Path, time::SystemTime};

use anyhow::Context;

use crate::{
    drive::{self, Load, Outcome},
    journey::{End, Shop},
    probes::{Delta, MachineCpu, MachineTimes, Probes, SETTLE},
    records::OrderRecords,
    section::{Distribution, Section},
    stats::Latencies,
};

/// The services whose costs are reported, in the order of the flow.
pub const SERVICES: [&str; 4] = ["order", "billing", "logistics", "mailer"];

/// The targets of the issue this benchmark answers.
const TARGET_SHIPPED_PER_SEC: f64 = 300.0;
const TARGET_CONFIRMED_P99_MS: f64 = 100.0;
const TARGET_CONFIRMED_AT_RATE: u64 = 100;

/// A phase as asked for on the command line.
#[derive(Debug, Clone, Copy)]
pub enum Planned {
    Closed { in_flight: usize, secs: u64 },
    Open { rate: OpenRate, secs: u64 },
}

/// The rate of an open loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenRate {
    Fixed(u64),
    /// Half the closed loop's rate to `shipped`: a load the shop sustains.
    HalfOfClosed,
}

/// One measured phase.
pub(crate) struct Phase {
    pub(crate) outcome: Outcome,
    pub(crate) delta: Delta,
    /// The broker's, the load generator's and the whole machine's CPU during the phase.
    pub(crate) machine: MachineCpu,
    /// Peak resident memory by service, KiB.
    pub(crate) peaks: BTreeMap<String, u64>,
}

/// What one phase's journeys add up to.
#[derive(Default)]
pub(crate) struct Tally {
    pub(crate) orders: usize,
    pub(crate) shipped: usize,
    pub(crate) cancelled: usize,
    pub(crate) failed: usize,
    /// POSTs refused with `503` and sent again (an order may count several times).
    pub(crate) refusals: u64,
    /// Requests refused with `429` (a customer over its limit) and sent again.
    pub(crate) throttled: u64,
    /// The first failure, to show what went wrong.
    pub(crate) failure: Option<String>,
    pub(crate) finals_per_sec: f64,
    pub(crate) shipped_per_sec: f64,
    pub(crate) post: Latencies,
    pub(crate) confirmed: Latencies,
    pub(crate) confirmed_recorded: Latencies,
    pub(crate) shipped_latency: Latencies,
}

impl Tally {
    fn of(outcome: &Outcome) -> Self {
        let mut tally = Self {
            orders: outcome.journeys.len(),
            ..Self::default()
        };
        let mut last_final = outcome.started.wall;
        let mut last_shipped = outcome.started.wall;
        for journey in &outcome.journeys {
            match &journey.end {
                End::Shipped => {
                    tally.shipped += 1;
                    last_shipped = last_shipped.max(journey.finished);
                }
                End::Cancelled => tally.cancelled += 1,
                End::Stuck | End::AwaitingShipment => {
                    tally.failed += 1;
                    tally
                        .failure
                        .get_or_insert_with(|| "stuck: not final after 90 s".into());
                }
                End::Failed(why) => {
                    tally.failed += 1;
                    tally.failure.get_or_insert_with(|| why.clone());
                }
            }
            tally.refusals += u64::from(journey.refusals);
            tally.throttled += u64::from(journey.throttled);
            if matches!(journey.end, End::Shipped | End::Cancelled) {
                last_final = last_final.max(journey.finished);
            }
            let record = |latencies: &mut Latencies, value| {
                if let Some(value) = value {
                    latencies.record(value);
                }
            };
            record(&mut tally.post, journey.post);
            record(&mut tally.confirmed, journey.confirmed);
            record(&mut tally.confirmed_recorded, journey.confirmed_recorded);
            record(&mut tally.shipped_latency, journey.shipped);
        }
        let per_sec = |count: usize, until: SystemTime| {
            let window = until
                .duration_since(outcome.started.wall)
                .unwrap_or_default()
                .as_secs_f64();
            if window > 0.0 {
                count as f64 / window
            } else {
                0.0
            }
        };
        tally.finals_per_sec = per_sec(tally.shipped + tally.cancelled, last_final);
        tally.shipped_per_sec = per_sec(tally.shipped, last_shipped);
        tally
    }
}

/// Runs the `plan`'s phases one after the other against the shop and writes the flow's sections
/// to `out`.
pub async fn run(shop: &Shop, probes: &Probes, plan: &[Planned], out: &Path) -> anyhow::Result<()> {
    eprintln!(
        "measuring the services' idle background work for {} s",
        SETTLE.as_secs()
    );
    let before = probes.snapshot().await?;
    tokio::time::sleep(SETTLE).await;
    let idle = probes.snapshot().await?.since(&before, None);

    let records = OrderRecords::new(
        probes
            .pool_of("order")
            .context("the probes have no connection to the order service's database")?,
    );
    let mut phases: Vec<Phase> = Vec::new();
    let mut next_order = 0;
    let mut closed_rate: Option<f64> = None;
    for planned in plan {
        let load = match *planned {
            Planned::Closed { in_flight, secs } => Load::Closed { in_flight, secs },
            Planned::Open {
                rate: OpenRate::Fixed(rate),
                secs,
            } => Load::Open { rate, secs },
            Planned::Open {
                rate: OpenRate::HalfOfClosed,
                secs,
            } => match closed_rate {
                Some(shipped_per_sec) => Load::Open {
                    rate: ((shipped_per_sec / 2.0).round() as u64).max(1),
                    secs,
                },
                None => {
                    eprintln!("no closed loop ran: skipping the open loop at half its rate");
                    continue;
                }
            },
        };
        probes.reset_peaks();
        let before = probes.snapshot().await?;
        let machine_before = MachineTimes::read();
        let outcome = drive::drive(shop, &records, load, next_order).await?;
        let machine = MachineTimes::read().since(&machine_before);
        next_order += outcome.journeys.len() as u64 + 1_000;
        let peaks = probes.peaks();
        let ended = tokio::time::Instant::now();
        eprintln!(
            "letting the counters settle for {} s (PostgreSQL stats, management API)",
            SETTLE.as_secs()
        );
        tokio::time::sleep(SETTLE).await;
        let after = probes.snapshot().await?;
        let settled = (tokio::time::Instant::now() - ended).as_secs_f64();
        let delta = after.since(&before, Some((&idle, settled)));
        if let Load::Closed { .. } = load {
            closed_rate = Some(Tally::of(&outcome).shipped_per_sec);
        }
        phases.push(Phase {
            outcome,
            delta,
            machine,
            peaks,
        });
    }
    let tallies: Vec<Tally> = phases
        .iter()
        .map(|phase| Tally::of(&phase.outcome))
        .collect();
    latency_section(&phases, &tallies).publish(out)?;
    crate::cost::cost_section(&phases, &tallies, &idle).publish(out)?;
    Ok(())
}

fn ms(values: [f64; 4]) -> [String; 4] {
    values.map(|v| format!("{v:.1}"))
}

fn latency_section(phases: &[Phase], tallies: &[Tally]) -> Section {
    let mut rows = Vec::new();
    let mut summary = Vec::new();
    let mut distributions = Vec::new();
    for (phase, tally) in phases.iter().zip(tallies) {
        let label = phase.outcome.load.label();
        let measures = [
            ("POST → 202 answered", &tally.post),
            ("POST → confirmed (seen)", &tally.confirmed),
            ("POST → shipped (recorded)", &tally.shipped_latency),
        ];
        for (i, (measure, latencies)) in measures.into_iter().enumerate() {
            let lead = if i == 0 {
                vec![
                    label.clone(),
                    tally.orders.to_string(),
                    tally.shipped.to_string(),
                    tally.cancelled.to_string(),
                    tally.failed.to_string(),
                    format!("{:.0}", tally.finals_per_sec),
                    format!("{:.0}", tally.shipped_per_sec),
                ]
            } else {
                vec![String::new(); 7]
            };
            let mut row = lead;
            row.push(measure.to_owned());
            row.extend(ms(latencies.brief()));
            rows.push(row);
        }
        let [c50, c90, c99, cmax] = tally.confirmed.brief();
        let [s50, s90, s99, smax] = tally.shipped_latency.brief();
        let mut confirmed_line = format!(
            "flow, {label}: POST->confirmed p50 {c50:.1} ms, p90 {c90:.1}, p99 {c99:.1}, max {cmax:.1}"
        );
        if let Load::Open { rate, .. } = phase.outcome.load
            && rate == TARGET_CONFIRMED_AT_RATE
        {
            confirmed_line.push_str(&format!(
                " (target p99 < {TARGET_CONFIRMED_P99_MS:.0} ms at {TARGET_CONFIRMED_AT_RATE} orders/s: {})",
                met(c99 < TARGET_CONFIRMED_P99_MS && tally.failed == 0 && tally.cancelled == 0)
            ));
        }
        summary.push(confirmed_line);
        summary.push(format!(
            "flow, {label}: POST->shipped p50 {s50:.1} ms, p90 {s90:.1}, p99 {s99:.1}, max {smax:.1}"
        ));
        let mut throughput = format!(
            "flow, {label}: {:.0} orders/s to shipped, {:.0} to a final state ({} orders: {} shipped, {} cancelled, {} failed)",
            tally.shipped_per_sec,
            tally.finals_per_sec,
            tally.orders,
            tally.shipped,
            tally.cancelled,
            tally.failed
        );
        if tally.refusals > 0 {
            throughput.push_str(&format!(
                "; {} POSTs refused with 503 (load shedding) and sent again",
                tally.refusals
            ));
        }
        if tally.throttled > 0 {
            throughput.push_str(&format!(
                "; {} requests refused with 429 (a customer over its limit) and sent again",
                tally.throttled
            ));
        }
        if let Load::Closed { .. } = phase.outcome.load {
            throughput.push_str(&format!(
                " (target >= {TARGET_SHIPPED_PER_SEC:.0} orders/s to shipped: {})",
                met(tally.shipped_per_sec >= TARGET_SHIPPED_PER_SEC)
            ));
        }
        summary.push(throughput);
        if let Some(failure) = &tally.failure {
            summary.push(format!("flow, {label}: first failure: {failure}"));
        }
        for (name, latencies) in [
            ("POST to confirmed", &tally.confirmed),
            ("POST to shipped", &tally.shipped_latency),
        ] {
            distributions.push(Distribution {
                name: format!("{name}, {label}"),
                points: latencies.points(),
            });
        }
    }
    let columns = [
        "phase",
        "orders",
        "shipped",
        "cancelled",
        "failed",
        "final/s",
        "shipped/s",
        "latency",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
    ];
    Section {
        key: "30-flow".into(),
        title: "Whole flow: orders through the four services".into(),
        notes: vec![
            "`loadgen` posts orders (one line, one of 100 SKUs at the catalog's price, one of 10 000 customers, an `Idempotency-Key`), each as its customer with that customer's bearer token (signed before the load), to the real `order`, `billing`, `logistics` and `mailer` binaries (release builds, default settings, logging at `info` to files) on a vhost and databases of their own. The open loop posts at a fixed rate whatever happened to earlier orders; the closed loop keeps a fixed number of orders waiting for their confirmation, each followed by the next once its customer has seen it confirmed (confirmed orders go on to be shipped meanwhile).".into(),
            "*confirmed (seen)*: from the moment the POST was due to the answer of `GET /orders/{id}?wait=30&until=confirmed`, which returns as soon as the order leaves `pending`. *shipped (recorded)*: from the same moment to the `shipped` entry of the order's history (the order service's clock), read, once the phase's orders are confirmed, for all of them at once from the order service's database (every 20 ms it is asked how many are not final yet; then their histories are read in one statement): a customer holds one request per order, the one held until `confirmed`, and the generator adds no other request per order. A phase ends when its last order is final. *final/s*, *shipped/s*: orders over the time from the first POST to the last one reaching that state.".into(),
        ],
        columns: columns.map(String::from).to_vec(),
        rows,
        summary,
        distributions,
    }
}

pub(crate) fn met(yes: bool) -> &'static str {
    if yes { "met" } else { "NOT met" }
}
