//! The promise, checked against a [`Snapshot`]: what the report counts, and every way the
//! promise was broken.
//!
//! - no order lost: every order a client was told about is stored; every order is final;
//! - money: an order's total is its lines at the catalog's prices (what the suite put in the
//!   catalog, not what the order service says); a `charged` payment belongs to a shipped (or
//!   confirmed) order and carries that total; a cancelled order's payment is refunded or absent;
//! - stock: for each SKU, initial on hand − shipped + restocked = on hand now, and nothing stays
//!   reserved; each reservation is the order's lines, shipped with it or released;
//! - emails: `order_confirmed` + `order_shipped` for a shipped order, `order_cancelled` for a
//!   cancelled one, each sent once;
//! - nothing twice, nothing lost on the bus: no status entered twice, no event staged twice for
//!   one order, every published message handled once by every queue bound to it.
//!
//! Foreign orders, submitted by another producer straight to the `order` exchange (a legacy
//! `order.v1.submit`, see [`ForeignOrder`]), are held to the same rules with what their submit
//! said in place of what a client was answered: each is stored as `foreign` and refused
//! (cancelled, `timeout`), its total and charge are its lines at the prices it quoted, its
//! reservation is its lines, and its one `order_cancelled` email is recorded but not sent, since
//! a legacy submit carries no address. An order stored as foreign that nobody submitted is a
//! violation, as is a client's order stored as foreign.

use std::collections::{BTreeMap, HashMap, HashSet};

use contracts::catalog;
use uuid::Uuid;

use crate::{
    load::Posted,
    service::Service,
    snapshot::{Order, Snapshot},
};

/// An order another producer submitted straight to the `order` exchange, as its submit said:
/// the order service never stored it before billing's or logistics' answer revealed it.
#[derive(Debug, Clone)]
pub struct ForeignOrder {
    /// The submit's message id: every service bound to it must have handled it.
    pub message_id: String,
    /// The submit's routing key (`order.v1.submit`).
    pub routing_key: String,
    /// Units per SKU over its lines.
    pub units: BTreeMap<String, i64>,
    /// Its lines at the prices it quoted: what billing charges, and the order's total once
    /// billing's answer named it.
    pub total_cents: i64,
}

/// The foreign orders a scenario submitted, by order id.
pub type ForeignOrders = BTreeMap<Uuid, ForeignOrder>;

/// What the report counts.
#[derive(Debug, Default, Clone)]
pub struct Figures {
    /// Orders a client got a 202 for (distinct).
    pub accepted: usize,
    /// Foreign orders submitted straight to the exchange (not counted in `accepted`).
    pub foreign: usize,
    /// Orders in a final state (`shipped`, `cancelled`).
    pub final_orders: usize,
    /// Orders still `pending` or `confirmed`.
    pub stuck: usize,
    pub shipped: usize,
    /// Cancelled orders by reason.
    pub cancelled: BTreeMap<String, usize>,
    /// Payments kept for shipped or confirmed orders.
    pub charges_kept: usize,
    pub charges_refunded: usize,
    /// `charged` payments of cancelled orders: must be zero.
    pub charges_standing: usize,
    /// Units on hand of the mix's SKUs before the load, and now.
    pub stock_before: i64,
    pub stock_after: i64,
    pub units_shipped: i64,
    pub units_restocked: i64,
    pub units_reserved: i64,
    /// Emails sent, over final orders.
    pub emails: usize,
    /// Orders whose emails are not exactly the ones their final state calls for.
    pub wrong_emails: usize,
}

impl Figures {
    pub fn cancelled_total(&self) -> usize {
        self.cancelled.values().sum()
    }
}

/// Collects the broken promises, each with a few example ids.
#[derive(Debug, Default)]
pub struct Violations(pub Vec<String>);

impl Violations {
    /// Records a violation if there are `offenders`: how many, and the first three.
    pub fn check<T: std::fmt::Display>(&mut self, what: &str, offenders: &[T]) {
        if offenders.is_empty() {
            return;
        }
        let examples: Vec<String> = offenders.iter().take(3).map(ToString::to_string).collect();
        self.0.push(format!(
            "{what}: {} (e.g. {})",
            offenders.len(),
            examples.join(", ")
        ));
    }

