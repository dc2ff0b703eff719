//! The end every scenario shares: wait until the shop is quiet, check the invariants from the
//! databases and the HTTP APIs, account for every dead letter, close the shop.

use std::{
    collections::{BTreeMap, BTreeSet},
    time::{Duration, Instant},
};

use anyhow::Context;
use uuid::Uuid;

use crate::{
    amqp::{self, DeadLetter, Injected},
    catch_up,
    invariants::{self, ForeignOrders, Violations},
    load::Posted,
    mix,
    report::{DeadLetters, Report},
    service::Service,
    shop::Shop,
    snapshot::Snapshot,
};

/// How long after its deadline an order may still be open before it counts as stuck: room for
/// the sweeper's cancellation and every compensation to run through retries.
pub const GRACE: Duration = Duration::from_secs(90);

/// What a scenario did and saw, handed to [`conclude`].
#[derive(Debug, Default)]
pub struct Aftermath {
    /// The fault as injected, with what was measured about it.
    pub fault: String,
    /// From the fault's end until the orders accepted before it were all final.
    pub recovered: Option<Duration>,
    /// Poison that must be found in the dead letters, and nothing else.
    pub injected: Vec<Injected>,
    /// Orders submitted straight to the `order` exchange, as another producer would.
    pub foreign: ForeignOrders,
    /// Promises the scenario itself saw broken (a service that did not exit cleanly...).
    pub violations: Vec<String>,
}

/// How long a scenario waits for its shop: the deadline plus [`GRACE`].
pub fn patience(shop: &Shop) -> Duration {
    Duration::from_secs(shop.options.deadline_secs) + GRACE
}

/// Waits for quiet, checks, reports, and closes the shop (keeping its logs if it failed).
pub async fn conclude(
    mut shop: Shop,
    posted: Posted,
    aftermath: Aftermath,
    started: Instant,
) -> anyhow::Result<Report> {
    let mut violations = Violations(aftermath.violations);
    if let Err(motion) = catch_up::quiet(&shop, patience(&shop)).await {
        violations.push(format!(
            "the shop was still moving {:?} after the deadline and {GRACE:?} more: {motion:?}",
            shop.options.deadline_secs
        ));
    }
    for (service, instance) in shop.crashed() {
        violations.push(format!(
            "{service} (instance {instance}) crashed on its own"
        ));
    }
    let snapshot = Snapshot::read(&shop).await?;
    let (figures, found) = invariants::check(
        &snapshot,
        &posted,
        &aftermath.foreign,
        &shop.initial_stock,
        &shop.prices,
    );
    violations.0.extend(found.0);
    cross_check_apis(&shop, &snapshot, &posted, &mut violations).await?;
    let letters = amqp::take_dead_letters(shop.broker.amqp_port, &shop.vhost).await?;
    account_for_dead_letters(&letters, &aftermath.injected, &mut violations);
    let passed = violations.0.is_empty();
    let shop_name = shop.name.clone();
    let logs = (!passed).then(|| shop.dir.display().to_string());
    shop.close(!passed).await?;
    Ok(Report {
        scenario: shop_name,
        fault: aftermath.fault,
        figures,
        recovered: aftermath.recovered,
        dead: DeadLetters::count(&letters),
        violations: violations.0,
        logs,
        took: started.elapsed(),
    })
}

