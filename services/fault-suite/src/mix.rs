//! What the load orders, and from whom: a deterministic mix that walks every path of the flow.
//!
//! - most orders are for plentiful SKUs by customers with ample credit: they ship;
//! - some are by [`BROKE`], whose credit is zero: declined, their reservation released;
//! - some ask for [`SOLD_OUT`], of which there is none and never will be (a replenishment is only
//!   asked after a reservation): out of stock, their charge refunded;
//! - some ask for [`SCARCE`], which runs low, is restocked by the simulated supplier after a short
//!   delay, and in between is out of stock: restocks enter the stock balance.
//!
//! Every SKU has a fixed price in the order service's catalog ([`catalog`]), which is what an
//! order costs and billing charges; a line states that price half the time (as a client showing
//! the customer a price would, and which must then be the catalog's) and leaves it out otherwise.
//!
//! The order number picks everything through a fixed hash, so a run can be repeated.

use serde_json::{Value, json};

/// A customer whose credit limit is zero.
pub const BROKE: &str = "c-broke";
/// A SKU with nothing on hand, ever.
pub const SOLD_OUT: &str = "SKU-SOLD-OUT";
/// A SKU with little on hand, restocked by the supplier when it runs low.
pub const SCARCE: &str = "SKU-SCARCE";
/// Customers with ample credit.
const CUSTOMERS: usize = 24;
/// SKUs with ample stock.
const PLENTIFUL: [&str; 6] = ["SKU-A", "SKU-B", "SKU-C", "SKU-D", "SKU-E", "SKU-F"];

/// The catalog: every SKU the mix orders and its price in cents, all different so that a total
/// made of the wrong prices shows.
const PRICES: [(&str, i64); 8] = [
    ("SKU-A", 1_250),
    ("SKU-B", 399),
    ("SKU-C", 2_000),
    ("SKU-D", 4_999),
    ("SKU-E", 150),
    ("SKU-F", 875),
    (SCARCE, 3_100),
    (SOLD_OUT, 999),
];

/// Every SKU the mix orders with its catalog price, in cents: put in the catalog before the
/// load.
pub fn catalog() -> Vec<(&'static str, i64)> {
    PRICES.to_vec()
}

/// The catalog price of `sku`.
fn price(sku: &str) -> i64 {
    PRICES
        .iter()
        .find(|(listed, _)| *listed == sku)
        .map(|(_, cents)| *cents)
        .unwrap_or_else(|| panic!("{sku} is not in the mix's catalog"))
}

/// Every SKU the mix orders, with the units put on hand before the load starts.
pub fn initial_stock() -> Vec<(&'static str, i64)> {
    let mut stock: Vec<(&'static str, i64)> =
        PLENTIFUL.iter().map(|sku| (*sku, 1_000_000)).collect();
    stock.push((SCARCE, 12));
    stock.push((SOLD_OUT, 0));
    stock
}

/// The body of `POST /orders` for order number `index`.
pub fn order(index: usize) -> Value {
    let mut random = Random::new(index as u64);
    let roll = random.below(100);
    let customer = if roll < 6 {
        BROKE.to_owned()
    } else {
        format!("c-{:02}", random.below(CUSTOMERS as u64))
    };
    let mut lines = Vec::new();
    for _ in 0..1 + random.below(3) {
        lines.push(line(
            PLENTIFUL[random.below(PLENTIFUL.len() as u64) as usize],
            1 + random.below(3),
            &mut random,
        ));
    }
    if (6..11).contains(&roll) {
        lines.push(line(SOLD_OUT, 1, &mut random));
    }
    if (11..26).contains(&roll) {
        lines.push(line(SCARCE, 1 + random.below(4), &mut random));
    }
    json!({
        "customer_id": customer,
        "email": format!("{customer}@example.com"),
        "currency": "EUR",
        "lines": lines,
    })
}

/// A line of `quantity` × `sku`, stating the catalog's price half the time.
fn line(sku: &str, quantity: u64, random: &mut Random) -> Value {
    let mut line = json!({ "sku": sku, "quantity": quantity });
    if random.below(2) == 0 {
        line["unit_price_cents"] = json!(price(sku));
    }
    line
}

/// SplitMix64: tiny, deterministic, good enough to spread a mix.
struct Random(u64);

impl Random {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_number_always_gives_the_same_order() {
        assert_eq!(order(42), order(42));
        assert_ne!(order(42), order(43));
    }

    #[test]
    fn the_mix_walks_every_path_of_the_flow() {
        let orders: Vec<Value> = (0..1_000).map(order).collect();
        let by = |pred: &dyn Fn(&Value) -> bool| orders.iter().filter(|o| pred(o)).count();
        let has_sku = |order: &Value, sku: &str| {
            order["lines"]
                .as_array()
                .unwrap()
                .iter()
                .any(|line| line["sku"] == sku)
        };
        assert!(by(&|o| o["customer_id"] == BROKE) > 20);
        assert!(by(&|o| has_sku(o, SOLD_OUT)) > 20);
        assert!(by(&|o| has_sku(o, SCARCE)) > 80);
        assert!(by(&|o| o["customer_id"] != BROKE && !has_sku(o, SOLD_OUT)) > 800);
    }

    #[test]
    fn a_line_states_the_catalog_price_or_none() {
        let lines: Vec<Value> = (0..500)
            .flat_map(|index| order(index)["lines"].as_array().unwrap().clone())
            .collect();
        let stated: Vec<&Value> = lines
            .iter()
            .filter(|line| line.get("unit_price_cents").is_some())
            .collect();
        assert!(stated.len() > lines.len() / 4, "some lines state a price");
        assert!(stated.len() < lines.len() * 3 / 4, "some lines state none");
        for line in stated {
            assert_eq!(
                line["unit_price_cents"],
                price(line["sku"].as_str().unwrap())
            );
        }
    }

    #[test]
    fn every_stocked_sku_is_in_the_catalog() {
        for (sku, _) in initial_stock() {
            assert!(catalog().iter().any(|(listed, _)| *listed == sku), "{sku}");
        }
    }

    #[test]
    fn every_ordered_sku_is_stocked_before_the_load() {
        let stocked: Vec<&str> = initial_stock().iter().map(|(sku, _)| *sku).collect();
        for index in 0..500 {
            for line in order(index)["lines"].as_array().unwrap() {
                assert!(stocked.contains(&line["sku"].as_str().unwrap()));
            }
        }
    }
}
