//! A handler that hangs: billing's charge and refund handlers block on a customer's account row
//! that a transaction outside billing holds, and the bus must turn each hung call into a failure
//! instead of letting it hold the queue.
//!
//! A real binary has no hook to hang, so the hang comes from outside, as it would in production:
//! before the load, the suite opens a transaction in billing's database that locks
//! [`HELD`]'s row in `customers` (`SELECT … FOR UPDATE`, the very lock billing's
//! `store::lock_account` takes before every money movement of a customer) and keeps it open, as a
//! forgotten session or a long report would. The load then places [`HUNG_ORDERS`] orders of that
//! customer among the others. Each of their submits blocks billing's handler on the lock; once the
//! order's deadline passes, the order service cancels it, and the refund handler blocks on the
//! same lock. Billing consumes with one worker (`bus.concurrency = 1`, its default, which the suite
//! keeps): without a bound, the first hung call would hold the whole queue, and every other
//! customer's order would wait for billing until its deadline cancelled it.
//!
//! Billing runs with [`HANDLER_TIMEOUT`] (`bus.handler_timeout_ms`, the bus's `Timeout` layer) and
//! the longer [`STATEMENT_TIMEOUT`] (`database.statement_timeout_ms`), so the bus's bound is the
//! one that fails a hung call. Both are needed. When the handler's bound strikes, the bus drops
//! the call, but PostgreSQL keeps the abandoned transaction open, still waiting for the lock and
//! holding what it wrote and locked: the message's row in the inbox and, in a batch, the account
//! rows of the customers handled before it. The retry of the same message then waits for that inbox row, outside the
//! handler's bound; without a statement bound it waits as long as the lock is held, and the
//! queue stands as if there were no bound at all (seen: with `statement_timeout_ms = 0`, 135 of
//! 147 other orders cancelled for `timeout`, nothing dead-lettered). The statement's bound ends
//! the abandoned wait a second later, which rolls that transaction back and frees its connection.
//! The scenario shows, in this order, while the row stays locked:
//!
//! 1. the rest of the queue flows: every order of the other customers becomes final, and none is
//!    cancelled for `timeout` (billing answered each in time), awaited with a bound;
//! 2. every hung message was turned into a failure: retried through every delay, then
//!    dead-lettered with the handler timeout as its reason; exactly the submit and the
//!    cancellation of each of the held customer's orders, nothing else; awaited with a bound.
//!
//! Then the documented remedy: the lock is released (the cause fixed) and the dead letters whose
//! reason is the timeout are replayed with `shopctl`'s library (`shopctl dead replay --reason`),
//! after which every invariant must hold, as after every scenario: each held order cancelled with
//! its charge refunded or never made, one email each, nothing left dead.

use std::{
    collections::{BTreeMap, BTreeSet},
    time::{Duration, Instant},
};

use anyhow::Context;
use contracts::order::{OrderCancelled, OrderSubmitted};
use event_bus::{
    Event, envelope,
    topology::{dead_letter_queue, service_queue},
};
use lapin::options::BasicGetOptions;
use shopctl::Selector;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use super::{
    Lab,
    aftermath::{self, Aftermath},
    replay,
};
use crate::{
    amqp, catch_up,
    invariants::Violations,
    load::Plan,
    mix,
    report::Report,
    service::Service,
    shop::{RETRY_DELAYS_MS, Shop, ShopOptions},
};

/// How long one of billing's handler calls may run (`bus.handler_timeout_ms`): far above what a
/// batch takes under the suite's load, far below the order deadline.
pub const HANDLER_TIMEOUT: Duration = Duration::from_secs(1);

/// How long one of billing's statements may run (`database.statement_timeout_ms`): longer than
/// the handler's bound, so that the bus's bound is the one a hung call meets; this one then ends
/// the statement the bus abandoned, which gives the connection (and any row the abandoned
/// transaction locked) back.
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(2);

/// The customer whose account row is held.
const HELD: &str = "c-07";

/// How many orders of [`HELD`] the load places: each makes two hung messages, its submit and its
/// cancellation.
const HUNG_ORDERS: usize = 3;

/// The words of the bus's `Timeout` failure, the reason every hung message must be parked with.
const TIMEOUT_REASON: &str = "did not finish within";

