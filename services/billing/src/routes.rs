//! The HTTP API, one file per resource: a customer's credit and payments.

mod customers;

use actix_web::web;
use utoipa::OpenApi;

use crate::settings::BillingSettings;

pub use customers::{CreditLimitBody, Customer, set_credit_limit, show_customer};

/// The service's OpenAPI document, derived from the handlers' annotations.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "billing",
        description = "Charges orders within the customer's credit and refunds cancelled ones."
    ),
    paths(customers::show_customer, customers::set_credit_limit)
)]
pub struct ApiDoc;

/// Registers billing's routes and the settings they read (the pool comes from the kit).
pub fn configure(config: &mut web::ServiceConfig, settings: BillingSettings) {
    service_kit::openapi::document(config, ApiDoc::openapi());
    config
        .app_data(web::Data::new(settings))
        .route("/customers/{id}", web::get().to(show_customer))
        .route("/customers/{id}", web::put().to(set_credit_limit));
}
