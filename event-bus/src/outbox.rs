//! The transactional outbox.
//!
//! A service stages events in the same transaction as its state change, through one door, the
//! [`EventTransaction`] trait: a bus handler's [`HandlerContext`](crate::HandlerContext) and a
//! transaction opened with [`Outbox::begin`] (an HTTP request, a sweeper) stage the same way. What
//! is staged is written to the outbox in one statement just before the commit, so a rolled back
//! transaction publishes nothing, and the relay of the process is woken once the commit is done.
//!
//! The [`Relay`] publishes committed rows with confirms and marks them published. Wakes that
//! arrive while a round runs fold into one further round; the relay also polls, which covers rows
//! staged by another instance whose relay stopped. Rows are claimed with `FOR UPDATE SKIP LOCKED`,
//! so several instances of a service relay side by side without publishing a row twice; a crash
//! between commit and publish leaves the row pending, and it is published by the next relay to
//! run. A crash between publish and marking can publish a row again, with the same message id,
//! which the consumers' inbox absorbs.
//!
//! - [`staging`]: the door in ([`EventTransaction`], [`Outbox`], [`OutboxTransaction`]).
//! - [`relay`]: the way out ([`Relay`], [`backlog`]).

pub mod relay;
pub mod staging;

pub(crate) use relay::RelayWake;
pub use relay::{Backlog, Relay, backlog};
pub(crate) use staging::Staged;
pub use staging::{EventTransaction, Outbox, OutboxTransaction};