pub async fn run(lab: &Lab) -> anyhow::Result<Report> {
    let started = Instant::now();
    let name = "handler-hangs";
    let options = ShopOptions {
        environment: vec![
            (
                "BILLING__BUS__HANDLER_TIMEOUT_MS".into(),
                HANDLER_TIMEOUT.as_millis().to_string(),
            ),
            (
                "BILLING__DATABASE__STATEMENT_TIMEOUT_MS".into(),
                STATEMENT_TIMEOUT.as_millis().to_string(),
            ),
        ],
        ..lab.options()
    };
    let shop = lab.shop(name, options).await?;
    let lock = hold_account(&shop).await?;
    let locked = Instant::now();

    let (plan, held_numbers) = plan(lab, name);
    let posted = shop.traffic(plan).finish().await;
    let held: BTreeSet<Uuid> = held_numbers
        .iter()
        .filter_map(|number| posted.accepted.get(&format!("{name}-{number}")))
        .copied()
        .collect();
    let others: Vec<Uuid> = posted
        .accepted
        .values()
        .filter(|id| !held.contains(id))
        .copied()
        .collect();
    let bound = aftermath::patience(&shop);
    let mut violations = Vec::new();
    if held.len() != HUNG_ORDERS {
        violations.push(format!(
            "the load placed {} orders of {HELD}, not {HUNG_ORDERS}",
            held.len()
        ));
    }

    // 1. The rest of the queue flows while the row stays locked.
    let flowed = final_orders(&shop, &others, bound).await;
    let outcomes = outcomes(&shop, &others).await?;
    let timed_out = outcomes.get("cancelled: timeout").copied().unwrap_or(0);
    match flowed {
        None => violations.push(format!(
            "orders of other customers still open {bound:?} after the load while {HELD}'s row \
             was locked: billing's queue stood behind the hung handler"
        )),
        Some(_) if timed_out > 0 => violations.push(format!(
            "{timed_out} orders of other customers cancelled for `timeout` while {HELD}'s row \
             was locked: billing did not answer them before their deadline"
        )),
        Some(_) => {}
    }

    // 2. Every hung message failed, was retried, and was parked naming the timeout.
    let expected = 2 * held.len();
    let parked_in = parked(&shop, expected, bound).await?;
    let letters = peek_dead_letters(&shop).await?;
    violations.extend(check_dead_letters(&letters, &held));
    if parked_in.is_none() {
        violations.push(format!(
            "{} of the {expected} hung messages dead-lettered {bound:?} after the load",
            letters.len()
        ));
    }

    // The remedy: the cause fixed, then the dead letters of the timeout replayed.
    lock.rollback()
        .await
        .context("Failed to release the held account row")?;
    let held_for = locked.elapsed();
    let replayed = replay::replay_dead_letters(
        &shop,
        Service::Billing,
        Selector::Reason(TIMEOUT_REASON.into()),
    )
    .await?;
    if replayed.count != expected {
        violations.push(format!(
            "{} dead letters replayed, not the {expected} hung messages",
            replayed.count
        ));
    }
    let lifted = catch_up::database_now(&shop).await?;
    let recovered = catch_up::caught_up(&shop, lifted, bound).await;

    let seconds = |elapsed: Option<Duration>| {
        elapsed.map_or_else(
            || "never".to_owned(),
            |d| format!("in {:.1}s", d.as_secs_f64()),
        )
    };
    let outcomes: Vec<String> = outcomes
        .iter()
        .map(|(outcome, count)| format!("{outcome} {count}"))
        .collect();
    let fault = format!(
        "{HELD}'s account row locked for {:.1}s from before the load, billing's handler bound \
         {HANDLER_TIMEOUT:?} (statements {STATEMENT_TIMEOUT:?}), one worker; {} orders of other \
         customers final {} after the load ({}); {} orders of {HELD}: {} of their {expected} \
         messages dead-lettered {} after the load, {} replayed once the lock was released",
        held_for.as_secs_f64(),
        others.len(),
        seconds(flowed),
        outcomes.join(", "),
        held.len(),
        letters.len(),
        seconds(parked_in),
        replayed.count,
    );
    let aftermath = Aftermath {
        fault,
        recovered,
        violations,
        ..Aftermath::default()
    };
    aftermath::conclude(shop, posted, aftermath, started).await
}

/// The paced load of `lab`, with its orders from [`jobs`], and the numbers of the held ones.
fn plan(lab: &Lab, name: &str) -> (Plan, Vec<usize>) {
    let mut plan = lab.plan(name);
    let (jobs, held) = jobs(lab.load.orders);
    plan.jobs = jobs;
    (plan, held)
}

