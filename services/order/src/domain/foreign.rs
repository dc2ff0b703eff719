//! Orders the service did not submit: a legacy `order.v1.submit` (or any submission) published
//! straight to the `order` exchange by another producer. Billing and logistics serve it like any
//! other, so money is charged and stock reserved for an order the order service knows nothing of.
//!
//! The rule: **an answer about an order the service never stored reveals a foreign order, which
//! is recorded and refused** (cancelled, `order.v1.cancelled`), so that billing refunds and
//! logistics releases through the compensations that exist already. The order service is the one
//! that accepts orders; one it never validated (no lines, no address, no currency of its own) is
//! not confirmed on someone else's word.
//!
//! Why this and not binding `order.*.submit` to adopt foreign submissions:
//! - It costs nothing on the normal path. Every order the service creates is committed before its
//!   submit is published (the outbox), so an answer about an order the service does not have can
//!   only be about a foreign one: the lookup every answer does anyway tells. Binding the submits
//!   would deliver each of the service's own submits back to it, one more delivery and
//!   transaction per order, only to be ignored.
//! - It has no race. Adopting submissions would still need this rule, since billing's and
//!   logistics' answers can reach the service before the submit they answer does.
//!
//! Exactly once, whatever arrives twice or together: the first answer inserts the order with
//! `ON CONFLICT DO NOTHING` and then locks it like any other, so a concurrent answer waits for
//! that insert and finds the order; from then on the usual rules apply (a redelivery is caught by
//! the inbox, a second, different answer is recorded as a late step), and only the answer that
//! moves the order from `pending` to `cancelled` stages the cancellation.
//!
//! Whom to refund: billing refunds under the lock of the customer named in the cancellation, the
//! same lock its charge takes, so the cancellation must name the right customer. Only billing's
//! answers (charged, declined) carry it. A foreign order first heard of from logistics is kept
//! `pending` until billing answers, and refused then; it is not swept at its deadline (there is
//! no customer to name yet), it is reported as stalled instead (`GET /orders?stalled=true`), so
//! an answer from billing that never comes does not go unnoticed. The cancellation's reason is
//! `timeout` (the contract's reasons are closed: the order was never accepted in time, and
//! everything done for it is undone), its detail says the order was foreign.

use contracts::order::CancelReason;
use serde::{Deserialize, Serialize};

use super::lifecycle::{Decision, Outcome, Progress, Step};

/// Where an order came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// Submitted through `POST /orders` and announced by the service itself.
    Http,
    /// First heard of in billing's or logistics' answer: submitted by another producer.
    Foreign,
}

impl Origin {
    /// The name stored in the database and shown in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Foreign => "foreign",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "http" => Some(Self::Http),
            "foreign" => Some(Self::Foreign),
            _ => None,
        }
    }
}

/// The reason of a foreign order's cancellation: the contract's reasons are a closed set, and
/// `timeout` is the one that says what happens: the order was not accepted in time, whatever was
/// done for it is undone.
pub const REFUSAL_REASON: CancelReason = CancelReason::Timeout;

/// The detail of a foreign order's cancellation.
pub const REFUSAL_DETAIL: &str = "the order was not submitted through the order service (another \
     producer published its submission); it is cancelled so that any charge is refunded and any \
     reservation released";

/// What to do about `outcome` for a foreign order that is still pending: refused as soon as
/// billing has answered (its answer names the customer to refund), every step kept as a fact
/// meanwhile, never confirmed.
pub(super) fn decide(progress: &Progress, outcome: Outcome) -> Decision {
    match outcome {
        Outcome::Charged { .. } => Decision::Refuse {
            step: (!progress.has(Step::Charged)).then_some(Step::Charged),
        },
        Outcome::Declined { .. } => Decision::Refuse { step: None },
        Outcome::Reserved if progress.has(Step::Reserved) => {
            Decision::late("the step was already recorded")
        }
        Outcome::Reserved => Decision::Record(Step::Reserved),
        Outcome::OutOfStock { .. } => {
            Decision::late("a foreign order is refused once billing answers; nothing was reserved")
        }
        Outcome::Shipped { .. } => {
            Decision::anomaly("a shipment for an order the service never accepted")
        }
        Outcome::DeadlinePassed => Decision::late(
            "a foreign order waits for billing's answer, which names the customer to refund",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Payer, Status};

    fn foreign(charged: bool, reserved: bool) -> Progress {
        Progress {
            status: Status::Pending,
            charged,
            reserved,
            origin: Origin::Foreign,
        }
    }

    fn payer() -> Payer {
        Payer {
            customer_id: "erin".into(),
            amount_cents: 2100,
        }
    }

    #[test]
    fn billing_s_answer_refuses_a_foreign_order_keeping_the_charge_as_a_fact() {
        assert_eq!(
            foreign(false, true).decide(Outcome::Charged { payer: payer() }),
            Decision::Refuse {
                step: Some(Step::Charged)
            }
        );
        let declined = Outcome::Declined {
            payer: payer(),
            detail: "insufficient funds".into(),
        };
        assert_eq!(
            foreign(false, false).decide(declined),
            Decision::Refuse { step: None }
        );
        assert_eq!(
            Decision::Refuse { step: None }.new_status(),
            Some(Status::Cancelled)
        );
        assert_eq!(
            Decision::Refuse { step: None }.cancellation(),
            Some((CancelReason::Timeout, REFUSAL_DETAIL))
        );
    }

    #[test]
    fn a_foreign_order_is_never_confirmed_it_waits_for_billing() {
        assert_eq!(
            foreign(false, false).decide(Outcome::Reserved),
            Decision::Record(Step::Reserved)
        );
        for outcome in [
            Outcome::Reserved,
            Outcome::OutOfStock { detail: "x".into() },
            Outcome::DeadlinePassed,
        ] {
            assert!(matches!(
                foreign(false, true).decide(outcome),
                Decision::Nothing {
                    unexpected: false,
                    ..
                }
            ));
        }
        let shipped = Outcome::Shipped {
            tracking_number: "T".into(),
        };
        assert!(matches!(
            foreign(true, true).decide(shipped),
            Decision::Nothing {
                unexpected: true,
                ..
            }
        ));
    }

    #[test]
    fn a_refused_foreign_order_takes_late_answers_like_any_cancelled_one() {
        let refused = Progress {
            status: Status::Cancelled,
            ..foreign(false, true)
        };
        assert_eq!(
            refused.decide(Outcome::Charged { payer: payer() }),
            Decision::Record(Step::Charged)
        );
        assert!(matches!(
            refused.decide(Outcome::Reserved),
            Decision::Nothing { .. }
        ));
    }

    #[test]
    fn only_answers_to_a_submission_can_reveal_a_foreign_order() {
        assert!(Outcome::Charged { payer: payer() }.answers_a_submission());
        assert!(Outcome::Reserved.answers_a_submission());
        assert!(Outcome::OutOfStock { detail: "x".into() }.answers_a_submission());
        let shipped = Outcome::Shipped {
            tracking_number: "T".into(),
        };
        assert!(!shipped.answers_a_submission());
        assert!(!Outcome::DeadlinePassed.answers_a_submission());
        assert_eq!(Outcome::Reserved.payer(), None);
    }

    #[test]
    fn origins_round_trip_through_their_names() {
        for origin in [Origin::Http, Origin::Foreign] {
            assert_eq!(Origin::parse(origin.as_str()), Some(origin));
        }
        assert_eq!(Origin::parse("mars"), None);
    }
}
