//! What the shop reads from a verified token.

use serde::{Deserialize, Serialize};

/// The claims of a token. `exp`, `iss` and `aud` are checked by the [`super::Verifier`]; `sub`
/// names the caller (the customer id of a customer), and `roles` what it may do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub iss: String,
    pub aud: String,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
    /// Issued at, seconds since the epoch.
    pub iat: u64,
    /// The roles granted, by name (`customer`, `staff`); unknown names are ignored.
    #[serde(default)]
    pub roles: Vec<String>,
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
        let names = |list: &[&str]| list.iter().map(|name| (*name).to_owned()).collect::<Vec<_>>();
        assert_eq!(Role::strongest(&names(&["customer", "staff"])), Some(Role::Staff));
        assert_eq!(Role::strongest(&names(&["customer"])), Some(Role::Customer));
        assert_eq!(Role::strongest(&names(&["admin", "Staff"])), None);
        assert_eq!(Role::strongest(&[]), None);
    }
}
