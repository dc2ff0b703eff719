//! Clients posting orders, as a shop front would: each order carries an `Idempotency-Key`, and a
//! request that fails for want of the service (refused connection, timeout, 5xx) is sent again
//! with the same key until it is accepted, so a crash between commit and answer never orders
//! twice and never loses an order the client was told about. A `429` (a customer over a limit of
//! the order service) or `503` (load shed) is sent again after its `Retry-After`.
//!
//! The clients are the shop's staff, ordering on behalf of the customer each body names, with
//! the suite's staff token (see [`crate::auth`]).

use std::{
    collections::BTreeMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context;
use reqwest::StatusCode;
use tokio::{sync::watch, task::JoinSet};
use uuid::Uuid;

use crate::mix;

/// How long one order may keep being retried before the client gives up on it.
const GIVE_UP_AFTER: Duration = Duration::from_secs(180);

/// How much traffic the scenarios drive.
#[derive(Debug, Clone)]
pub struct Load {
    /// Orders per fault scenario.
    pub orders: usize,
    /// Concurrent clients posting them.
    pub clients: usize,
    /// Orders per second: paced, so that the fault lands while orders flow.
    pub rate: f64,
    /// POSTs of the burst scenario, sent as fast as its clients can.
    pub burst: usize,
    /// Concurrent clients of the burst.
    pub burst_clients: usize,
    /// The order service's deadline in the fault scenarios, in seconds: short enough that an
    /// outage makes the timeout path (and its late compensations) run, long enough that healthy
    /// orders under this load are not cancelled.
    pub deadline_secs: u64,
}

impl Load {
    /// The size `cargo test` runs: every path of the flow, in a few minutes on two cores.
    pub fn ci() -> Self {
        Self {
            orders: 150,
            clients: 8,
            rate: 25.0,
            burst: 1_000,
            burst_clients: 64,
            deadline_secs: 15,
        }
    }
}

/// Which orders to post, how fast, by how many clients.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Prefix of the idempotency keys: `<prefix>-<number>`.
    pub prefix: String,
    /// Order numbers in posting order; a number listed twice is posted twice with one key.
    pub jobs: Vec<usize>,
    /// Orders per second, or as fast as possible.
    pub rate: Option<f64>,
    pub clients: usize,
}

impl Plan {
    /// `count` distinct orders.
    pub fn paced(prefix: &str, count: usize, rate: f64, clients: usize) -> Self {
        Self {
            prefix: prefix.to_owned(),
            jobs: (0..count).collect(),
            rate: Some(rate),
            clients,
        }
    }
}

/// What the clients got.
#[derive(Debug, Default)]
pub struct Posted {
    /// The order id each key was answered with.
    pub accepted: BTreeMap<String, Uuid>,
    /// Requests sent, retries included.
    pub requests: usize,
    /// Requests sent again after a failure (the service down, a 5xx, a 429).
    pub retries: usize,
    /// Answers that were `429`: a customer over a limit of the order service.
    pub throttled: usize,
    /// Answers that said `Idempotent-Replayed: true`.
    pub replays: usize,
    /// Keys answered with two different order ids: idempotency broken.
    pub conflicts: Vec<String>,
    /// Orders the client could not place at all, with the last error.
    pub failures: Vec<String>,
    /// From the first request to the last answer.
    pub took: Duration,
}

impl Posted {
    /// Adds what a later round of clients got; a key answered with another order than before is
    /// a conflict.
    pub fn merge(&mut self, later: Posted) {
        for (key, id) in later.accepted {
            match self.accepted.get(&key) {
                Some(previous) if *previous != id => {
                    self.conflicts.push(format!("{key}: {previous} and {id}"))
                }
                Some(_) => {}
                None => {
                    self.accepted.insert(key, id);
                }
            }
        }
        self.requests += later.requests;
        self.retries += later.retries;
        self.throttled += later.throttled;
        self.replays += later.replays;
        self.conflicts.extend(later.conflicts);
        self.failures.extend(later.failures);
        self.took += later.took;
    }
}

/// Traffic under way.
pub struct Traffic {
    done: watch::Receiver<usize>,
    workers: JoinSet<()>,
    posted: Arc<Mutex<Posted>>,
    started: Instant,
}

