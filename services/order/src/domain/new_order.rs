//! The validated [`NewOrder`] an [`OrderRequest`] becomes: what the client asked for, before it
//! is priced from the catalog ([`super::PricedOrder`]).

use super::product::check_unit_price;
use super::{Currency, CustomerId, Email, LineRequest, OrderRequest, Sku, ValidationError};

/// At most this many lines per order.
pub const MAX_LINES: usize = 100;
/// The quantity of a line lies in `1..=MAX_QUANTITY`.
pub const MAX_QUANTITY: i64 = 1_000;

/// An order every rule holds for, as the client asked it; only [`NewOrder::parse`] makes one.
/// It is also what an idempotent replay is compared with: what was asked, not what it cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    customer_id: CustomerId,
    email: Email,
    currency: Currency,
    lines: Vec<NewLine>,
}

/// A validated line: which product, how many, and the price the client stated, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLine {
    sku: Sku,
    quantity: u32,
    stated_unit_price_cents: Option<i64>,
}

impl NewOrder {
    /// Checks every field of `request` for `customer_id` (settled from the token by
    /// [`super::buyer`]) in the shop's `currency`, reporting the first broken rule with its JSON
    /// path. A request that names no currency is in the shop's; one that names another is
    /// refused, since every price of the catalog is in the shop's.
    pub fn parse(
        request: OrderRequest,
        customer_id: CustomerId,
        currency: &Currency,
    ) -> Result<Self, ValidationError> {
        let email = Email::parse(&request.email)
            .map_err(|message| ValidationError::new("email", message))?;
        if let Some(named) = &request.currency {
            let named = Currency::parse(named)
                .map_err(|message| ValidationError::new("currency", message))?;
            if &named != currency {
                return Err(ValidationError::new(
                    "currency",
                    format!(
                        "must be {}, the shop's currency, which every price is in",
                        currency.as_str()
                    ),
                ));
            }
        }
        if request.lines.is_empty() {
            return Err(ValidationError::new("lines", "must hold at least one line"));
        }
        if request.lines.len() > MAX_LINES {
            return Err(ValidationError::new(
                "lines",
                format!("must hold at most {MAX_LINES} lines"),
            ));
        }
        let lines = request
            .lines
            .iter()
            .enumerate()
            .map(|(index, line)| NewLine::parse(index, line))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            customer_id,
            email,
            currency: currency.clone(),
            lines,
        })
    }

    pub fn customer_id(&self) -> &CustomerId {
        &self.customer_id
    }

    pub fn email(&self) -> &Email {
        &self.email
    }

    pub fn currency(&self) -> &Currency {
        &self.currency
    }

    pub fn lines(&self) -> &[NewLine] {
        &self.lines
    }
}

impl NewLine {
    fn parse(index: usize, line: &LineRequest) -> Result<Self, ValidationError> {
        let field = |name: &str| format!("lines[{index}].{name}");
        let sku =
            Sku::parse(&line.sku).map_err(|message| ValidationError::new(field("sku"), message))?;
        let quantity = u32::try_from(line.quantity)
            .ok()
            .filter(|quantity| (1..=MAX_QUANTITY).contains(&i64::from(*quantity)))
            .ok_or_else(|| {
                ValidationError::new(
                    field("quantity"),
                    format!("must be between 1 and {MAX_QUANTITY}"),
                )
            })?;
        let stated_unit_price_cents = line
            .unit_price_cents
            .map(|cents| check_unit_price(field("unit_price_cents"), cents))
            .transpose()?;
        Ok(Self {
            sku,
            quantity,
            stated_unit_price_cents,
        })
    }

    pub fn sku(&self) -> &Sku {
        &self.sku
    }

    pub fn quantity(&self) -> u32 {
        self.quantity
    }

