//! Every message of the flow delivered three times (republished twice with its message id, as a
//! producer retrying after a lost confirm would), to services of which billing runs twice,
//! competing for one queue: copies race each other on two instances. The inbox and the domain's
//! unique keys must make every effect happen once.

use std::time::{Duration, Instant};

use super::{
    Lab,
    aftermath::{self, Aftermath},
};
use crate::{amqp::Duplicator, catch_up, report::Report, service::Service, shop::Shop};

/// Copies published of every message, besides the original.
const COPIES: usize = 2;

pub async fn run(lab: &Lab) -> anyhow::Result<Report> {
    let started = Instant::now();
    let name = "duplicates";
    let mut shop = lab.shop(name, lab.options()).await?;
    shop.start((Service::Billing, 1)).await?;
    let billing_consumers = consumers_of_billing(&shop).await?;
    let duplicator = Duplicator::start(shop.broker.amqp_port, &shop.vhost, COPIES).await?;
    let mut traffic = shop.traffic(lab.plan(name));
    traffic.reached(lab.strike_at()).await;

    let posted = traffic.finish().await;
    let lifted = catch_up::database_now(&shop).await?;
    let recovered = catch_up::caught_up(&shop, lifted, aftermath::patience(&shop)).await;
    // Let the copies of the last events go out too before the duplicator stops.
    let _ = catch_up::quiet(&shop, aftermath::patience(&shop)).await;
    let duplicated = duplicator.finish().await?;

    let mut violations = Vec::new();
    if billing_consumers < 2 {
        violations.push(format!(
            "billing's queue had {billing_consumers} consumers, not two competing instances"
        ));
    }
    let fault = format!(
        "billing ×2 instances on one queue ({billing_consumers} consumers); every message \
         republished {COPIES}× with its message id: {} messages, {} copies",
        duplicated.seen, duplicated.copies
    );
    let aftermath = Aftermath {
        fault,
        recovered,
        violations,
        ..Aftermath::default()
    };
    aftermath::conclude(shop, posted, aftermath, started).await
}

/// How many consumers billing's queue has once both instances are up: the broker's figures are
/// refreshed every half second, so this waits (bounded) for the second one to show.
async fn consumers_of_billing(shop: &Shop) -> anyhow::Result<u64> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let consumers = shop
            .broker
            .management
            .queues(&shop.vhost)
            .await?
            .into_iter()
            .find(|queue| queue.name == "billing.queue")
            .map_or(0, |queue| queue.consumers);
        if consumers >= 2 || Instant::now() >= deadline {
            return Ok(consumers);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
