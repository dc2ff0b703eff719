//! The mailer against the real RabbitMQ and PostgreSQL (a vhost and a database per test), and
//! against a real SMTP server process for the SMTP path.

mod access;
mod emails_api;
mod helpers;
mod notifications;
mod smtp;
