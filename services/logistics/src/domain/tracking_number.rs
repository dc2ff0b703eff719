//! The carrier's tracking number of a shipment (simulated: there is no carrier).

use uuid::Uuid;

/// `TRK-` and 12 uppercase hexadecimal digits taken from a random UUID: unique enough for a
/// simulated carrier, and easy to read out over the phone.
pub fn tracking_number() -> String {
    let digits: String = Uuid::new_v4()
        .simple()
        .to_string()
        .chars()
        .take(12)
        .map(|digit| digit.to_ascii_uppercase())
        .collect();
    format!("TRK-{digits}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tracking_number_is_trk_and_twelve_uppercase_hex_digits() {
        let number = tracking_number();
        let digits = number.strip_prefix("TRK-").expect("TRK- prefix");
        assert_eq!(digits.len(), 12);
        assert!(
            digits
                .chars()
                .all(|c| c.is_ascii_digit() || ('A'..='F').contains(&c)),
            "{number}"
        );
    }

    #[test]
    fn two_tracking_numbers_differ() {
        assert_ne!(tracking_number(), tracking_number());
    }
}
