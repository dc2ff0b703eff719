//! The network between the services and the broker goes dark for longer than the heartbeat.
//!
//! Every service reaches the broker through a proxy of its own; the proxies stop every byte for
//! [`CUT`], four heartbeats. Nothing tells either end the link is gone: each must notice the
//! missing heartbeats and give the connection up. Its attempts to reconnect during the cut are
//! swallowed (accepted and never answered, as by a load balancer whose broker is out of reach),
//! so it must also give up on a handshake that never ends, and try again until the network is
//! back.

use std::time::{Duration, Instant};

use super::{
    Lab,
    aftermath::{self, Aftermath},
};
use crate::{catch_up, report::Report, shop::ShopOptions};

/// Heartbeat of the services in this scenario, in seconds.
const HEARTBEAT_SECS: u16 = 2;
/// How long the links stay dark.
const CUT: Duration = Duration::from_secs(8);

pub async fn cut(lab: &Lab) -> anyhow::Result<Report> {
    let started = Instant::now();
    let name = "network-cut";
    let options = ShopOptions {
        heartbeat_secs: HEARTBEAT_SECS,
        through_proxies: true,
        ..lab.options()
    };
    let mut shop = lab.shop(name, options).await?;
    let mut traffic = shop.traffic(lab.plan(name));
    traffic.reached(lab.strike_at()).await;

    let connections_before: usize = shop.proxies().map(|proxy| proxy.accepted()).sum();
    for proxy in shop.proxies() {
        proxy.cut();
    }
    // The fault's length, not a synchronisation: the network stays dark this long.
    tokio::time::sleep(CUT).await;
    for proxy in shop.proxies() {
        proxy.resume();
    }
    let ready = shop.wait_ready().await?;
    let lifted = catch_up::database_now(&shop).await?;

    let bound = aftermath::patience(&shop);
    let (posted, recovered) =
        tokio::join!(traffic.finish(), catch_up::caught_up(&shop, lifted, bound));
    let connections_after: usize = shop.proxies().map(|proxy| proxy.accepted()).sum();
    let mut violations = Vec::new();
    if connections_after <= connections_before {
        violations.push("no service opened a new connection after the cut".to_owned());
    }
    let fault = format!(
        "every service's link to the broker dark for {:.0}s (heartbeat {HEARTBEAT_SECS}s) at order {}; \
         {} new connections through the proxies, ready again {:.1}s after the cut",
        CUT.as_secs_f64(),
        lab.strike_at(),
        connections_after - connections_before.min(connections_after),
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
