//! All SQL of the order service.
//!
//! - [`orders`]: the writes. A status change is only ever made by one function, which also
//!   appends the history row and notifies the waiters, so none of the three can be forgotten.
//! - [`view`]: the read model, the order as the API shows it, read in one statement so that
//!   status, lines and history are one consistent snapshot.

mod orders;
mod view;

pub use orders::{Cause, LockedOrder, StoredOrder, Submission, apply, lock, submit};
pub use view::{HistoryEntry, LineView, OrderView, load};
