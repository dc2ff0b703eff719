//! Billing against the real RabbitMQ and PostgreSQL: each test starts the application on its own
//! vhost and database, drives it over HTTP and the bus, and watches what it publishes.

mod access;
mod charging;
mod customers;
mod helpers;
mod refunds;
