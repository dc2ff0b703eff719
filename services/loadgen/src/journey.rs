//! One order from its POST until it is confirmed, as its customer sees it.
//!
//! `POST /orders`, then `GET /orders/{id}?wait=30&until=confirmed` answers as soon as the order
//! leaves `pending`: the moment that answer arrives is when the client *saw* it confirmed (asked
//! again, within [`PATIENCE`], when a wait runs out first). That is the one request a customer
//! holds; how a confirmed order ended (its `shipped` entry, stamped by the order service) is read
//! for the whole phase at once from the order service's records ([`crate::records`]), so that
//! measuring it costs the shop no request per order. No polling of the API: each order costs the
//! order service one held request, woken by its own status change. Latencies are measured from
//! the moment the POST was due: in an open loop a late POST counts its delay (no coordinated
//! omission).
//!
//! Each order is placed by its customer, with that customer's bearer token, and followed with
//! the same token (an order is shown to its customer or staff only). The order service limits
//! each customer to `max_pending_per_customer` (20) pending orders and
//! `max_waiting_per_customer` (4) held `?wait=` requests; the load stays under both with the
//! services' defaults, so `scripts/bench` does not raise them: order `n` is customer
//! `n % CUSTOMERS`, so the closed loop's orders in flight (64 consecutive numbers) are all of
//! different customers, and an open loop at `r` orders/s comes back to a customer every
//! `CUSTOMERS / r` seconds (100 s at 100/s), while a journey lasts at most [`PATIENCE`] and
//! holds one request at a time: a customer has at most `r × 90 / 10 000` orders in flight, under
//! 4 below 444 orders/s. Should a customer still be over a limit, the `429` is backed off like
//! a `503` and counted ([`Journey::throttled`]).

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde::Deserialize;
use uuid::Uuid;

use crate::{catalog, tokens::Tokens};

/// How many customers the orders spread over: order `n` is customer `n % CUSTOMERS`.
pub const CUSTOMERS: u64 = 10_000;

/// The id of customer `number` (of order `number`, modulo [`CUSTOMERS`]).
pub fn customer(number: u64) -> String {
    format!("load-{}", number % CUSTOMERS)
}

/// How long a held `?wait=` may last; the order service caps it at its `max_wait_secs` (30).
const WAIT_SECS: u64 = 30;

/// How long an order may take to reach a final state before it is reported stuck.
pub const PATIENCE: Duration = Duration::from_secs(90);

/// Talks to the order service.
#[derive(Clone)]
pub struct Shop {
    pub http: reqwest::Client,
    /// `http://127.0.0.1:<port>`.
    pub order_url: String,
    /// Makes idempotency keys unique across runs.
    pub run_id: String,
    /// The run's bearer tokens, signed before the load.
    pub tokens: Arc<Tokens>,
}

/// What the order API answers, as far as the load generator cares.
#[derive(Debug, Deserialize)]
struct OrderView {
    id: String,
    status: String,
    #[serde(default)]
    history: Vec<HistoryEntry>,
}

#[derive(Debug, Deserialize)]
struct HistoryEntry {
    status: String,
    at: DateTime<Utc>,
}

impl OrderView {
    fn reached(&self, status: &str) -> Option<DateTime<Utc>> {
        self.history
            .iter()
            .find(|entry| entry.status == status)
            .map(|entry| entry.at)
    }
}

/// How a request was answered, when not with an error.
enum Answer<T> {
    /// What was asked for: the `202` of a POST (the order's id), the `200` of a GET.
    Done(T),
    /// Not now: send it again after `retry_after`.
    Later {
        retry_after: Duration,
        reason: Later,
    },
}

/// Why a request is to be sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Later {
    /// `503`: the shop sheds load (too many orders pending in all).
    Shed,
    /// `429`: this customer is over one of its limits (pending orders, held requests).
    Throttled,
}

