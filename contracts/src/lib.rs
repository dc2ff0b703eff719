//! # contracts
//!
//! Every event of the shop's order flow, grouped by the service that produces it. Each producing
//! service owns one durable topic exchange named after it, and each event is a typed payload whose
//! routing key (`<exchange>.v<version>.<name>`) follows from its [`event_bus::Event`] impl, so
//! producers and consumers share one definition instead of agreeing on strings.
//!
//! - [`order`]: an order is submitted, then confirmed or cancelled.
//! - [`billing`]: the customer is charged, declined or refunded.
//! - [`logistics`]: stock is reserved, found short, released; orders ship; stock is replenished.
//! - [`mailer`]: the customer was sent an email.
//! - [`catalog`]: the list of all of the above and of who subscribes to what, for documentation
//!   and checks.
//! - [`asyncapi`]: the AsyncAPI 3.0 document generated from all of it (`contracts/asyncapi.yaml`).
//!
//! Payloads may gain fields but never lose one: consumers ignore fields they do not know, so an
//! added field is compatible, while a removed or retyped one needs a new version and an upcast
//! (see [`order::OrderSubmitted`]).

pub mod asyncapi;
pub mod billing;
pub mod catalog;
pub mod logistics;
pub mod mailer;
pub mod order;

#[cfg(all(test, not(feature = "yaml")))]
compile_error!(
    "the tests need the `yaml` feature (enabled by the crate's dev-dependency on itself)"
);
