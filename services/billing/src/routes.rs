//! The HTTP API: a customer's credit and payments.

mod customers;

use actix_web::web;
use sqlx::PgPool;

use crate::settings::BillingSettings;

pub use customers::{CreditLimitBody, set_credit_limit, show_customer};

/// Registers billing's routes and what they need.
pub fn configure(config: &mut web::ServiceConfig, pool: PgPool, settings: BillingSettings) {
    config
        .app_data(web::Data::new(pool))
        .app_data(web::Data::new(settings))
        .route("/customers/{id}", web::get().to(show_customer))
        .route("/customers/{id}", web::put().to(set_credit_limit));
}
