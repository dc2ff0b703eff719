//! End-to-end tests of the shop's order flow live in `tests/flow`: each starts the real services
//! in-process on a vhost and databases of its own, drives them over HTTP and the bus, and checks
//! what they did. This library is empty on purpose.
