//! Where the mailer writes to.

/// The longest address SMTP can carry (RFC 5321: a 256-octet path minus the angle brackets).
const MAX_LENGTH: usize = 254;
/// The longest local part (before the `@`) SMTP allows.
const MAX_LOCAL_LENGTH: usize = 64;

/// An email address that is plausibly deliverable: one `@`, a name before it, a dotted domain
/// after it, no whitespace. Not a full RFC 5322 parser (quoted local parts are refused), but it
/// catches the typos a customer makes, which is what a checkout form needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.is_empty() {
            return Err("must not be empty".into());
        }
        if raw.chars().count() > MAX_LENGTH {
            return Err(format!("must be at most {MAX_LENGTH} characters"));
        }
        if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("must not contain spaces or control characters".into());
        }
        let Some((local, domain)) = raw.split_once('@') else {
            return Err("must contain an @".into());
        };
        if domain.contains('@') {
            return Err("must contain exactly one @".into());
        }
        if local.is_empty() {
            return Err("needs a name before the @".into());
        }
        if local.chars().count() > MAX_LOCAL_LENGTH {
            return Err(format!(
                "the part before the @ must be at most {MAX_LOCAL_LENGTH} characters"
            ));
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2 || labels.iter().any(|label| label.is_empty()) {
            return Err("needs a domain with a dot after the @, like example.com".into());
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_addresses_are_accepted_as_given() {
        for good in [
            "alice@example.com",
            "a@b.co",
            "first.last+tag@mail.example.org",
            "ünïcode@exämple.de",
        ] {
            assert_eq!(Email::parse(good).unwrap().as_str(), good);
        }
    }

    #[test]
    fn addresses_without_a_proper_at_are_refused() {
        for bad in [
            "",
            "alice",
            "alice@@example.com",
            "a@b@example.com",
            "@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn domains_without_a_dot_or_with_empty_labels_are_refused() {
        for bad in [
            "alice@localhost",
            "alice@",
            "alice@.com",
            "alice@example.",
            "alice@example..com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn whitespace_and_control_characters_are_refused() {
        for bad in [
            "alice @example.com",
            " alice@example.com",
            "alice@example.com\n",
            "al\tice@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn an_address_of_254_characters_is_accepted_and_one_longer_refused() {
        let domain = format!("{}.com", "d".repeat(240));
        let fits = format!("{}@{domain}", "a".repeat(MAX_LENGTH - domain.len() - 1));
        assert_eq!(fits.len(), MAX_LENGTH);
        assert!(Email::parse(&fits).is_ok());
        assert!(Email::parse(&format!("a{fits}")).is_err());
    }

    #[test]
    fn a_local_part_longer_than_64_characters_is_refused() {
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(64))).is_ok());
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(65))).is_err());
    }
}