    pub fn push(&mut self, violation: String) {
        self.0.push(violation);
    }
}

/// Counts and checks; `foreign` are the orders the scenario submitted straight to the exchange,
/// `initial_stock` is what was put on hand before the load, `prices` the catalog's price of each
/// SKU.
pub fn check(
    snapshot: &Snapshot,
    posted: &Posted,
    foreign: &ForeignOrders,
    initial_stock: &[(String, i64)],
    prices: &BTreeMap<String, i64>,
) -> (Figures, Violations) {
    let mut figures = Figures::default();
    let mut violations = Violations::default();
    orders(snapshot, posted, foreign, &mut figures, &mut violations);
    foreign_orders(snapshot, foreign, &mut violations);
    payments(snapshot, foreign, prices, &mut figures, &mut violations);
    stock(
        snapshot,
        foreign,
        initial_stock,
        &mut figures,
        &mut violations,
    );
    emails(snapshot, foreign, &mut figures, &mut violations);
    nothing_twice(snapshot, &mut violations);
    every_message_handled(snapshot, &mut violations);
    (figures, violations)
}

fn orders(
    snapshot: &Snapshot,
    posted: &Posted,
    foreign: &ForeignOrders,
    figures: &mut Figures,
    v: &mut Violations,
) {
    let accepted: HashSet<Uuid> = posted.accepted.values().copied().collect();
    figures.accepted = accepted.len();
    figures.foreign = foreign.len();
    let lost: Vec<&Uuid> = accepted
        .iter()
        .filter(|id| !snapshot.orders.contains_key(id))
        .collect();
    v.check("accepted orders lost", &lost);
    v.check(
        "idempotency keys answered with two orders",
        &posted.conflicts,
    );
    v.check("orders the clients could not place", &posted.failures);
    let unanswered: Vec<&Uuid> = snapshot
        .orders
        .keys()
        .filter(|id| !accepted.contains(id) && !foreign.contains_key(id))
        .collect();
    v.check("stored orders no client was answered about", &unanswered);
    let disowned: Vec<&Uuid> = accepted
        .iter()
        .filter(|id| {
            snapshot
                .orders
                .get(id)
                .is_some_and(|order| order.origin != "http")
        })
        .collect();
    v.check("accepted orders not stored as the API's", &disowned);
    let mut stuck = Vec::new();
    for (id, order) in &snapshot.orders {
        match order.status.as_str() {
            "shipped" => figures.shipped += 1,
            "cancelled" => {
                let reason = order.cancel_reason.clone().unwrap_or_default();
                *figures.cancelled.entry(reason).or_insert(0) += 1;
            }
            status => stuck.push(format!("{id} ({status})")),
        }
    }
    figures.final_orders = figures.shipped + figures.cancelled_total();
    figures.stuck = stuck.len();
    v.check("orders stuck (neither shipped nor cancelled)", &stuck);
}

