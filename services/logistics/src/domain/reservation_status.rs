//! Where an order's reservation stands: reserved, then either released or shipped.

/// Where a reservation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReservationStatus {
    /// The units are set aside.
    Reserved,
    /// Given back to stock: the order was cancelled.
    Released,
    /// Taken out of stock: the order left the warehouse.
    Shipped,
}

/// Reads the stored `status` (its CHECK constraint allows only these three values).
impl TryFrom<String> for ReservationStatus {
    type Error = String;

    fn try_from(status: String) -> Result<Self, Self::Error> {
        match status.as_str() {
            "reserved" => Ok(Self::Reserved),
            "released" => Ok(Self::Released),
            "shipped" => Ok(Self::Shipped),
            other => Err(format!("unknown reservation status `{other}`")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stored_status_reads_back_and_an_unknown_one_is_refused() {
        for (stored, status) in [
            ("reserved", ReservationStatus::Reserved),
            ("released", ReservationStatus::Released),
            ("shipped", ReservationStatus::Shipped),
        ] {
            assert_eq!(ReservationStatus::try_from(stored.to_owned()), Ok(status));
        }
        assert!(ReservationStatus::try_from("lost".to_owned()).is_err());
    }
}
