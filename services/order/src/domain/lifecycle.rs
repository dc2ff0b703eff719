//! How an order's status moves: `pending` until billing has charged AND logistics has reserved
//! (→ `confirmed`), or until either fails or the deadline passes (→ `cancelled`); `confirmed`
//! until logistics ships (→ `shipped`). `cancelled` and `shipped` are final.
//!
//! Answers arrive in any order, possibly twice, possibly after the order was cancelled. A late
//! answer changes no status: billing and logistics undo their own work when they see the
//! cancellation, so the order service never has to ask them to.
//!
//! An order the service did not submit itself (a [`Origin::Foreign`] one, first heard of in an
//! answer) follows the rules of [`super::foreign`] while it is pending: it is never confirmed,
//! only refused.

use contracts::order::CancelReason;
use serde::{Deserialize, Serialize};

use super::foreign::{self, Origin};

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pending,
    Confirmed,
    Shipped,
    Cancelled,
}

impl Status {
    /// The name stored in the database and shown in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Confirmed => "confirmed",
            Self::Shipped => "shipped",
            Self::Cancelled => "cancelled",
        }
    }

    /// Whether the order can no longer move: shipped or cancelled. Every other status has a
    /// deadline, past which the order is stalled (see [`crate::stalled`]).
    pub fn is_final(self) -> bool {
        matches!(self, Self::Shipped | Self::Cancelled)
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "pending" => Some(Self::Pending),
            "confirmed" => Some(Self::Confirmed),
            "shipped" => Some(Self::Shipped),
            "cancelled" => Some(Self::Cancelled),
            _ => None,
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Reads a stored cancellation reason (`payment_declined`).
pub fn parse_cancel_reason(raw: &str) -> Option<CancelReason> {
    [
        CancelReason::PaymentDeclined,
        CancelReason::OutOfStock,
        CancelReason::Timeout,
    ]
    .into_iter()
    .find(|reason| reason.as_str() == raw)
}

/// One of the two things a pending order waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Billing took the money.
    Charged,
    /// Logistics set the stock aside.
    Reserved,
}

/// What the order knows so far: the row, locked, as a decision needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub status: Status,
    pub charged: bool,
    pub reserved: bool,
    /// Whether the service submitted the order itself or first heard of it in an answer.
    pub origin: Origin,
}

/// Who billing says pays for the order, and how much: what its answers (charged, declined)
/// carry, and all the service learns of the customer of an order it never stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payer {
    pub customer_id: String,
    pub amount_cents: i64,
}

/// Something that happened to the order elsewhere (or its deadline passing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Charged {
        payer: Payer,
    },
    Reserved,
    /// Billing declined; `detail` says why, for the customer.
    Declined {
        payer: Payer,
        detail: String,
    },
    /// Logistics was short; `detail` names the SKUs.
    OutOfStock {
        detail: String,
    },
    Shipped {
        tracking_number: String,
    },
    /// The sweeper found the order past its deadline.
    DeadlinePassed,
}

impl Outcome {
    /// Whether this is billing's or logistics' answer to a submission: the only outcomes that
    /// can name an order the service never stored (a foreign one, see [`super::foreign`]).
    /// A shipment answers a confirmation, which only the service publishes.
    pub fn answers_a_submission(&self) -> bool {
        matches!(
            self,
            Self::Charged { .. } | Self::Declined { .. } | Self::Reserved | Self::OutOfStock { .. }
        )
    }

    /// Who pays, when the outcome is billing's.
    pub fn payer(&self) -> Option<&Payer> {
        match self {
            Self::Charged { payer } | Self::Declined { payer, .. } => Some(payer),
            _ => None,
        }
    }
}

/// What to do about an [`Outcome`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Change nothing. `unexpected` marks what the flow should never produce (worth a warning);
    /// otherwise it is a duplicate or a late answer, which is normal.
    Nothing {
        why: &'static str,
        unexpected: bool,
    },
    /// Remember the step; the status stays.
    Record(Step),
    /// Remember the step, which was the last one missing: the order is confirmed.
    Confirm(Step),
    Cancel {
        reason: CancelReason,
        detail: String,
    },
    Ship {
        tracking_number: String,
    },
    /// Cancel an order the service never accepted (a foreign one) so that whatever billing and
    /// logistics did for it is undone; remember `step` if the answer reported one.
    Refuse {
        step: Option<Step>,
    },
}