/// Starts `plan.clients` clients posting to the order service at `order_url` (its base URL),
/// with the bearer `token`.
pub fn start(http: reqwest::Client, order_url: String, token: String, plan: Plan) -> Traffic {
    let (count, done) = watch::channel(0usize);
    let count = Arc::new(count);
    let posted = Arc::new(Mutex::new(Posted::default()));
    let next = Arc::new(AtomicUsize::new(0));
    let plan = Arc::new(plan);
    let token: Arc<str> = token.into();
    let started = Instant::now();
    let mut workers = JoinSet::new();
    for _ in 0..plan.clients.max(1) {
        let (http, url, token, plan, next, posted, count) = (
            http.clone(),
            format!("{order_url}/orders"),
            token.clone(),
            plan.clone(),
            next.clone(),
            posted.clone(),
            count.clone(),
        );
        workers.spawn(async move {
            loop {
                let job = next.fetch_add(1, Ordering::Relaxed);
                let Some(&number) = plan.jobs.get(job) else {
                    return;
                };
                if let Some(rate) = plan.rate {
                    // Load shaping, not synchronisation: order `job` is due at job / rate.
                    let due = started + Duration::from_secs_f64(job as f64 / rate.max(0.1));
                    tokio::time::sleep_until(due.into()).await;
                }
                let key = format!("{}-{number}", plan.prefix);
                let outcome = post(&http, &url, &token, &key, &mix::order(number)).await;
                record(&posted, key, outcome);
                count.send_modify(|done| *done += 1);
            }
        });
    }
    Traffic {
        done,
        workers,
        posted,
        started,
    }
}

impl Traffic {
    /// Waits until `count` orders were answered (or every client ended).
    pub async fn reached(&mut self, count: usize) {
        let _ = self.done.wait_for(|done| *done >= count).await;
    }

    /// Waits for every client to finish; what they got.
    pub async fn finish(mut self) -> Posted {
        while self.workers.join_next().await.is_some() {}
        let mut posted = std::mem::take(
            &mut *self
                .posted
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        posted.took = self.started.elapsed();
        posted
    }
}

/// One order's requests: its id, whether the last answer was a replay, how many requests, how
/// many of them were answered `429`.
struct Attempts {
    id: anyhow::Result<Uuid>,
    replayed: bool,
    requests: usize,
    throttled: usize,
}

fn record(posted: &Mutex<Posted>, key: String, attempts: Attempts) {
    let mut posted = posted
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    posted.requests += attempts.requests;
    posted.retries += attempts.requests.saturating_sub(1);
    posted.replays += usize::from(attempts.replayed);
    posted.throttled += attempts.throttled;
    match attempts.id {
        Ok(id) => {
            if let Some(previous) = posted.accepted.insert(key.clone(), id)
                && previous != id
            {
                posted.conflicts.push(format!("{key}: {previous} and {id}"));
            }
        }
        Err(error) => posted.failures.push(format!("{key}: {error:#}")),
    }
}

/// Posts one order until it is accepted, a client error (but `429`) says it never will be, or
/// [`GIVE_UP_AFTER`] passes.
async fn post(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    key: &str,
    body: &serde_json::Value,
) -> Attempts {
    let started = Instant::now();
    let mut pause = Duration::from_millis(50);
    let mut requests = 0;
    let mut throttled = 0;
    loop {
        requests += 1;
        let mut wait = None;
        let answer = http
            .post(url)
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .json(body)
            .timeout(Duration::from_secs(15))
            .send()
            .await;
        let last_error = match answer {
            Ok(response) if response.status() == StatusCode::ACCEPTED => {
                let replayed = response
                    .headers()
                    .get("idempotent-replayed")
                    .is_some_and(|value| value == "true");
                let id = accepted_id(response).await;
                return Attempts {
                    id,
                    replayed,
                    requests,
                    throttled,
                };
            }
            Ok(response)
                if matches!(
                    response.status(),
                    StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
                ) =>
            {
                if response.status() == StatusCode::TOO_MANY_REQUESTS {
                    throttled += 1;
                }
                wait = Some(retry_after(&response));
                format!("answered {}", response.status())
            }
            Ok(response) if response.status().is_client_error() => {
                let status = response.status();
                let text = response.text().await.unwrap_or_default();
                return Attempts {
                    id: Err(anyhow::anyhow!("refused with {status}: {text}")),
                    replayed: false,
                    requests,
                    throttled,
                };
            }
            Ok(response) => format!("answered {}", response.status()),
            Err(error) => format!("request failed: {error}"),
        };
        if started.elapsed() > GIVE_UP_AFTER {
            return Attempts {
                id: Err(anyhow::anyhow!(
                    "gave up after {requests} requests: {last_error}"
                )),
                replayed: false,
                requests,
                throttled,
            };
        }
        tokio::time::sleep(wait.unwrap_or(pause)).await;
        pause = (pause * 2).min(Duration::from_secs(1));
    }
}

/// The `Retry-After` of a refusal, 1 s when it names none.
fn retry_after(response: &reqwest::Response) -> Duration {
    response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse().ok())
        .map_or(Duration::from_secs(1), Duration::from_secs)
}

async fn accepted_id(response: reqwest::Response) -> anyhow::Result<Uuid> {
    let body: serde_json::Value = response.json().await.context("The 202 had no JSON body")?;
    body["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .context("The 202 named no order id")
}
