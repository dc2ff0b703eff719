//! End-to-end tests of the shop's order flow live in `tests/flow`: each starts the real services
//! in-process on a vhost and databases of its own, drives them over HTTP and the bus, and checks
//! what they did.
//!
//! The library is the harness those tests start the shop with, [`shop`]. It is a library, not a
//! module of `tests/flow`, so that other crates' tests that need the whole shop beside their own
//! service (the tracker's page in a browser) start it the same way instead of keeping a copy.
//! It must not depend on any such crate: they dev-depend on this one.

pub mod shop;
