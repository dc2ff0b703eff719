//! The bus handlers, one file per event: one email for each `order.confirmed`,
//! `order.cancelled` and `logistics.shipped`, then `mailer.sent`. All three are [`Notify`], and
//! every email takes the same path: record, send, announce.
//!
//! Each runs in the transaction that also records the message in the inbox, in this order:
//! record the email, stamped sent (the `(order_id, kind)` key makes a second copy of the trigger
//! a no-op), send it, stage `EmailSent`, and the runtime commits. A failed send returns an
//! error, which rolls all of it back, the stamp included, and has the bus retry the message.
//!
//! Delivery is therefore *at least once*: if the process dies after the mail server accepted an
//! email but before the commit, the message is redelivered and the email sent again. Sending
//! after the commit instead would make it *at most once*, losing emails on such a crash; a
//! duplicate is the lesser evil, and it carries the same `Message-ID`, so mail systems can
//! recognise it.
//!
//! An order without a usable address (legacy orders have an empty email) gets its email
//! recorded with that recipient and `sent_at` NULL, is logged as a warning, and is neither sent
//! nor announced with `EmailSent` (nothing was sent). It is not dead-lettered: no retry can
//! produce an address, and the row records that the customer was not told.

mod cancelled;
mod confirmed;
mod notify;
mod shipped;

pub use notify::Notify;