/// Each foreign order submitted is stored as foreign and refused, and its submit was handled by
/// every service bound to it; no other order is foreign.
fn foreign_orders(snapshot: &Snapshot, foreign: &ForeignOrders, v: &mut Violations) {
    let (mut unrecorded, mut not_foreign, mut not_refused, mut unhandled) =
        (vec![], vec![], vec![], vec![]);
    for (id, submitted) in foreign {
        match snapshot.orders.get(id) {
            None => unrecorded.push(id.to_string()),
            Some(order) if order.origin != "foreign" => {
                not_foreign.push(format!("{id} ({})", order.origin))
            }
            Some(order)
                if order.status != "cancelled"
                    || order.cancel_reason.as_deref() != Some("timeout") =>
            {
                not_refused.push(format!(
                    "{id} ({} {})",
                    order.status,
                    order.cancel_reason.as_deref().unwrap_or_default()
                ))
            }
            Some(_) => {}
        }
        let bound = catalog::subscribers(contracts::order::EXCHANGE, &submitted.routing_key)
            .into_iter()
            .filter_map(Service::parse);
        for consumer in bound {
            if !snapshot
                .inboxes
                .get(&consumer)
                .is_some_and(|inbox| inbox.contains(&submitted.message_id))
            {
                unhandled.push(format!("{} {} by {consumer}", submitted.routing_key, id));
            }
        }
    }
    let unsubmitted: Vec<&Uuid> = snapshot
        .orders
        .iter()
        .filter(|(id, order)| order.origin == "foreign" && !foreign.contains_key(id))
        .map(|(id, _)| id)
        .collect();
    v.check(
        "foreign submits the order service never recorded",
        &unrecorded,
    );
    v.check("foreign submits stored as the API's", &not_foreign);
    v.check(
        "foreign orders not refused (cancelled, timeout)",
        &not_refused,
    );
    v.check("foreign submits a bound service never handled", &unhandled);
    v.check("foreign orders nobody submitted", &unsubmitted);
}

/// What an order costs at the catalog's prices; `None` if a line's SKU is not in the catalog.
fn catalog_total(order: &Order, prices: &BTreeMap<String, i64>) -> Option<i64> {
    order
        .units
        .iter()
        .map(|(sku, units)| prices.get(sku).map(|price| price * units))
        .sum()
}

/// What order `id` must cost: a foreign order its submit's lines at the prices quoted, any other
/// its lines at the catalog's prices (`None` if a SKU is not in the catalog).
fn expected_total(
    id: &Uuid,
    order: &Order,
    foreign: &ForeignOrders,
    prices: &BTreeMap<String, i64>,
) -> Option<i64> {
    match foreign.get(id) {
        Some(submitted) => Some(submitted.total_cents),
        None => catalog_total(order, prices),
    }
}

fn payments(
    snapshot: &Snapshot,
    foreign: &ForeignOrders,
    prices: &BTreeMap<String, i64>,
    figures: &mut Figures,
    v: &mut Violations,
) {
    let (mut mispriced, mut foreign_mispriced) = (Vec::new(), Vec::new());
    for (id, order) in &snapshot.orders {
        let wrong = if foreign.contains_key(id) {
            &mut foreign_mispriced
        } else {
            &mut mispriced
        };
        match expected_total(id, order, foreign, prices) {
            Some(total) if total == order.total_cents => {}
            Some(total) => wrong.push(format!("{id} ({} instead of {total})", order.total_cents)),
            None => wrong.push(format!("{id} (a SKU not in the catalog)")),
        }
    }
    v.check(
        "orders whose total is not their lines at the catalog's prices",
        &mispriced,
    );
    v.check(
        "foreign orders whose total is not their submit's lines",
        &foreign_mispriced,
    );
    let (mut standing, mut refunded_kept, mut wrong_amount, mut unknown) =
        (vec![], vec![], vec![], vec![]);
    for (id, payment) in &snapshot.payments {
        let Some(order) = snapshot.orders.get(id) else {
            unknown.push(*id);
            continue;
        };
        if Some(payment.amount_cents) != expected_total(id, order, foreign, prices) {
            wrong_amount.push(*id);
        }
        let kept_order = matches!(order.status.as_str(), "shipped" | "confirmed");
        match (payment.status.as_str(), kept_order) {
            ("charged", true) => figures.charges_kept += 1,
            ("charged", false) => standing.push(*id),
            ("refunded", false) => figures.charges_refunded += 1,
            _ => refunded_kept.push(*id),
        }
    }
    figures.charges_standing = standing.len();
    let unpaid: Vec<&Uuid> = snapshot
        .orders
        .iter()
        .filter(|(id, order)| {
            order.status == "shipped"
                && snapshot
                    .payments
                    .get(id)
                    .is_none_or(|payment| payment.status != "charged")
        })
        .map(|(id, _)| id)
        .collect();
    v.check("charges left standing for cancelled orders", &standing);
    v.check(
        "charges refunded although the order shipped",
        &refunded_kept,
    );
    v.check("shipped orders without a kept charge", &unpaid);
    v.check(
        "payments of another amount than the order's lines at the catalog's prices \
         (a foreign order's at the prices its submit quoted)",
        &wrong_amount,
    );
    v.check(
        "payments of orders the order service never stored",
        &unknown,
    );
}

