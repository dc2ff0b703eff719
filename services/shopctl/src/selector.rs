//! Which dead letters a replay or a drop takes: by id, by reason, by routing key, or all.

use crate::dead_letter::{DeadLetter, DeadLetterQueue};

/// The dead letters of one queue that a replay or a drop acts on.
#[derive(Debug, Clone)]
pub struct Choice {
    pub queue: DeadLetterQueue,
    pub selector: Selector,
    /// How many messages the scan of the queue holds at most: chosen ones beyond are not seen.
    pub limit: usize,
}

/// The dead letters a command acts on. Recorded as such in the audit log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Selector {
    /// Those whose message id is one of these (every copy, if an id is there twice).
    Ids(Vec<String>),
    /// Those whose reason (`x-error`) contains this text, ignoring case.
    Reason(String),
    /// Those that first arrived with exactly this routing key.
    RoutingKey(String),
    /// Every one.
    All,
}

impl Selector {
    /// Whether `letter` is one of the chosen.
    pub fn matches(&self, letter: &DeadLetter) -> bool {
        match self {
            Self::Ids(ids) => letter
                .message_id
                .as_ref()
                .is_some_and(|id| ids.iter().any(|wanted| wanted == id)),
            Self::Reason(text) => reason_contains(letter.reason.as_deref(), text),
            Self::RoutingKey(key) => letter.routing_key == *key,
            Self::All => true,
        }
    }
}

/// Whether `reason` contains `text`, ignoring case; a letter without a reason matches nothing.
pub fn reason_contains(reason: Option<&str>, text: &str) -> bool {
    reason.is_some_and(|reason| reason.to_lowercase().contains(&text.to_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_matches_by_substring_ignoring_case() {
        assert!(reason_contains(
            Some("The ledger is CLOSED"),
            "ledger is closed"
        ));
        assert!(!reason_contains(Some("timeout"), "ledger"));
        assert!(!reason_contains(None, ""));
    }

    #[test]
    fn a_selector_is_recorded_as_json_naming_its_kind() {
        let ids = Selector::Ids(vec!["a".into(), "b".into()]);
        assert_eq!(
            serde_json::to_value(&ids).unwrap(),
            serde_json::json!({"ids": ["a", "b"]})
        );
        assert_eq!(
            serde_json::to_value(Selector::All).unwrap(),
            serde_json::json!("all")
        );
        assert_eq!(
            serde_json::to_value(Selector::RoutingKey("order.v2.submit".into())).unwrap(),
            serde_json::json!({"routing_key": "order.v2.submit"})
        );
    }
}
