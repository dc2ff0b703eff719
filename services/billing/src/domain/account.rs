//! A customer's credit: the limit, what is charged against it, and what is left.

use super::{Payment, PaymentStatus};

/// A customer's credit at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Account {
    pub credit_limit_cents: i64,
    /// Sum of the payments still `charged`.
    pub charged_cents: i64,
}

impl Account {
    /// The account of a customer with `payments`: only those still charged count against the
    /// limit (a sum that would overflow saturates).
    pub fn with_payments(credit_limit_cents: i64, payments: &[Payment]) -> Self {
        Self {
            credit_limit_cents,
            charged_cents: payments
                .iter()
                .filter(|payment| payment.status == PaymentStatus::Charged)
                .fold(0, |sum: i64, payment| {
                    sum.saturating_add(payment.amount_cents)
                }),
        }
    }

    /// What may still be charged; negative when the limit was lowered below what is charged.
    pub fn available_cents(&self) -> i64 {
        self.credit_limit_cents.saturating_sub(self.charged_cents)
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    fn payment(amount_cents: i64, status: PaymentStatus) -> Payment {
        Payment {
            order_id: Uuid::new_v4(),
            amount_cents,
            status,
        }
    }

    #[test]
    fn available_credit_is_the_limit_minus_what_is_charged() {
        let account = Account {
            credit_limit_cents: 100_000,
            charged_cents: 3_097,
        };
        assert_eq!(account.available_cents(), 96_903);
    }

    #[test]
    fn available_credit_goes_negative_when_the_limit_was_lowered_below_the_charges() {
        let account = Account {
            credit_limit_cents: 1_000,
            charged_cents: 3_000,
        };
        assert_eq!(account.available_cents(), -2_000);
    }

    #[test]
    fn only_payments_still_charged_count_against_the_limit() {
        let account = Account::with_payments(
            10_000,
            &[
                payment(3_000, PaymentStatus::Charged),
                payment(2_000, PaymentStatus::Refunded),
                payment(1_000, PaymentStatus::Charged),
            ],
        );
        assert_eq!(account.charged_cents, 4_000);
        assert_eq!(account.available_cents(), 6_000);
    }

    #[test]
    fn charges_beyond_i64_saturate() {
        let account = Account::with_payments(
            0,
            &[
                payment(i64::MAX, PaymentStatus::Charged),
                payment(1, PaymentStatus::Charged),
            ],
        );
        assert_eq!(account.charged_cents, i64::MAX);
    }
}
