//! The bus handlers, one file each: what logistics does when an order is submitted, cancelled or
//! confirmed. Each runs in the transaction that records the message in the inbox, takes the
//! order's advisory lock first, and stages what it publishes in the same transaction's outbox.

mod release;
mod reserve;
mod ship;

pub use release::ReleaseStock;
pub use reserve::ReserveStock;
pub use ship::ShipOrder;
