//! The order service's stalled orders (`GET /orders?stalled=true`), read for the page.
//!
//! The order service owns the orders, their statuses and the deadline of each status, so it is
//! the one that says which orders are stalled; the tracker passes its list on rather than work
//! it out again from the events it recorded, which would copy the order service's deadlines and
//! rules, and go wrong wherever its own copy of the events lags or lacks one. Read-only.
//!
//! The list is for staff, at the order service as at the tracker: each read carries the bearer
//! token of the staff member who asked the tracker for it (relayed, not the tracker's own: the
//! tracker can verify tokens but holds no key to make one).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::settings::OrdersSettings;

/// Why the order service's list could not be had.
#[derive(Debug, thiserror::Error)]
pub enum OrdersError {
    #[error("the order service URL {url:?} is not a URL")]
    Url {
        url: String,
        #[source]
        source: url::ParseError,
    },
    #[error("the HTTP client could not be built")]
    Client(#[source] reqwest::Error),
    #[error("the order service could not be reached")]
    Unreachable(#[source] reqwest::Error),
    #[error("the order service answered {0}")]
    Status(reqwest::StatusCode),
    #[error("the order service's answer could not be read")]
    Body(#[source] reqwest::Error),
}

/// One stalled order, as the order service lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StalledOrder {
    pub id: Uuid,
    /// `pending` or `confirmed`.
    pub status: String,
    /// When the order took that status.
    pub since: DateTime<Utc>,
    /// When the deadline of that status passed.
    pub deadline_at: DateTime<Utc>,
    /// `http`, or `foreign` for an order another producer submitted.
    pub origin: String,
}

/// The answer of `GET /stalled` (and of the order service's `GET /orders?stalled=true`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StalledOrders {
    /// The longest overdue first.
    pub orders: Vec<StalledOrder>,
}

/// The order service's API.
#[derive(Debug, Clone)]
pub struct Orders {
    http: reqwest::Client,
    stalled: url::Url,
}

impl Orders {
    /// A client of the order service at `settings.url`.
    pub fn new(settings: &OrdersSettings) -> Result<Self, OrdersError> {
        let base = settings.url.trim_end_matches('/');
        let stalled =
            url::Url::parse(&format!("{base}/orders?stalled=true")).map_err(|source| {
                OrdersError::Url {
                    url: settings.url.clone(),
                    source,
                }
            })?;
        let http = reqwest::Client::builder()
            .timeout(settings.timeout())
            .build()
            .map_err(OrdersError::Client)?;
        Ok(Self { http, stalled })
    }

    /// The orders stalled past the deadline of their status, longest overdue first, asked for
    /// with `token` (the caller's bearer token) when there is one.
    pub async fn stalled(&self, token: Option<&str>) -> Result<StalledOrders, OrdersError> {
        let mut request = self.http.get(self.stalled.clone());
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.map_err(OrdersError::Unreachable)?;
        if !response.status().is_success() {
            return Err(OrdersError::Status(response.status()));
        }
        response.json().await.map_err(OrdersError::Body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_order_service_url_that_is_not_a_url_is_refused() {
        let settings = OrdersSettings {
            url: "not a url".into(),
            ..OrdersSettings::default()
        };
        assert!(matches!(
            Orders::new(&settings),
            Err(OrdersError::Url { .. })
        ));
    }

    #[test]
    fn the_list_is_asked_for_under_the_base_url_with_or_without_its_slash() {
        for url in ["http://127.0.0.1:8080", "http://127.0.0.1:8080/"] {
            let settings = OrdersSettings {
                url: url.into(),
                ..OrdersSettings::default()
            };
            let orders = Orders::new(&settings).expect("a client");
            assert_eq!(
                orders.stalled.as_str(),
                "http://127.0.0.1:8080/orders?stalled=true"
            );
        }
    }
}