impl Decision {
    pub(super) fn late(why: &'static str) -> Self {
        Self::Nothing {
            why,
            unexpected: false,
        }
    }

    pub(super) fn anomaly(why: &'static str) -> Self {
        Self::Nothing {
            why,
            unexpected: true,
        }
    }

    /// The reason and detail of the cancellation this decision makes, if it makes one: the row
    /// and the announcement take them from here.
    pub fn cancellation(&self) -> Option<(CancelReason, &str)> {
        match self {
            Self::Cancel { reason, detail } => Some((*reason, detail)),
            Self::Refuse { .. } => Some((foreign::REFUSAL_REASON, foreign::REFUSAL_DETAIL)),
            _ => None,
        }
    }

    /// The status the order has after this decision, if it changes.
    pub fn new_status(&self) -> Option<Status> {
        match self {
            Self::Nothing { .. } | Self::Record(_) => None,
            Self::Confirm(_) => Some(Status::Confirmed),
            Self::Cancel { .. } | Self::Refuse { .. } => Some(Status::Cancelled),
            Self::Ship { .. } => Some(Status::Shipped),
        }
    }
}

impl Progress {
    pub fn decide(&self, outcome: Outcome) -> Decision {
        let pending = self.status == Status::Pending;
        if pending && self.origin == Origin::Foreign {
            return foreign::decide(self, outcome);
        }
        match outcome {
            Outcome::Charged { .. } => self.step_done(Step::Charged),
            Outcome::Reserved => self.step_done(Step::Reserved),
            Outcome::Declined { detail, .. } if pending => Decision::Cancel {
                reason: CancelReason::PaymentDeclined,
                detail,
            },
            Outcome::OutOfStock { detail } if pending => Decision::Cancel {
                reason: CancelReason::OutOfStock,
                detail,
            },
            Outcome::Declined { .. } | Outcome::OutOfStock { .. } => {
                Decision::late("a failure for an order that is no longer pending")
            }
            Outcome::Shipped { tracking_number } => match self.status {
                Status::Confirmed => Decision::Ship { tracking_number },
                Status::Shipped => Decision::late("the shipment was already recorded"),
                Status::Pending => Decision::anomaly("a shipment for an order not yet confirmed"),
                Status::Cancelled => Decision::anomaly("a shipment for a cancelled order"),
            },
            Outcome::DeadlinePassed if pending => Decision::Cancel {
                reason: CancelReason::Timeout,
                detail: self.timeout_detail().to_owned(),
            },
            Outcome::DeadlinePassed => Decision::late("the order is no longer pending"),
        }
    }

    /// Whether `step` was recorded already.
    pub fn has(&self, step: Step) -> bool {
        match step {
            Step::Charged => self.charged,
            Step::Reserved => self.reserved,
        }
    }

    fn step_done(&self, step: Step) -> Decision {
        let (done, other_done) = match step {
            Step::Charged => (self.charged, self.reserved),
            Step::Reserved => (self.reserved, self.charged),
        };
        if done {
            Decision::late("the step was already recorded")
        } else if self.status == Status::Pending && other_done {
            Decision::Confirm(step)
        } else {
            // Pending and still waiting for the other step, or a late answer for an order that
            // was cancelled meanwhile: kept as a fact, the status does not move.
            Decision::Record(step)
        }
    }

