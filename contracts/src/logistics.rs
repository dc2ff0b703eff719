//! Events of the logistics service, which owns the stock and the shipments.
//!
//! When an order is submitted it tries to reserve every line: `reserved` if it could, which lets
//! the order be confirmed, `out_of_stock` (reserving nothing) if it could not, which gets the order
//! cancelled. A reservation whose order is cancelled is given back with `released`. A confirmed
//! order is `shipped`. Whenever stock on hand falls to its threshold, logistics asks for more with
//! `replenishment_requested`.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The durable topic exchange the logistics service publishes on.
pub const EXCHANGE: &str = "logistics";

/// A quantity of one SKU set aside (or given back) for an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ReservedLine {
    pub sku: String,
    pub quantity: u32,
}

/// `logistics.v1.reserved`: every line of the order is set aside.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StockReserved {
    pub order_id: Uuid,
    pub lines: Vec<ReservedLine>,
}

event_bus::event!(
    StockReserved,
    exchange = "logistics",
    name = "reserved",
    version = 1
);

impl StockReserved {
    /// The release that undoes this reservation, line for line.
    pub fn release(&self) -> StockReleased {
        StockReleased {
            order_id: self.order_id,
            lines: self.lines.clone(),
        }
    }
}

/// A SKU the order wanted more of than there was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ShortSku {
    pub sku: String,
    pub requested: u32,
    pub available: u32,
}

impl ShortSku {
    /// How many units were missing.
    pub fn missing(&self) -> u32 {
        self.requested.saturating_sub(self.available)
    }
}

/// `logistics.v1.out_of_stock`: at least one line could not be reserved, so none was (a partial
/// reservation would have to be released anyway); the order is cancelled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OutOfStock {
    pub order_id: Uuid,
    /// Only the SKUs that were short.
    pub short: Vec<ShortSku>,
}

event_bus::event!(
    OutOfStock,
    exchange = "logistics",
    name = "out_of_stock",
    version = 1
);

impl OutOfStock {
    /// "BOOK-1: 2 requested, 1 available; …", for a cancellation's human-readable detail.
    pub fn describe(&self) -> String {
        self.short
            .iter()
            .map(|s| {
                format!(
                    "{}: {} requested, {} available",
                    s.sku, s.requested, s.available
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// `logistics.v1.released`: a reservation was given back to stock because its order was cancelled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StockReleased {
    pub order_id: Uuid,
    pub lines: Vec<ReservedLine>,
}

event_bus::event!(
    StockReleased,
    exchange = "logistics",
    name = "released",
    version = 1,
    may_go_unheard
);

/// `logistics.v1.shipped`: the confirmed order left the warehouse; the mailer tells the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OrderShipped {
    pub order_id: Uuid,
    /// The carrier's number, for the customer to follow the parcel.
    pub tracking_number: String,
    pub shipped_at: DateTime<Utc>,
}

event_bus::event!(
    OrderShipped,
    exchange = "logistics",
    name = "shipped",
    version = 1
);

/// `logistics.v1.replenishment_requested`: a SKU's stock fell to its threshold; more is ordered
/// from the supplier. Not tied to an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ReplenishmentRequested {
    pub sku: String,
    /// Units in stock (not reserved) when the request was made.
    pub on_hand: u32,
    /// The level at or below which replenishment is requested.
    pub threshold: u32,
    /// Units requested from the supplier.
    pub quantity: u32,
}

event_bus::event!(
    ReplenishmentRequested,
    exchange = "logistics",
    name = "replenishment_requested",
    version = 1,
    may_go_unheard
);

#[cfg(test)]
mod tests {
    use super::*;
    use event_bus::Event;

    #[test]
    fn exchange_constants_agree() {
        assert_eq!(StockReserved::EXCHANGE, EXCHANGE);
        assert_eq!(OutOfStock::EXCHANGE, EXCHANGE);
        assert_eq!(StockReleased::EXCHANGE, EXCHANGE);
        assert_eq!(OrderShipped::EXCHANGE, EXCHANGE);
        assert_eq!(ReplenishmentRequested::EXCHANGE, EXCHANGE);
    }

    #[test]
    fn routing_keys() {
        assert_eq!(StockReserved::ROUTING_KEY, "logistics.v1.reserved");
        assert_eq!(OutOfStock::ROUTING_KEY, "logistics.v1.out_of_stock");
        assert_eq!(StockReleased::ROUTING_KEY, "logistics.v1.released");
        assert_eq!(OrderShipped::ROUTING_KEY, "logistics.v1.shipped");
        assert_eq!(
            ReplenishmentRequested::ROUTING_KEY,
            "logistics.v1.replenishment_requested"
        );
    }

    #[test]
    fn shipped_round_trips() {
        let event = OrderShipped {
            order_id: Uuid::new_v4(),
            tracking_number: "1Z999AA10123456784".into(),
            shipped_at: Utc::now(),
        };
        let json = serde_json::to_vec(&event).unwrap();
        assert_eq!(OrderShipped::decode(1, &json).unwrap(), event);
    }

    #[test]
    fn out_of_stock_helpers() {
        let event = OutOfStock {
            order_id: Uuid::new_v4(),
            short: vec![
                ShortSku {
                    sku: "BOOK-1".into(),
                    requested: 2,
                    available: 1,
                },
                ShortSku {
                    sku: "PEN-7".into(),
                    requested: 3,
                    available: 0,
                },
            ],
        };
        assert_eq!(event.short[0].missing(), 1);
        assert_eq!(
            event.describe(),
            "BOOK-1: 2 requested, 1 available; PEN-7: 3 requested, 0 available"
        );
    }

    #[test]
    fn release_mirrors_the_reservation() {
        let reserved = StockReserved {
            order_id: Uuid::new_v4(),
            lines: vec![ReservedLine {
                sku: "BOOK-1".into(),
                quantity: 2,
            }],
        };
        let released = reserved.release();
        assert_eq!(released.order_id, reserved.order_id);
        assert_eq!(released.lines, reserved.lines);
    }
}
