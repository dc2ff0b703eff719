//! The bound on the `GET /orders/{id}?wait=` requests one customer may have held at once.
//!
//! A held request costs little (a waiter, a timer, a socket), but nothing else stops one client
//! from holding thousands: a bound per customer keeps one from starving the others, who are
//! still served. It is counted per instance, in memory: the requests are held by this process
//! and cost this process, and behind a load balancer a customer can at most hold the bound on
//! each instance. Only requests actually held count (the order not yet as far as asked); one
//! answered at once never waits, so it is never refused.
//!
//! Staff are not bounded: operators and the shop's own tools watch many orders at once. Every
//! held request, staff's too, is counted in the `orders_held_requests` gauge.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use service_kit::{ApiError, Identity};

/// What a refused client is told to wait, in seconds: a held request ends within
/// `max_wait_secs` (30 s) at worst, usually within a second when its order moves.
const RETRY_AFTER_SECS: u64 = 1;

/// The held requests of each customer, against the bound. Cheap to clone: clones share the
/// counts.
#[derive(Debug, Clone)]
pub struct WaitQuota {
    /// `0`: no bound.
    bound: usize,
    held: Arc<Counts>,
}

/// How many requests each customer has held; a customer with none has no entry, so the map
/// holds only the customers waiting right now.
#[derive(Debug, Default)]
struct Counts(Mutex<HashMap<String, usize>>);

impl Counts {
    /// The map; every change under the lock is a single increment, decrement or removal, so a
    /// panic elsewhere while it was held cannot leave it inconsistent, and a poisoned lock is
    /// simply taken over.
    fn lock(&self) -> MutexGuard<'_, HashMap<String, usize>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One held request; dropping it (the request answered, or abandoned by its client) gives its
/// place back.
#[derive(Debug)]
#[must_use = "the place is given back as soon as the permit is dropped"]
pub struct WaitPermit {
    /// The customer whose place it holds; `None` for staff, who hold none.
    customer_id: Option<String>,
    held: Arc<Counts>,
}

impl WaitQuota {
    /// A quota of `bound` held requests per customer; `0` holds any number.
    pub fn new(bound: u64) -> Self {
        Self {
            bound: usize::try_from(bound).unwrap_or(usize::MAX),
            held: Arc::default(),
        }
    }

    /// A place for one more held request of `caller`, or the 429 to answer when a customer holds
    /// as many as the bound allows. Staff always get one.
    pub fn hold(&self, caller: &Identity) -> Result<WaitPermit, ApiError> {
        match caller.customer_id() {
            Some(customer_id) => self.hold_for(customer_id.as_str()),
            None => Ok(self.permit(None)),
        }
    }

    fn hold_for(&self, customer_id: &str) -> Result<WaitPermit, ApiError> {
        let mut held = self.held.lock();
        let count = held.entry(customer_id.to_owned()).or_default();
        if self.bound != 0 && *count >= self.bound {
            let refused = *count;
            // The entry existed (a count of 0 is never left in the map), so nothing to remove.
            drop(held);
            metrics::counter!("orders_refused_total", "reason" => "customer_waiting").increment(1);
            return Err(ApiError::too_many_requests(
                format!(
                    "{refused} requests of this customer are already held waiting for orders, \
                     the most one customer may have at once is {}; try again once one has \
                     answered",
                    self.bound
                ),
                RETRY_AFTER_SECS,
            ));
        }
        *count += 1;
        drop(held);
        Ok(self.permit(Some(customer_id.to_owned())))
    }

    fn permit(&self, customer_id: Option<String>) -> WaitPermit {
        metrics::gauge!("orders_held_requests").increment(1.0);
        WaitPermit {
            customer_id,
            held: Arc::clone(&self.held),
        }
    }

    /// How many requests `customer_id` has held right now.
    pub fn held_by(&self, customer_id: &str) -> usize {
        self.held.lock().get(customer_id).copied().unwrap_or(0)
    }

    /// How many customers have requests held right now.
    pub fn customers_waiting(&self) -> usize {
        self.held.lock().len()
    }
}

impl Drop for WaitPermit {
    fn drop(&mut self) {
        if let Some(customer_id) = &self.customer_id {
            let mut held = self.held.lock();
            if let Some(count) = held.get_mut(customer_id) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    held.remove(customer_id);
                }
            }
        }
        metrics::gauge!("orders_held_requests").decrement(1.0);
    }
}

#[cfg(test)]
mod tests {
    use service_kit::identifier::BoundedId;

    use super::*;

    fn customer(id: &str) -> Identity {
        Identity::Customer(BoundedId::parse(id).unwrap())
    }

    #[test]
    fn a_customer_holds_up_to_the_bound_and_is_refused_past_it() {
        let quota = WaitQuota::new(2);
        let _first = quota.hold(&customer("alice")).expect("the first");
        let _second = quota.hold(&customer("alice")).expect("the second");

        let refused = quota.hold(&customer("alice")).expect_err("the third");

        assert_eq!(refused.kind(), "too_many_requests");
        assert!(refused.to_string().contains("is 2"), "{refused}");
        assert_eq!(quota.held_by("alice"), 2);
    }

    #[test]
    fn the_bound_is_per_customer() {
        let quota = WaitQuota::new(1);
        let _alice = quota.hold(&customer("alice")).expect("alice's");

        assert!(quota.hold(&customer("alice")).is_err());
        let _bob = quota.hold(&customer("bob")).expect("bob is still served");
        assert_eq!(quota.customers_waiting(), 2);
    }

    #[test]
    fn a_dropped_permit_gives_its_place_back_and_the_last_removes_the_entry() {
        let quota = WaitQuota::new(1);
        let permit = quota.hold(&customer("alice")).expect("a place");
        drop(permit);

        let again = quota
            .hold(&customer("alice"))
            .expect("the place was given back");
        assert_eq!(quota.held_by("alice"), 1);
        drop(again);
        assert_eq!(quota.customers_waiting(), 0);
    }

    #[test]
    fn a_refusal_leaves_the_count_as_it_was() {
        let quota = WaitQuota::new(1);
        let held = quota.hold(&customer("alice")).expect("a place");
        assert!(quota.hold(&customer("alice")).is_err());
        drop(held);
        assert_eq!(quota.customers_waiting(), 0);
    }

    #[test]
    fn staff_are_not_bounded_and_take_no_customers_place() {
        let quota = WaitQuota::new(1);
        let staff = Identity::Staff("olga".into());
        let permits: Vec<_> = (0..10)
            .map(|_| quota.hold(&staff).expect("staff are not bounded"))
            .collect();

        assert_eq!(quota.customers_waiting(), 0);
        let _alice = quota
            .hold(&customer("alice"))
            .expect("alice's place is free");
        drop(permits);
        assert_eq!(quota.held_by("alice"), 1);
    }

    #[test]
    fn a_bound_of_zero_holds_any_number() {
        let quota = WaitQuota::new(0);
        let permits: Vec<_> = (0..100)
            .map(|_| quota.hold(&customer("alice")).expect("no bound"))
            .collect();
        assert_eq!(quota.held_by("alice"), 100);
        drop(permits);
        assert_eq!(quota.customers_waiting(), 0);
    }
}
