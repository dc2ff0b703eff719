//! `order.*.submit` → `billing.v1.charged` or `billing.v1.declined`.

use contracts::billing::{PaymentCharged, PaymentDeclined};
use contracts::order::OrderSubmitted;
use event_bus::{Handler, HandlerContext, HandlerResult};

use crate::ledger;

/// Charges a submitted order if its total fits in the customer's remaining credit.
///
/// Idempotent: an order is charged at most once (a second submit, whatever its message id, finds
/// the payment), and never after its cancellation was seen (the tombstone).
pub struct ChargeOrder {
    /// Credit of a customer seen for the first time.
    pub default_credit_cents: i64,
}

/// What to do with an order's total, given the customer's available credit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Charge,
    Decline { reason: &'static str },
}

/// Charges a total that fits in `available_cents`; declines a larger one, and a negative one
/// (which would otherwise credit the customer).
pub fn judge(total_cents: i64, available_cents: i64) -> Verdict {
    if total_cents < 0 {
        Verdict::Decline {
            reason: "invalid amount",
        }
    } else if total_cents > available_cents {
        Verdict::Decline {
            reason: "insufficient funds",
        }
    } else {
        Verdict::Charge
    }
}

impl Handler<OrderSubmitted> for ChargeOrder {
    async fn handle(&self, ctx: &mut HandlerContext<'_>, order: OrderSubmitted) -> HandlerResult {
        // Serialises this with every other money movement of the customer, the cancellation of
        // this very order included.
        let account =
            ledger::lock_account(ctx.db(), &order.customer_id, self.default_credit_cents).await?;
        if ledger::payment_exists(ctx.db(), order.order_id).await? {
            tracing::info!(order_id = %order.order_id, "order already charged; nothing to do");
            return Ok(());
        }
        if ledger::is_cancelled(ctx.db(), order.order_id).await? {
            tracing::info!(order_id = %order.order_id, "order was cancelled before its submit; not charging");
            return Ok(());
        }
        let available_cents = account.available_cents();
        match judge(order.total_cents, available_cents) {
            Verdict::Charge => {
                ledger::record_charge(
                    ctx.db(),
                    order.order_id,
                    &order.customer_id,
                    order.total_cents,
                )
                .await?;
                tracing::info!(order_id = %order.order_id, amount_cents = order.total_cents, "charged");
                ctx.publish(&PaymentCharged {
                    order_id: order.order_id,
                    customer_id: order.customer_id,
                    amount_cents: order.total_cents,
                })
                .await?;
            }
            Verdict::Decline { reason } => {
                tracing::info!(
                    order_id = %order.order_id,
                    amount_cents = order.total_cents,
                    available_cents,
                    reason,
                    "declined"
                );
                ctx.publish(&PaymentDeclined {
                    order_id: order.order_id,
                    customer_id: order.customer_id,
                    amount_cents: order.total_cents,
                    available_cents,
                    reason: reason.to_owned(),
                })
                .await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_total_within_the_available_credit_is_charged() {
        assert_eq!(judge(3_097, 100_000), Verdict::Charge);
    }

    #[test]
    fn a_total_equal_to_the_available_credit_is_charged() {
        assert_eq!(judge(1_000, 1_000), Verdict::Charge);
    }

    #[test]
    fn a_free_order_is_charged_even_without_credit() {
        assert_eq!(judge(0, 0), Verdict::Charge);
    }

    #[test]
    fn a_total_above_the_available_credit_is_declined_for_insufficient_funds() {
        assert_eq!(
            judge(1_001, 1_000),
            Verdict::Decline {
                reason: "insufficient funds"
            }
        );
    }

    #[test]
    fn a_negative_total_is_declined_rather_than_credited() {
        assert_eq!(
            judge(-5, 1_000),
            Verdict::Decline {
                reason: "invalid amount"
            }
        );
    }
}
