//! # loadgen
//!
//! Drives the shop's real services under load and writes the benchmark report. `scripts/bench`
//! runs it around the services it starts on a vhost and databases of their own:
//!
//! - `loadgen setup` / `teardown`: the benchmark's vhost, and afterwards its databases too.
//! - `loadgen keys`: the run's signing key pair, whose public half the services verify bearer
//!   tokens with.
//! - `loadgen run`: puts the load's products in the order service's catalog, then a closed loop
//!   at maximum and open loops at fixed rates, each order placed and followed as its
//!   customer (a bearer token each, signed with the `keys` folder); per order the
//!   latency from POST to `confirmed` and to `shipped`, and per phase the orders per second, the
//!   messages and database transactions per order and each service's peak memory.
//! - `loadgen report`: the results of a whole run (the bus benchmarks' and the flow's) as a
//!   markdown report and a PNG of the latency distributions.
//!
//! Modules:
//! - [`cli`]: the commands and their options.
//! - [`journey`]: one order from its POST until its customer sees it confirmed, timed;
//!   [`records`]: how the confirmed orders ended, read from the order service's database.
//! - [`tokens`]: the run's key pair and bearer tokens; [`catalog`]: the products the load orders,
//!   put in the catalog before it.
//! - [`drive`]: open and closed loops of journeys, with progress on stderr.
//! - [`probes`]: what the system says about a phase: transactions, messages, memory.
//! - [`flow`]: a whole `run`, turned into report sections; [`cost`]: its cost-per-order section.
//! - [`stats`]: latency histograms.
//! - [`section`]: the result file every benchmark part writes.
//! - [`report`] and [`plot`]: the markdown report and its PNG.
//! - [`environment`]: the broker vhost and the databases of a run.
//!
//! Nothing here asserts a speed: the figures and whether they meet their targets are reported,
//! never failed.

pub mod catalog;
pub mod cli;
pub mod cost;
pub mod drive;
pub mod environment;
pub mod flow;
pub mod journey;
pub mod plot;
pub mod probes;
pub mod records;
pub mod report;
pub mod section;
pub mod stats;
pub mod tokens;