fn stock(
    snapshot: &Snapshot,
    foreign: &ForeignOrders,
    initial_stock: &[(String, i64)],
    figures: &mut Figures,
    v: &mut Violations,
) {
    let mut shipped_units: BTreeMap<&str, i64> = BTreeMap::new();
    let (mut standing, mut mismatched, mut unknown, mut wrong_state) =
        (vec![], vec![], vec![], vec![]);
    for (id, reservation) in &snapshot.reservations {
        let Some(order) = snapshot.orders.get(id) else {
            unknown.push(*id);
            continue;
        };
        // A foreign order is stored without lines: its reservation is its submit's.
        let units = foreign
            .get(id)
            .map_or(&order.units, |submitted| &submitted.units);
        if reservation.units != *units {
            mismatched.push(*id);
        }
        match (reservation.status.as_str(), order.status.as_str()) {
            ("shipped", "shipped") => {
                for (sku, units) in &reservation.units {
                    *shipped_units.entry(sku).or_insert(0) += units;
                }
            }
            ("released", "cancelled") => {}
            ("reserved", _) => standing.push(*id),
            (reservation, order) => wrong_state.push(format!("{id} ({reservation}/{order})")),
        }
    }
    let unreserved: Vec<&Uuid> = snapshot
        .orders
        .iter()
        .filter(|(id, order)| order.status == "shipped" && !snapshot.reservations.contains_key(id))
        .map(|(id, _)| id)
        .collect();
    v.check("reservations left standing", &standing);
    v.check("reservations of other units than the order", &mismatched);
    v.check(
        "reservations of orders the order service never stored",
        &unknown,
    );
    v.check(
        "reservations in a state their order contradicts",
        &wrong_state,
    );
    v.check("orders shipped without a reservation", &unreserved);

    let initial: BTreeMap<&str, i64> = initial_stock
        .iter()
        .map(|(sku, units)| (sku.as_str(), *units))
        .collect();
    let mut unbalanced = Vec::new();
    for (sku, (on_hand, reserved)) in &snapshot.stock {
        let Some(before) = initial.get(sku.as_str()) else {
            unbalanced.push(format!("{sku} (never stocked)"));
            continue;
        };
        let shipped = shipped_units.get(sku.as_str()).copied().unwrap_or(0);
        let restocked = snapshot.restocked.get(sku).copied().unwrap_or(0);
        figures.stock_before += before;
        figures.stock_after += on_hand;
        figures.units_shipped += shipped;
        figures.units_restocked += restocked;
        figures.units_reserved += reserved;
        if before - shipped + restocked != *on_hand {
            unbalanced.push(format!(
                "{sku}: {before} - {shipped} shipped + {restocked} restocked != {on_hand} on hand"
            ));
        }
        if *reserved != 0 {
            unbalanced.push(format!("{sku}: {reserved} still reserved"));
        }
    }
    v.check("stock not conserved", &unbalanced);
}

fn emails(snapshot: &Snapshot, foreign: &ForeignOrders, figures: &mut Figures, v: &mut Violations) {
    let mut wrong = Vec::new();
    for (id, order) in &snapshot.orders {
        // A foreign order's submit carried no address: its email is recorded, never sent.
        let sendable = !foreign.contains_key(id);
        let expected: &[&str] = match order.status.as_str() {
            "shipped" => &["order_confirmed", "order_shipped"],
            "cancelled" => &["order_cancelled"],
            _ => continue,
        };
        let got = snapshot.emails.get(id).cloned().unwrap_or_default();
        figures.emails += got.len();
        let mut kinds: Vec<&str> = got.iter().map(|(kind, _)| kind.as_str()).collect();
        kinds.sort_unstable();
        if kinds != expected || got.iter().any(|(_, sent)| *sent != sendable) {
            wrong.push(format!("{id} ({}: {})", order.status, kinds.join("+")));
        }
    }
    figures.wrong_emails = wrong.len();
    let unknown: Vec<&Uuid> = snapshot
        .emails
        .keys()
        .filter(|id| !snapshot.orders.contains_key(id))
        .collect();
    v.check(
        "orders without exactly one email per final state (sent; recorded unsent for a \
         foreign order, which has no address)",
        &wrong,
    );
    v.check(
        "emails about orders the order service never stored",
        &unknown,
    );
}