/// `orders` order numbers of the mix in their order, with only the first [`HUNG_ORDERS`] orders
/// of [`HELD`] left in; and the numbers of those.
fn jobs(orders: usize) -> (Vec<usize>, Vec<usize>) {
    let mut held = Vec::new();
    let jobs = (0..)
        .filter(|number| {
            if mix::order(*number)["customer_id"] != HELD {
                return true;
            }
            let kept = held.len() < HUNG_ORDERS;
            if kept {
                held.push(*number);
            }
            kept
        })
        .take(orders)
        .collect();
    (jobs, held)
}

/// Locks [`HELD`]'s account row in billing's database until the returned transaction ends: the
/// row is created first as billing would (with the credit billing shows for a customer it has
/// never seen), then locked as billing's money movements lock it.
async fn hold_account(shop: &Shop) -> anyhow::Result<Transaction<'static, Postgres>> {
    let billing = shop.url(Service::Billing);
    let customer = shop
        .get_json(&format!("{billing}/customers/{HELD}"))
        .await?;
    let credit = customer["credit_limit_cents"]
        .as_i64()
        .with_context(|| format!("Billing named no credit limit for {HELD}: {customer}"))?;
    let pool = shop.pool(Service::Billing);
    sqlx::query(
        "INSERT INTO customers (id, credit_limit_cents) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(HELD)
    .bind(credit)
    .execute(pool)
    .await
    .with_context(|| format!("Failed to create {HELD}'s account"))?;
    let mut lock = pool.begin().await.context("Failed to begin the lock")?;
    sqlx::query("SELECT 1 FROM customers WHERE id = $1 FOR UPDATE")
        .bind(HELD)
        .execute(&mut *lock)
        .await
        .with_context(|| format!("Failed to lock {HELD}'s account"))?;
    Ok(lock)
}

/// How often billing's progress is looked at.
const POLL: Duration = Duration::from_millis(250);

/// Waits until every order of `ids` is final; how long that took, `None` if `bound` ran out.
async fn final_orders(shop: &Shop, ids: &[Uuid], bound: Duration) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < bound {
        let open: Result<i64, _> = sqlx::query_scalar(
            "SELECT count(*) FROM orders
             WHERE id = ANY($1) AND status NOT IN ('shipped', 'cancelled')",
        )
        .bind(ids)
        .fetch_one(shop.pool(Service::Order))
        .await;
        if open.is_ok_and(|open| open == 0) {
            return Some(started.elapsed());
        }
        tokio::time::sleep(POLL).await;
    }
    None
}

/// How the orders of `ids` stand: `shipped`, `cancelled: <reason>`... with how many each.
async fn outcomes(shop: &Shop, ids: &[Uuid]) -> anyhow::Result<BTreeMap<String, i64>> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT status || coalesce(': ' || cancel_reason, ''), count(*) FROM orders
         WHERE id = ANY($1) GROUP BY 1",
    )
    .bind(ids)
    .fetch_all(shop.pool(Service::Order))
    .await
    .context("Failed to read how the orders stand")?;
    Ok(rows.into_iter().collect())
}

/// Waits until billing's dead-letter queue holds `expected` messages (or more); how long that
/// took, `None` if `bound` ran out.
async fn parked(shop: &Shop, expected: usize, bound: Duration) -> anyhow::Result<Option<Duration>> {
    let queue = billing_dead_letters();
    let started = Instant::now();
    while started.elapsed() < bound {
        let depth: u64 = shop
            .broker
            .management
            .queues(&shop.vhost)
            .await?
            .iter()
            .filter(|listed| listed.name == queue)
            .map(|listed| listed.messages)
            .sum();
        if depth >= expected as u64 {
            return Ok(Some(started.elapsed()));
        }
        tokio::time::sleep(POLL).await;
    }
    Ok(None)
}

fn billing_dead_letters() -> String {
    dead_letter_queue(&service_queue(Service::Billing.name()))
}

/// Attempts a handler failure gets in the suite: the first and one per retry delay.
fn attempts() -> u32 {
    RETRY_DELAYS_MS.split(',').count() as u32 + 1
}

/// A message of billing's dead-letter queue, as the bus parked it.
#[derive(Debug)]
struct Parked {
    /// The order it is about.
    correlation_id: Option<String>,
    routing_key: String,
    reason: String,
    kind: String,
    attempt: Option<u32>,
}

