//! Events of the order service, which owns the order's lifecycle.
//!
//! `submit` starts the flow: billing charges the customer and logistics reserves the stock.
//! `confirmed` is published once both succeeded, so the order can ship and the customer be told;
//! `cancelled` once either failed (or the order waited too long), so whatever was done is undone:
//! the payment refunded, the stock released.
//!
//! `submit` has two versions. Version 1 came from the legacy shop, which had neither emails nor
//! currencies; [`OrderSubmitted::decode`](event_bus::Event::decode) upcasts it to version 2 so
//! consumers only ever handle [`OrderSubmitted`].

use chrono::{DateTime, Utc};
use event_bus::{DecodeError, Event, event::decode_json};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The durable topic exchange the order service publishes on.
pub const EXCHANGE: &str = "order";

/// The only currency of the legacy shop, hence of every version-1 order.
pub const LEGACY_CURRENCY: &str = "EUR";

/// One line of an order: how many of a SKU, at which unit price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OrderLine {
    pub sku: String,
    pub quantity: u32,
    /// Price of one unit in the order's currency, in cents.
    pub unit_price_cents: i64,
}

impl OrderLine {
    /// `quantity × unit_price_cents`, saturating rather than overflowing on absurd input so a bad
    /// payload cannot panic a handler.
    pub fn total_cents(&self) -> i64 {
        self.unit_price_cents
            .saturating_mul(i64::from(self.quantity))
    }
}

/// `order.v1.submit`: an order as the legacy shop submitted it. Kept only to decode old messages;
/// consumers receive it as an [`OrderSubmitted`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OrderSubmittedV1 {
    pub order_id: Uuid,
    pub customer_id: String,
    pub lines: Vec<OrderLine>,
}

event_bus::event!(
    OrderSubmittedV1,
    exchange = "order",
    name = "submit",
    version = 1
);

/// `order.v2.submit`: a customer submitted an order; the start of the flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OrderSubmitted {
    pub order_id: Uuid,
    pub customer_id: String,
    /// Where the mailer writes to. Empty for orders upcast from version 1, whose email is unknown.
    pub email: String,
    /// ISO 4217 code of every amount of the order (`EUR`).
    pub currency: String,
    pub lines: Vec<OrderLine>,
    /// Sum of the lines' totals, in cents; what billing charges.
    pub total_cents: i64,
    pub submitted_at: DateTime<Utc>,
}

impl OrderSubmitted {
    /// The total of `lines`, in cents (saturating, see [`OrderLine::total_cents`]).
    pub fn total_of(lines: &[OrderLine]) -> i64 {
        lines.iter().fold(0, |total: i64, line| {
            total.saturating_add(line.total_cents())
        })
    }

    /// Whether the email is known; it is not for orders upcast from version 1.
    pub fn has_email(&self) -> bool {
        !self.email.is_empty()
    }
}

/// The upcast from version 1, filling what the legacy shop did not send:
/// - `email`: empty, meaning unknown (see [`OrderSubmitted::has_email`]);
/// - `currency`: [`LEGACY_CURRENCY`], the legacy shop's only currency;
/// - `total_cents`: computed from the lines;
/// - `submitted_at`: the time of the upcast, since version 1 carried no time. It is at or after
///   the real submission, which errs towards treating the order as younger than it is.
impl From<OrderSubmittedV1> for OrderSubmitted {
    fn from(v1: OrderSubmittedV1) -> Self {
        Self {
            total_cents: Self::total_of(&v1.lines),
            order_id: v1.order_id,
            customer_id: v1.customer_id,
            email: String::new(),
            currency: LEGACY_CURRENCY.to_owned(),
            lines: v1.lines,
            submitted_at: Utc::now(),
        }
    }
}

/// By hand rather than with `event!`, to upcast version 1 in [`Event::decode`].
impl Event for OrderSubmitted {
    const EXCHANGE: &'static str = "order";
    const NAME: &'static str = "submit";
    const VERSION: u32 = 2;
    const ROUTING_KEY: &'static str = event_bus::routing_key!("order", "submit", 2);

    fn decode(version: u32, payload: &[u8]) -> Result<Self, DecodeError> {
        match version {
            2 => decode_json(payload),
            1 => decode_json::<OrderSubmittedV1>(payload).map(Self::from),
            _ => Err(DecodeError::UnknownVersion {
                event: event_bus::event::family::<Self>(),
                version,
            }),
        }
    }
}

/// `order.v1.confirmed`: the order is paid and its stock reserved; logistics ships it and the
/// mailer tells the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OrderConfirmed {
    pub order_id: Uuid,
    pub customer_id: String,
    pub email: String,
    pub total_cents: i64,
    pub currency: String,
}

event_bus::event!(
    OrderConfirmed,
    exchange = "order",
    name = "confirmed",
    version = 1
);

/// Why an order was cancelled; decides what must be undone and what the customer is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CancelReason {
    /// Billing declined the payment; reserved stock is released.
    PaymentDeclined,
    /// Logistics could not reserve every line; the payment is refunded.
    OutOfStock,
    /// The order did not complete in time; whatever was done is undone. Also the reason of an
    /// order the order service never accepted (submitted by another producer, e.g. a legacy
    /// `order.v1.submit`), refused once billing answered for it.
    Timeout,
}

