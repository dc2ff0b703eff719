//! The service's small types: input checked at the HTTP edge (each refusal names what is wrong),
//! order lines merged per SKU, and tracking numbers.

mod on_hand;
mod order_lines;
mod tracking_number;

pub use on_hand::OnHand;
pub use order_lines::{Demand, merge_lines};
/// A stock-keeping unit's code as the catalogue names it: non-empty and bounded.
pub use service_kit::identifier::BoundedId as Sku;
pub use tracking_number::tracking_number;
