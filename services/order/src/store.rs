//! All SQL of the order service.
//!
//! - [`orders`]: the writes: a new order (the per-customer bound and the customer's idempotency
//!   key checked in the same statement), and status changes. A status change is only ever made
//!   by one function, which also appends the history row and notifies the waiters, so none of
//!   the three can be forgotten.
//! - [`view`]: the read model, the order as the API shows it, read in one statement so that
//!   status, lines and history are one consistent snapshot.
//! - [`stalled`](mod@stalled): the orders past the deadline of their status, listed and counted.
//! - [`foreign`]: the orders another producer submitted, recorded when an answer reveals them.
//! - [`idempotency_keys`]: the keys past their retention, forgotten in batches.
//! - [`products`]: the catalog staff keep, and the prices of an order's SKUs in one query.

mod foreign;
mod idempotency_keys;
mod orders;
mod products;
mod stalled;
mod view;

pub use foreign::{name_payer, record_foreign};
pub use idempotency_keys::forget_idempotency_keys;
pub use orders::{Cause, LockedOrder, Placement, StoredOrder, apply, lock, order_for_key, place};
pub use products::{Put, StoredProduct, prices, product, products, put_product};
pub use stalled::{StalledCounts, StalledOrder, count_stalled, stalled};
pub use view::{HistoryEntry, LineView, OrderView, load};
