//! Composing an email: the subject and plain-text body for each event that triggers one.
//!
//! Pure functions of the event, so a redelivered event composes the very same email.

use contracts::logistics::OrderShipped;
use contracts::mailer::{EmailKind, EmailSent};
use contracts::order::{CancelReason, OrderCancelled, OrderConfirmed};
use uuid::Uuid;

/// One email about one order, ready to be recorded and sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub order_id: Uuid,
    pub kind: EmailKind,
    /// The address as the order gave it; empty for legacy orders, which had none.
    pub to: String,
    pub subject: String,
    pub body: String,
}

impl Email {
    /// "Your order 1a2b3c4d is confirmed", with the total.
    pub fn confirmed(event: &OrderConfirmed) -> Self {
        let short = short_id(event.order_id);
        Self {
            order_id: event.order_id,
            kind: EmailKind::OrderConfirmed,
            to: event.email.clone(),
            subject: format!("Your order {short} is confirmed"),
            body: format!(
                "Hello,\n\n\
                 your order {order} is paid and confirmed. We are preparing it for shipping.\n\n\
                 Order: {order}\n\
                 Total: {total}\n\n\
                 Thank you for shopping with us.\n",
                order = event.order_id,
                total = money(event.total_cents, &event.currency),
            ),
        }
    }

    /// "Your order 1a2b3c4d was cancelled (payment declined)", with the detail if any.
    pub fn cancelled(event: &OrderCancelled) -> Self {
        let short = short_id(event.order_id);
        let reason = reason_text(event.reason);
        let detail = event
            .detail
            .as_deref()
            .filter(|detail| !detail.trim().is_empty())
            .map(|detail| format!("Detail: {detail}\n"))
            .unwrap_or_default();
        Self {
            order_id: event.order_id,
            kind: EmailKind::OrderCancelled,
            to: event.email.clone(),
            subject: format!("Your order {short} was cancelled ({reason})"),
            body: format!(
                "Hello,\n\n\
                 we are sorry: your order {order} was cancelled. Any payment taken is refunded.\n\n\
                 Order: {order}\n\
                 Reason: {reason}\n\
                 {detail}",
                order = event.order_id,
            ),
        }
    }

    /// "Your order 1a2b3c4d has shipped (tracking 1Z…)"; the address comes from an earlier
    /// event, since a shipment carries none.
    pub fn shipped(event: &OrderShipped, to: String) -> Self {
        let short = short_id(event.order_id);
        let tracking = &event.tracking_number;
        Self {
            order_id: event.order_id,
            kind: EmailKind::OrderShipped,
            to,
            subject: format!("Your order {short} has shipped (tracking {tracking})"),
            body: format!(
                "Hello,\n\n\
                 your order {order} left our warehouse on {date}.\n\n\
                 Order: {order}\n\
                 Tracking number: {tracking}\n",
                order = event.order_id,
                date = event.shipped_at.format("%Y-%m-%d"),
            ),
        }
    }

    /// The `Message-ID`: the same for every attempt at this email, so a mail server or client
    /// can recognise the duplicate that an at-least-once resend would produce.
    pub fn message_id(&self, domain: &str) -> String {
        format!("<{}.{}@{domain}>", self.kind, self.order_id.simple())
    }

    /// Whether an address is known at all; legacy orders have none.
    pub fn has_recipient(&self) -> bool {
        !self.to.trim().is_empty()
    }

    /// What the mailer publishes once this email was handed over.
    pub fn sent(&self) -> EmailSent {
        EmailSent {
            order_id: self.order_id,
            to: self.to.clone(),
            kind: self.kind,
            subject: self.subject.clone(),
        }
    }
}

/// The first eight hex digits of the id: enough for a customer to tell orders apart in a subject.
fn short_id(order_id: Uuid) -> String {
    order_id.simple().to_string()[..8].to_owned()
}

/// `1234, "EUR"` → `12.34 EUR`.
fn money(cents: i64, currency: &str) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    format!("{sign}{}.{:02} {currency}", cents / 100, cents % 100)
}

