//! One order from its POST to its final state.
//!
//! `POST /orders`, then `GET /orders/{id}?wait=30&until=confirmed` answers as soon as the order
//! leaves `pending`: the moment that answer arrives is when the client *saw* it confirmed. Then
//! `GET /orders/{id}?wait=30&until=shipped` is held until the order is final (asked again, within
//! [`PATIENCE`], when a wait runs out first); the time of `shipped` is taken from the order's own
//! history (stamped by the order service). No polling: each order costs the order service a
//! couple of held requests, woken by its own status changes. Both are measured from the moment
//! the POST was due: in an open loop a late POST counts its delay (no coordinated omission).

use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// How long a held `?wait=` may last; the order service caps it at its `max_wait_secs` (30).
const WAIT_SECS: u64 = 30;

/// How long an order may take to reach a final state before it is reported stuck.
const PATIENCE: Duration = Duration::from_secs(90);

/// Talks to the order service.
#[derive(Clone)]
pub struct Shop {
    pub http: reqwest::Client,
    /// `http://127.0.0.1:<port>`.
    pub order_url: String,
    /// Makes idempotency keys unique across runs.
    pub run_id: String,
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

/// How a POST was answered, when not with an error.
enum Posted {
    /// `202`, with the order's id.
    Accepted(String),
    /// `503`: the shop sheds load; send it again after `retry_after`.
    Refused { retry_after: Duration },
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
    fn until(&self, at: DateTime<Utc>) -> Duration {
        SystemTime::from(at)
            .duration_since(self.wall)
            .unwrap_or_default()
    }
}

/// How an order ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
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
}

impl Shop {
    /// Places order number `n` and follows it to its final state.
    pub async fn journey(&self, n: u64, due: Due) -> Journey {
        let mut journey = Journey {
            end: End::Stuck,
            post: None,
            confirmed: None,
            confirmed_recorded: None,
            shipped: None,
            finished: SystemTime::now(),
            refusals: 0,
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
                Posted::Accepted(id) => break id,
                Posted::Refused { retry_after } => {
                    journey.refusals += 1;
                    if due.instant.elapsed() > PATIENCE {
                        bail!("POST /orders refused with 503 for longer than {PATIENCE:?}");
                    }
                    tokio::time::sleep(retry_after).await;
                }
            }
        };
        journey.post = Some(sent.elapsed());

        let mut view = self
            .get(&format!("/orders/{id}?wait={WAIT_SECS}&until=confirmed"))
            .await?;
        loop {
            if journey.confirmed.is_none()
                && matches!(view.status.as_str(), "confirmed" | "shipped")
            {
                journey.confirmed = Some(due.instant.elapsed());
            }
            match view.status.as_str() {
                "shipped" => {
                    let shipped = view
                        .reached("shipped")
                        .context("a shipped order without `shipped` in its history")?;
                    journey.shipped = Some(due.until(shipped));
                    journey.confirmed_recorded = view.reached("confirmed").map(|at| due.until(at));
                    journey.finished = shipped.into();
                    journey.end = End::Shipped;
                    return Ok(());
                }
                "cancelled" => {
                    journey.finished = view
                        .reached("cancelled")
                        .map_or_else(SystemTime::now, Into::into);
                    journey.end = End::Cancelled;
                    return Ok(());
                }
                "pending" | "confirmed" => {}
                other => bail!("order {id} has an unknown status {other:?}"),
            }
            if due.instant.elapsed() > PATIENCE {
                journey.end = End::Stuck;
                journey.finished = SystemTime::now();
                return Ok(());
            }
            // Held until the order gets further (still pending: until it is confirmed, so that
            // "seen" stays the moment it was; then until it is final), or the wait runs out.
            let until = if view.status == "pending" {
                "confirmed"
            } else {
                "shipped"
            };
            view = self
                .get(&format!("/orders/{id}?wait={WAIT_SECS}&until={until}"))
                .await?;
        }
    }

    /// Posts order `n`: one line of one of 100 SKUs for one of 10 000 customers.
    async fn post(&self, n: u64) -> anyhow::Result<Posted> {
        let customer = format!("load-{}", n % 10_000);
        let body = serde_json::json!({
            "customer_id": customer,
            "email": format!("{customer}@example.com"),
            "currency": "EUR",
            "lines": [{"sku": format!("SKU-{}", n % 100), "quantity": 1, "unit_price_cents": 1999}],
        });
        let response = self
            .http
            .post(format!("{}/orders", self.order_url))
            .header("Idempotency-Key", format!("{}-{n}", self.run_id))
            .json(&body)
            .send()
            .await
            .context("POST /orders failed")?;
        let status = response.status();
        if status == reqwest::StatusCode::SERVICE_UNAVAILABLE {
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.parse().ok())
                .map_or(Duration::from_secs(1), Duration::from_secs);
            return Ok(Posted::Refused { retry_after });
        }
        if status != reqwest::StatusCode::ACCEPTED {
            let text = response.text().await.unwrap_or_default();
            bail!("POST /orders answered {status}: {text}");
        }
        let view: OrderView = response
            .json()
            .await
            .context("POST /orders: not an order")?;
        Ok(Posted::Accepted(view.id))
    }

    async fn get(&self, path: &str) -> anyhow::Result<OrderView> {
        let response = self
            .http
            .get(format!("{}{path}", self.order_url))
            .send()
            .await
            .with_context(|| format!("GET {path} failed"))?;
        let status = response.status();
        if !status.is_success() {
            bail!("GET {path} answered {status}");
        }
        response
            .json()
            .await
            .with_context(|| format!("GET {path}: not an order"))
    }
}
