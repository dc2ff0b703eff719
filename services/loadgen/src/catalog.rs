//! The products the load orders: [`SKUS`] SKUs at one price. An order line's price comes from
//! the order service's catalog and an unknown SKU is refused, so [`seed`] puts them there
//! (`PUT /products/{sku}`, staff) before the load starts; the orders then state no price.

use anyhow::{Context, bail};

use crate::journey::Shop;

/// How many SKUs the orders spread over: `SKU-0` to `SKU-99`.
pub const SKUS: u64 = 100;

/// What each of them costs.
pub const UNIT_PRICE_CENTS: i64 = 1999;

/// The SKU of order number `n`.
pub fn sku(n: u64) -> String {
    format!("SKU-{}", n % SKUS)
}

/// Puts every SKU of the load in the catalog at [`UNIT_PRICE_CENTS`], as staff.
pub async fn seed(shop: &Shop) -> anyhow::Result<()> {
    for n in 0..SKUS {
        let sku = sku(n);
        let response = shop
            .http
            .put(format!("{}/products/{sku}", shop.order_url))
            .bearer_auth(shop.tokens.staff())
            .json(&serde_json::json!({
                "name": format!("Benchmark product {n}"),
                "unit_price_cents": UNIT_PRICE_CENTS,
            }))
            .send()
            .await
            .with_context(|| format!("PUT /products/{sku} failed"))?;
        let status = response.status();
        if !status.is_success() {
            let text = response.text().await.unwrap_or_default();
            bail!("PUT /products/{sku} answered {status}: {text}");
        }
    }
    Ok(())
}
