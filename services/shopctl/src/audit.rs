//! The audit log: one JSON line per replay or drop, saying who (the OS user and the broker user),
//! when, where (vhost, queue), how the messages were chosen, and which ones (ids, routing keys,
//! reasons). Lines are only ever appended; the directory is created when missing.

use std::{
    fs::OpenOptions,
    io::Write,
    path::{Path, PathBuf},
};

use chrono::{DateTime, Utc};

use crate::{
    connection::Broker,
    dead_letter::{DeadLetterQueue, Summary},
    error::{Error, Result},
    selector::Selector,
};

/// The variable naming the audit log when `--audit-log` is not given.
pub const AUDIT_LOG_VAR: &str = "SHOP_AUDIT_LOG";

/// What was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Replay,
    Drop,
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditRecord {
    /// When the action ended.
    pub at: DateTime<Utc>,
    pub action: Action,
    /// The account shopctl ran as on this machine.
    pub os_user: String,
    /// Who acted, when not someone at shopctl's command line: a tool acting for its user (the
    /// tracker records the staff member, the subject of their token), from
    /// [`AuditLog::operated_by`]. Then `os_user` is the account that tool runs as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    /// The broker user it logged in as.
    pub broker_user: String,
    pub vhost: String,
    /// The dead-letter queue acted on.
    pub queue: String,
    /// Where a replay put the messages back (the service's queue).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replayed_to: Option<String>,
    /// How the messages were chosen.
    pub selector: Selector,
    /// How many were replayed or dropped: `messages.len()`.
    pub count: usize,
    /// The messages replayed or dropped, in queue order.
    pub messages: Vec<Summary>,
    /// Why the action stopped before the end, if it did (what is listed was done).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// True when the scan stopped at its limit: chosen messages beyond it were not seen.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub limit_reached: bool,
}

impl AuditRecord {
    /// A record of `action` on `queue` by the current OS user (and `audit`'s operator, if any)
    /// and `broker`'s user, now.
    pub(crate) fn new(
        action: Action,
        broker: &Broker,
        audit: &AuditLog,
        queue: &DeadLetterQueue,
        selector: &Selector,
        messages: Vec<Summary>,
    ) -> Self {
        Self {
            at: Utc::now(),
            action,
            os_user: os_user(),
            operator: audit.operator.clone(),
            broker_user: broker.username().to_owned(),
            vhost: broker.vhost().to_owned(),
            queue: queue.name().to_owned(),
            replayed_to: None,
            selector: selector.clone(),
            count: messages.len(),
            messages,
            error: None,
            limit_reached: false,
        }
    }

    /// The record as one line of JSON, without its line break.
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|error| {
            // Only plain strings and numbers: serialising cannot fail; say so if it ever does.
            format!(r#"{{"error":"unserialisable audit record: {error}"}}"#)
        })
    }
}

/// The account shopctl runs as, or `unknown`.
fn os_user() -> String {
    whoami::fallible::username()
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "unknown".into())
}

/// An append-only file of [`AuditRecord`]s, one per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditLog {
    path: PathBuf,
    /// Recorded as every record's `operator` (see [`AuditLog::operated_by`]).
    operator: Option<String>,
}

impl AuditLog {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            operator: None,
        }
    }

    /// The same log, with every record naming `operator` as who acted: for a tool that replays
    /// or drops for its user (the tracker: the staff member whose token asked), where the OS
    /// user is only the account the tool runs as.
    pub fn operated_by(mut self, operator: impl Into<String>) -> Self {
        self.operator = Some(operator.into());
        self
    }

    /// Who the records name as having acted, if not only the OS user.
    pub fn operator(&self) -> Option<&str> {
        self.operator.as_deref()
    }

    /// `data/audit.log` under the repository's root, whatever the working directory.
    pub fn default_path() -> PathBuf {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        let root = manifest.ancestors().nth(2).unwrap_or(manifest);
        root.join("data").join("audit.log")
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `record` as one line, in one write (so that lines of concurrent runs do not mix).
    pub fn append(&self, record: &AuditRecord) -> Result<()> {
        let failed = |source| Error::Audit {
            path: self.path.clone(),
            source,
        };
        if let Some(directory) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(directory).map_err(failed)?;
        }
        let mut line = record.to_line();
        line.push('\n');
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .and_then(|mut file| file.write_all(line.as_bytes()))
            .map_err(failed)
    }

    /// Every record of the log, oldest first (for tests and tools).
    pub fn records(&self) -> Result<Vec<AuditRecord>> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(source) => {
                return Err(Error::Audit {
                    path: self.path.clone(),
                    source,
                });
            }
        };
        text.lines()
            .map(|line| {
                serde_json::from_str(line).map_err(|error| Error::Audit {
                    path: self.path.clone(),
                    source: std::io::Error::new(std::io::ErrorKind::InvalidData, error),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> AuditRecord {
        AuditRecord {
            at: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            action: Action::Replay,
            os_user: "ops".into(),
            operator: None,
            broker_user: "guest".into(),
            vhost: "/".into(),
            queue: "billing.dead".into(),
            replayed_to: Some("billing".into()),
            selector: Selector::Ids(vec!["m-1".into()]),
            count: 1,
            messages: vec![Summary {
                message_id: Some("m-1".into()),
                routing_key: "order.v2.submit".into(),
                reason: Some("the ledger is closed".into()),
            }],
            error: None,
            limit_reached: false,
        }
    }

    #[test]
    fn a_record_is_one_json_line_naming_who_when_and_what() {
        let line = record().to_line();
        assert!(!line.contains('\n'));
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            value,
            serde_json::json!({
                "at": "2023-11-14T22:13:20Z",
                "action": "replay",
                "os_user": "ops",
                "broker_user": "guest",
                "vhost": "/",
                "queue": "billing.dead",
                "replayed_to": "billing",
                "selector": {"ids": ["m-1"]},
                "count": 1,
                "messages": [{"message_id": "m-1", "routing_key": "order.v2.submit",
                              "reason": "the ledger is closed"}],
            })
        );
    }

    #[test]
    fn an_operator_is_recorded_only_when_there_is_one() {
        let record = AuditRecord {
            operator: Some("ops-alice".into()),
            ..record()
        };
        let value: serde_json::Value = serde_json::from_str(&record.to_line()).unwrap();
        assert_eq!(value["operator"], "ops-alice");
        let log = AuditLog::new("audit.log").operated_by("ops-alice");
        assert_eq!(log.operator(), Some("ops-alice"));
        assert_eq!(AuditLog::new("audit.log").operator(), None);
    }

    #[test]
    fn appending_creates_the_directory_and_adds_a_line_each_time() {
        let directory =
            std::env::temp_dir().join(format!("shopctl-audit-{}", uuid::Uuid::new_v4()));
        let log = AuditLog::new(directory.join("nested").join("audit.log"));
        assert!(log.records().unwrap().is_empty());
        log.append(&record()).unwrap();
        log.append(&record()).unwrap();
        assert_eq!(log.records().unwrap(), vec![record(), record()]);
        std::fs::remove_dir_all(&directory).unwrap();
    }

    #[test]
    fn the_default_log_is_under_the_repository_root() {
        let path = AuditLog::default_path();
        assert!(path.ends_with("data/audit.log"), "{path:?}");
        assert!(
            path.parent()
                .unwrap()
                .parent()
                .unwrap()
                .join("Cargo.toml")
                .exists()
        );
    }
}
