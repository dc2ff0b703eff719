//! The bus handlers, one file each: what billing does when an order is submitted or cancelled.
//! Both run in the transaction that records the message in the inbox, and stage what they
//! publish in its outbox.

mod charge;
mod refund;

pub use charge::ChargeOrder;
pub use refund::RefundOrder;
