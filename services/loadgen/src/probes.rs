//! What the system says about a phase, read before and after it:
//!
//! - transactions committed in each service's database (`pg_stat_database.xact_commit`);
//! - messages: published by each service's outbox relay (rows marked published, and of those the
//!   unroutable ones), handled by each service (rows of its inbox), and the broker's own counts
//!   for the vhost from the management API (published, delivered);
//! - each service's peak resident memory (`VmHWM` in `/proc/<pid>/status`), reset before a phase
//!   by writing `5` to `/proc/<pid>/clear_refs`;
//! - CPU time: each service's process, and the PostgreSQL backends connected to its database
//!   (`/proc/<pid>/stat`, user + system); and, in [`MachineTimes`], the RabbitMQ node (every
//!   `beam.smp` process), the load generator itself and the whole machine (`/proc/stat`, every
//!   core's busy time), so that what an order costs adds up to what the machine spent.
//!
//! PostgreSQL publishes an idle backend's counters up to 10 s late and the management API samples
//! every 5 s, so a phase's "after" is read once [`SETTLE`] has passed; the background work of
//! that pause (pollers, sweepers) is measured while idle and taken off.

use std::{collections::BTreeMap, time::Duration};

use anyhow::Context;
use sqlx::PgPool;
use tokio::time::Instant;

use crate::environment::Endpoints;

/// Long enough for PostgreSQL's idle stats flush (10 s) and a management API sample (5 s).
pub const SETTLE: Duration = Duration::from_secs(11);

/// One service as the probes see it.
pub struct Service {
    pub name: String,
    pub database: String,
    pub pid: Option<u32>,
    pool: PgPool,
}

/// Reads the counters of a running shop.
pub struct Probes {
    pub services: Vec<Service>,
    admin: PgPool,
    endpoints: Endpoints,
    vhost: String,
    http: reqwest::Client,
}

/// Counters at one instant.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub at: Option<Instant>,
    /// By service.
    pub commits: BTreeMap<String, i64>,
    pub published: BTreeMap<String, i64>,
    pub unroutable: BTreeMap<String, i64>,
    pub handled: BTreeMap<String, i64>,
    /// The broker's counts for the vhost, when the management API answered.
    pub broker: Option<BrokerCounts>,
    /// CPU time of each service's process, ms.
    pub cpu: BTreeMap<String, f64>,
    /// CPU time of each PostgreSQL backend, ms, by service and backend pid.
    pub backends: BTreeMap<String, BTreeMap<u32, f64>>,
}

/// Cumulative message counts of the vhost.
#[derive(Debug, Clone, Copy, Default)]
pub struct BrokerCounts {
    pub published: i64,
    pub delivered: i64,
    pub returned_unroutable: i64,
    pub redelivered: i64,
}

/// The difference between two snapshots.
#[derive(Debug, Clone, Default)]
pub struct Delta {
    pub seconds: f64,
    pub commits: BTreeMap<String, f64>,
    pub published: BTreeMap<String, f64>,
    pub unroutable: BTreeMap<String, f64>,
    pub handled: BTreeMap<String, f64>,
    pub broker: Option<BrokerCounts>,
    /// CPU ms of each service's process.
    pub cpu: BTreeMap<String, f64>,
    /// CPU ms of the PostgreSQL backends of each service's database.
    pub db_cpu: BTreeMap<String, f64>,
}

/// CPU times beyond the services and their databases, read when a phase starts and when it ends.
///
/// Unlike [`Snapshot`], nothing here needs the settling pause, and the pause's background work
/// (other servers, the kernel flushing what the phase wrote) would count: the phase alone is read.
#[derive(Debug, Clone, Default)]
pub struct MachineTimes {
    /// CPU ms of each RabbitMQ node process (`beam.smp`), by pid.
    broker: BTreeMap<u32, f64>,
    /// CPU ms of this load generator.
    own: Option<f64>,
    /// Busy ms of every core of the machine together.
    machine: Option<f64>,
}

