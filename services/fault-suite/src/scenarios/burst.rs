//! A burst: thousands of POSTs from many concurrent clients at once, every tenth order sent
//! twice at the same moment with the same `Idempotency-Key`, and one in twenty sent again after
//! the burst, as impatient clients do. Each key must make one order; every repeat must be
//! answered as a replay of it.

use std::time::{Duration, Instant};

use super::{
    Lab,
    aftermath::{self, Aftermath},
};
use crate::{catch_up, load::Plan, report::Report, shop::ShopOptions};

/// The deadline while a burst is worked off: healthy orders queued behind a burst must not be
/// cancelled for waiting.
const DEADLINE_SECS: u64 = 120;

pub async fn run(lab: &Lab) -> anyhow::Result<Report> {
    let started = Instant::now();
    let name = "burst";
    let options = ShopOptions {
        deadline_secs: DEADLINE_SECS.max(lab.load.deadline_secs),
        ..ShopOptions::default()
    };
    let shop = lab.shop(name, options).await?;
    let orders = lab.load.burst;
    let mut jobs = Vec::with_capacity(orders + orders / 10);
    for number in 0..orders {
        jobs.push(number);
        if number % 10 == 0 {
            jobs.push(number);
        }
    }
    let concurrent_repeats = jobs.len() - orders;
    let burst = Plan {
        prefix: name.into(),
        jobs,
        rate: None,
        clients: lab.load.burst_clients,
    };
    let mut posted = shop.traffic(burst).finish().await;
    let burst_took = posted.took;
    let requests = posted.requests;
    let again: Vec<usize> = (0..orders).filter(|number| number % 20 == 5).collect();
    let late_repeats = again.len();
    let retry = Plan {
        prefix: name.into(),
        jobs: again,
        rate: None,
        clients: lab.load.burst_clients.min(8),
    };
    posted.merge(shop.traffic(retry).finish().await);

    let lifted = catch_up::database_now(&shop).await?;
    let recovered = catch_up::caught_up(&shop, lifted, aftermath::patience(&shop)).await;
    let mut violations = Vec::new();
    if posted.replays < concurrent_repeats + late_repeats {
        violations.push(format!(
            "{} replays for {} repeated keys: a repeat made a new order or was not recognised",
            posted.replays,
            concurrent_repeats + late_repeats
        ));
    }
    let rate = requests as f64 / burst_took.max(Duration::from_millis(1)).as_secs_f64();
    let fault = format!(
        "{requests} POSTs for {orders} orders ({concurrent_repeats} keys sent twice at once) from \
         {} clients in {:.1}s ({rate:.0}/s), {late_repeats} keys sent again after; {} replays, \
         {} retries ({} after a 429)",
        lab.load.burst_clients,
        burst_took.as_secs_f64(),
        posted.replays,
        posted.retries,
        posted.throttled
    );
    let aftermath = Aftermath {
        fault,
        recovered,
        violations,
        ..Aftermath::default()
    };
    aftermath::conclude(shop, posted, aftermath, started).await
}
