//! The cost-per-order section of a flow run: messages, database transactions and CPU per order
//! by service, and the whole machine's CPU shared out per order.

use std::collections::BTreeMap;

use crate::{
    flow::{Phase, SERVICES, Tally, met},
    probes::{Delta, SETTLE},
    section::Section,
};

/// The target of the issue this benchmark answers: each service's peak memory.
const TARGET_RSS_MIB: f64 = 40.0;

pub(crate) fn cost_section(phases: &[Phase], tallies: &[Tally], idle: &Delta) -> Section {
    let mut rows = Vec::new();
    let mut summary = Vec::new();
    let mut largest_peak: BTreeMap<&str, u64> = BTreeMap::new();
    for (phase, tally) in phases.iter().zip(tallies) {
        let label = phase.outcome.load.label();
        let orders = tally.orders.max(1) as f64;
        let per_order = |values: &BTreeMap<String, f64>| {
            let cells: Vec<f64> = SERVICES
                .iter()
                .map(|name| values.get(*name).copied().unwrap_or(0.0) / orders)
                .collect();
            let total: f64 = cells.iter().sum();
            (cells, total)
        };
        let mut push = |measure: &str, (cells, total): (Vec<f64>, f64), first: bool| {
            let mut row = vec![
                if first { label.clone() } else { String::new() },
                measure.to_owned(),
            ];
            row.extend(cells.iter().map(|v| format!("{v:.2}")));
            row.push(format!("{total:.2}"));
            rows.push(row);
        };
        let published = per_order(&phase.delta.published);
        let unroutable = per_order(&phase.delta.unroutable);
        let handled = per_order(&phase.delta.handled);
        let commits = per_order(&phase.delta.commits);
        summary.push(format!(
            "flow, {label}: messages per order: {:.2} published by the services ({:.2} of them unroutable), {:.2} handled{}",
            published.1,
            unroutable.1,
            handled.1,
            phase.delta.broker.map_or_else(String::new, |broker| format!(
                "; broker: {:.2} published, {:.2} delivered, {:.2} redelivered",
                broker.published as f64 / orders,
                broker.delivered as f64 / orders,
                broker.redelivered as f64 / orders,
            )),
        ));
        summary.push(format!(
            "flow, {label}: database transactions per order: {} (total {:.2})",
            SERVICES
                .iter()
                .zip(&commits.0)
                .map(|(name, value)| format!("{name} {value:.2}"))
                .collect::<Vec<_>>()
                .join(", "),
            commits.1,
        ));
        push("messages published", published, true);
        push("… of them unroutable", unroutable, false);
        push("messages handled", handled, false);
        push("database transactions", commits, false);
        let cpu = per_order(&phase.delta.cpu);
        let db_cpu = per_order(&phase.delta.db_cpu);
        summary.push(format!(
            "flow, {label}: CPU ms per order: services {} (total {:.2}); their PostgreSQL backends {} (total {:.2})",
            SERVICES
                .iter()
                .zip(&cpu.0)
                .map(|(name, value)| format!("{name} {value:.2}"))
                .collect::<Vec<_>>()
                .join(", "),
            cpu.1,
            SERVICES
                .iter()
                .zip(&db_cpu.0)
                .map(|(name, value)| format!("{name} {value:.2}"))
                .collect::<Vec<_>>()
                .join(", "),
            db_cpu.1,
        ));
        let (services_total, db_total) = (cpu.1, db_cpu.1);
        push("CPU ms, service", cpu, false);
        push("CPU ms, its PostgreSQL backends", db_cpu, false);
        let mut whole = |measure: &str, ms: Option<f64>| {
            let mut row = vec![String::new(), measure.to_owned()];
            row.extend(SERVICES.iter().map(|_| String::new()));
            row.push(ms.map_or_else(|| "?".into(), |ms| format!("{:.2}", ms / orders)));
            rows.push(row);
        };
        whole("CPU ms, the broker", Some(phase.machine.broker));
        whole("CPU ms, the load generator", phase.machine.own);
        whole("CPU ms, the whole machine", phase.machine.machine);
        if let Some(line) = machine_line(&label, phase, tally, services_total, db_total) {
            summary.push(line);
        }
        let mut row = vec![String::new(), "peak RSS, MiB".to_owned()];
        for name in SERVICES {
            let peak = phase.peaks.get(name).copied();
            row.push(peak.map_or_else(|| "?".into(), |kib| format!("{:.1}", kib as f64 / 1024.0)));
            if let Some(kib) = peak {
                let largest = largest_peak.entry(name).or_default();
                *largest = (*largest).max(kib);
            }
        }
        row.push(phase.peaks.values().max().map_or_else(
            || "?".into(),
            |kib| format!("max {:.1}", *kib as f64 / 1024.0),
        ));
        rows.push(row);
    }
    let all_under = !largest_peak.is_empty()
        && largest_peak
            .values()
            .all(|kib| (*kib as f64 / 1024.0) < TARGET_RSS_MIB);
    summary.push(format!(
        "peak RSS: {} (target < {TARGET_RSS_MIB:.0} MiB each: {})",
        SERVICES
            .iter()
            .map(|name| match largest_peak.get(name) {
                Some(kib) => format!("{name} {:.1} MiB", *kib as f64 / 1024.0),
                None => format!("{name} ?"),
            })
            .collect::<Vec<_>>()
            .join(", "),
        met(all_under)
    ));
    let idle_rate: f64 = idle.commits.values().sum::<f64>() / idle.seconds.max(1.0);
    Section {
        key: "31-flow-costs".into(),
        title: "Whole flow: what an order costs".into(),
        notes: vec![
            "Per order, by service: messages its outbox relay published (rows marked published; the unroutable ones are events nothing subscribes to: `mailer.v1.sent`, and after cancellations `billing.v1.refunded` and `logistics.v1.released`), messages it handled (rows of its inbox), transactions committed in its database (`pg_stat_database.xact_commit`, the reads of `GET /orders` included), CPU time of its process and of the PostgreSQL backends connected to its database (`/proc/<pid>/stat`, 10 ms ticks), and its peak resident memory during the phase (`VmHWM`, reset to the current resident size before each phase: memory kept from an earlier phase still counts).".into(),
            format!(
                "Counters are read {} s after a phase ends, so PostgreSQL has published every backend's counts; the background work of that pause (relay polls, the order sweeper, the simulated supplier: {idle_rate:.1} transactions/s while idle) is taken off, for transactions and CPU alike. The broker's, the load generator's and the whole machine's CPU (`/proc/stat`: every core's busy time) are read over the phase alone, without the pause, and shared out in the summary between the services, their databases, the broker (every `beam.smp` process: the node is shared, so anything else it carried meanwhile counts too), the load generator and the rest (the kernel's threads, other servers).",
                SETTLE.as_secs()
            ),
        ],
        columns: ["phase", "per order", "order", "billing", "logistics", "mailer", "all"]
            .map(String::from)
            .to_vec(),
        rows,
        summary,
        distributions: Vec::new(),
    }
}

/// Where the whole machine's CPU went per order: the shop, its databases, the broker, the load
/// generator, and the rest (the kernel's own threads, other servers on the machine); and how many
/// cores that kept busy at the rate the phase reached.
fn machine_line(
    label: &str,
    phase: &Phase,
    tally: &Tally,
    services: f64,
    databases: f64,
) -> Option<String> {
    let orders = tally.orders.max(1) as f64;
    let machine = phase.machine.machine? / orders;
    let broker = phase.machine.broker / orders;
    let own = phase.machine.own.unwrap_or(0.0) / orders;
    let rest = (machine - services - databases - broker - own).max(0.0);
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let busy = machine * tally.finals_per_sec / 1000.0;
    Some(format!(
        "flow, {label}: CPU ms per order, whole machine {machine:.2}: services {services:.2}, \
         their PostgreSQL backends {databases:.2}, broker {broker:.2}, load generator {own:.2}, \
         rest {rest:.2}; {busy:.2} of {cores} cores busy at {:.0} orders/s",
        tally.finals_per_sec
    ))
}
