//! The catalog: the products staff keep, and the prices an order is charged at.

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use crate::domain::{Prices, Product};

/// A product as stored (the API adds the shop's currency).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredProduct {
    pub sku: String,
    pub name: String,
    pub unit_price_cents: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Whether [`put_product`] created the product or changed an existing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    Created,
    Updated,
}

/// Creates `product`, or sets the name and price of the existing one with its SKU, in one
/// statement (concurrent PUTs of one SKU: the last one wins, neither fails).
pub async fn put_product(pool: &PgPool, product: &Product) -> anyhow::Result<(StoredProduct, Put)> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        product: StoredProduct,
        created: bool,
    }
    // `xmax = 0` holds for a row this statement inserted, not for one it updated: the usual way
    // to tell the two outcomes of an upsert apart in one round trip.
    let row: Row = sqlx::query_as(
        "INSERT INTO products (sku, name, unit_price_cents, created_at, updated_at)
         VALUES ($1, $2, $3, now(), now())
         ON CONFLICT (sku) DO UPDATE
             SET name = excluded.name,
                 unit_price_cents = excluded.unit_price_cents,
                 updated_at = now()
         RETURNING sku, name, unit_price_cents, created_at, updated_at, (xmax = 0) AS created",
    )
    .bind(product.sku().as_str())
    .bind(product.name())
    .bind(product.unit_price_cents())
    .fetch_one(pool)
    .await
    .with_context(|| format!("Failed to store product {:?}", product.sku().as_str()))?;
    let put = if row.created {
        Put::Created
    } else {
        Put::Updated
    };
    Ok((row.product, put))
}

/// The product `sku`; `None` if the catalog has none.
pub async fn product(pool: &PgPool, sku: &str) -> anyhow::Result<Option<StoredProduct>> {
    sqlx::query_as(
        "SELECT sku, name, unit_price_cents, created_at, updated_at FROM products WHERE sku = $1",
    )
    .bind(sku)
    .fetch_optional(pool)
    .await
    .with_context(|| format!("Failed to read product {sku:?}"))
}

/// Up to `limit` products after the SKU `after` (from the first without it), by SKU: one page
/// of the catalog, read along the primary key. Without `after`, from `''`, which every SKU
/// (never empty) comes after in code point order: one condition the index serves either way.
pub async fn products(
    pool: &PgPool,
    after: Option<&str>,
    limit: i64,
) -> anyhow::Result<Vec<StoredProduct>> {
    sqlx::query_as(
        "SELECT sku, name, unit_price_cents, created_at, updated_at FROM products
         WHERE sku > coalesce($1, '')
         ORDER BY sku
         LIMIT $2",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await
    .context("Failed to list the products")
}

/// The unit prices of `skus` in one query (on the hot path of every submission: one index
/// look-up per distinct SKU, one round trip per order, in the submission's own transaction).
/// SKUs the catalog lacks are left out.
pub async fn prices(connection: &mut PgConnection, skus: &[&str]) -> anyhow::Result<Prices> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT sku, unit_price_cents FROM products WHERE sku = ANY($1)")
            .bind(skus)
            .fetch_all(connection)
            .await
            .context("Failed to read the catalog's prices")?;
    Ok(Prices::new(rows))
}
