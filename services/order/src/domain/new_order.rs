//! The validated [`NewOrder`] an [`OrderRequest`] becomes.

use super::{Currency, CustomerId, Email, LineRequest, OrderRequest, Sku, ValidationError};

/// At most this many lines per order.
pub const MAX_LINES: usize = 100;
/// The quantity of a line lies in `1..=MAX_QUANTITY`.
pub const MAX_QUANTITY: i64 = 1_000;

/// An order every rule holds for; only [`NewOrder::parse`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    customer_id: CustomerId,
    email: Email,
    currency: Currency,
    lines: Vec<NewLine>,
    total_cents: i64,
}

/// A validated line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLine {
    sku: Sku,
    quantity: u32,
    unit_price_cents: i64,
}

impl NewOrder {
    /// Checks every field, reporting the first broken rule with its JSON path, and computes the
    /// total with checked arithmetic (an overflow is the client's mistake, not a panic).
    pub fn parse(request: OrderRequest) -> Result<Self, ValidationError> {
        let customer_id = CustomerId::parse(&request.customer_id)
            .map_err(|message| ValidationError::new("customer_id", message))?;
        let email = Email::parse(&request.email)
            .map_err(|message| ValidationError::new("email", message))?;
        let currency = Currency::parse(&request.currency)
            .map_err(|message| ValidationError::new("currency", message))?;
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
        let total_cents = total_of(&lines).ok_or_else(|| {
            ValidationError::new("lines", "the order's total is too large to be represented")
        })?;
        Ok(Self {
            customer_id,
            email,
            currency,
            lines,
            total_cents,
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

    /// The sum of the lines' totals, in cents of [`Self::currency`].
    pub fn total_cents(&self) -> i64 {
        self.total_cents
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
        if line.unit_price_cents < 0 {
            return Err(ValidationError::new(
                field("unit_price_cents"),
                "must not be negative",
            ));
        }
        Ok(Self {
            sku,
            quantity,
            unit_price_cents: line.unit_price_cents,
        })
    }

    pub fn sku(&self) -> &Sku {
        &self.sku
    }

    pub fn quantity(&self) -> u32 {
        self.quantity
    }

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

fn total_of(lines: &[NewLine]) -> Option<i64> {
    lines
        .iter()
        .try_fold(0_i64, |total, line| total.checked_add(line.total_cents()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(sku: &str, quantity: i64, unit_price_cents: i64) -> LineRequest {
        LineRequest {
            sku: sku.into(),
            quantity,
            unit_price_cents,
        }
    }

    fn request() -> OrderRequest {
        OrderRequest {
            customer_id: "alice".into(),
            email: "alice@example.com".into(),
            currency: "EUR".into(),
            lines: vec![line("SKU-1", 2, 1999), line("SKU-2", 1, 500)],
        }
    }

    /// The field a request breaks, after `change` is applied to a valid one.
    fn broken_field(change: impl FnOnce(&mut OrderRequest)) -> String {
        let mut request = request();
        change(&mut request);
        NewOrder::parse(request).unwrap_err().field
    }

    #[test]
    fn a_valid_request_becomes_an_order_with_its_total() {
        let order = NewOrder::parse(request()).unwrap();
        assert_eq!(order.customer_id().as_str(), "alice");
        assert_eq!(order.email().as_str(), "alice@example.com");
        assert_eq!(order.currency().as_str(), "EUR");
        assert_eq!(order.lines().len(), 2);
        assert_eq!(order.lines()[0].sku().as_str(), "SKU-1");
        assert_eq!(order.lines()[0].quantity(), 2);
        assert_eq!(order.total_cents(), 2 * 1999 + 500);
    }

    #[test]
    fn each_top_level_field_is_checked_and_named() {
        assert_eq!(broken_field(|r| r.customer_id = "".into()), "customer_id");
        assert_eq!(
            broken_field(|r| r.customer_id = "x".repeat(101)),
            "customer_id"
        );
        assert_eq!(broken_field(|r| r.email = "alice".into()), "email");
        assert_eq!(broken_field(|r| r.currency = "eur".into()), "currency");
    }

    #[test]
    fn an_order_needs_between_1_and_100_lines() {
        assert_eq!(broken_field(|r| r.lines.clear()), "lines");
        assert_eq!(
            broken_field(|r| r.lines = (0..101).map(|_| line("S", 1, 1)).collect()),
            "lines"
        );
        let mut hundred = request();
        hundred.lines = (0..100).map(|_| line("S", 1, 1)).collect();
        assert_eq!(NewOrder::parse(hundred).unwrap().total_cents(), 100);
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
        assert!(NewOrder::parse(edge).is_ok());
    }

    #[test]
    fn a_negative_unit_price_is_refused_and_a_free_item_accepted() {
        assert_eq!(
            broken_field(|r| r.lines[0].unit_price_cents = -1),
            "lines[0].unit_price_cents"
        );
        let mut free = request();
        free.lines[0].unit_price_cents = 0;
        assert_eq!(NewOrder::parse(free).unwrap().total_cents(), 500);
    }

    #[test]
    fn an_empty_or_overlong_sku_is_refused_naming_the_line() {
        assert_eq!(broken_field(|r| r.lines[1].sku = "".into()), "lines[1].sku");
        assert_eq!(
            broken_field(|r| r.lines[0].sku = "s".repeat(101)),
            "lines[0].sku"
        );
    }

    #[test]
    fn a_total_that_overflows_is_a_validation_error() {
        assert_eq!(
            broken_field(|r| r.lines[0] = line("SKU-1", 2, i64::MAX / 2 + 1)),
            "lines"
        );
        assert_eq!(
            broken_field(|r| {
                r.lines = vec![line("A", 1, i64::MAX), line("B", 1, 1)];
            }),
            "lines"
        );
    }

    #[test]
    fn lines_convert_to_the_contract_shape() {
        let order = NewOrder::parse(request()).unwrap();
        let line = order.lines()[0].to_contract();
        assert_eq!(line.sku, "SKU-1");
        assert_eq!(line.quantity, 2);
        assert_eq!(line.unit_price_cents, 1999);
    }
}
