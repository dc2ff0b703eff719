//! `GET /customers/{id}` and `PUT /customers/{id}`, with their body types.
//!
//! Who may call: a customer's account (limit, available credit, payments) is theirs to read and
//! staff's to read for anyone; only staff set a credit limit, since a customer who could would
//! grant themselves credit.

use actix_web::{HttpResponse, web};
use anyhow::Context;
use serde::{Deserialize, Serialize};
use service_kit::{ApiError, Identity, Staff};
use sqlx::{PgConnection, PgPool};

use crate::domain::{Account, CreditLimit, CustomerId, Payment};
use crate::settings::BillingSettings;
use crate::store;

/// The body of `PUT /customers/{id}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CreditLimitBody {
    /// The new limit in cents; a whole number (`100.0` is `100`; a fraction or a string is a 400), zero or more.
    // The bounds are `CreditLimit::parse`'s and the `i64` the field is read into, declared in the
    // document so that a client following it is never refused.
    #[schema(minimum = 0, maximum = 9_223_372_036_854_775_807_i64)]
    #[serde(deserialize_with = "service_kit::whole_number::deserialize")]
    pub credit_limit_cents: i64,
}

/// A customer with its credit and payments: the body of `GET` and `PUT /customers/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Customer {
    pub id: String,
    pub credit_limit_cents: i64,
    pub available_cents: i64,
    /// Oldest first.
    pub payments: Vec<Payment>,
}

fn customer_id(raw: &str) -> Result<CustomerId, ApiError> {
    CustomerId::parse(raw).map_err(|message| ApiError::validation("id", message))
}

/// The customer with its payments; one billing has never seen is shown with
/// `default_credit_cents` and no payments, and is not created.
async fn read_customer(
    connection: &mut PgConnection,
    id: &CustomerId,
    default_credit_cents: i64,
) -> anyhow::Result<Customer> {
    let credit_limit_cents = store::credit_limit(connection, id.as_str())
        .await?
        .unwrap_or(default_credit_cents);
    let payments = store::payments(connection, id.as_str()).await?;
    let account = Account::with_payments(credit_limit_cents, &payments);
    Ok(Customer {
        id: id.as_str().to_owned(),
        credit_limit_cents: account.credit_limit_cents,
        available_cents: account.available_cents(),
        payments,
    })
}

/// The customer's limit, available credit and payments.
///
/// Staff, or the customer themselves. A customer billing has never seen is shown with the
/// default credit and no payments; looking does not create it.
#[utoipa::path(
    get,
    path = "/customers/{id}",
    tag = "customers",
    params(("id" = String, Path, description = "The customer's id", min_length = 1, max_length = 100, pattern = r"^[^\x00-\x1f\x7f-\x9f]+$")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The customer", body = Customer),
        (status = 401, description = "No valid bearer token", body = service_kit::api_error::ErrorBody),
        (status = 403, description = "A customer other than this one, or a token without a role of the shop", body = service_kit::api_error::ErrorBody),
        (status = 422, description = "An invalid customer id", body = service_kit::api_error::ErrorBody)
    )
)]
pub async fn show_customer(
    caller: Identity,
    id: web::Path<String>,
    pool: web::Data<PgPool>,
    settings: web::Data<BillingSettings>,
) -> Result<HttpResponse, ApiError> {
    // Access before validation: a customer learns nothing about ids that are not theirs.
    caller.require_access_to(&id)?;
    let id = customer_id(&id)?;
    let mut connection = pool
        .acquire()
        .await
        .context("Failed to get a database connection")?;
    let customer = read_customer(&mut connection, &id, settings.default_credit_cents).await?;
    Ok(HttpResponse::Ok().json(customer))
}

/// Sets the customer's credit limit.
///
/// Staff only. Creates the customer if needed and answers with the customer as `GET` shows it.
#[utoipa::path(
    put,
    path = "/customers/{id}",
    tag = "customers",
    params(("id" = String, Path, description = "The customer's id", min_length = 1, max_length = 100, pattern = r"^[^\x00-\x1f\x7f-\x9f]+$")),
    request_body = CreditLimitBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The customer with its new limit", body = Customer),
        (status = 400, description = "An unreadable body", body = service_kit::api_error::ErrorBody),
        (status = 401, description = "No valid bearer token", body = service_kit::api_error::ErrorBody),
        (status = 403, description = "A caller who is not staff", body = service_kit::api_error::ErrorBody),
        (status = 422, description = "An invalid id or limit", body = service_kit::api_error::ErrorBody)
    )
)]
pub async fn set_credit_limit(
    staff: Staff,
    id: web::Path<String>,
    body: web::Json<CreditLimitBody>,
    pool: web::Data<PgPool>,
    settings: web::Data<BillingSettings>,
) -> Result<HttpResponse, ApiError> {
    let id = customer_id(&id)?;
    let limit = CreditLimit::parse(body.credit_limit_cents)
        .map_err(|message| ApiError::validation("credit_limit_cents", message))?;
    let mut tx = pool
        .begin()
        .await
        .context("Failed to begin a transaction")?;
    store::set_credit_limit(&mut tx, id.as_str(), limit.cents()).await?;
    let customer = read_customer(&mut tx, &id, settings.default_credit_cents).await?;
    tx.commit()
        .await
        .context("Failed to commit the new credit limit")?;
    tracing::info!(
        customer_id = %id,
        credit_limit_cents = limit.cents(),
        staff = %staff.name,
        "credit limit set"
    );
    Ok(HttpResponse::Ok().json(customer))
}
