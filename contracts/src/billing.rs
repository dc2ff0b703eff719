//! Events of the billing service, which moves the customer's money.
//!
//! It charges an order when it is submitted: `charged` lets the order be confirmed, `declined`
//! gets it cancelled. When an order that was charged is cancelled anyway (say, out of stock),
//! billing gives the money back and publishes `refunded`. Amounts are in cents of the order's
//! currency.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The durable topic exchange the billing service publishes on.
pub const EXCHANGE: &str = "billing";

/// `billing.v1.charged`: the order's total was taken from the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PaymentCharged {
    pub order_id: Uuid,
    pub customer_id: String,
    pub amount_cents: i64,
}

event_bus::event!(
    PaymentCharged,
    exchange = "billing",
    name = "charged",
    version = 1
);

/// `billing.v1.declined`: the customer could not pay; the order is cancelled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PaymentDeclined {
    pub order_id: Uuid,
    pub customer_id: String,
    /// What the order asked for.
    pub amount_cents: i64,
    /// What the customer had, so support and the email can say by how much it fell short.
    pub available_cents: i64,
    /// Human-readable reason (e.g. "insufficient funds").
    pub reason: String,
}

event_bus::event!(
    PaymentDeclined,
    exchange = "billing",
    name = "declined",
    version = 1
);

impl PaymentDeclined {
    /// How much was missing, in cents (zero if the decline was for another reason than funds).
    pub fn shortfall_cents(&self) -> i64 {
        self.amount_cents
            .saturating_sub(self.available_cents)
            .max(0)
    }
}

/// `billing.v1.refunded`: a charge was given back because its order was cancelled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PaymentRefunded {
    pub order_id: Uuid,
    pub customer_id: String,
    pub amount_cents: i64,
}

event_bus::event!(
    PaymentRefunded,
    exchange = "billing",
    name = "refunded",
    version = 1,
    may_go_unheard
);

impl From<&PaymentCharged> for PaymentRefunded {
    /// Refunds exactly what was charged.
    fn from(charge: &PaymentCharged) -> Self {
        Self {
            order_id: charge.order_id,
            customer_id: charge.customer_id.clone(),
            amount_cents: charge.amount_cents,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use event_bus::Event;

    #[test]
    fn exchange_constants_agree() {
        assert_eq!(PaymentCharged::EXCHANGE, EXCHANGE);
        assert_eq!(PaymentDeclined::EXCHANGE, EXCHANGE);
        assert_eq!(PaymentRefunded::EXCHANGE, EXCHANGE);
    }

    #[test]
    fn routing_keys() {
        assert_eq!(PaymentCharged::ROUTING_KEY, "billing.v1.charged");
        assert_eq!(PaymentDeclined::ROUTING_KEY, "billing.v1.declined");
        assert_eq!(PaymentRefunded::ROUTING_KEY, "billing.v1.refunded");
    }

    #[test]
    fn declined_round_trips() {
        let event = PaymentDeclined {
            order_id: Uuid::new_v4(),
            customer_id: "c-42".into(),
            amount_cents: 3097,
            available_cents: 1000,
            reason: "insufficient funds".into(),
        };
        let json = serde_json::to_vec(&event).unwrap();
        assert_eq!(PaymentDeclined::decode(1, &json).unwrap(), event);
        assert_eq!(event.shortfall_cents(), 2097);
    }

    #[test]
    fn refund_mirrors_the_charge() {
        let charge = PaymentCharged {
            order_id: Uuid::new_v4(),
            customer_id: "c-42".into(),
            amount_cents: 3097,
        };
        let refund = PaymentRefunded::from(&charge);
        assert_eq!(refund.order_id, charge.order_id);
        assert_eq!(refund.amount_cents, 3097);
    }
}
