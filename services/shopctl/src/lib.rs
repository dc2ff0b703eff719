//! # shopctl
//!
//! The operator's tool for the shop's bus. Today: dead letters, the messages a service's consumer
//! gave up on (undecodable, or its retries used up), parked in `<service>.dead`.
//!
//! - `shopctl dead list`: [`list()`], grouped by queue, original routing key and reason.
//! - `shopctl dead show ID`: [`show()`], one message with every header and its payload.
//! - `shopctl dead replay`: [`replay()`], chosen ones back into their service's queue with a fresh
//!   attempt count.
//! - `shopctl dead drop`: [`discard()`], chosen ones removed for good, after a confirmation.
//!
//! Every replay and drop appends a line to the [`audit`] log.
//!
//! And tokens for a local shop ([`token`]): `shopctl key init` makes the signing key
//! `scripts/run` configures the services with, `shopctl token --customer alice` and
//! `shopctl token --staff` print a bearer token signed with it.
//!
//! Modules:
//! - [`cli`]: the commands and their flags, and what they print.
//! - [`settings`]: where the broker is (flags, else the services' `SHOP__BUS__BROKER__*`).
//! - [`connection`]: the AMQP connection and the management API of one vhost.
//! - [`dead_letter`]: what a dead letter and a dead-letter queue are, read from the bus's headers.
//! - [`scan`]: reading a queue without losing or reordering anything; the rule every command
//!   keeps: a message leaves its dead-letter queue only when a replay's copy is confirmed or a
//!   drop is confirmed.
//! - [`selector`]: which dead letters a replay or drop takes.
//! - [`list`], [`show`], [`replay`], [`discard`]: one command each.
//! - [`audit`]: the append-only record of replays and drops.
//! - [`token`]: the local signing key and the tokens it signs.
//! - [`provision`]: a broker user per service with the permissions its wiring needs
//!   (`shopctl broker provision`).
//! - [`error`]: what can go wrong.

pub mod audit;
pub mod cli;
pub mod connection;
pub mod dead_letter;
pub mod discard;
pub mod error;
pub mod list;
pub mod provision;
pub mod replay;
pub mod scan;
pub mod selector;
pub mod settings;
pub mod show;
pub mod token;

pub use audit::{AuditLog, AuditRecord};
pub use connection::Broker;
pub use dead_letter::{DeadLetter, DeadLetterQueue};
pub use discard::discard;
pub use error::{Error, Result};
pub use list::{ListRequest, list};
pub use replay::replay;
pub use selector::{Choice, Selector};
pub use show::show;