/// CPU ms spent from one [`MachineTimes`] to another.
#[derive(Debug, Clone, Copy, Default)]
pub struct MachineCpu {
    /// By the RabbitMQ node: the node is shared, so whatever else it carried counts too.
    pub broker: f64,
    /// By the load generator.
    pub own: Option<f64>,
    /// By the whole machine, every core together.
    pub machine: Option<f64>,
}

impl MachineTimes {
    pub fn read() -> Self {
        Self {
            broker: processes_named("beam.smp")
                .into_iter()
                .filter_map(|pid| Some((pid, cpu_ms(pid)?)))
                .collect(),
            own: cpu_ms(std::process::id()),
            machine: machine_busy_ms(),
        }
    }

    pub fn since(&self, before: &Self) -> MachineCpu {
        let difference = |after: Option<f64>, before: Option<f64>| Some(after? - before?);
        MachineCpu {
            broker: processes_delta(&self.broker, Some(&before.broker)),
            own: difference(self.own, before.own),
            machine: difference(self.machine, before.machine),
        }
    }
}

impl Probes {
    /// `services` are `(name, database, pid)`.
    pub async fn connect(
        endpoints: &Endpoints,
        vhost: &str,
        services: Vec<(String, String, Option<u32>)>,
    ) -> anyhow::Result<Self> {
        let admin = endpoints.pg_pool("postgres").await?;
        let mut connected = Vec::new();
        for (name, database, pid) in services {
            let pool = endpoints.pg_pool(&database).await?;
            connected.push(Service {
                name,
                database,
                pid,
                pool,
            });
        }
        Ok(Self {
            services: connected,
            admin,
            endpoints: endpoints.clone(),
            vhost: vhost.to_owned(),
            http: reqwest::Client::new(),
        })
    }

    /// The pool of `service`'s database, to read its records.
    pub fn pool_of(&self, service: &str) -> Option<PgPool> {
        self.services
            .iter()
            .find(|connected| connected.name == service)
            .map(|connected| connected.pool.clone())
    }

    /// Reads every counter. Each service database answers one statement, i.e. one transaction,
    /// which [`Snapshot::since`] takes off.
    pub async fn snapshot(&self) -> anyhow::Result<Snapshot> {
        let mut snapshot = Snapshot {
            at: Some(Instant::now()),
            broker: self.broker_counts().await,
            ..Snapshot::default()
        };
        let names: Vec<&str> = self.services.iter().map(|s| s.database.as_str()).collect();
        let backends: Vec<(String, i32)> = sqlx::query_as(
            "SELECT datname::text, pid FROM pg_stat_activity WHERE datname = ANY($1)",
        )
        .bind(&names)
        .fetch_all(&self.admin)
        .await
        .context("Failed to read pg_stat_activity")?;
        for service in &self.services {
            let times = backends
                .iter()
                .filter(|(database, _)| *database == service.database)
                .filter_map(|(_, pid)| {
                    let pid = u32::try_from(*pid).ok()?;
                    Some((pid, cpu_ms(pid)?))
                })
                .collect();
            snapshot.backends.insert(service.name.clone(), times);
        }
        let commits: Vec<(String, i64)> = sqlx::query_as(
            "SELECT datname::text, xact_commit FROM pg_stat_database WHERE datname = ANY($1)",
        )
        .bind(&names)
        .fetch_all(&self.admin)
        .await
        .context("Failed to read pg_stat_database")?;
        for service in &self.services {
            let committed = commits
                .iter()
                .find(|(database, _)| *database == service.database)
                .map_or(0, |(_, count)| *count);
            snapshot.commits.insert(service.name.clone(), committed);
            let (published, unroutable, handled): (i64, i64, i64) = sqlx::query_as(
                "SELECT
                   (SELECT count(*) FROM event_bus_outbox WHERE published_at IS NOT NULL),
                   (SELECT count(*) FROM event_bus_outbox WHERE unroutable),
                   (SELECT count(*) FROM event_bus_inbox)",
            )
            .fetch_one(&service.pool)
            .await
            .with_context(|| format!("Failed to count the messages of {}", service.name))?;
            if let Some(ms) = service.pid.and_then(cpu_ms) {
                snapshot.cpu.insert(service.name.clone(), ms);
            }
            snapshot.published.insert(service.name.clone(), published);
            snapshot.unroutable.insert(service.name.clone(), unroutable);
            snapshot.handled.insert(service.name.clone(), handled);
        }
        Ok(snapshot)
    }

