//! PostgreSQL stops and starts again while orders flow ([`restart`], a cluster of its own, since
//! every other scenario's databases would go down with it), at once ([`BRIEF`]) or after a minute
//! and a half ([`OUTAGE`]); and one service's database is out of reach for as long while the
//! others serve on ([`outage`]).
//!
//! The consumers find their database out of reach, give back what they hold and pause until it
//! answers, so no attempt is spent and nothing is dead-lettered however long it lasts (the
//! aftermath counts dead letters): in the outage the order service keeps publishing submits to a
//! billing that cannot apply them. Nothing may be acked before its transaction committed, POSTs
//! fail with a 5xx (the clients retry with the same key), outbox relays and the order sweeper
//! retry on their next round.

use std::time::{Duration, Instant};

use super::{
    Lab,
    aftermath::{self, Aftermath},
};
use crate::{
    catch_up, load::Traffic, postgres::PrivatePostgres, report::Report, service::Service,
    shop::Shop,
};

/// A restart: the database is down this long between stop and start.
pub const BRIEF: Duration = Duration::from_secs(2);

/// An outage, of one service's database or of the whole cluster: a minute and a half, over five
/// times as long as the suite's retry delays add up to ([`crate::shop::RETRY_DELAYS_MS`],
/// 15.75 s) and two and a half times the bus's default ones (36 s), so a consumer that spent an
/// attempt per failed delivery would dead-letter what arrives in it many times over; and six
/// times the order deadline, so the orders that wait on the database meanwhile outlive it.
pub const OUTAGE: Duration = Duration::from_secs(90);

/// `service`'s database refuses connections for [`OUTAGE`] while orders flow.
pub async fn outage(lab: &Lab, name: &str, service: Service) -> anyhow::Result<Report> {
    let started = Instant::now();
    let shop = lab.shop(name, lab.options()).await?;
    let mut traffic = shop.traffic(lab.plan(name));
    traffic.reached(lab.strike_at()).await;

    shop.refuse_connections(service, true).await?;
    // The fault's length, not a synchronisation: the database stays out of reach this long.
    tokio::time::sleep(OUTAGE).await;
    shop.refuse_connections(service, false).await?;
    lifted(shop, traffic, started, |ready| {
        format!(
            "{service}'s database out of reach for {:.0}s from order {}, ready again in {:.1}s",
            OUTAGE.as_secs_f64(),
            lab.strike_at(),
            ready.as_secs_f64()
        )
    })
    .await
}

pub async fn restart(lab: &Lab, name: &str, downtime: Duration) -> anyhow::Result<Report> {
    let started = Instant::now();
    let mut postgres = PrivatePostgres::start(name).await?;
    let shop = Shop::open(
        name,
        lab.broker.clone(),
        postgres.server(),
        lab.binaries.clone(),
        lab.credentials.clone(),
        lab.options(),
    )
    .await?;
    let mut traffic = shop.traffic(lab.plan(name));
    traffic.reached(lab.strike_at()).await;

    let down = Instant::now();
    let stopping = postgres.stop().await?;
    // The fault's length, not a synchronisation: the database stays down this long.
    tokio::time::sleep(downtime).await;
    postgres.start_again().await?;
    let outage = down.elapsed();
    let report = lifted(shop, traffic, started, |ready| {
        format!(
            "postgres stopped (fast) at order {} in {:.1}s, {:.1}s without a database, \
             every service ready again in {:.1}s",
            lab.strike_at(),
            stopping.as_secs_f64(),
            outage.as_secs_f64(),
            ready.as_secs_f64()
        )
    })
    .await;
    drop(postgres);
    report
}

/// Once the fault is lifted: waits until every service is ready again, lets the clients finish
/// while the backlog is worked off, and concludes with the fault `describe`s (given how long the
/// services took to be ready).
async fn lifted(
    mut shop: Shop,
    traffic: Traffic,
    started: Instant,
    describe: impl FnOnce(Duration) -> String,
) -> anyhow::Result<Report> {
    let ready = shop.wait_ready().await?;
    let since = catch_up::database_now(&shop).await?;
    let bound = aftermath::patience(&shop);
    let (posted, recovered) =
        tokio::join!(traffic.finish(), catch_up::caught_up(&shop, since, bound));
    let aftermath = Aftermath {
        fault: describe(ready),
        recovered,
        ..Aftermath::default()
    };
    aftermath::conclude(shop, posted, aftermath, started).await
}