/// The reason in words, for a customer rather than a program.
fn reason_text(reason: CancelReason) -> &'static str {
    match reason {
        CancelReason::PaymentDeclined => "payment declined",
        CancelReason::OutOfStock => "out of stock",
        CancelReason::Timeout => "timeout",
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    fn order_id() -> Uuid {
        Uuid::parse_str("1a2b3c4d-0000-4000-8000-000000000001").unwrap()
    }

    fn cancelled(detail: Option<&str>) -> OrderCancelled {
        OrderCancelled {
            order_id: order_id(),
            customer_id: "c-1".into(),
            email: "ada@example.com".into(),
            reason: CancelReason::OutOfStock,
            detail: detail.map(str::to_owned),
        }
    }

    #[test]
    fn a_confirmation_names_the_order_and_its_total() {
        let email = Email::confirmed(&OrderConfirmed {
            order_id: order_id(),
            customer_id: "c-1".into(),
            email: "ada@example.com".into(),
            total_cents: 3097,
            currency: "EUR".into(),
        });
        assert_eq!(email.kind, EmailKind::OrderConfirmed);
        assert_eq!(email.to, "ada@example.com");
        assert_eq!(email.subject, "Your order 1a2b3c4d is confirmed");
        assert!(email.body.contains(&order_id().to_string()));
        assert!(email.body.contains("Total: 30.97 EUR"));
    }

    #[test]
    fn a_cancellation_gives_the_reason_and_the_detail() {
        let email = Email::cancelled(&cancelled(Some("PEN-7: 3 requested, 1 available")));
        assert_eq!(
            email.subject,
            "Your order 1a2b3c4d was cancelled (out of stock)"
        );
        assert!(email.body.contains("Reason: out of stock"));
        assert!(
            email
                .body
                .contains("Detail: PEN-7: 3 requested, 1 available")
        );
        assert!(!Email::cancelled(&cancelled(None)).body.contains("Detail"));
        assert!(
            !Email::cancelled(&cancelled(Some(" ")))
                .body
                .contains("Detail")
        );
    }

    #[test]
    fn a_shipment_notice_gives_the_tracking_number() {
        let event = OrderShipped {
            order_id: order_id(),
            tracking_number: "TRK-42".into(),
            shipped_at: Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap(),
        };
        let email = Email::shipped(&event, "ada@example.com".into());
        assert_eq!(
            email.subject,
            "Your order 1a2b3c4d has shipped (tracking TRK-42)"
        );
        assert!(email.body.contains("Tracking number: TRK-42"));
        assert!(email.body.contains("2025-03-01"));
        assert_eq!(email.to, "ada@example.com");
    }

    #[test]
    fn the_message_id_is_the_same_for_every_attempt_at_one_email() {
        let email = Email::cancelled(&cancelled(None));
        assert_eq!(
            email.message_id("example.com"),
            "<order_cancelled.1a2b3c4d000040008000000000000001@example.com>"
        );
        assert_eq!(
            email.message_id("example.com"),
            Email::cancelled(&cancelled(None)).message_id("example.com")
        );
    }

    #[test]
    fn money_is_written_with_two_decimals() {
        assert_eq!(money(0, "EUR"), "0.00 EUR");
        assert_eq!(money(5, "CHF"), "0.05 CHF");
        assert_eq!(money(123_456, "EUR"), "1234.56 EUR");
        assert_eq!(money(-250, "EUR"), "-2.50 EUR");
        assert_eq!(money(i64::MIN, "EUR"), "-92233720368547758.08 EUR");
    }

    #[test]
    fn every_reason_reads_as_words() {
        assert_eq!(
            reason_text(CancelReason::PaymentDeclined),
            "payment declined"
        );
        assert_eq!(reason_text(CancelReason::Timeout), "timeout");
    }

    #[test]
    fn an_empty_address_is_no_recipient() {
        let mut email = Email::cancelled(&cancelled(None));
        assert!(email.has_recipient());
        email.to = String::new();
        assert!(!email.has_recipient());
        assert_eq!(email.sent().to, "");
    }
}
