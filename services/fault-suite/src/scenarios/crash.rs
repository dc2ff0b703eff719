//! A service killed (`kill -9`) or stopped (SIGTERM) while orders flow, then started again.
//!
//! Killed, it dies in the middle of handlers, HTTP requests and outbox rounds: the broker
//! redelivers what it had not acked, the inbox absorbs what it had already applied, the outbox
//! publishes what it had committed, and clients retry their POSTs with the same key. Stopped, it
//! must drain (finish in-flight handlers, flush its outbox) and exit cleanly within the hang
//! guard; the time it took is reported.

use std::time::{Duration, Instant};

use super::{
    Lab,
    aftermath::{self, Aftermath},
};
use crate::{catch_up, report::Report, service::Service};

/// How long a killed service stays down: long enough for a backlog to build up.
const DOWNTIME: Duration = Duration::from_secs(2);

pub async fn kill(lab: &Lab, service: Service) -> anyhow::Result<Report> {
    let started = Instant::now();
    let name = format!("kill-{service}");
    let mut shop = lab.shop(&name, lab.options()).await?;
    let mut traffic = shop.traffic(lab.plan(&name));
    traffic.reached(lab.strike_at()).await;

    let pid = shop.kill((service, 0)).await?;
    // The fault's length, not a synchronisation: the service stays dead this long.
    tokio::time::sleep(DOWNTIME).await;
    let ready = shop.start((service, 0)).await?;
    let lifted = catch_up::database_now(&shop).await?;

    let bound = aftermath::patience(&shop);
    let (posted, recovered) =
        tokio::join!(traffic.finish(), catch_up::caught_up(&shop, lifted, bound));
    let fault = format!(
        "kill -9 {service} (pid {pid}) at order {}, down {:.1}s, ready again in {:.1}s",
        lab.strike_at(),
        DOWNTIME.as_secs_f64(),
        ready.as_secs_f64()
    );
    let aftermath = Aftermath {
        fault,
        recovered,
        ..Aftermath::default()
    };
    aftermath::conclude(shop, posted, aftermath, started).await
}

pub async fn terminate(lab: &Lab, service: Service) -> anyhow::Result<Report> {
    let started = Instant::now();
    let name = format!("sigterm-{service}");
    let mut shop = lab.shop(&name, lab.options()).await?;
    let mut traffic = shop.traffic(lab.plan(&name));
    traffic.reached(lab.strike_at()).await;

    let stopped = shop.terminate((service, 0)).await?;
    let ready = shop.start((service, 0)).await?;
    let lifted = catch_up::database_now(&shop).await?;

    let bound = aftermath::patience(&shop);
    let (posted, recovered) =
        tokio::join!(traffic.finish(), catch_up::caught_up(&shop, lifted, bound));
    let mut violations = Vec::new();
    if !stopped.status.success() {
        violations.push(format!(
            "{service} did not exit cleanly after SIGTERM: {}",
            stopped.status
        ));
    }
    let fault = format!(
        "SIGTERM {service} at order {}: drained and exited ({}) in {:.2}s, ready again in {:.1}s",
        lab.strike_at(),
        stopped.status,
        stopped.took.as_secs_f64(),
        ready.as_secs_f64()
    );
    let aftermath = Aftermath {
        fault,
        recovered,
        violations,
        ..Aftermath::default()
    };
    aftermath::conclude(shop, posted, aftermath, started).await
}
