//! A payment: what billing charged for one order, and whether it was given back.

use serde::Serialize;
use uuid::Uuid;

/// Where a payment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PaymentStatus {
    Charged,
    Refunded,
}

/// Reads the stored `status` (its CHECK constraint allows only these two values).
impl TryFrom<String> for PaymentStatus {
    type Error = String;

    fn try_from(status: String) -> Result<Self, Self::Error> {
        match status.as_str() {
            "charged" => Ok(Self::Charged),
            "refunded" => Ok(Self::Refunded),
            other => Err(format!("unknown payment status `{other}`")),
        }
    }
}

/// One payment, as `GET /customers/{id}` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Payment {
    pub order_id: Uuid,
    pub amount_cents: i64,
    pub status: PaymentStatus,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payment_statuses_are_lowercase_in_json() {
        assert_eq!(
            serde_json::to_string(&PaymentStatus::Charged).unwrap(),
            "\"charged\""
        );
        assert_eq!(
            serde_json::to_string(&PaymentStatus::Refunded).unwrap(),
            "\"refunded\""
        );
    }

    #[test]
    fn a_stored_status_reads_back_and_an_unknown_one_is_refused() {
        assert_eq!(
            PaymentStatus::try_from("charged".to_owned()),
            Ok(PaymentStatus::Charged)
        );
        assert_eq!(
            PaymentStatus::try_from("refunded".to_owned()),
            Ok(PaymentStatus::Refunded)
        );
        assert!(PaymentStatus::try_from("pending".to_owned()).is_err());
    }
}
