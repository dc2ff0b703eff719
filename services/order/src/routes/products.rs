//! The catalog: `PUT /products/{sku}` (staff), `GET /products` and `GET /products/{sku}` (anyone
//! signed in: a customer needs the prices).

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use service_kit::{ApiError, Identity, Staff};
use sqlx::PgPool;

use super::AppState;
use crate::domain::{Product, ProductRequest, Sku, ValidationError};
use crate::store::{self, Put, StoredProduct};

/// How many products one page lists by default, and at most.
const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 1000;

/// A product of the catalog, as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProductView {
    #[schema(example = "PEN-7")]
    pub sku: String,
    #[schema(example = "Fountain pen")]
    pub name: String,
    /// The price of one unit, in cents of `currency`: what an order is charged.
    #[schema(example = 1999)]
    pub unit_price_cents: i64,
    /// The shop's currency, which every price is in.
    #[schema(example = "EUR")]
    pub currency: String,
    pub created_at: DateTime<Utc>,
    /// When the name or price last changed (or the product was last put).
    pub updated_at: DateTime<Utc>,
}

impl ProductView {
    fn of(product: StoredProduct, state: &AppState) -> Self {
        Self {
            sku: product.sku,
            name: product.name,
            unit_price_cents: product.unit_price_cents,
            currency: state.currency.as_str().to_owned(),
            created_at: product.created_at,
            updated_at: product.updated_at,
        }
    }
}

/// The answer of `GET /products`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProductPage {
    /// By SKU (code point order).
    pub products: Vec<ProductView>,
    /// The `after` of the next page; `null` when this page is the last.
    pub next_after: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// List the products whose SKU comes after this one (the `next_after` of the previous page).
    #[param(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    after: Option<String>,
    /// How many products, 1 to 1000; 100 by default. Read as text, so that a bad value is
    /// refused naming the parameter.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
}

impl ListQuery {
    /// The SKU to list after: a SKU (1 to 100 characters, no control characters, which
    /// PostgreSQL's text would refuse), as the document says.
    fn after(&self) -> Result<Option<&str>, ApiError> {
        match self.after.as_deref() {
            None => Ok(None),
            Some(after) => crate::domain::Sku::parse(after)
                .map(|_| Some(after))
                .map_err(|message| ApiError::validation("after", message)),
        }
    }

    fn limit(&self) -> Result<i64, ApiError> {
        service_kit::page_limit::page_limit(self.limit.as_deref(), DEFAULT_LIMIT, MAX_LIMIT)
    }
}

/// Creates or changes a product: its name and its price, which every order placed from now on
/// is charged (orders already placed keep theirs).
///
/// Staff only.
#[utoipa::path(
    put,
    path = "/products/{sku}",
    tag = "products",
    security(("bearer" = [])),
    params(("sku" = String, Path, min_length = 1, max_length = 100, pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$", description = "The product's SKU: 1 to 100 characters, not blank, no control characters")),
    request_body = ProductRequest,
    responses(
        (status = 200, description = "The product, changed", body = ProductView),
        (status = 201, description = "The product, created", body = ProductView),
        (status = 400, description = "Unreadable body, a field missing or of the wrong type", body = service_kit::api_error::ErrorBody),
        (status = 401, description = "No valid bearer token", body = service_kit::api_error::ErrorBody),
        (status = 403, description = "Not staff", body = service_kit::api_error::ErrorBody),
        (status = 422, description = "A rule broken, naming the field: `sku`, `name` or `unit_price_cents`", body = service_kit::api_error::ErrorBody)
    )
)]
pub async fn put(
    staff: Staff,
    sku: web::Path<String>,
    body: web::Json<Value>,
    pool: web::Data<PgPool>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let request = ProductRequest::from_json(body.into_inner())
        .map_err(|unreadable| ApiError::bad_request(format!("invalid JSON body: {unreadable}")))?;
    let product = Product::parse(&sku, request)?;
    let (stored, put) = store::put_product(&pool, &product).await?;
    tracing::info!(sku = %stored.sku, unit_price_cents = stored.unit_price_cents,
        staff = %staff.name, ?put, "product put");
    let view = ProductView::of(stored, &state);
    Ok(match put {
        Put::Created => HttpResponse::Created().json(view),
        Put::Updated => HttpResponse::Ok().json(view),
    })
}

/// The catalog, by SKU, a page at a time.
///
/// A customer or staff.
#[utoipa::path(
    get,
    path = "/products",
    tag = "products",
    security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, description = "A page of the catalog, by SKU", body = ProductPage),
        (status = 400, description = "A `limit` that is not a whole number", body = service_kit::api_error::ErrorBody),
        (status = 401, description = "No valid bearer token", body = service_kit::api_error::ErrorBody),
        (status = 422, description = "A `limit` out of range, or an empty or overlong `after`", body = service_kit::api_error::ErrorBody)
    )
)]
pub async fn list(
    _identity: Identity,
    query: web::Query<ListQuery>,
    pool: web::Data<PgPool>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let limit = query.limit()?;
    // One more than asked, to know whether another page follows.
    let after = query.after()?;
    let mut products = store::products(&pool, after, limit + 1).await?;
    let next_after = if products.len() > usize::try_from(limit).unwrap_or(usize::MAX) {
        products.truncate(products.len() - 1);
        products.last().map(|last| last.sku.clone())
    } else {
        None
    };
    let products = products
        .into_iter()
        .map(|product| ProductView::of(product, &state))
        .collect();
    Ok(HttpResponse::Ok().json(ProductPage {
        products,
        next_after,
    }))
}

/// One product of the catalog.
///
/// A customer or staff.
#[utoipa::path(
    get,
    path = "/products/{sku}",
    tag = "products",
    security(("bearer" = [])),
    params(("sku" = String, Path, min_length = 1, max_length = 100, pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$", description = "The product's SKU")),
    responses(
        (status = 200, description = "The product", body = ProductView),
        (status = 401, description = "No valid bearer token", body = service_kit::api_error::ErrorBody),
        (status = 404, description = "No such product", body = service_kit::api_error::ErrorBody),
        (status = 422, description = "A SKU that breaks the rules of SKUs", body = service_kit::api_error::ErrorBody)
    )
)]
pub async fn show(
    _identity: Identity,
    sku: web::Path<String>,
    pool: web::Data<PgPool>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let sku = Sku::parse(&sku).map_err(|message| ValidationError::new("sku", message))?;
    let product = store::product(&pool, sku.as_str())
        .await?
        .ok_or_else(|| ApiError::not_found(format!("there is no product {:?}", sku.as_str())))?;
    Ok(HttpResponse::Ok().json(ProductView::of(product, &state)))
}
