//! An order priced from the catalog: what is stored, announced (`order.v2.submit`) and charged.
//!
//! The shop sets the prices; a client only states, if it wants, the price it showed. A stated
//! price that is not the catalog's refuses the whole order, so that a customer looking at a
//! stale page learns the current price instead of being charged one they never saw.

use std::collections::HashMap;

use service_kit::ApiError;

use super::{Currency, CustomerId, Email, NewOrder, Sku, ValidationError};

/// The catalog's current unit prices of some SKUs (those of one order), read in one query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prices(HashMap<String, i64>);

impl Prices {
    pub fn new(prices: impl IntoIterator<Item = (String, i64)>) -> Self {
        Self(prices.into_iter().collect())
    }

    /// The unit price of `sku`, in cents; `None` if the catalog has no such product.
    pub fn of(&self, sku: &Sku) -> Option<i64> {
        self.0.get(sku.as_str()).copied()
    }
}

/// An order with the catalog's prices and its total; only [`NewOrder::priced`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedOrder {
    customer_id: CustomerId,
    email: Email,
    currency: Currency,
    lines: Vec<PricedLine>,
    total_cents: i64,
}

/// A line at the catalog's price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedLine {
    sku: Sku,
    quantity: u32,
    unit_price_cents: i64,
}

/// A line whose stated price is not the catalog's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StalePrice {
    pub index: usize,
    pub sku: String,
    pub stated_cents: i64,
    pub catalog_cents: i64,
}

/// Why an order cannot be priced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PricingError {
    /// The line's SKU is not in the catalog → 422 naming `lines[i].sku`.
    UnknownSku { index: usize, sku: String },
    /// Stated prices that are not the catalog's (every such line, in order) → 409.
    StalePrices(Vec<StalePrice>),
    /// The total does not fit an `i64`. The catalog's bounds make this impossible (see
    /// [`super::product::MAX_UNIT_PRICE_CENTS`]); it is checked all the same, as a 422.
    TotalTooLarge,
}

impl From<PricingError> for ApiError {
    fn from(error: PricingError) -> Self {
        match error {
            PricingError::UnknownSku { index, sku } => ApiError::validation(
                format!("lines[{index}].sku"),
                format!("{sku:?} is not in the catalog (GET /products lists what the shop sells)"),
            ),
            PricingError::StalePrices(stale) => {
                let lines: Vec<String> = stale
                    .iter()
                    .map(|line| {
                        format!(
                            "lines[{}] ({:?}) states {} cents, the catalog's price is now {} cents",
                            line.index, line.sku, line.stated_cents, line.catalog_cents
                        )
                    })
                    .collect();
                ApiError::conflict(format!(
                    "the catalog's prices differ from the prices stated: {}; nothing was \
                     ordered, submit again with the current prices (or none)",
                    lines.join("; ")
                ))
            }
            PricingError::TotalTooLarge => {
                ValidationError::new("lines", "the order's total is too large to be represented")
                    .into()
            }
        }
    }
}

impl NewOrder {
    /// This order at the catalog's `prices`: every SKU must be in the catalog, and every stated
    /// price must be the catalog's. The first unknown SKU is reported; every stale price is.
    pub fn priced(&self, prices: &Prices) -> Result<PricedOrder, PricingError> {
        let mut lines = Vec::with_capacity(self.lines().len());
        let mut stale = Vec::new();
        for (index, line) in self.lines().iter().enumerate() {
            let unit_price_cents =
                prices
                    .of(line.sku())
                    .ok_or_else(|| PricingError::UnknownSku {
                        index,
                        sku: line.sku().as_str().to_owned(),
                    })?;
            if let Some(stated_cents) = line.stated_unit_price_cents()
                && stated_cents != unit_price_cents
            {
                stale.push(StalePrice {
                    index,
                    sku: line.sku().as_str().to_owned(),
                    stated_cents,
                    catalog_cents: unit_price_cents,
                });
            }
            lines.push(PricedLine {
                sku: line.sku().clone(),
                quantity: line.quantity(),
                unit_price_cents,
            });
        }
        if !stale.is_empty() {
            return Err(PricingError::StalePrices(stale));
        }
        let total_cents = lines
            .iter()
            .try_fold(0_i64, |total, line| total.checked_add(line.total_cents()?))
            .ok_or(PricingError::TotalTooLarge)?;
        Ok(PricedOrder {
            customer_id: self.customer_id().clone(),
            email: self.email().clone(),
            currency: self.currency().clone(),
            lines,
            total_cents,
        })
    }

    /// The distinct SKUs of the order, for the one catalog query that prices it.
    pub fn skus(&self) -> Vec<&str> {
        let mut skus: Vec<&str> = self
            .lines()
            .iter()
            .map(|line| line.sku().as_str())
            .collect();
        skus.sort_unstable();
        skus.dedup();
        skus
    }
}