impl CancelReason {
    /// The reason as it appears in JSON (`payment_declined`), for logs and templates.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PaymentDeclined => "payment_declined",
            Self::OutOfStock => "out_of_stock",
            Self::Timeout => "timeout",
        }
    }
}

impl std::fmt::Display for CancelReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `order.v1.cancelled`: the order will not be fulfilled; billing refunds a charge, logistics
/// releases a reservation, the mailer tells the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OrderCancelled {
    pub order_id: Uuid,
    pub customer_id: String,
    pub email: String,
    pub reason: CancelReason,
    /// Human-readable explanation (e.g. which SKUs were short), for the customer and support.
    pub detail: Option<String>,
}

event_bus::event!(
    OrderCancelled,
    exchange = "order",
    name = "cancelled",
    version = 1
);

#[cfg(test)]
mod tests {
    use super::*;

    fn lines() -> Vec<OrderLine> {
        vec![
            OrderLine {
                sku: "BOOK-1".into(),
                quantity: 2,
                unit_price_cents: 1250,
            },
            OrderLine {
                sku: "PEN-7".into(),
                quantity: 3,
                unit_price_cents: 199,
            },
        ]
    }

    #[test]
    fn exchange_constants_agree() {
        assert_eq!(OrderSubmittedV1::EXCHANGE, EXCHANGE);
        assert_eq!(OrderSubmitted::EXCHANGE, EXCHANGE);
        assert_eq!(OrderConfirmed::EXCHANGE, EXCHANGE);
        assert_eq!(OrderCancelled::EXCHANGE, EXCHANGE);
    }

    #[test]
    fn routing_keys() {
        assert_eq!(OrderSubmittedV1::ROUTING_KEY, "order.v1.submit");
        assert_eq!(OrderSubmitted::ROUTING_KEY, "order.v2.submit");
        assert_eq!(OrderConfirmed::ROUTING_KEY, "order.v1.confirmed");
        assert_eq!(OrderCancelled::ROUTING_KEY, "order.v1.cancelled");
    }

    #[test]
    fn totals() {
        assert_eq!(lines()[0].total_cents(), 2500);
        assert_eq!(OrderSubmitted::total_of(&lines()), 2500 + 597);
        assert_eq!(OrderSubmitted::total_of(&[]), 0);
        let huge = OrderLine {
            sku: "X".into(),
            quantity: u32::MAX,
            unit_price_cents: i64::MAX,
        };
        assert_eq!(OrderSubmitted::total_of(&[huge.clone(), huge]), i64::MAX);
    }

    #[test]
    fn v1_is_upcast_to_v2() {
        let order_id = Uuid::new_v4();
        let payload = serde_json::json!({
            "order_id": order_id,
            "customer_id": "c-42",
            "lines": [
                {"sku": "BOOK-1", "quantity": 2, "unit_price_cents": 1250},
                {"sku": "PEN-7", "quantity": 3, "unit_price_cents": 199},
            ],
        })
        .to_string();
        let before = Utc::now();
        let order = OrderSubmitted::decode(1, payload.as_bytes()).unwrap();
        assert_eq!(order.order_id, order_id);
        assert_eq!(order.customer_id, "c-42");
        assert_eq!(order.lines, lines());
        assert_eq!(order.total_cents, 3097);
        assert_eq!(order.currency, "EUR");
        assert!(!order.has_email());
        assert!(order.submitted_at >= before && order.submitted_at <= Utc::now());
    }

    #[test]
    fn v2_decodes_as_is() {
        let order = OrderSubmitted {
            order_id: Uuid::new_v4(),
            customer_id: "c-42".into(),
            email: "ada@example.com".into(),
            currency: "CHF".into(),
            total_cents: OrderSubmitted::total_of(&lines()),
            lines: lines(),
            submitted_at: Utc::now(),
        };
        let payload = serde_json::to_vec(&order).unwrap();
        assert_eq!(OrderSubmitted::decode(2, &payload).unwrap(), order);
        assert!(matches!(
            OrderSubmitted::decode(2, b"{}"),
            Err(DecodeError::Malformed(_))
        ));
    }

    #[test]
    fn unknown_versions_are_refused() {
        for version in [0, 3] {
            assert_eq!(
                OrderSubmitted::decode(version, b"{}"),
                Err(DecodeError::UnknownVersion {
                    event: "order.submit".into(),
                    version,
                })
            );
        }
    }

    #[test]
    fn cancel_reason_is_snake_case() {
        for reason in [
            CancelReason::PaymentDeclined,
            CancelReason::OutOfStock,
            CancelReason::Timeout,
        ] {
            let json = serde_json::to_string(&reason).unwrap();
            assert_eq!(json, format!("\"{reason}\""));
            assert_eq!(serde_json::from_str::<CancelReason>(&json).unwrap(), reason);
        }
        assert_eq!(
            serde_json::to_string(&CancelReason::PaymentDeclined).unwrap(),
            "\"payment_declined\""
        );
    }

    #[test]
    fn cancelled_round_trips() {
        let event = OrderCancelled {
            order_id: Uuid::new_v4(),
            customer_id: "c-42".into(),
            email: "ada@example.com".into(),
            reason: CancelReason::OutOfStock,
            detail: Some("PEN-7: 3 requested, 1 available".into()),
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["reason"], "out_of_stock");
        let back = OrderCancelled::decode(1, json.to_string().as_bytes()).unwrap();
        assert_eq!(back, event);
    }
}
