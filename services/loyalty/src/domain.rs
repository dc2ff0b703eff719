//! Loyalty's rule, pure and unit-tested: what an order earns; and what a customer id is.

/// A customer's id as the shop knows it: an opaque string, non-empty and bounded, checked at the
/// HTTP edge as every service checks it.
pub use service_kit::identifier::BoundedId as CustomerId;

/// One point per whole unit of the order's total: `total_cents / 100`, the cents dropped.
pub fn points_for(total_cents: i64) -> i64 {
    total_cents / 100
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_order_earns_a_point_per_whole_unit_of_its_total() {
        assert_eq!(points_for(3097), 30);
        assert_eq!(points_for(100), 1);
    }

    #[test]
    fn less_than_one_unit_earns_nothing() {
        assert_eq!(points_for(99), 0);
        assert_eq!(points_for(0), 0);
    }
}