    async fn broker_counts(&self) -> Option<BrokerCounts> {
        let response = self
            .endpoints
            .management(
                &self.http,
                reqwest::Method::GET,
                &format!("vhosts/{}", self.vhost),
            )
            .send()
            .await
            .ok()?;
        let body: serde_json::Value = response.json().await.ok()?;
        let stats = &body["message_stats"];
        let count = |key: &str| stats[key].as_i64().unwrap_or(0);
        Some(BrokerCounts {
            published: count("publish"),
            delivered: count("deliver_get"),
            returned_unroutable: count("return_unroutable"),
            redelivered: count("redeliver"),
        })
    }

    /// Forgets each service's peak memory so far, so the next reading is this phase's.
    pub fn reset_peaks(&self) {
        for service in &self.services {
            if let Some(pid) = service.pid
                && let Err(error) = std::fs::write(format!("/proc/{pid}/clear_refs"), "5")
            {
                eprintln!(
                    "cannot reset the peak memory of {} (pid {pid}): {error}",
                    service.name
                );
            }
        }
    }

    /// Each service's peak resident memory, in KiB, where `/proc` tells it.
    pub fn peaks(&self) -> BTreeMap<String, u64> {
        self.services
            .iter()
            .filter_map(|service| {
                let status =
                    std::fs::read_to_string(format!("/proc/{}/status", service.pid?)).ok()?;
                Some((service.name.clone(), status_kib(&status, "VmHWM:")?))
            })
            .collect()
    }
}

/// User + system CPU time of process `pid`, in milliseconds (`/proc/<pid>/stat`, in clock ticks
/// of 10 ms: Linux's `USER_HZ` is 100 on every platform it runs this on).
fn cpu_ms(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat_cpu_ms(&stat)
}

fn stat_cpu_ms(stat: &str) -> Option<f64> {
    // The command name is in parentheses and may hold spaces: count fields after the last `)`.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // After the name: state is field 3, utime field 14, stime field 15 (1-based, whole line).
    let ticks = |field: usize| fields.get(field - 3)?.parse::<u64>().ok();
    Some((ticks(14)? + ticks(15)?) as f64 * 10.0)
}

/// The pids of the processes whose command name is `name`.
fn processes_named(name: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.trim_end() == name)
        })
        .collect()
}

/// Busy time of every core together since boot, in milliseconds: user, nice, system, irq and
/// softirq of the first line of `/proc/stat` (10 ms ticks). Steal is left out: it is time the
/// host gave to other machines (7% of an idle machine here), not work done on this one.
fn machine_busy_ms() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    proc_stat_busy_ms(stat.lines().next()?)
}

fn proc_stat_busy_ms(line: &str) -> Option<f64> {
    let mut fields = line.split_whitespace();
    if fields.next()? != "cpu" {
        return None;
    }
    // user nice system idle iowait irq softirq [steal guest guest_nice; guest is in user already]
    let ticks: Vec<u64> = fields
        .take(7)
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    let [user, nice, system, _idle, _iowait, irq, softirq] = ticks[..] else {
        return None;
    };
    Some((user + nice + system + irq + softirq) as f64 * 10.0)
}

/// CPU ms from `before` to `after` of processes by pid; a process seen only afterwards started
/// in between, so all its time counts.
fn processes_delta(after: &BTreeMap<u32, f64>, before: Option<&BTreeMap<u32, f64>>) -> f64 {
    after
        .iter()
        .map(|(pid, ms)| {
            let start = before.and_then(|b| b.get(pid)).copied().unwrap_or(0.0);
            (ms - start).max(0.0)
        })
        .sum()
}

/// A `kB` line of `/proc/<pid>/status`.
fn status_kib(status: &str, key: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(key))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

