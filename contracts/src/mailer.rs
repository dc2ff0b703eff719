//! Events of the mailer service, which writes to customers.
//!
//! It emails the customer when their order is confirmed, cancelled or shipped, and publishes
//! `sent` once the mail server accepted the message, so the flow has a record of what the
//! customer was told (and a redelivered trigger can be seen not to need a second email).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The durable topic exchange the mailer service publishes on.
pub const EXCHANGE: &str = "mailer";

/// Which email was sent, named after the event that triggered it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EmailKind {
    OrderConfirmed,
    OrderCancelled,
    OrderShipped,
}

impl EmailKind {
    /// The kind as it appears in JSON (`order_confirmed`), for logs and template names.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OrderConfirmed => "order_confirmed",
            Self::OrderCancelled => "order_cancelled",
            Self::OrderShipped => "order_shipped",
        }
    }
}

impl std::fmt::Display for EmailKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `mailer.v1.sent`: an email about an order was handed to the mail server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EmailSent {
    pub order_id: Uuid,
    /// The recipient's address.
    pub to: String,
    pub kind: EmailKind,
    pub subject: String,
}

event_bus::event!(
    EmailSent,
    exchange = "mailer",
    name = "sent",
    version = 1,
    may_go_unheard
);

#[cfg(test)]
mod tests {
    use super::*;
    use event_bus::Event;

    #[test]
    fn exchange_constants_agree() {
        assert_eq!(EmailSent::EXCHANGE, EXCHANGE);
    }

    #[test]
    fn routing_keys() {
        assert_eq!(EmailSent::ROUTING_KEY, "mailer.v1.sent");
    }

    #[test]
    fn kind_is_snake_case() {
        for kind in [
            EmailKind::OrderConfirmed,
            EmailKind::OrderCancelled,
            EmailKind::OrderShipped,
        ] {
            assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{kind}\""));
        }
    }

    #[test]
    fn sent_round_trips() {
        let event = EmailSent {
            order_id: Uuid::new_v4(),
            to: "ada@example.com".into(),
            kind: EmailKind::OrderShipped,
            subject: "Your order is on its way".into(),
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["kind"], "order_shipped");
        assert_eq!(
            EmailSent::decode(1, json.to_string().as_bytes()).unwrap(),
            event
        );
    }
}