/// When an order was due: the monotonic instant, and the wall clock to compare with the order
/// service's timestamps (same machine, same clock).
#[derive(Debug, Clone, Copy)]
pub struct Due {
    pub instant: Instant,
    pub wall: SystemTime,
}

impl Due {
    pub fn now() -> Self {
        Self {
            instant: Instant::now(),
            wall: SystemTime::now(),
        }
    }

    /// `due` shifted by `offset`, for a schedule.
    pub fn plus(self, offset: Duration) -> Self {
        Self {
            instant: self.instant + offset,
            wall: self.wall + offset,
        }
    }

    /// From this due time to the wall-clock instant `at`.
    pub fn until(&self, at: DateTime<Utc>) -> Duration {
        SystemTime::from(at)
            .duration_since(self.wall)
            .unwrap_or_default()
    }
}

/// How an order ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// Seen confirmed; how it ended is read afterwards ([`crate::records`]).
    AwaitingShipment,
    Shipped,
    Cancelled,
    /// Not final after [`PATIENCE`].
    Stuck,
    /// An HTTP error or an unexpected answer.
    Failed(String),
}

/// One order's timings.
#[derive(Debug, Clone)]
pub struct Journey {
    pub end: End,
    /// When the order was due.
    pub due: Due,
    /// Its id, once the POST was answered.
    pub order_id: Option<Uuid>,
    /// POST sent → POST answered.
    pub post: Option<Duration>,
    /// Due → the client saw `confirmed` (the answer of `?wait=&until=confirmed`).
    pub confirmed: Option<Duration>,
    /// Due → `confirmed` in the order's history.
    pub confirmed_recorded: Option<Duration>,
    /// Due → `shipped` in the order's history.
    pub shipped: Option<Duration>,
    /// When the final state was recorded (or noticed, for failures).
    pub finished: SystemTime,
    /// How many times the POST was refused with `503` (load shedding) and sent again after
    /// `Retry-After`, with the same idempotency key; the latencies include those waits.
    pub refusals: u32,
    /// How many requests (POST or held GET) were refused with `429` (the customer over a
    /// limit) and sent again after `Retry-After`; the latencies include those waits.
    pub throttled: u32,
}

impl Shop {
    /// Places order number `n` and follows it to its final state.
    pub async fn journey(&self, n: u64, due: Due) -> Journey {
        let mut journey = Journey {
            end: End::Stuck,
            due,
            order_id: None,
            post: None,
            confirmed: None,
            confirmed_recorded: None,
            shipped: None,
            finished: SystemTime::now(),
            refusals: 0,
            throttled: 0,
        };
        if let Err(error) = self.follow(n, due, &mut journey).await {
            journey.end = End::Failed(format!("{error:#}"));
            journey.finished = SystemTime::now();
        }
        journey
    }

    async fn follow(&self, n: u64, due: Due, journey: &mut Journey) -> anyhow::Result<()> {
        let sent = Instant::now();
        let id = loop {
            match self.post(n).await? {
                Answer::Done(id) => break id,
                Answer::Later {
                    retry_after,
                    reason,
                } => {
                    journey
                        .back_off(reason, retry_after, due, "POST /orders")
                        .await?
                }
            }
        };
        journey.post = Some(sent.elapsed());
        journey.order_id = Some(
            id.parse()
                .with_context(|| format!("POST /orders answered an id that is no UUID: {id:?}"))?,
        );

        let path = format!("/orders/{id}?wait={WAIT_SECS}&until=confirmed");
        loop {
            let view = self.follow_up(n, &path, due, journey).await?;
            match view.status.as_str() {
                "confirmed" | "shipped" => {
                    journey.confirmed = Some(due.instant.elapsed());
                    journey.end = End::AwaitingShipment;
                    return Ok(());
                }
                "cancelled" => {
                    journey.finished = view
                        .reached("cancelled")
                        .map_or_else(SystemTime::now, Into::into);
                    journey.end = End::Cancelled;
                    return Ok(());
                }
                "pending" => {}
                other => bail!("order {id} has an unknown status {other:?}"),
            }
            if due.instant.elapsed() > PATIENCE {
                journey.end = End::Stuck;
                journey.finished = SystemTime::now();
                return Ok(());
            }
        }
    }