impl PricedOrder {
    pub fn customer_id(&self) -> &CustomerId {
        &self.customer_id
    }

    pub fn email(&self) -> &Email {
        &self.email
    }

    pub fn currency(&self) -> &Currency {
        &self.currency
    }

    pub fn lines(&self) -> &[PricedLine] {
        &self.lines
    }

    /// The sum of the lines' totals, in cents of [`Self::currency`].
    pub fn total_cents(&self) -> i64 {
        self.total_cents
    }
}

impl PricedLine {
    pub fn sku(&self) -> &Sku {
        &self.sku
    }

    pub fn quantity(&self) -> u32 {
        self.quantity
    }

    /// The catalog's price when the order was submitted.
    pub fn unit_price_cents(&self) -> i64 {
        self.unit_price_cents
    }

    /// `quantity × unit_price_cents`, or `None` on overflow.
    pub fn total_cents(&self) -> Option<i64> {
        self.unit_price_cents.checked_mul(i64::from(self.quantity))
    }

    /// The line as the events of the flow carry it.
    pub fn to_contract(&self) -> contracts::order::OrderLine {
        contracts::order::OrderLine {
            sku: self.sku.as_str().to_owned(),
            quantity: self.quantity,
            unit_price_cents: self.unit_price_cents,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{LineRequest, OrderRequest};

    fn order(lines: &[(&str, i64, Option<i64>)]) -> NewOrder {
        let request = OrderRequest {
            customer_id: None,
            email: "alice@example.com".into(),
            currency: None,
            lines: lines
                .iter()
                .map(|&(sku, quantity, unit_price_cents)| LineRequest {
                    sku: sku.into(),
                    quantity,
                    unit_price_cents,
                })
                .collect(),
        };
        NewOrder::parse(
            request,
            CustomerId::parse("alice").unwrap(),
            &Currency::parse("EUR").unwrap(),
        )
        .unwrap()
    }

    fn catalog() -> Prices {
        Prices::new([("SKU-1".to_owned(), 1999), ("SKU-2".to_owned(), 500)])
    }

    #[test]
    fn an_order_is_priced_from_the_catalog_with_its_total() {
        let priced = order(&[("SKU-1", 2, None), ("SKU-2", 1, Some(500))])
            .priced(&catalog())
            .unwrap();
        assert_eq!(priced.lines()[0].unit_price_cents(), 1999);
        assert_eq!(priced.lines()[1].unit_price_cents(), 500);
        assert_eq!(priced.total_cents(), 2 * 1999 + 500);
        assert_eq!(priced.customer_id().as_str(), "alice");
        assert_eq!(priced.currency().as_str(), "EUR");
        let line = priced.lines()[0].to_contract();
        assert_eq!((line.sku.as_str(), line.quantity), ("SKU-1", 2));
        assert_eq!(line.unit_price_cents, 1999);
    }

    #[test]
    fn an_unknown_sku_is_refused_naming_its_line() {
        let error = order(&[("SKU-1", 1, None), ("SKU-9", 1, None)])
            .priced(&catalog())
            .unwrap_err();
        assert_eq!(
            error,
            PricingError::UnknownSku {
                index: 1,
                sku: "SKU-9".into()
            }
        );
        match ApiError::from(error) {
            ApiError::Validation { field, .. } => assert_eq!(field, "lines[1].sku"),
            other => panic!("not a validation error: {other:?}"),
        }
    }

    #[test]
    fn every_stale_stated_price_is_reported_with_the_catalogs() {
        let error = order(&[
            ("SKU-1", 1, Some(1899)),
            ("SKU-2", 1, Some(500)),
            ("SKU-2", 3, Some(450)),
        ])
        .priced(&catalog())
        .unwrap_err();
        let PricingError::StalePrices(stale) = &error else {
            panic!("not stale prices: {error:?}")
        };
        assert_eq!(
            stale.iter().map(|line| line.index).collect::<Vec<_>>(),
            [0, 2]
        );
        let refusal = ApiError::from(error);
        assert_eq!(refusal.kind(), "conflict");
        let message = refusal.to_string();
        assert!(
            message.contains("lines[0]") && message.contains("1999"),
            "{message}"
        );
        assert!(
            message.contains("lines[2]") && message.contains("500"),
            "{message}"
        );
    }

    #[test]
    fn the_skus_are_listed_once_each() {
        let order = order(&[("SKU-2", 1, None), ("SKU-1", 1, None), ("SKU-2", 2, None)]);
        assert_eq!(order.skus(), ["SKU-1", "SKU-2"]);
    }
}
