//! # fault-suite
//!
//! Proves the shop's promise under faults: every accepted order reaches `shipped` or
//! `cancelled`, every charge is kept for a confirmed order or refunded, stock is conserved, each
//! final state is told to the customer once, and nothing happens twice.
//!
//! The real service binaries run as separate processes against a RabbitMQ node and a PostgreSQL
//! cluster of the suite's own (never the machine's shared ones, which other tests and a running
//! shop use). Each scenario starts the four services on a vhost and databases of its own, drives
//! orders through them while it injects one fault, waits until the system is quiet again, and
//! checks the invariants from the services' databases and HTTP APIs.
//!
//! Layout:
//! - the private infrastructure: [`broker`] (a second RabbitMQ node), [`cluster`] (three of them
//!   clustered), [`management`] (its HTTP
//!   API), [`postgres`] (a throw-away cluster), [`proxy`] (a TCP proxy that can cut the network),
//!   [`ports`], [`os`] (signals and external commands), [`leftovers`] (cleans what a killed run
//!   left behind), [`auth`] (the run's signing key and the staff token its clients send),
//!   [`server_tls`] (the certificates of a broker or cluster started with TLS);
//! - the shop under test: [`binaries`] (builds and finds the service executables), [`service`],
//!   [`process`] (one running service), [`shop`] (the four services of one scenario);
//! - the traffic: [`mix`] (what is ordered, by whom), [`load`] (concurrent clients posting
//!   orders), [`amqp`] (raw messages: duplicates, poison, dead letters);
//! - the verdict: [`catch_up`] (waits until nothing moves), [`snapshot`] (reads the databases),
//!   [`invariants`] (checks), [`report`] (one line per scenario);
//! - [`scenarios`] (one function per fault) and [`suite`] (runs many, sharing what can be shared);
//! - [`scaling`]: the flow's throughput on a private cluster with one and two instances per
//!   service (`cluster-bench`, run by `scripts/bench --cluster`).

pub mod amqp;
pub mod auth;
pub mod binaries;
pub mod broker;
pub mod catch_up;
pub mod cluster;
pub mod invariants;
pub mod leftovers;
pub mod load;
pub mod management;
pub mod mix;
pub mod os;
pub mod ports;
pub mod postgres;
pub mod process;
pub mod proxy;
pub mod report;
pub mod scaling;
pub mod scenarios;
pub mod server_tls;
pub mod service;
pub mod shop;
pub mod snapshot;
pub mod suite;

pub use load::Load;
pub use report::Report;
pub use scenarios::Scenario;
pub use suite::{Suite, SuiteOptions};