/// No status entered twice, and no event about one order staged twice by its producer (a
/// second charge, shipment, email... would be announced by a second event).
fn nothing_twice(snapshot: &Snapshot, v: &mut Violations) {
    let repeated: Vec<String> = snapshot
        .repeated_statuses
        .iter()
        .map(|(id, status)| format!("{id} {status}"))
        .collect();
    v.check("order statuses entered twice", &repeated);
    let mut twice = Vec::new();
    let mut decided: HashMap<&str, HashSet<&str>> = HashMap::new();
    for (service, outbox) in &snapshot.outboxes {
        let mut staged: HashMap<(&str, &str, Option<&str>), usize> = HashMap::new();
        for row in outbox {
            if row.routing_key.ends_with(".replenishment_requested") {
                continue;
            }
            *staged
                .entry((&row.routing_key, &row.correlation_id, row.kind.as_deref()))
                .or_insert(0) += 1;
            if *service == Service::Order {
                decided
                    .entry(&row.correlation_id)
                    .or_default()
                    .insert(&row.routing_key);
            }
        }
        twice.extend(
            staged
                .into_iter()
                .filter(|(_, count)| *count > 1)
                .map(|((key, order, _), count)| format!("{key} ×{count} for {order}")),
        );
    }
    v.check("events staged twice for one order", &twice);
    let contradicted: Vec<&&str> = decided
        .iter()
        .filter(|(_, keys)| {
            keys.iter().any(|key| key.ends_with(".confirmed"))
                && keys.iter().any(|key| key.ends_with(".cancelled"))
        })
        .map(|(order, _)| order)
        .collect();
    v.check("orders both confirmed and cancelled", &contradicted);
}

