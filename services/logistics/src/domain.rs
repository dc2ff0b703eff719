//! The service's small types: input checked at the HTTP edge (each refusal names what is wrong),
//! order lines merged per SKU, and tracking numbers.

mod on_hand;
mod order_lines;
mod sku;
mod tracking_number;

pub use on_hand::OnHand;
pub use order_lines::{Demand, merge_lines};
pub use sku::Sku;
pub use tracking_number::tracking_number;