/// Reads billing's dead letters without taking them: each is fetched unacknowledged, and closing
/// the channel gives them all back in place, for the replay.
async fn peek_dead_letters(shop: &Shop) -> anyhow::Result<Vec<Parked>> {
    let connection = amqp::connect(shop.broker.amqp_port, &shop.vhost, "fault-suite-peek").await?;
    let channel = connection.create_channel().await?;
    let queue = billing_dead_letters();
    let mut letters = Vec::new();
    while let Some(message) = channel
        .basic_get(queue.as_str().into(), BasicGetOptions { no_ack: false })
        .await
        .with_context(|| format!("Failed to read {queue}"))?
    {
        let delivery = message.delivery;
        let headers = delivery.properties.headers().as_ref();
        letters.push(Parked {
            correlation_id: delivery
                .properties
                .correlation_id()
                .as_ref()
                .map(|id| id.to_string()),
            routing_key: envelope::parked_arrival(&delivery).1,
            reason: envelope::header_str(headers, envelope::ERROR).unwrap_or_default(),
            kind: envelope::header_str(headers, envelope::DEAD_LETTER_KIND).unwrap_or_default(),
            attempt: envelope::header_u32(headers, envelope::ATTEMPT),
        });
    }
    channel
        .close(200, "peeked".into())
        .await
        .with_context(|| format!("Failed to give {queue} back"))?;
    let _ = connection.close(200, "done".into()).await;
    Ok(letters)
}

/// The dead letters must be exactly the submit and the cancellation of each held order, each
/// parked as a handler failure on its last attempt with the handler timeout as its reason.
fn check_dead_letters(letters: &[Parked], held: &BTreeSet<Uuid>) -> Vec<String> {
    let hung_keys = [OrderSubmitted::ROUTING_KEY, OrderCancelled::ROUTING_KEY];
    let expected: BTreeSet<(String, String)> = held
        .iter()
        .flat_map(|id| hung_keys.map(|key| (id.to_string(), key.to_owned())))
        .collect();
    let timeout = format!("{TIMEOUT_REASON} {HANDLER_TIMEOUT:?}");
    let mut found: BTreeMap<(String, String), usize> = BTreeMap::new();
    let (mut unexpected, mut wrong) = (Vec::new(), Vec::new());
    for letter in letters {
        let key = (
            letter.correlation_id.clone().unwrap_or_default(),
            letter.routing_key.clone(),
        );
        let described = format!("{} of {}", key.1, key.0);
        if !expected.contains(&key) {
            unexpected.push(format!("{described}: {}", letter.reason));
            continue;
        }
        *found.entry(key).or_insert(0) += 1;
        if !letter.reason.contains(&timeout)
            || letter.kind != "handler"
            || letter.attempt != Some(attempts())
        {
            wrong.push(format!(
                "{described} ({}, attempt {:?}): {}",
                letter.kind, letter.attempt, letter.reason
            ));
        }
    }
    let missing: Vec<String> = expected
        .iter()
        .filter(|key| !found.contains_key(*key))
        .map(|(order, key)| format!("{key} of {order}"))
        .collect();
    let repeated: Vec<String> = found
        .iter()
        .filter(|(_, count)| **count > 1)
        .map(|((order, key), count)| format!("{key} of {order} ×{count}"))
        .collect();
    let mut violations = Violations::default();
    violations.check("hung messages not dead-lettered", &missing);
    violations.check("hung messages dead-lettered twice", &repeated);
    violations.check(
        "dead letters other than the held customer's hung messages",
        &unexpected,
    );
    violations.check(
        &format!(
            "hung messages not parked as handler failures on attempt {} naming the {:?} timeout",
            attempts(),
            HANDLER_TIMEOUT
        ),
        &wrong,
    );
    violations.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_load_keeps_its_size_with_only_the_first_few_orders_of_the_held_customer() {
        let orders = crate::load::Load::ci().orders;
        let of_held = |number: &usize| mix::order(*number)["customer_id"] == HELD;
        let (jobs, held) = jobs(orders);
        assert_eq!(jobs.len(), orders);
        assert_eq!(held.len(), HUNG_ORDERS);
        let first: Vec<usize> = (0..).filter(of_held).take(HUNG_ORDERS).collect();
        assert_eq!(held, first);
        let in_jobs: Vec<usize> = jobs.iter().copied().filter(of_held).collect();
        assert_eq!(in_jobs, held);
    }
}
