//! Errors of the bus, each with enough context to act on without reading the code.

/// What can go wrong while connecting, declaring, publishing or storing.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("could not connect to the broker at {endpoint}: {source}")]
    Connect {
        /// Host, port and vhost; never the password.
        endpoint: String,
        #[source]
        source: lapin::Error,
    },
    /// Boxed: the endpoint, the trust and lapin's error would make every `Result` of the
    /// crate larger.
    #[error(transparent)]
    TlsConnect(Box<crate::tls::TlsConnectError>),
    #[error("the TLS settings for the broker at {endpoint} are unusable: {source}")]
    TlsSetup {
        endpoint: String,
        #[source]
        source: crate::tls::TlsError,
    },
    #[error(
        "queue or exchange `{name}` already exists with other arguments than this service declares: {detail}"
    )]
    TopologyConflict { name: String, detail: String },
    #[error("declaring `{name}` failed: {source}")]
    Declare {
        name: String,
        #[source]
        source: lapin::Error,
    },
    #[error(
        "exchange `{name}` does not exist and this service may not declare it (another service's): \
         provision the broker (`shopctl broker provision`) or start its producer: {source}"
    )]
    MissingExchange {
        name: String,
        #[source]
        source: lapin::Error,
    },
    #[error("the broker node `{node}` in the settings is unusable: {reason}")]
    BadNode { node: String, reason: String },
    #[error("the broker is not connected")]
    NotConnected,
    #[error("the link to the broker was lost: {0}")]
    LinkLost(String),
    #[error("the database is out of reach: {0}")]
    Unavailable(String),
    #[error("publishing {routing_key} failed: {source}")]
    Publish {
        routing_key: String,
        #[source]
        source: lapin::Error,
    },
    #[error("the broker refused (nacked) {routing_key}")]
    Nacked { routing_key: String },
    #[error("{routing_key} is unroutable: no queue is bound to it on exchange `{exchange}`")]
    Unroutable {
        exchange: String,
        routing_key: String,
    },
    #[error("could not encode {routing_key}: {source}")]
    Encode {
        routing_key: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("database error while {action}: {source}")]
    Database {
        action: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error("broker error while {action}: {source}")]
    Broker {
        action: &'static str,
        #[source]
        source: lapin::Error,
    },
}

/// The crate's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps a database error with what the bus was doing.
    pub(crate) fn db(action: &'static str) -> impl FnOnce(sqlx::Error) -> Self {
        move |source| Self::Database { action, source }
    }

    /// Wraps a broker error with what the bus was doing.
    pub(crate) fn broker(action: &'static str) -> impl FnOnce(lapin::Error) -> Self {
        move |source| Self::Broker { action, source }
    }
}

/// Why an incoming message cannot be turned into an event. Each of these dead-letters the message
/// at once: retrying would not change the bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("`{0}` is not an event routing key (<exchange>.v<version>.<name>)")]
    InvalidRoutingKey(String),
    #[error("no handler is registered for `{0}`")]
    NoHandler(String),
    #[error("unknown version {version} of `{event}`")]
    UnknownVersion { event: String, version: u32 },
    #[error("malformed payload: {0}")]
    Malformed(String),
    #[error("the message has no message_id, so it cannot be deduplicated")]
    MissingMessageId,
    #[error("the message is {size} bytes, more than the {limit} taken in (bus.max_message_bytes)")]
    TooLarge { size: usize, limit: usize },
    #[error(
        "sent by {}, but only {} may publish on exchange `{exchange}`",
        sender.as_ref().map_or("no identified broker user (no user_id)".to_owned(), |user| format!("broker user `{user}`")),
        allowed.split(", ").map(|user| format!("`{user}`")).collect::<Vec<_>>().join(", ")
    )]
    UntrustedSender {
        sender: Option<String>,
        exchange: String,
        allowed: String,
    },
}

/// A handler's failure: the transaction is rolled back and the message retried later, then
/// dead-lettered with this text once the attempts are used up.
#[derive(Debug, thiserror::Error)]
#[error("{0:#}")]
pub struct HandlerError(#[from] pub anyhow::Error);

impl HandlerError {
    /// Whether the failure comes from the database being out of reach (a lost connection, a
    /// server shutting down or refusing connections), not from the handler's own logic: such a
    /// failure uses up no attempt; the consumer pauses until the database answers again.
    pub fn is_database_unavailable(&self) -> bool {
        self.0.chain().any(|cause| {
            cause
                .downcast_ref::<sqlx::Error>()
                .is_some_and(database_unavailable)
        })
    }
}

/// Whether `error` says the database cannot be reached or is not serving, rather than that a
/// statement was wrong: I/O and TLS failures, a closed or exhausted pool, and the SQLSTATE
/// classes of connection exceptions (`08`), operator intervention (`57P01`..`57P03`: shutdown,
/// crash, cannot connect now) and insufficient resources for connections (`53300`).
pub(crate) fn database_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(database) => database.code().is_some_and(|code| {
            code.starts_with("08") || matches!(code.as_ref(), "57P01" | "57P02" | "57P03" | "53300")
        }),
        _ => false,
    }
}

impl From<sqlx::Error> for HandlerError {
    fn from(error: sqlx::Error) -> Self {
        Self(error.into())
    }
}

impl From<Error> for HandlerError {
    fn from(error: Error) -> Self {
        Self(error.into())
    }
}

/// What a handler returns.
pub type HandlerResult = std::result::Result<(), HandlerError>;