    /// The unit price the client showed, which must be the catalog's; `None` if it stated none.
    pub fn stated_unit_price_cents(&self) -> Option<i64> {
        self.stated_unit_price_cents
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(sku: &str, quantity: i64, unit_price_cents: Option<i64>) -> LineRequest {
        LineRequest {
            sku: sku.into(),
            quantity,
            unit_price_cents,
        }
    }

    fn request() -> OrderRequest {
        OrderRequest {
            customer_id: None,
            email: "alice@example.com".into(),
            currency: Some("EUR".into()),
            lines: vec![line("SKU-1", 2, Some(1999)), line("SKU-2", 1, None)],
        }
    }

    fn eur() -> Currency {
        Currency::parse("EUR").unwrap()
    }

    fn parse(request: OrderRequest) -> Result<NewOrder, ValidationError> {
        NewOrder::parse(request, CustomerId::parse("alice").unwrap(), &eur())
    }

    /// The field a request breaks, after `change` is applied to a valid one.
    fn broken_field(change: impl FnOnce(&mut OrderRequest)) -> String {
        let mut request = request();
        change(&mut request);
        parse(request).unwrap_err().field
    }

    #[test]
    fn a_valid_request_becomes_an_order_as_asked() {
        let order = parse(request()).unwrap();
        assert_eq!(order.customer_id().as_str(), "alice");
        assert_eq!(order.email().as_str(), "alice@example.com");
        assert_eq!(order.currency().as_str(), "EUR");
        assert_eq!(order.lines().len(), 2);
        assert_eq!(order.lines()[0].sku().as_str(), "SKU-1");
        assert_eq!(order.lines()[0].quantity(), 2);
        assert_eq!(order.lines()[0].stated_unit_price_cents(), Some(1999));
        assert_eq!(order.lines()[1].stated_unit_price_cents(), None);
    }

    #[test]
    fn an_order_without_a_currency_is_in_the_shops() {
        let mut request = request();
        request.currency = None;
        assert_eq!(parse(request).unwrap().currency(), &eur());
    }

    #[test]
    fn a_currency_other_than_the_shops_is_refused_naming_currency() {
        assert_eq!(
            broken_field(|r| r.currency = Some("CHF".into())),
            "currency"
        );
        assert_eq!(
            broken_field(|r| r.currency = Some("eur".into())),
            "currency"
        );
        let mut chf = request();
        chf.currency = Some("CHF".into());
        let error = parse(chf).unwrap_err();
        assert!(error.message.contains("EUR"), "{error}");
    }

    #[test]
    fn the_email_is_checked_and_named() {
        assert_eq!(broken_field(|r| r.email = "alice".into()), "email");
    }

    #[test]
    fn an_order_needs_between_1_and_100_lines() {
        assert_eq!(broken_field(|r| r.lines.clear()), "lines");
        assert_eq!(
            broken_field(|r| r.lines = (0..101).map(|_| line("S", 1, None)).collect()),
            "lines"
        );
        let mut hundred = request();
        hundred.lines = (0..100).map(|_| line("S", 1, None)).collect();
        assert_eq!(parse(hundred).unwrap().lines().len(), 100);
    }

    #[test]
    fn quantities_outside_1_to_1000_are_refused_naming_the_line() {
        for quantity in [0, -1, 1001, i64::from(u32::MAX) + 1, i64::MIN] {
            assert_eq!(
                broken_field(|r| r.lines[1].quantity = quantity),
                "lines[1].quantity",
                "quantity {quantity}"
            );
        }
        let mut edge = request();
        edge.lines[0].quantity = 1000;
        assert!(parse(edge).is_ok());
    }

    #[test]
    fn a_stated_unit_price_outside_the_catalogs_range_is_refused_naming_the_line() {
        for cents in [0, -1, 100_000_001, i64::MAX] {
            assert_eq!(
                broken_field(|r| r.lines[0].unit_price_cents = Some(cents)),
                "lines[0].unit_price_cents",
                "{cents}"
            );
        }
    }

    #[test]
    fn an_empty_or_overlong_sku_is_refused_naming_the_line() {
        assert_eq!(broken_field(|r| r.lines[1].sku = "".into()), "lines[1].sku");
        assert_eq!(
            broken_field(|r| r.lines[0].sku = "s".repeat(101)),
            "lines[0].sku"
        );
    }
}