    fn timeout_detail(&self) -> &'static str {
        match (self.charged, self.reserved) {
            (false, false) => "neither the payment nor the stock was confirmed in time",
            (true, false) => "the stock was not reserved in time",
            (false, true) => "the payment was not confirmed in time",
            (true, true) => "the order was not confirmed in time",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(status: Status, charged: bool, reserved: bool) -> Progress {
        Progress {
            status,
            charged,
            reserved,
            origin: Origin::Http,
        }
    }

    fn charged() -> Outcome {
        Outcome::Charged {
            payer: Payer {
                customer_id: "alice".into(),
                amount_cents: 100,
            },
        }
    }

    fn declined(detail: &str) -> Outcome {
        Outcome::Declined {
            payer: Payer {
                customer_id: "alice".into(),
                amount_cents: 100,
            },
            detail: detail.into(),
        }
    }

    fn pending() -> Progress {
        progress(Status::Pending, false, false)
    }

    #[test]
    fn the_first_success_is_recorded_and_the_second_confirms_whatever_their_order() {
        assert_eq!(pending().decide(charged()), Decision::Record(Step::Charged));
        assert_eq!(
            pending().decide(Outcome::Reserved),
            Decision::Record(Step::Reserved)
        );
        assert_eq!(
            progress(Status::Pending, true, false).decide(Outcome::Reserved),
            Decision::Confirm(Step::Reserved)
        );
        assert_eq!(
            progress(Status::Pending, false, true).decide(charged()),
            Decision::Confirm(Step::Charged)
        );
    }

    #[test]
    fn a_repeated_success_changes_nothing() {
        let was_charged = progress(Status::Pending, true, false);
        assert!(matches!(
            was_charged.decide(charged()),
            Decision::Nothing { .. }
        ));
        let confirmed = progress(Status::Confirmed, true, true);
        assert!(matches!(
            confirmed.decide(Outcome::Reserved),
            Decision::Nothing { .. }
        ));
    }

    #[test]
    fn a_failure_while_pending_cancels_with_its_reason_and_detail() {
        assert_eq!(
            progress(Status::Pending, false, true).decide(declined("insufficient funds")),
            Decision::Cancel {
                reason: CancelReason::PaymentDeclined,
                detail: "insufficient funds".into()
            }
        );
        assert_eq!(
            progress(Status::Pending, true, false).decide(Outcome::OutOfStock {
                detail: "SKU-1: 2 requested, 1 available".into()
            }),
            Decision::Cancel {
                reason: CancelReason::OutOfStock,
                detail: "SKU-1: 2 requested, 1 available".into()
            }
        );
    }

    #[test]
    fn a_late_answer_for_a_cancelled_order_moves_no_status() {
        let cancelled = progress(Status::Cancelled, false, false);
        assert_eq!(cancelled.decide(charged()), Decision::Record(Step::Charged));
        assert_eq!(cancelled.decide(charged()).new_status(), None);
        for outcome in [
            declined("x"),
            Outcome::OutOfStock { detail: "x".into() },
            Outcome::DeadlinePassed,
        ] {
            assert!(matches!(
                cancelled.decide(outcome),
                Decision::Nothing {
                    unexpected: false,
                    ..
                }
            ));
        }
    }

    #[test]
    fn a_failure_after_confirmation_changes_nothing() {
        let confirmed = progress(Status::Confirmed, true, true);
        let decision = confirmed.decide(Outcome::OutOfStock { detail: "x".into() });
        assert_eq!(decision.new_status(), None);
    }

    #[test]
    fn only_a_confirmed_order_ships() {
        let shipped = Outcome::Shipped {
            tracking_number: "T-1".into(),
        };
        assert_eq!(
            progress(Status::Confirmed, true, true).decide(shipped.clone()),
            Decision::Ship {
                tracking_number: "T-1".into()
            }
        );
        assert!(matches!(
            progress(Status::Shipped, true, true).decide(shipped.clone()),
            Decision::Nothing {
                unexpected: false,
                ..
            }
        ));
        for status in [Status::Pending, Status::Cancelled] {
            assert!(matches!(
                progress(status, false, false).decide(shipped.clone()),
                Decision::Nothing {
                    unexpected: true,
                    ..
                }
            ));
        }
    }

    #[test]
    fn the_deadline_cancels_a_pending_order_saying_what_was_missing() {
        let Decision::Cancel { reason, detail } =
            progress(Status::Pending, true, false).decide(Outcome::DeadlinePassed)
        else {
            panic!("a pending order past its deadline is cancelled");
        };
        assert_eq!(reason, CancelReason::Timeout);
        assert!(detail.contains("stock"), "{detail}");
        assert_eq!(
            progress(Status::Confirmed, true, true)
                .decide(Outcome::DeadlinePassed)
                .new_status(),
            None
        );
    }

    #[test]
    fn statuses_and_reasons_round_trip_through_their_names() {
        for status in [
            Status::Pending,
            Status::Confirmed,
            Status::Shipped,
            Status::Cancelled,
        ] {
            assert_eq!(Status::parse(status.as_str()), Some(status));
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                serde_json::json!(status.as_str())
            );
        }
        assert_eq!(Status::parse("lost"), None);
        assert!(Status::Shipped.is_final() && Status::Cancelled.is_final());
        assert!(!Status::Pending.is_final() && !Status::Confirmed.is_final());
        assert_eq!(
            parse_cancel_reason("out_of_stock"),
            Some(CancelReason::OutOfStock)
        );
        assert_eq!(parse_cancel_reason("bored"), None);
    }
}