impl Snapshot {
    /// What happened from `before` to this snapshot, less `idle` (background work per second
    /// while nothing was ordered) over `idle_seconds`, and less the probes' own transactions.
    pub fn since(&self, before: &Self, idle: Option<(&Delta, f64)>) -> Delta {
        let seconds = match (self.at, before.at) {
            (Some(after), Some(before)) => (after - before).as_secs_f64(),
            _ => 0.0,
        };
        let diff = |after: &BTreeMap<String, i64>, before: &BTreeMap<String, i64>| {
            after
                .iter()
                .map(|(name, value)| {
                    let earlier = before.get(name).copied().unwrap_or(0);
                    (name.clone(), (value - earlier) as f64)
                })
                .collect::<BTreeMap<_, _>>()
        };
        let mut commits = diff(&self.commits, &before.commits);
        for value in commits.values_mut() {
            // The "before" snapshot's own count statement.
            *value -= 1.0;
        }
        let cpu = self
            .cpu
            .iter()
            .map(|(name, ms)| {
                (
                    name.clone(),
                    ms - before.cpu.get(name).copied().unwrap_or(0.0),
                )
            })
            .collect();
        let db_cpu = self
            .backends
            .iter()
            .map(|(name, after)| {
                (
                    name.clone(),
                    processes_delta(after, before.backends.get(name)),
                )
            })
            .collect();
        let less_idle = |mut values: BTreeMap<String, f64>,
                         pick: fn(&Delta) -> &BTreeMap<String, f64>| {
            if let Some((idle, idle_seconds)) = idle
                && idle.seconds > 0.0
            {
                for (name, value) in &mut values {
                    let per_second = pick(idle).get(name).copied().unwrap_or(0.0) / idle.seconds;
                    *value = (*value - per_second * idle_seconds).max(0.0);
                }
            }
            values
        };
        Delta {
            seconds,
            commits: less_idle(commits, |delta| &delta.commits),
            cpu: less_idle(cpu, |delta| &delta.cpu),
            db_cpu: less_idle(db_cpu, |delta| &delta.db_cpu),
            published: diff(&self.published, &before.published),
            unroutable: diff(&self.unroutable, &before.unroutable),
            handled: diff(&self.handled, &before.handled),
            broker: match (self.broker, before.broker) {
                (Some(after), Some(before)) => Some(BrokerCounts {
                    published: after.published - before.published,
                    delivered: after.delivered - before.delivered,
                    returned_unroutable: after.returned_unroutable - before.returned_unroutable,
                    redelivered: after.redelivered - before.redelivered,
                }),
                _ => None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_memory_is_read_from_proc_status() {
        let status = "Name:\torder\nVmPeak:\t  900 kB\nVmHWM:\t   23456 kB\nVmRSS:\t 20000 kB\n";
        assert_eq!(status_kib(status, "VmHWM:"), Some(23_456));
        assert_eq!(status_kib(status, "VmSwap:"), None);
    }

    #[test]
    fn cpu_time_is_read_after_the_command_name() {
        let stat = "1234 (tokio rt (x)) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 9 0 100";
        assert_eq!(stat_cpu_ms(stat), Some(3_000.0));
    }

    #[test]
    fn machine_busy_time_leaves_out_idle_io_wait_and_steal() {
        let line = "cpu  100 1 20 5000 40 3 4 2 0 0";
        assert_eq!(proc_stat_busy_ms(line), Some(1_280.0));
        assert_eq!(proc_stat_busy_ms("cpu0 100 1 20 5000 40 3 4 2 0 0"), None);
    }

    #[test]
    fn a_delta_takes_off_the_probe_and_the_idle_work() {
        let at = Instant::now();
        let snapshot = |offset: u64, commits: i64| Snapshot {
            at: Some(at + Duration::from_secs(offset)),
            commits: BTreeMap::from([("order".to_owned(), commits)]),
            ..Snapshot::default()
        };
        let idle = snapshot(10, 21).since(&snapshot(0, 0), None);
        assert_eq!(idle.commits["order"], 20.0);
        let phase = snapshot(30, 1_000).since(&snapshot(20, 0), Some((&idle, 5.0)));
        assert_eq!(phase.seconds, 10.0);
        assert_eq!(phase.commits["order"], 1_000.0 - 1.0 - 10.0);
    }
}
