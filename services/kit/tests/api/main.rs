//! Integration tests of the kit, against a real HTTP port and the local PostgreSQL
//! (127.0.0.1:5432, user `postgres`, trust authentication). Each test that needs a database
//! creates its own, with a unique name, and drops it.

mod auth;
mod database;
mod helpers;
mod jwks;
mod observability;
mod server;
mod shutdown;
