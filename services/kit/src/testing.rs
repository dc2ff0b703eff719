//! What the integration tests of every service share (feature `testing`): the real service
//! in-process on a vhost and a database of its own, requests to it, events published to it as
//! another service would, probes on what it publishes, and bounded waits.
//!
//! ```text
//! let app = TestApp::spawn("billing", billing::DEFAULT_SETTINGS, billing::build, |_| {}).await;
//! let probe = app.probe("billing.*.*").await;
//! app.publish(&order, order.order_id).await;
//! let charged: PaymentCharged = probe.next_event().await;
//! app.cleanup().await;
//! ```
//!
//! - [`harness`]: [`TestApp`], one isolated running service and its `cleanup`.
//! - [`probe`]: [`Probe`], a queue of the test's own bound to what the service publishes, and
//!   [`Published`], a message taken from it.
//! - [`publish`]: the AMQP properties a test driver publishes with, mirroring the bus's.
//! - [`tokens`]: [`TestKey`], the test process's signing key; a [`TestApp`] verifies its
//!   tokens, and sends a staff token with [`TestApp::get`], [`TestApp::post`] and [`TestApp::put`].
//! - [`request_generator`]: [`generated_requests`], requests generated from the service's
//!   OpenAPI document by Schemathesis, every answer checked against it.
//! - [`access`]: the tokens a service must refuse, and its 401 and 403 answers, for every
//!   service's access tests.
//! - [`eventually`](mod@eventually): bounded polling, for what a test cannot await.
//! - [`certificates`]: [`TestCertificates`], a CA and server and client certificates made with
//!   the `openssl` CLI, for tests of TLS against real servers.
//!
//! The rule: nothing here sleeps as synchronisation; every wait is a poll with a deadline
//! ([`PATIENCE`]) that fails the test with what it was waiting for.

pub mod access;
pub mod certificates;
pub mod eventually;
pub mod harness;
pub mod probe;
pub mod publish;
pub mod request_generator;
pub mod tokens;

pub use certificates::TestCertificates;
pub use eventually::{PATIENCE, eventually, eventually_within};
pub use harness::TestApp;
pub use probe::{Probe, Published};
pub use request_generator::generated_requests;
pub use tokens::TestKey;
