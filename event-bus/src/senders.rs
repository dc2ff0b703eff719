//! Who may publish on which exchange, as a consumer believes it.
//!
//! RabbitMQ refuses a publish whose `user_id` property is not the connection's user, so a
//! message's `user_id` names the broker user that really published it. Each service has a broker
//! user of its own (`<user_prefix><service>`, see [`crate::permissions`]), and the exchange of a
//! service is named after it, so the producer of exchange `order` is the user `order`. A consumer
//! takes a message on exchange X only from that user or from one listed as an extra trusted
//! publisher of X (an old producer still sending `order.v1.submit`); anything else is
//! dead-lettered at once with a reason that names the sender, and changes nothing.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::error::DecodeError;

/// The key of [`SenderSettings::trusted`] that trusts its users on every exchange: for a
/// development broker where every service shares one user (the tests' `guest`), never for a
/// deployment.
pub const ANY_EXCHANGE: &str = "*";

/// Which broker users a consumer believes, per exchange.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct SenderSettings {
    /// Prefix of every service's broker user: the producer of exchange X is `<prefix>X`.
    pub user_prefix: String,
    /// Extra users trusted to publish on an exchange, by exchange (`order = ["legacy-shop"]`);
    /// [`ANY_EXCHANGE`] for all of them.
    pub trusted: BTreeMap<String, Vec<String>>,
}

impl SenderSettings {
    /// The broker user of `service`.
    pub fn user_of(&self, service: &str) -> String {
        format!("{}{service}", self.user_prefix)
    }

    /// The users believed on `exchange`: its producing service's, then the trusted ones.
    pub fn publishers_of(&self, exchange: &str) -> Vec<String> {
        let extra = [exchange, ANY_EXCHANGE]
            .into_iter()
            .filter_map(|key| self.trusted.get(key))
            .flatten()
            .cloned();
        std::iter::once(self.user_of(exchange))
            .chain(extra)
            .collect()
    }

    /// Whether a message on `exchange` sent by `sender` is believed; why not, if not.
    pub fn check(&self, exchange: &str, sender: Option<&str>) -> Result<(), DecodeError> {
        let allowed = self.publishers_of(exchange);
        match sender {
            Some(user) if allowed.iter().any(|name| name == user) => Ok(()),
            _ => Err(DecodeError::UntrustedSender {
                sender: sender.map(str::to_owned),
                exchange: exchange.to_owned(),
                allowed: allowed.join(", "),
            }),
        }
    }

    /// Reads `order=legacy-shop,billing=old-billing` (the form `scripts/run` takes from
    /// `SHOP_TRUSTED_PUBLISHERS`) into [`Self::trusted`].
    pub fn parse_trusted(list: &str) -> Result<BTreeMap<String, Vec<String>>, String> {
        let mut trusted: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for entry in list
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
        {
            let (exchange, user) = entry
                .split_once('=')
                .map(|(exchange, user)| (exchange.trim(), user.trim()))
                .filter(|(exchange, user)| !exchange.is_empty() && !user.is_empty())
                .ok_or_else(|| format!("`{entry}` is not `<exchange>=<broker user>`"))?;
            trusted
                .entry(exchange.to_owned())
                .or_default()
                .push(user.to_owned());
        }
        Ok(trusted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn senders(trusted: &str) -> SenderSettings {
        SenderSettings {
            user_prefix: "shop-".into(),
            trusted: SenderSettings::parse_trusted(trusted).unwrap(),
        }
    }

    #[test]
    fn the_producer_of_an_exchange_is_the_user_named_after_it() {
        let senders = senders("");
        assert!(senders.check("order", Some("shop-order")).is_ok());
        let refused = senders.check("order", Some("shop-billing")).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "sent by broker user `shop-billing`, but only `shop-order` may publish on exchange `order`"
        );
        let anonymous = senders.check("order", None).unwrap_err();
        assert_eq!(
            anonymous.to_string(),
            "sent by no identified broker user (no user_id), but only `shop-order` may publish on \
             exchange `order`"
        );
    }

    #[test]
    fn trusted_publishers_are_believed_on_their_exchange_only() {
        let senders = senders("order=legacy-shop, order=older-shop,*=guest");
        for user in ["shop-order", "legacy-shop", "older-shop", "guest"] {
            assert!(senders.check("order", Some(user)).is_ok(), "{user}");
        }
        assert!(senders.check("billing", Some("legacy-shop")).is_err());
        assert!(senders.check("billing", Some("guest")).is_ok());
    }

    #[test]
    fn a_malformed_list_is_refused_naming_the_entry() {
        for list in ["order", "order=", "=legacy"] {
            let error = SenderSettings::parse_trusted(list).unwrap_err();
            assert!(error.contains(list), "{error}");
        }
    }
}
