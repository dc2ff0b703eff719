//! `GET /stock/{sku}` and `PUT /stock/{sku}`, with their body types.
//!
//! Who may call: anyone signed in reads a SKU's stock (a customer checks availability before
//! ordering); only staff set the count, since it is an inventory of the warehouse.

use actix_web::{HttpResponse, web};
use anyhow::Context;
use serde::{Deserialize, Serialize};
use service_kit::{ApiError, Identity, Staff};
use sqlx::PgPool;

use crate::domain::{Level, OnHand, Sku, StockPolicy};
use crate::store::{self, SetOnHandError};

/// The body of `PUT /stock/{sku}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct OnHandBody {
    /// Units counted in the warehouse; a whole number (`5.0` is `5`; a fraction or a string is a 400), zero or
    /// more, at most 2147483647, and no fewer than are reserved (else 409).
    // The bounds are `OnHand::parse`'s (the `INTEGER` column), declared in the document so that
    // a client following it is never refused.
    #[schema(minimum = 0, maximum = 2_147_483_647)]
    #[serde(deserialize_with = "service_kit::whole_number::deserialize")]
    pub on_hand: i64,
}

/// A SKU's stock: the body of `GET` and `PUT /stock/{sku}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Stock {
    pub sku: String,
    pub on_hand: i32,
    pub reserved: i32,
}

impl Stock {
    fn new(sku: &Sku, level: Level) -> Self {
        Self {
            sku: sku.as_str().to_owned(),
            on_hand: level.on_hand,
            reserved: level.reserved,
        }
    }
}

fn sku(raw: &str) -> Result<Sku, ApiError> {
    Sku::parse(raw).map_err(|message| ApiError::validation("sku", message))
}

/// The SKU's units on hand and reserved.
///
/// Any authenticated caller, customer or staff. A SKU logistics has never seen is shown with the
/// default stock and nothing reserved; looking does not create it.
#[utoipa::path(
    get,
    path = "/stock/{sku}",
    tag = "stock",
    params(("sku" = String, Path, description = "The SKU", min_length = 1, max_length = 100, pattern = r"^[^\x00-\x1f\x7f-\x9f]+$")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Units on hand and reserved", body = Stock),
        (status = 401, description = "No valid bearer token", body = service_kit::api_error::ErrorBody),
        (status = 403, description = "A token without a role of the shop", body = service_kit::api_error::ErrorBody),
        (status = 422, description = "An invalid SKU", body = service_kit::api_error::ErrorBody)
    )
)]
pub async fn show_stock(
    // Only its presence matters: any customer or staff member may look.
    _caller: Identity,
    raw_sku: web::Path<String>,
    pool: web::Data<PgPool>,
    policy: web::Data<StockPolicy>,
) -> Result<HttpResponse, ApiError> {
    let sku = sku(&raw_sku)?;
    let mut connection = pool
        .acquire()
        .await
        .context("Failed to get a database connection")?;
    let level = store::stock_level(&mut connection, sku.as_str())
        .await?
        .unwrap_or(Level {
            on_hand: policy.default_stock,
            reserved: 0,
        });
    Ok(HttpResponse::Ok().json(Stock::new(&sku, level)))
}

/// Sets the units on hand (an inventory count).
///
/// Staff only. Creates the SKU if needed and answers with the stock as `GET` shows it. Refused
/// with 409 below the units reserved for orders.
#[utoipa::path(
    put,
    path = "/stock/{sku}",
    tag = "stock",
    params(("sku" = String, Path, description = "The SKU", min_length = 1, max_length = 100, pattern = r"^[^\x00-\x1f\x7f-\x9f]+$")),
    request_body = OnHandBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The SKU's stock with its new count", body = Stock),
        (status = 400, description = "An unreadable body", body = service_kit::api_error::ErrorBody),
        (status = 401, description = "No valid bearer token", body = service_kit::api_error::ErrorBody),
        (status = 403, description = "A caller who is not staff", body = service_kit::api_error::ErrorBody),
        (status = 409, description = "Fewer units than are reserved", body = service_kit::api_error::ErrorBody),
        (status = 422, description = "An invalid SKU or count", body = service_kit::api_error::ErrorBody)
    )
)]
pub async fn set_on_hand(
    staff: Staff,
    raw_sku: web::Path<String>,
    body: web::Json<OnHandBody>,
    pool: web::Data<PgPool>,
) -> Result<HttpResponse, ApiError> {
    let sku = sku(&raw_sku)?;
    let on_hand =
        OnHand::parse(body.on_hand).map_err(|message| ApiError::validation("on_hand", message))?;
    let mut tx = pool
        .begin()
        .await
        .context("Failed to begin a transaction")?;
    let level = match store::set_on_hand(&mut tx, sku.as_str(), on_hand.units()).await {
        Ok(level) => level,
        Err(SetOnHandError::BelowReserved { reserved }) => {
            return Err(ApiError::conflict(format!(
                "{reserved} units of {sku} are reserved for orders; on_hand cannot be set below that"
            )));
        }
        Err(SetOnHandError::Unexpected(error)) => return Err(error.into()),
    };
    tx.commit()
        .await
        .context("Failed to commit the stock count")?;
    tracing::info!(%sku, on_hand = level.on_hand, staff = %staff.name, "stock counted");
    Ok(HttpResponse::Ok().json(Stock::new(&sku, level)))
}
