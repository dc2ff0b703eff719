//! The HTTP API, one file per resource: a SKU's stock.

mod stock;

use actix_web::web;
use utoipa::OpenApi;

use crate::domain::StockPolicy;

pub use stock::{OnHandBody, Stock, set_on_hand, show_stock};

/// The service's OpenAPI document, derived from the handlers' annotations.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "logistics",
        description = "Reserves, releases and ships stock; restocks through a simulated supplier."
    ),
    paths(stock::show_stock, stock::set_on_hand)
)]
pub struct ApiDoc;

/// Registers logistics' routes and the policy they read (the pool comes from the kit).
pub fn configure(config: &mut web::ServiceConfig, policy: StockPolicy) {
    service_kit::openapi::document(config, ApiDoc::openapi());
    config
        .app_data(web::Data::new(policy))
        .route("/stock/{sku}", web::get().to(show_stock))
        .route("/stock/{sku}", web::put().to(set_on_hand));
}
