//! The order service against the real RabbitMQ and PostgreSQL: each test runs the application
//! in-process on its own vhost and database, drives it over HTTP and with events published on
//! its vhost, and checks its answers, its database and what it publishes.

mod access;
mod admission;
mod catalog;
mod deadline;
mod foreign;
mod helpers;
mod idempotency;
mod limits;
mod outcomes;
mod shipping;
mod stalled;
mod submit;
mod validation;
mod waiting;
