//! Every event the order service publishes, built in one place from what the order tables hold,
//! and staged through the bus's one door ([`EventTransaction`]) in the flow of its order.

use chrono::{DateTime, Utc};
use contracts::order::{OrderCancelled, OrderConfirmed, OrderSubmitted};
use event_bus::EventTransaction;
use uuid::Uuid;

use crate::domain::{Decision, PricedOrder};
use crate::store::LockedOrder;

/// An event that tells the other services about an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Announcement {
    Submitted(OrderSubmitted),
    Confirmed(OrderConfirmed),
    Cancelled(OrderCancelled),
}

impl Announcement {
    /// The submission of `order`, stored as `id` at `submitted_at`, at the catalog's prices.
    pub fn submitted(id: Uuid, order: &PricedOrder, submitted_at: DateTime<Utc>) -> Self {
        Self::Submitted(OrderSubmitted {
            order_id: id,
            customer_id: order.customer_id().as_str().to_owned(),
            email: order.email().as_str().to_owned(),
            currency: order.currency().as_str().to_owned(),
            lines: order
                .lines()
                .iter()
                .map(|line| line.to_contract())
                .collect(),
            total_cents: order.total_cents(),
            submitted_at,
        })
    }

    /// What announces `decision` about the locked `order`, if anything does.
    pub fn of(order: &LockedOrder, decision: &Decision) -> Option<Self> {
        match decision {
            Decision::Confirm(_) => Some(Self::Confirmed(OrderConfirmed {
                order_id: order.id,
                customer_id: order.customer_id.clone(),
                email: order.email.clone(),
                total_cents: order.total_cents,
                currency: order.currency.clone(),
            })),
            // A foreign order's refusal names billing's customer (see `domain::foreign`) and no
            // address (the mailer records the email and sends nothing).
            Decision::Cancel { .. } | Decision::Refuse { .. } => {
                let (reason, detail) = decision.cancellation()?;
                Some(Self::Cancelled(OrderCancelled {
                    order_id: order.id,
                    customer_id: order.customer_id.clone(),
                    email: order.email.clone(),
                    reason,
                    detail: Some(detail.to_owned()),
                }))
            }
            // Shipping is announced by logistics itself; the rest changes no status.
            Decision::Nothing { .. } | Decision::Record(_) | Decision::Ship { .. } => None,
        }
    }

    /// Stages the event in `tx`, in the flow of its order (and, in a handler, as caused by the
    /// message being handled).
    pub fn publish(&self, tx: &mut impl EventTransaction) -> event_bus::Result<String> {
        match self {
            Self::Submitted(event) => tx.publish_in(&event.order_id.to_string(), event),
            Self::Confirmed(event) => tx.publish_in(&event.order_id.to_string(), event),
            Self::Cancelled(event) => tx.publish_in(&event.order_id.to_string(), event),
        }
    }
}
