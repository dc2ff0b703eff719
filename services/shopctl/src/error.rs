//! What can go wrong, each error naming what it was doing and where; the password never appears.

use std::path::PathBuf;

use event_bus::management::ManagementError;

/// The crate's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Failed to connect to the broker at {endpoint} as {username:?}")]
    Connect {
        /// `host:port/vhost`.
        endpoint: String,
        username: String,
        #[source]
        source: Box<lapin::Error>,
    },
    #[error("Failed to list the queues of vhost {vhost:?} through the management API")]
    Management {
        vhost: String,
        #[source]
        source: ManagementError,
    },
    #[error(
        "{0:?} is not a dead-letter queue: a dead-letter queue is `<service>.dead` (or give the service's name)"
    )]
    NotADeadLetterQueue(String),
    #[error("there is no queue {0:?} in this vhost")]
    NoSuchQueue(String),
    #[error("Failed to {action} (queue {queue:?})")]
    Broker {
        action: &'static str,
        queue: String,
        #[source]
        source: Box<lapin::Error>,
    },
    #[error("The signing key in {folder:?}: {message}")]
    Key { folder: PathBuf, message: String },
    #[error("Failed to {what} through the management API")]
    Provision {
        what: String,
        #[source]
        source: ManagementError,
    },
    #[error("Failed to read or make the broker password {path:?}")]
    Secret {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("Failed to append to the audit log {path:?}")]
    Audit {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// A closure turning a lapin error into [`Error::Broker`] for `action` on `queue`.
    pub(crate) fn broker(action: &'static str, queue: &str) -> impl FnOnce(lapin::Error) -> Self {
        let queue = queue.to_owned();
        move |source| Self::Broker {
            action,
            queue,
            source: Box::new(source),
        }
    }
}

/// An error with its causes, on one line: `what failed: why: why that`. A cause that only
/// repeats what is already said (lapin's errors quote their source) is left out.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer: {0}")]
    struct Quoting(#[source] std::io::Error);

    #[test]
    fn a_chain_names_every_cause_once() {
        let inner = || std::io::Error::other("refused");
        let audit = Error::Audit {
            path: "data/audit.log".into(),
            source: inner(),
        };
        assert_eq!(
            error_chain(&audit),
            r#"Failed to append to the audit log "data/audit.log": refused"#
        );
        assert_eq!(error_chain(&Quoting(inner())), "outer: refused");
    }
}