/// What the APIs answer must be what the databases say: stock of every SKU, a sample of orders
/// and their emails, and the broke customer's credit (every charge of theirs given back).
async fn cross_check_apis(
    shop: &Shop,
    snapshot: &Snapshot,
    posted: &Posted,
    violations: &mut Violations,
) -> anyhow::Result<()> {
    let mut disagreements = Vec::new();
    let logistics = shop.url(Service::Logistics);
    for (sku, _) in &shop.initial_stock {
        let stock = shop.get_json(&format!("{logistics}/stock/{sku}")).await?;
        let api = (stock["on_hand"].as_i64(), stock["reserved"].as_i64());
        let stored = snapshot
            .stock
            .get(sku)
            .map(|(on_hand, reserved)| (*on_hand, *reserved));
        if stored.map(|(on_hand, reserved)| (Some(on_hand), Some(reserved))) != Some(api) {
            disagreements.push(format!("stock of {sku}: API {api:?}, database {stored:?}"));
        }
    }
    let sample: BTreeSet<Uuid> = posted.accepted.values().copied().take(10).collect();
    for id in sample {
        let order = shop
            .get_json(&format!("{}/orders/{id}", shop.url(Service::Order)))
            .await?;
        let stored = snapshot.orders.get(&id).map(|order| order.status.as_str());
        if order["status"].as_str() != stored {
            disagreements.push(format!(
                "order {id}: API {}, database {stored:?}",
                order["status"]
            ));
        }
        let emails = shop
            .get_json(&format!(
                "{}/emails?order_id={id}",
                shop.url(Service::Mailer)
            ))
            .await?;
        let listed = emails.as_array().map_or(0, Vec::len);
        let stored = snapshot.emails.get(&id).map_or(0, Vec::len);
        if listed != stored {
            disagreements.push(format!("emails of {id}: API {listed}, database {stored}"));
        }
    }
    let broke = shop
        .get_json(&format!(
            "{}/customers/{}",
            shop.url(Service::Billing),
            mix::BROKE
        ))
        .await
        .context("Failed to read the broke customer")?;
    if broke["available_cents"] != broke["credit_limit_cents"] {
        disagreements.push(format!("{} keeps a charge: {broke}", mix::BROKE));
    }
    for disagreement in disagreements {
        violations.push(format!("API and database disagree: {disagreement}"));
    }
    Ok(())
}

/// Every injected message must be dead in each queue bound to it, with the reason its poison
/// calls for and as a decode failure; any other dead letter is a message the flow lost.
fn account_for_dead_letters(
    letters: &[DeadLetter],
    injected: &[Injected],
    violations: &mut Violations,
) {
    let expected: BTreeMap<(&str, Service), &Injected> = injected
        .iter()
        .flat_map(|message| {
            message
                .queues
                .iter()
                .map(move |queue| ((message.message_id.as_str(), *queue), message))
        })
        .collect();
    let mut found: BTreeMap<(&str, Service), usize> = BTreeMap::new();
    let (mut unexpected, mut wrong_reason) = (Vec::new(), Vec::new());
    for letter in letters {
        let key = (
            letter.message_id.as_deref().unwrap_or_default(),
            letter.queue,
        );
        match expected.get(&key) {
            Some(message) => {
                *found.entry(key).or_insert(0) += 1;
                if letter.kind != "decode"
                    || !letter.reason.contains(message.poison.expected_reason())
                {
                    wrong_reason.push(format!(
                        "{} in {}.dead: {} ({})",
                        message.routing_key, letter.queue, letter.reason, letter.kind
                    ));
                }
            }
            None => unexpected.push(format!(
                "{} in {}.dead: {}",
                letter.routing_key, letter.queue, letter.reason
            )),
        }
    }
    let missing: Vec<String> = expected
        .iter()
        .filter(|(key, _)| !found.contains_key(*key))
        .map(|((_, queue), message)| {
            format!(
                "{:?} on {} for {queue}",
                message.poison, message.routing_key
            )
        })
        .collect();
    let repeated: Vec<String> = found
        .iter()
        .filter(|(_, count)| **count > 1)
        .map(|((id, queue), count)| format!("{id} ×{count} in {queue}.dead"))
        .collect();
    violations.check("messages of the flow dead-lettered", &unexpected);
    violations.check("poison not dead-lettered", &missing);
    violations.check("poison dead-lettered twice", &repeated);
    violations.check("poison dead-lettered for the wrong reason", &wrong_reason);
}
