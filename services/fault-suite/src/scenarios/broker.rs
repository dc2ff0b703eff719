//! The broker stops and starts again, or closes every connection, while orders flow.
//!
//! Each service must notice, reconnect by itself with backoff, declare its topology again and
//! carry on; what was in flight is redelivered (absorbed by the inboxes) and what was committed
//! is published by the outboxes. A broker restart needs a node of its own, since it would cut
//! every other scenario off; closing connections only touches the scenario's vhost.

use std::time::{Duration, Instant};

use super::{
    Lab,
    aftermath::{self, Aftermath},
};
use crate::{broker::PrivateBroker, catch_up, load::Plan, report::Report, service::Service};

/// A restart: the broker is started again as soon as it has stopped.
pub const RESTART: Duration = Duration::ZERO;

/// An outage: the broker stays down a minute, longer than every retry delay and reconnect pause
/// together; what the services commit meanwhile waits in their outboxes.
pub const OUTAGE: Duration = Duration::from_secs(60);

/// The broker stopped at a third of the orders and started again after `downtime`.
pub async fn restart(lab: &Lab, name: &str, downtime: Duration) -> anyhow::Result<Report> {
    let started = Instant::now();
    let mut broker = PrivateBroker::start(name).await?;
    let mut shop = crate::shop::Shop::open(
        name,
        broker.endpoint(),
        lab.postgres,
        lab.binaries.clone(),
        lab.credentials.clone(),
        lab.options(),
    )
    .await?;
    let mut traffic = shop.traffic(lab.plan(name));
    traffic.reached(lab.strike_at()).await;

    let down = Instant::now();
    let stopping = broker.stop().await?;
    // The fault's length, not a synchronisation: the broker stays down this long.
    tokio::time::sleep(downtime).await;
    let booting = broker.start_again().await?;
    let outage = down.elapsed();
    let reconnected = shop.wait_ready().await?;
    let lifted = catch_up::database_now(&shop).await?;

    // The outage outlasts the paced load: a second wave shows orders flowing again afterwards.
    let after = shop.traffic(Plan::paced(
        &format!("{name}-after"),
        lab.strike_at(),
        lab.load.rate,
        lab.load.clients,
    ));

    let bound = aftermath::patience(&shop);
    let (mut posted, after, recovered) = tokio::join!(
        traffic.finish(),
        after.finish(),
        catch_up::caught_up(&shop, lifted, bound)
    );
    posted.merge(after);
    let fault = format!(
        "broker stopped at order {} ({:.1}s to stop, {:.1}s to boot: {:.1}s without a broker), \
         every service reconnected in {:.1}s; {} more orders after",
        lab.strike_at(),
        stopping.as_secs_f64(),
        booting.as_secs_f64(),
        outage.as_secs_f64(),
        reconnected.as_secs_f64(),
        lab.strike_at()
    );
    let aftermath = Aftermath {
        fault,
        recovered,
        ..Aftermath::default()
    };
    // The shop closes before its broker goes.
    let report = aftermath::conclude(shop, posted, aftermath, started).await;
    drop(broker);
    report
}

pub async fn close_connections(lab: &Lab) -> anyhow::Result<Report> {
    let started = Instant::now();
    let name = "broker-closes-connections";
    let mut shop = lab.shop(name, lab.options()).await?;
    let mut traffic = shop.traffic(lab.plan(name));
    traffic.reached(lab.strike_at()).await;

    let management = shop.broker.management.clone();
    let services: Vec<&str> = Service::ALL.iter().map(|service| service.name()).collect();
    // The API lists a connection after its first statistics round: wait (bounded) for all four.
    let deadline = Instant::now() + Duration::from_secs(30);
    let connections = loop {
        let listed: Vec<_> = management
            .connections(&shop.vhost)
            .await?
            .into_iter()
            .filter(|connection| {
                connection
                    .client_name
                    .as_deref()
                    .is_some_and(|name| services.contains(&name))
            })
            .collect();
        if listed.len() >= services.len() || Instant::now() >= deadline {
            break listed;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    for connection in &connections {
        management.close_connection(&connection.name).await?;
    }
    let reconnected = shop.wait_ready().await?;
    let lifted = catch_up::database_now(&shop).await?;

    let bound = aftermath::patience(&shop);
    let (posted, recovered) =
        tokio::join!(traffic.finish(), catch_up::caught_up(&shop, lifted, bound));
    let mut violations = Vec::new();
    if connections.len() < services.len() {
        violations.push(format!(
            "only {} of the services' connections were listed to close",
            connections.len()
        ));
    }
    let closed: Vec<String> = connections
        .iter()
        .filter_map(|connection| connection.client_name.clone())
        .collect();
    let fault = format!(
        "broker closed the connections of {} at order {}; ready again in {:.1}s",
        closed.join(", "),
        lab.strike_at(),
        reconnected.as_secs_f64()
    );
    let aftermath = Aftermath {
        fault,
        recovered,
        violations,
        ..Aftermath::default()
    };
    aftermath::conclude(shop, posted, aftermath, started).await
}
