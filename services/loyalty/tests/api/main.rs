//! The loyalty service against the real RabbitMQ and PostgreSQL, a vhost and a database per test.

mod access;
mod helpers;
mod points;
