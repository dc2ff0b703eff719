//! What the shop reads from a verified token.

use serde::{Deserialize, Deserializer, Serialize};

/// The claims of a token. `exp`, `nbf`, `iss` and `aud` are checked by the
/// [`super::Verifier`]; `sub` names the caller (the customer id of a customer), and `roles` what
/// it may do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub iss: String,
    /// The audience. Identity providers may name several (`"aud": ["shop", "..."]`); such a
    /// token reads as its first, and the [`super::Verifier`] replaces it with the audience it
    /// checked, so that a verified token's `aud` is always this service's.
    #[serde(deserialize_with = "one_or_many")]
    pub aud: String,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
    /// Issued at, seconds since the epoch; optional in a JWT (RFC 7519), hence 0 when absent.
    #[serde(default)]
    pub iat: u64,
    /// Not before, seconds since the epoch: a token issued for later is refused until then.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub nbf: Option<u64>,
    /// The roles granted, by name (`customer`, `staff`); unknown names are ignored.
    #[serde(default)]
    pub roles: Vec<String>,
}

/// `aud` as a string, or the first of an array of strings (an empty array reads as `""`, which
/// no audience matches).
fn one_or_many<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Audience {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Audience::deserialize(deserializer)? {
        Audience::One(audience) => audience,
        Audience::Many(audiences) => audiences.into_iter().next().unwrap_or_default(),
    })
}

/// The roles the shop knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Orders for themselves and reads their own orders and account; the subject is the
    /// customer id.
    Customer,
    /// Runs the shop: sets prices, stock and credit limits, reads everything, replays dead
    /// letters.
    Staff,
}

impl Role {
    /// The name in a token's `roles`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Customer => "customer",
            Self::Staff => "staff",
        }
    }

    /// The strongest role among `names`: staff over customer.
    pub fn strongest(names: &[String]) -> Option<Self> {
        let has = |role: Self| names.iter().any(|name| name == role.as_str());
        if has(Self::Staff) {
            Some(Self::Staff)
        } else if has(Self::Customer) {
            Some(Self::Customer)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staff_wins_over_customer_and_unknown_roles_count_for_nothing() {
        let names = |list: &[&str]| {
            list.iter()
                .map(|name| (*name).to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            Role::strongest(&names(&["customer", "staff"])),
            Some(Role::Staff)
        );
        assert_eq!(Role::strongest(&names(&["customer"])), Some(Role::Customer));
        assert_eq!(Role::strongest(&names(&["admin", "Staff"])), None);
        assert_eq!(Role::strongest(&[]), None);
    }

    #[test]
    fn claims_read_an_audience_array_a_missing_iat_and_an_optional_nbf() {
        let claims: Claims = serde_json::from_value(serde_json::json!({
            "sub": "c-1", "iss": "shop", "aud": ["shop", "account"], "exp": 10, "nbf": 5
        }))
        .expect("claims an identity provider writes");
        assert_eq!(claims.aud, "shop");
        assert_eq!(claims.iat, 0);
        assert_eq!(claims.nbf, Some(5));
        assert!(claims.roles.is_empty());
    }

    #[test]
    fn claims_without_nbf_are_written_without_it() {
        let claims = Claims {
            sub: "c-1".into(),
            iss: "shop".into(),
            aud: "shop".into(),
            exp: 10,
            iat: 1,
            nbf: None,
            roles: vec!["customer".into()],
        };
        let written = serde_json::to_value(&claims).expect("claims serialize");
        assert!(written.get("nbf").is_none(), "{written}");
        assert_eq!(serde_json::from_value::<Claims>(written).unwrap(), claims);
    }
}