/// Every message a producer published reached every queue bound to it and was handled there
/// once (the inbox's key makes "more than once" impossible, so "at least once" is checked);
/// nothing stays unpublished or was published to no queue that should have had it.
fn every_message_handled(snapshot: &Snapshot, v: &mut Violations) {
    let subscriptions: Vec<_> = catalog::subscriptions()
        .into_iter()
        .filter(|subscription| Service::parse(subscription.service).is_some())
        .collect();
    let inboxes: BTreeMap<Service, HashSet<&str>> = snapshot
        .inboxes
        .iter()
        .map(|(service, ids)| (*service, ids.iter().map(String::as_str).collect()))
        .collect();
    let (mut unpublished, mut unroutable, mut unhandled) = (vec![], vec![], vec![]);
    for row in snapshot.outboxes.values().flatten() {
        let consumers: Vec<Service> = subscriptions
            .iter()
            .filter(|subscription| subscription.receives(&row.exchange, &row.routing_key))
            .filter_map(|subscription| Service::parse(subscription.service))
            .collect();
        if !row.published {
            unpublished.push(format!("{} {}", row.routing_key, row.message_id));
        } else if row.unroutable && !consumers.is_empty() {
            unroutable.push(format!("{} {}", row.routing_key, row.message_id));
        } else if !row.unroutable {
            for consumer in consumers {
                if !inboxes
                    .get(&consumer)
                    .is_some_and(|inbox| inbox.contains(row.message_id.as_str()))
                {
                    unhandled.push(format!(
                        "{} {} by {consumer}",
                        row.routing_key, row.message_id
                    ));
                }
            }
        }
    }
    v.check("staged events never published", &unpublished);
    v.check("events published to no queue although bound", &unroutable);
    v.check("published events a bound service never handled", &unhandled);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{Payment, Reservation};

    /// A shop with one shipped order of 2 × SKU-A, stored with `total_cents` and charged
    /// `charged_cents`; SKU-A costs 1 250 in the catalog.
    fn shop_with(total_cents: i64, charged_cents: i64) -> (Snapshot, BTreeMap<String, i64>) {
        let id = Uuid::new_v4();
        let mut snapshot = Snapshot::default();
        snapshot.orders.insert(
            id,
            Order {
                origin: "http".into(),
                status: "shipped".into(),
                cancel_reason: None,
                total_cents,
                units: BTreeMap::from([("SKU-A".to_owned(), 2)]),
            },
        );
        snapshot.payments.insert(
            id,
            Payment {
                status: "charged".into(),
                amount_cents: charged_cents,
            },
        );
        (snapshot, BTreeMap::from([("SKU-A".to_owned(), 1_250)]))
    }

    fn money_violations(snapshot: &Snapshot, prices: &BTreeMap<String, i64>) -> Vec<String> {
        let mut violations = Violations::default();
        payments(
            snapshot,
            &ForeignOrders::new(),
            prices,
            &mut Figures::default(),
            &mut violations,
        );
        violations.0
    }

    #[test]
    fn an_order_charged_its_lines_at_the_catalog_prices_is_right() {
        let (snapshot, prices) = shop_with(2_500, 2_500);
        assert_eq!(money_violations(&snapshot, &prices), Vec::<String>::new());
    }

    #[test]
    fn a_total_or_a_charge_of_other_prices_than_the_catalogs_is_a_violation() {
        let (snapshot, prices) = shop_with(2_000, 2_000);
        let violations = money_violations(&snapshot, &prices);
        assert_eq!(violations.len(), 2, "{violations:?}");
        assert!(violations[0].contains("catalog's prices"), "{violations:?}");

        let (snapshot, prices) = shop_with(2_500, 2_000);
        let violations = money_violations(&snapshot, &prices);
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert!(violations[0].starts_with("payments of another amount"));
    }

    #[test]
    fn an_order_of_a_sku_the_catalog_lacks_is_a_violation() {
        let (snapshot, _) = shop_with(2_500, 2_500);
        let violations = money_violations(&snapshot, &BTreeMap::new());
        assert!(
            violations[0].contains("not in the catalog"),
            "{violations:?}"
        );
    }

    /// A shop with one foreign order as it must end: a legacy submit of 2 × SKU-A at 1 251 (the
    /// catalog's 1 250 plus one), refused, its charge refunded, its reservation released, its
    /// cancellation email recorded unsent, its submit handled by billing and logistics.
    fn refused_foreign_order() -> (Snapshot, ForeignOrders, Uuid) {
        let id = Uuid::new_v4();
        let units = BTreeMap::from([("SKU-A".to_owned(), 2)]);
        let mut snapshot = Snapshot::default();
        snapshot.orders.insert(
            id,
            Order {
                origin: "foreign".into(),
                status: "cancelled".into(),
                cancel_reason: Some("timeout".into()),
                total_cents: 2_502,
                units: BTreeMap::new(),
            },
        );
        snapshot.payments.insert(
            id,
            Payment {
                status: "refunded".into(),
                amount_cents: 2_502,
            },
        );
        snapshot.reservations.insert(
            id,
            Reservation {
                status: "released".into(),
                units: units.clone(),
            },
        );
        snapshot.stock.insert("SKU-A".into(), (10, 0));
        snapshot
            .emails
            .insert(id, vec![("order_cancelled".into(), false)]);
        for service in [Service::Billing, Service::Logistics] {
            snapshot.inboxes.insert(service, vec!["legacy-1".into()]);
        }
        let foreign = ForeignOrders::from([(
            id,
            ForeignOrder {
                message_id: "legacy-1".into(),
                routing_key: "order.v1.submit".into(),
                units,
                total_cents: 2_502,
            },
        )]);
        (snapshot, foreign, id)
    }

    fn foreign_violations(snapshot: &Snapshot, foreign: &ForeignOrders) -> Vec<String> {
        let prices = BTreeMap::from([("SKU-A".to_owned(), 1_250)]);
        let initial = [("SKU-A".to_owned(), 10)];
        check(snapshot, &Posted::default(), foreign, &initial, &prices)
            .1
            .0
    }

    #[test]
    fn a_refused_foreign_order_with_everything_undone_keeps_every_promise() {
        let (snapshot, foreign, _) = refused_foreign_order();
        assert_eq!(
            foreign_violations(&snapshot, &foreign),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_foreign_order_nobody_submitted_is_a_violation() {
        let (snapshot, _, _) = refused_foreign_order();
        let violations = foreign_violations(&snapshot, &ForeignOrders::new());
        assert!(
            violations
                .iter()
                .any(|v| v.starts_with("foreign orders nobody submitted")),
            "{violations:?}"
        );
        assert!(
            violations
                .iter()
                .any(|v| v.starts_with("stored orders no client was answered about")),
            "{violations:?}"
        );
    }

    #[test]
    fn a_foreign_order_emailed_charged_or_unheard_is_a_violation() {
        let (mut snapshot, foreign, id) = refused_foreign_order();
        snapshot
            .emails
            .insert(id, vec![("order_cancelled".into(), true)]);
        let violations = foreign_violations(&snapshot, &foreign);
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert!(violations[0].starts_with("orders without exactly one email"));

        let (mut snapshot, foreign, id) = refused_foreign_order();
        snapshot.payments.get_mut(&id).unwrap().status = "charged".into();
        let violations = foreign_violations(&snapshot, &foreign);
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert!(violations[0].starts_with("charges left standing"));

        let (mut snapshot, foreign, _) = refused_foreign_order();
        snapshot.inboxes.insert(Service::Logistics, Vec::new());
        let violations = foreign_violations(&snapshot, &foreign);
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert!(violations[0].starts_with("foreign submits a bound service never handled"));
    }

    #[test]
    fn a_foreign_order_charged_at_the_catalogs_prices_or_reserved_otherwise_is_a_violation() {
        let (mut snapshot, foreign, id) = refused_foreign_order();
        snapshot.orders.get_mut(&id).unwrap().total_cents = 2_500;
        snapshot.payments.get_mut(&id).unwrap().amount_cents = 2_500;
        let violations = foreign_violations(&snapshot, &foreign);
        assert_eq!(violations.len(), 2, "{violations:?}");
        assert!(violations[0].starts_with("foreign orders whose total"));
        assert!(violations[1].starts_with("payments of another amount"));

        let (mut snapshot, foreign, id) = refused_foreign_order();
        snapshot.reservations.get_mut(&id).unwrap().units = BTreeMap::new();
        let violations = foreign_violations(&snapshot, &foreign);
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert!(violations[0].starts_with("reservations of other units"));
    }

    #[test]
    fn a_foreign_order_left_pending_or_an_accepted_order_stored_as_foreign_is_a_violation() {
        let (mut snapshot, foreign, id) = refused_foreign_order();
        snapshot.orders.get_mut(&id).unwrap().status = "pending".into();
        let violations = foreign_violations(&snapshot, &foreign);
        assert!(
            violations
                .iter()
                .any(|v| v.starts_with("foreign orders not refused")),
            "{violations:?}"
        );

        let (snapshot, _, id) = refused_foreign_order();
        let mut posted = Posted::default();
        posted.accepted.insert("key-1".into(), id);
        let mut violations = Violations::default();
        orders(
            &snapshot,
            &posted,
            &ForeignOrders::new(),
            &mut Figures::default(),
            &mut violations,
        );
        assert!(
            violations
                .0
                .iter()
                .any(|v| v.starts_with("accepted orders not stored as the API's")),
            "{:?}",
            violations.0
        );
    }
}
