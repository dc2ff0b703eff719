//! The HTTP API: a SKU's stock.

mod stock;

use actix_web::web;
use sqlx::PgPool;

use crate::policy::StockPolicy;

pub use stock::{OnHandBody, set_on_hand, show_stock};

/// Registers logistics' routes and what they need.
pub fn configure(config: &mut web::ServiceConfig, pool: PgPool, policy: StockPolicy) {
    config
        .app_data(web::Data::new(pool))
        .app_data(web::Data::new(policy))
        .route("/stock/{sku}", web::get().to(show_stock))
        .route("/stock/{sku}", web::put().to(set_on_hand));
}
