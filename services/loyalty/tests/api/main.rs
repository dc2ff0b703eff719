//! The loyalty service against the real RabbitMQ and PostgreSQL, a vhost and a database per test.

mod helpers;
mod points;
