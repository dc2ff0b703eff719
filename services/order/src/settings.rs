//! The order service's settings: the kit's shared sections plus `[service]`.

use std::time::Duration;

use serde::Deserialize;

use crate::DEFAULT_SETTINGS;

/// Every setting of the order service.
pub type Settings = service_kit::Settings<OrderSettings>;

/// The `[service]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct OrderSettings {
    /// How long an order may stay pending before it is cancelled with reason `timeout` (and,
    /// should it still be pending after that, reported as stalled).
    pub deadline_secs: u64,
    /// How long an order may stay confirmed (waiting for logistics to ship it) before it is
    /// reported as stalled. It is not cancelled: its charge and reservation may well be right.
    pub confirmed_deadline_secs: u64,
    /// How often the stalled orders are counted for the `orders_stalled` gauge.
    pub stalled_interval_ms: u64,
    /// How often the sweeper looks for pending orders past their deadline.
    pub sweep_interval_ms: u64,
    /// The cap on `GET /orders/{id}?wait=`.
    pub max_wait_secs: u64,
    /// How often a held `?wait=` request re-reads its order anyway, should a notification be
    /// lost. A safety net only: waiters are woken by their own order's notifications, and all of
    /// them when the listener reconnects. Every held request pays one read per period, so it is
    /// slow: at 1 s, 1 800 held requests cost 1 800 reads/s whatever the load.
    pub wait_recheck_ms: u64,
    /// Above this many pending orders, `POST /orders` answers 503 with `Retry-After`; 0 never.
    pub max_pending_orders: u64,
    /// How often the pending orders are counted for that limit.
    pub admission_interval_ms: u64,
    /// How long an `Idempotency-Key` answers the order it first placed; after it, the key is
    /// forgotten ([`crate::key_retention`]) and the same key places a new order. A client retries
    /// within minutes, or hours after an outage, never days later: 24 hours, as payment APIs
    /// keep theirs, covers every real retry, and keeps the unique index to a day of keys.
    pub idempotency_key_retention_secs: u64,
    /// The shop's one currency (ISO 4217, like `EUR`): every catalog price is in it, an order
    /// that names a currency must name it, and every order is stored and announced in it.
    /// Checked at startup.
    pub currency: String,
    /// How many orders one customer may have pending at once; past it, `POST /orders` answers
    /// that customer 429 with `Retry-After` while the others are still served. It applies to
    /// every order of the customer, whoever places it (staff on their behalf too). Counted in
    /// the database, in the statement that inserts the order; it may be overshot by a customer's
    /// concurrent submissions (see [`crate::store::place`]). 0: no bound.
    pub max_pending_per_customer: u64,
    /// How many `GET /orders/{id}?wait=` requests one customer may have held at once, per
    /// instance (see [`crate::wait_quota`]); past it, 429 with `Retry-After`. Staff are not
    /// bounded. 0: no bound.
    pub max_waiting_per_customer: u64,
}

impl Default for OrderSettings {
    fn default() -> Self {
        Self {
            deadline_secs: 30,
            confirmed_deadline_secs: 300,
            stalled_interval_ms: 5_000,
            sweep_interval_ms: 500,
            max_wait_secs: 30,
            wait_recheck_ms: 10_000,
            max_pending_orders: 2_000,
            admission_interval_ms: 500,
            idempotency_key_retention_secs: 24 * 60 * 60,
            currency: "EUR".into(),
            max_pending_per_customer: 20,
            max_waiting_per_customer: 4,
        }
    }
}

impl OrderSettings {
    pub fn deadline(&self) -> Duration {
        Duration::from_secs(self.deadline_secs)
    }

    pub fn confirmed_deadline(&self) -> Duration {
        Duration::from_secs(self.confirmed_deadline_secs)
    }

    pub fn stalled_interval(&self) -> Duration {
        Duration::from_millis(self.stalled_interval_ms)
    }

    pub fn sweep_interval(&self) -> Duration {
        Duration::from_millis(self.sweep_interval_ms)
    }

    pub fn max_wait(&self) -> Duration {
        Duration::from_secs(self.max_wait_secs)
    }

    pub fn wait_recheck(&self) -> Duration {
        Duration::from_millis(self.wait_recheck_ms)
    }

    pub fn admission_interval(&self) -> Duration {
        Duration::from_millis(self.admission_interval_ms)
    }

    pub fn idempotency_key_retention(&self) -> Duration {
        Duration::from_secs(self.idempotency_key_retention_secs)
    }
}

/// Loads the settings: embedded defaults, `SHOP_CONFIG_FILE`, `SHOP__*`, then `ORDER__*`.
pub fn load_settings() -> Result<Settings, config::ConfigError> {
    service_kit::configuration::load("order", DEFAULT_SETTINGS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_defaults_match_the_built_in_ones() {
        let settings: Settings =
            service_kit::configuration::load("order_settings_test_3c1d", DEFAULT_SETTINGS)
                .expect("the embedded defaults load");
        let built_in = OrderSettings::default();
        assert_eq!(settings.application.port, 8080);
        assert_eq!(settings.database.database_name, "order");
        assert_eq!(settings.bus.service, "order");
        assert_eq!(settings.service.deadline_secs, built_in.deadline_secs);
        assert_eq!(
            settings.service.confirmed_deadline_secs,
            built_in.confirmed_deadline_secs
        );
        assert_eq!(
            settings.service.stalled_interval_ms,
            built_in.stalled_interval_ms
        );
        assert_eq!(
            settings.service.sweep_interval_ms,
            built_in.sweep_interval_ms
        );
        assert_eq!(settings.service.max_wait_secs, built_in.max_wait_secs);
        assert_eq!(settings.service.wait_recheck_ms, built_in.wait_recheck_ms);
        assert_eq!(
            settings.service.max_pending_orders,
            built_in.max_pending_orders
        );
        assert_eq!(
            settings.service.admission_interval_ms,
            built_in.admission_interval_ms
        );
        assert_eq!(
            settings.service.idempotency_key_retention_secs,
            built_in.idempotency_key_retention_secs
        );
        assert_eq!(settings.service.currency, built_in.currency);
        assert_eq!(
            settings.service.max_pending_per_customer,
            built_in.max_pending_per_customer
        );
        assert_eq!(
            settings.service.max_waiting_per_customer,
            built_in.max_waiting_per_customer
        );
    }
}