    /// `GET path` as the customer of order `n`, sent again after a `429`.
    async fn follow_up(
        &self,
        n: u64,
        path: &str,
        due: Due,
        journey: &mut Journey,
    ) -> anyhow::Result<OrderView> {
        loop {
            match self.get(n, path).await? {
                Answer::Done(view) => return Ok(view),
                Answer::Later {
                    retry_after,
                    reason,
                } => journey.back_off(reason, retry_after, due, path).await?,
            }
        }
    }

    /// Posts order `n` as its customer (whom the token names, so the body does not): one line
    /// of one of the catalog's SKUs, at the catalog's price.
    async fn post(&self, n: u64) -> anyhow::Result<Answer<String>> {
        let body = serde_json::json!({
            "email": format!("{}@example.com", customer(n)),
            "currency": "EUR",
            "lines": [{"sku": catalog::sku(n), "quantity": 1}],
        });
        let response = self
            .http
            .post(format!("{}/orders", self.order_url))
            .bearer_auth(self.tokens.customer(n))
            .header("Idempotency-Key", format!("{}-{n}", self.run_id))
            .json(&body)
            .send()
            .await
            .context("POST /orders failed")?;
        if let Some(later) = later(&response) {
            return Ok(later);
        }
        let status = response.status();
        if status != StatusCode::ACCEPTED {
            let text = response.text().await.unwrap_or_default();
            bail!("POST /orders answered {status}: {text}");
        }
        let view: OrderView = response
            .json()
            .await
            .context("POST /orders: not an order")?;
        Ok(Answer::Done(view.id))
    }

    /// `GET path` of order `n`, as its customer.
    async fn get(&self, n: u64, path: &str) -> anyhow::Result<Answer<OrderView>> {
        let response = self
            .http
            .get(format!("{}{path}", self.order_url))
            .bearer_auth(self.tokens.customer(n))
            .send()
            .await
            .with_context(|| format!("GET {path} failed"))?;
        if let Some(later) = later(&response) {
            return Ok(later);
        }
        let status = response.status();
        if !status.is_success() {
            let text = response.text().await.unwrap_or_default();
            bail!("GET {path} answered {status}: {text}");
        }
        let view = response
            .json()
            .await
            .with_context(|| format!("GET {path}: not an order"))?;
        Ok(Answer::Done(view))
    }
}

impl Journey {
    /// Counts a refusal and waits `retry_after` before the request goes again; gives up once
    /// the order is older than [`PATIENCE`].
    async fn back_off(
        &mut self,
        reason: Later,
        retry_after: Duration,
        due: Due,
        request: &str,
    ) -> anyhow::Result<()> {
        let status = match reason {
            Later::Shed => {
                self.refusals += 1;
                503
            }
            Later::Throttled => {
                self.throttled += 1;
                429
            }
        };
        if due.instant.elapsed() > PATIENCE {
            bail!("{request} refused with {status} for longer than {PATIENCE:?}");
        }
        tokio::time::sleep(retry_after).await;
        Ok(())
    }
}

/// A `503` or `429` as the answer to send the request again, after its `Retry-After` (1 s when
/// it names none).
fn later<T>(response: &reqwest::Response) -> Option<Answer<T>> {
    let reason = match response.status() {
        StatusCode::SERVICE_UNAVAILABLE => Later::Shed,
        StatusCode::TOO_MANY_REQUESTS => Later::Throttled,
        _ => return None,
    };
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse().ok())
        .map_or(Duration::from_secs(1), Duration::from_secs);
    Some(Answer::Later {
        retry_after,
        reason,
    })
}
