//! The credit check: whether an order's total is charged or declined.

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
