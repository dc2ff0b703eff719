//! Logistics' rules, free of HTTP, SQL and the broker: valid SKUs and counts, order lines merged
//! per SKU, the stock policy and what an order lacks, where a reservation stands, and tracking
//! numbers. Everything here is pure and unit-tested; the routes, the handlers and the store
//! carry data to and from it.

mod level;
mod on_hand;
mod order_lines;
mod reservation_status;
mod stock_policy;
mod tracking_number;

pub use level::{Level, shortages};
pub use on_hand::OnHand;
pub use order_lines::{Demand, merge_lines};
pub use reservation_status::ReservationStatus;
/// A stock-keeping unit's code as the catalogue names it: non-empty and bounded.
pub use service_kit::identifier::BoundedId as Sku;
pub use stock_policy::StockPolicy;
pub use tracking_number::tracking_number;
