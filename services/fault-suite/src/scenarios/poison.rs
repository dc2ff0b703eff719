//! Poison on every routing key a service binds: bytes that are not JSON, JSON of the wrong shape,
//! and a version nobody knows. Each must land in `<queue>.dead` of every queue bound to it, with
//! its reason, at once (no retries), while the good orders keep flowing.

use std::{collections::BTreeSet, time::Instant};

use super::{
    Lab,
    aftermath::{self, Aftermath},
};
use crate::{amqp, catch_up, report::Report};

pub async fn run(lab: &Lab) -> anyhow::Result<Report> {
    let started = Instant::now();
    let name = "poison";
    let shop = lab.shop(name, lab.options()).await?;
    let mut traffic = shop.traffic(lab.plan(name));
    traffic.reached(lab.strike_at()).await;

    let injected = amqp::inject_poison(shop.broker.amqp_port, &shop.vhost).await?;
    let lifted = catch_up::database_now(&shop).await?;
    let bound = aftermath::patience(&shop);
    let (posted, recovered) =
        tokio::join!(traffic.finish(), catch_up::caught_up(&shop, lifted, bound));
    let keys: BTreeSet<&str> = injected
        .iter()
        .map(|message| message.routing_key.as_str())
        .collect();
    let expected: usize = injected.iter().map(|message| message.queues.len()).sum();
    let fault = format!(
        "{} poison messages (garbage, wrong shape, version 99) on {} routing keys at order {}, \
         {expected} dead letters expected",
        injected.len(),
        keys.len(),
        lab.strike_at()
    );
    let aftermath = Aftermath {
        fault,
        recovered,
        injected,
        ..Aftermath::default()
    };
    aftermath::conclude(shop, posted, aftermath, started).await
}
