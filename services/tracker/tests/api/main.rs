//! The tracker against the real RabbitMQ and PostgreSQL, a vhost and a database per test; the
//! page in a real headless Chromium beside the four real services.

mod access;
mod browser;
mod dead_letters;
mod flows;
mod generated_requests;
mod helpers;
mod page;
mod retention;
mod stalled;
mod topology;
