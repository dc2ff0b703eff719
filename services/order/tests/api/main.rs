//! The order service against the real RabbitMQ and PostgreSQL: each test runs the application
//! in-process on its own vhost and database, drives it over HTTP and with events published on
//! its vhost, and checks its answers, its database and what it publishes.

mod admission;
mod deadline;
mod foreign;
mod helpers;
mod idempotency;
mod outcomes;
mod shipping;
mod stalled;
mod submit;
mod validation;
mod waiting;
