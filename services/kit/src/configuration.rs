//! Settings of a service, layered from the least to the most specific source:
//!
//! 1. built-in defaults: `bus.service` and `database.database_name` are the service's name;
//! 2. the service's embedded defaults (`include_str!("../configuration/default.toml")`);
//! 3. the TOML file named by `SHOP_CONFIG_FILE`, if that variable is set (the file must exist);
//! 4. environment variables prefixed `SHOP__`, shared by all services of a deployment;
//! 5. environment variables prefixed with the service's name uppercased, e.g. `BILLING__`.
//!
//! In variable names `__` separates the levels: `SHOP__DATABASE__HOST=postgres`,
//! `BILLING__APPLICATION__PORT=9000`. `bus.retry_delays_ms` is a comma-separated list
//! (`SHOP__BUS__RETRY_DELAYS_MS=1000,5000`; empty means no retry), and so is `bus.broker.nodes`
//! (`SHOP__BUS__BROKER__NODES=rabbit-1:5672,rabbit-2:5672`).
//!
//! A password may come from a file instead, as container secrets are handed over: a variable
//! whose key ends in `password_file` (`SHOP__BUS__BROKER__PASSWORD_FILE=/run/secrets/billing`)
//! sets the `password` beside it to the file's content, without its trailing newline.
//!
//! Environment values are kept as the strings they are and converted by the field that reads
//! them (`"9000"` becomes a `u16`, `"true"` a `bool`). Unlike `config`'s `try_parsing`, this never
//! turns a string field into something else: a password `0123` stays `0123` instead of becoming
//! `123`. The price: a service section that reads numbers through `#[serde(flatten)]` or an
//! untagged enum sees them as strings.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use config::{Config, ConfigError, File, FileFormat, Map, Source, Value, ValueKind};
use event_bus::BusSettings;

use crate::auth::AuthSettings;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use sqlx::postgres::{PgConnectOptions, PgSslMode};

/// Names the optional settings file layered above the embedded defaults.
pub const CONFIG_FILE_VAR: &str = "SHOP_CONFIG_FILE";

/// Prefix of the environment variables every service of the shop reads.
pub const SHARED_ENV_PREFIX: &str = "SHOP";

/// Separates the prefix and the levels of a key in an environment variable's name.
const SEPARATOR: &str = "__";

/// Keys whose environment value is a comma-separated list rather than a single value.
const LIST_KEYS: &[&str] = &["bus.retry_delays_ms", "bus.broker.nodes"];

/// A key ending so names a file holding the `password` beside it.
const PASSWORD_FILE_SUFFIX: &str = "password_file";

/// Keys under this prefix are comma-separated lists too: the extra trusted publishers of one
/// exchange, `SHOP__BUS__SENDERS__TRUSTED__ORDER=legacy-shop,older-shop`.
const LIST_PREFIX: &str = "bus.senders.trusted.";

/// Everything a service is configured with: the shared sections and its own (`service`).
#[derive(Debug, Clone, Deserialize)]
#[serde(bound(deserialize = "S: DeserializeOwned + Default"))]
pub struct Settings<S> {
    pub application: ApplicationSettings,
    pub database: DatabaseSettings,
    #[serde(default)]
    pub bus: BusSettings,
    #[serde(default)]
    pub telemetry: TelemetrySettings,
    /// How callers over HTTP are verified.
    #[serde(default)]
    pub auth: AuthSettings,
    /// The service's own section, `[service]`; a service without one uses `()`.
    #[serde(default)]
    pub service: S,
}

/// Where the HTTP API listens.
#[derive(Debug, Clone, Deserialize)]
pub struct ApplicationSettings {
    /// `127.0.0.1` by default, so nothing is exposed by accident; containers set `0.0.0.0`.
    #[serde(default = "default_application_host")]
    pub host: String,
    /// No default: each service has its own port. `0` picks a free one (tests).
    pub port: u16,
}

/// How the service reaches its own PostgreSQL database.
#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    #[serde(default = "default_database_host")]
    pub host: String,
    #[serde(default = "default_database_port")]
    pub port: u16,
    #[serde(default = "default_database_username")]
    pub username: String,
    /// Empty means "none given": the server's trust rules, `PGPASSWORD` or `~/.pgpass` decide.
    #[serde(default)]
    pub password: SecretString,
    /// Defaults to the service's name (see [`load`]).
    pub database_name: String,
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
    /// How long a request waits for a pooled connection before it fails, in seconds.
    #[serde(default = "default_acquire_timeout_secs")]
    pub acquire_timeout_secs: u64,
    /// Whether a pooled connection is pinged before each use. sqlx already pings every
    /// connection when it goes back to the pool, so this second round trip (one per transaction,
    /// a good share of a handler's) only catches a connection that died while idle, after a
    /// database restart. Off by default: the first query on such a connection fails instead,
    /// the bus retries the message and a client its request, and the pool replaces it.
    #[serde(default)]
    pub test_before_acquire: bool,
    /// The longest any statement of the service may run, in milliseconds (PostgreSQL's
    /// `statement_timeout`, set on each connection); 0 for no bound. A statement stuck on a lock
    /// or a runaway plan then fails (and its message is retried) instead of holding a worker.
    #[serde(default = "default_statement_timeout_ms")]
    pub statement_timeout_ms: u64,
    /// Whether and how the connection is encrypted (`disable`, `prefer`, `require`,
    /// `verify-ca`, `verify-full`, as libpq's `sslmode`). Unset: `PGSSLMODE`, else `prefer`,
    /// which is TLS when the server offers it and plain when not (a local server), with no
    /// certificate check; only `verify-ca` and `verify-full` stop an impostor.
    #[serde(default)]
    pub ssl_mode: Option<DatabaseSslMode>,
    /// PEM file of the CA certificate(s) the server's certificate must chain to under
    /// `verify-ca` and `verify-full`, trusted on top of the system's roots. Unset:
    /// `PGSSLROOTCERT`, else the system's roots.
    #[serde(default)]
    pub ssl_root_cert: Option<PathBuf>,
}

/// libpq's `sslmode`, as PostgreSQL's documentation describes it ("Protection Provided in
/// Different Modes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DatabaseSslMode {
    /// Plain only.
    Disable,
    /// TLS if the server offers it, plain otherwise; no certificate check.
    Prefer,
    /// TLS or no connection; no certificate check (encryption against eavesdropping only).
    Require,
    /// TLS, and the server's certificate chains to a trusted CA (`ssl_root_cert`).
    VerifyCa,
    /// As `verify-ca`, and the certificate names `host` (a DNS name or an IP address).
    VerifyFull,
}

impl From<DatabaseSslMode> for PgSslMode {
    fn from(mode: DatabaseSslMode) -> Self {
        match mode {
            DatabaseSslMode::Disable => Self::Disable,
            DatabaseSslMode::Prefer => Self::Prefer,
            DatabaseSslMode::Require => Self::Require,
            DatabaseSslMode::VerifyCa => Self::VerifyCa,
            DatabaseSslMode::VerifyFull => Self::VerifyFull,
        }
    }
}

/// What is logged and how.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct TelemetrySettings {
    /// An `EnvFilter` directive (`info`, `billing=debug,sqlx=warn`); `RUST_LOG` overrides it.
    pub level: String,
    pub format: LogFormat,
}

/// The shape of log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines, for a terminal.
    #[default]
    Pretty,
    /// One JSON object per line, for a log collector.
    Json,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        Self {
            level: "info".into(),
            format: LogFormat::default(),
        }
    }
}

impl ApplicationSettings {
    /// `host:port`, as bound and as named in errors.
    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

impl DatabaseSettings {
    /// Connects to the service's database, with its statement timeout.
    pub fn connect_options(&self) -> PgConnectOptions {
        let options = self.setup_options();
        match self.statement_timeout_ms {
            0 => options,
            ms => options.options([("statement_timeout", format!("{ms}ms"))]),
        }
    }

    /// Connects to the service's database without the statement timeout: for installing tables
    /// and running migrations, which may rightly take longer on a large table, or wait for
    /// another instance doing the same.
    pub fn setup_options(&self) -> PgConnectOptions {
        self.server_options().database(&self.database_name)
    }

    /// Connects to the same server's `postgres` database, to create or drop the service's one.
    pub fn maintenance_options(&self) -> PgConnectOptions {
        self.server_options().database("postgres")
    }

    /// How long to wait for a pooled connection.
    pub fn acquire_timeout(&self) -> Duration {
        Duration::from_secs(self.acquire_timeout_secs)
    }

    /// Typed options rather than a URL, so the password never needs escaping nor shows in a
    /// string that might be logged. `PgConnectOptions::new` still reads `PGSSLMODE`,
    /// `PGSSLROOTCERT`, `PGAPPNAME` and `~/.pgpass`, which are deployment concerns; `ssl_mode`
    /// and `ssl_root_cert`, when set, win over the first two.
    fn server_options(&self) -> PgConnectOptions {
        let mut options = PgConnectOptions::new()
            .host(&self.host)
            .port(self.port)
            .username(&self.username);
        if let Some(mode) = self.ssl_mode {
            options = options.ssl_mode(mode.into());
        }
        if let Some(root_cert) = &self.ssl_root_cert {
            options = options.ssl_root_cert(root_cert);
        }
        match self.password.expose_secret() {
            "" => options,
            password => options.password(password),
        }
    }
}

/// Loads the settings of `service_name` from `defaults_toml` (the service's embedded
/// `configuration/default.toml`), the optional file and the environment; see the module docs.
pub fn load<S>(service_name: &str, defaults_toml: &str) -> Result<Settings<S>, ConfigError>
where
    S: DeserializeOwned + Default,
{
    let service_prefix = service_name.to_uppercase();
    let environment = read_environment(&[SHARED_ENV_PREFIX, &service_prefix])?;
    load_from(service_name, defaults_toml, &environment)
}

/// [`load`] with the environment passed in, so tests need not touch the process's.
fn load_from<S>(
    service_name: &str,
    defaults_toml: &str,
    environment: &HashMap<String, String>,
) -> Result<Settings<S>, ConfigError>
where
    S: DeserializeOwned + Default,
{
    let mut builder = Config::builder()
        .set_default("bus.service", service_name)?
        .set_default("database.database_name", service_name)?
        .add_source(File::from_str(defaults_toml, FileFormat::Toml));
    if let Some(path) = environment.get(CONFIG_FILE_VAR).filter(|p| !p.is_empty()) {
        builder = builder.add_source(File::new(path, FileFormat::Toml).required(true));
    }
    builder
        .add_source(PrefixedEnvironment::new(SHARED_ENV_PREFIX, environment))
        .add_source(PrefixedEnvironment::new(service_name, environment))
        .build()?
        .try_deserialize()
}

/// The process's variables whose names start with one of `prefixes` (case-insensitively).
/// A non-UTF-8 value of such a variable is an error rather than silently skipped.
fn read_environment(prefixes: &[&str]) -> Result<HashMap<String, String>, ConfigError> {
    let prefixes: Vec<String> = prefixes.iter().map(|p| p.to_uppercase()).collect();
    let mut variables = HashMap::new();
    for (name, value) in std::env::vars_os() {
        let Some(name) = name.to_str() else { continue };
        if !prefixes.iter().any(|p| name.to_uppercase().starts_with(p)) {
            continue;
        }
        let value = value.into_string().map_err(|_| {
            ConfigError::Message(format!("environment variable {name} is not valid UTF-8"))
        })?;
        variables.insert(name.to_owned(), value);
    }
    Ok(variables)
}

/// A `config` source reading `<PREFIX>__<LEVEL>__<KEY>` variables as strings, lists for
/// [`LIST_KEYS`].
#[derive(Debug, Clone)]
struct PrefixedEnvironment {
    /// Lowercased prefix followed by the separator, e.g. `billing__`.
    prefix: String,
    variables: HashMap<String, String>,
}

impl PrefixedEnvironment {
    fn new(prefix: &str, environment: &HashMap<String, String>) -> Self {
        let prefix = format!("{prefix}{SEPARATOR}").to_lowercase();
        let variables = environment
            .iter()
            .filter(|(name, _)| name.to_lowercase().starts_with(&prefix))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        Self { prefix, variables }
    }
}

impl Source for PrefixedEnvironment {
    fn clone_into_box(&self) -> Box<dyn Source + Send + Sync> {
        Box::new(self.clone())
    }

    fn collect(&self) -> Result<Map<String, Value>, ConfigError> {
        let origin = format!("environment variables {}*", self.prefix.to_uppercase());
        let mut values = Map::new();
        for (name, raw) in &self.variables {
            let key = name.to_lowercase()[self.prefix.len()..].replace(SEPARATOR, ".");
            if key.is_empty() {
                continue;
            }
            if let Some(field) = key.strip_suffix(PASSWORD_FILE_SUFFIX) {
                let password = std::fs::read_to_string(raw).map_err(|error| {
                    ConfigError::Message(format!(
                        "{name} names {raw:?}, which could not be read: {error}"
                    ))
                })?;
                let password = password.trim_end_matches(['\n', '\r']).to_owned();
                values.insert(
                    format!("{field}password"),
                    Value::new(Some(&origin), ValueKind::String(password)),
                );
                continue;
            }
            let kind = if LIST_KEYS.contains(&key.as_str()) || key.starts_with(LIST_PREFIX) {
                let items = raw
                    .split(',')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(|item| Value::new(Some(&origin), item))
                    .collect();
                ValueKind::Array(items)
            } else {
                ValueKind::String(raw.clone())
            };
            values.insert(key, Value::new(Some(&origin), kind));
        }
        Ok(values)
    }
}

fn default_application_host() -> String {
    "127.0.0.1".into()
}

fn default_database_host() -> String {
    "127.0.0.1".into()
}

fn default_database_port() -> u16 {
    5432
}

fn default_database_username() -> String {
    "postgres".into()
}

fn default_max_connections() -> u32 {
    10
}

fn default_acquire_timeout_secs() -> u64 {
    5
}

fn default_statement_timeout_ms() -> u64 {
    30_000
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::path::Path;

    use lapin::uri::AMQPScheme;

    use super::*;

    const DEFAULTS: &str = r#"
        [application]
        port = 8001

        [database]
        host = "localhost"

        [bus]
        prefetch = 8

        [service]
        greeting = "hello"
        limit = 3
    "#;

    #[derive(Debug, Default, Deserialize)]
    struct Billing {
        greeting: String,
        limit: u32,
        #[serde(default)]
        enabled: bool,
    }

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn load_billing(pairs: &[(&str, &str)]) -> Settings<Billing> {
        load_from("billing", DEFAULTS, &env(pairs)).expect("settings load")
    }

    #[test]
    fn embedded_defaults_and_built_in_defaults_apply_without_environment() {
        let settings = load_billing(&[]);
        assert_eq!(settings.application.host, "127.0.0.1");
        assert_eq!(settings.application.port, 8001);
        assert_eq!(settings.database.host, "localhost");
        assert_eq!(settings.database.port, 5432);
        assert_eq!(settings.database.username, "postgres");
        assert_eq!(settings.database.password.expose_secret(), "");
        assert_eq!(settings.database.database_name, "billing");
        assert_eq!(settings.database.max_connections, 10);
        assert_eq!(settings.bus.service, "billing");
        assert_eq!(settings.bus.prefetch, 8);
        assert_eq!(settings.bus.retry_delays_ms, vec![1_000, 5_000, 30_000]);
        assert_eq!(settings.telemetry.level, "info");
        assert_eq!(settings.telemetry.format, LogFormat::Pretty);
        assert_eq!(settings.service.greeting, "hello");
        assert_eq!(settings.service.limit, 3);
    }

    #[test]
    fn shared_environment_overrides_the_defaults() {
        let settings = load_billing(&[
            ("SHOP__DATABASE__HOST", "postgres"),
            ("SHOP__DATABASE__PORT", "6543"),
            ("SHOP__TELEMETRY__FORMAT", "json"),
            ("SHOP__BUS__BROKER__HOST", "rabbitmq"),
        ]);
        assert_eq!(settings.database.host, "postgres");
        assert_eq!(settings.database.port, 6543);
        assert_eq!(settings.telemetry.format, LogFormat::Json);
        assert_eq!(settings.bus.broker.host, "rabbitmq");
    }

    #[test]
    fn service_environment_overrides_the_shared_environment() {
        let settings = load_billing(&[
            ("SHOP__APPLICATION__PORT", "7000"),
            ("BILLING__APPLICATION__PORT", "9000"),
            ("SHOP__SERVICE__LIMIT", "4"),
            ("BILLING__SERVICE__ENABLED", "true"),
        ]);
        assert_eq!(settings.application.port, 9000);
        assert_eq!(settings.service.limit, 4);
        assert!(settings.service.enabled);
    }

    #[test]
    fn another_services_environment_is_ignored() {
        let settings = load_billing(&[("ORDER__APPLICATION__PORT", "9999")]);
        assert_eq!(settings.application.port, 8001);
    }

    #[test]
    fn retry_delays_are_parsed_from_a_comma_separated_list() {
        let settings = load_billing(&[("SHOP__BUS__RETRY_DELAYS_MS", "100, 200,300")]);
        assert_eq!(settings.bus.retry_delays_ms, vec![100, 200, 300]);
    }

    #[test]
    fn broker_nodes_and_quorum_arguments_come_from_the_environment() {
        let settings = load_billing(&[
            ("SHOP__BUS__BROKER__NODES", "rabbit-1:5672, rabbit-2:5672"),
            ("SHOP__BUS__QUEUE_TYPE", "quorum"),
            ("SHOP__BUS__QUORUM__DELIVERY_LIMIT", "20"),
            ("SHOP__BUS__QUORUM__INITIAL_GROUP_SIZE", "3"),
        ]);
        assert_eq!(
            settings.bus.broker.nodes,
            vec!["rabbit-1:5672", "rabbit-2:5672"]
        );
        assert_eq!(settings.bus.queue_type, event_bus::QueueType::Quorum);
        assert_eq!(
            settings.bus.quorum,
            event_bus::QuorumSettings {
                delivery_limit: 20,
                initial_group_size: 3,
            }
        );
    }

    #[test]
    fn trusted_publishers_of_an_exchange_are_a_comma_separated_list() {
        let settings = load_billing(&[
            (
                "SHOP__BUS__SENDERS__TRUSTED__ORDER",
                "legacy-shop, older-shop",
            ),
            ("SHOP__BUS__SENDERS__USER_PREFIX", "shop-"),
        ]);
        assert_eq!(
            settings.bus.senders.publishers_of("order"),
            vec!["shop-order", "legacy-shop", "older-shop"]
        );
    }

    #[test]
    fn a_password_file_sets_the_password_beside_it() {
        let file = std::env::temp_dir().join(format!("password-{}", uuid::Uuid::new_v4()));
        std::fs::write(&file, "s3cr3t\n").unwrap();
        let path = file.to_string_lossy().into_owned();
        let settings = load_billing(&[("BILLING__BUS__BROKER__PASSWORD_FILE", path.as_str())]);
        assert_eq!(settings.bus.broker.password.expose_secret(), "s3cr3t");
        std::fs::remove_file(&file).unwrap();
        let missing = env(&[("SHOP__BUS__BROKER__PASSWORD_FILE", "/nonexistent/password")]);
        let error = load_from::<Billing>("billing", DEFAULTS, &missing).unwrap_err();
        assert!(
            error.to_string().contains("/nonexistent/password"),
            "{error}"
        );
    }

    #[test]
    fn a_single_retry_delay_is_a_list_of_one() {
        let settings = load_billing(&[("BILLING__BUS__RETRY_DELAYS_MS", "250")]);
        assert_eq!(settings.bus.retry_delays_ms, vec![250]);
    }

    #[test]
    fn an_empty_retry_delay_list_means_no_retries() {
        let settings = load_billing(&[("SHOP__BUS__RETRY_DELAYS_MS", "")]);
        assert!(settings.bus.retry_delays_ms.is_empty());
    }

    #[test]
    fn numeric_looking_secrets_are_kept_verbatim() {
        let settings = load_billing(&[
            ("SHOP__DATABASE__PASSWORD", "0123"),
            ("SHOP__BUS__BROKER__PASSWORD", "1e3"),
        ]);
        assert_eq!(settings.database.password.expose_secret(), "0123");
        assert_eq!(settings.bus.broker.password.expose_secret(), "1e3");
    }

    #[test]
    fn a_mistyped_environment_value_is_an_error_naming_the_key() {
        let error = load_from::<Billing>(
            "billing",
            DEFAULTS,
            &env(&[("BILLING__APPLICATION__PORT", "ninety")]),
        )
        .unwrap_err();
        assert!(error.to_string().contains("port"), "{error}");
    }

    #[test]
    fn the_file_named_by_shop_config_file_sits_between_defaults_and_environment() {
        let path = std::env::temp_dir().join(format!("kit-layering-{}.toml", uuid::Uuid::new_v4()));
        let mut file = std::fs::File::create(&path).unwrap();
        writeln!(
            file,
            "[application]\nport = 8100\n[database]\nusername = \"app\"\nmax_connections = 3"
        )
        .unwrap();
        let settings = load_billing(&[
            (CONFIG_FILE_VAR, path.to_str().unwrap()),
            ("SHOP__DATABASE__MAX_CONNECTIONS", "7"),
        ]);
        std::fs::remove_file(&path).unwrap();
        assert_eq!(settings.application.port, 8100);
        assert_eq!(settings.database.username, "app");
        assert_eq!(settings.database.max_connections, 7);
    }

    #[test]
    fn a_missing_file_named_by_shop_config_file_is_an_error() {
        let result = load_from::<Billing>(
            "billing",
            DEFAULTS,
            &env(&[(CONFIG_FILE_VAR, "/nonexistent/shop-kit-settings.toml")]),
        );
        assert!(result.is_err());
    }

    #[test]
    fn a_service_without_its_own_section_uses_unit() {
        let settings: Settings<()> =
            load_from("mailer", "[application]\nport = 0\n", &HashMap::new()).unwrap();
        assert_eq!(settings.application.port, 0);
        assert_eq!(settings.database.database_name, "mailer");
    }

    #[test]
    fn load_reads_variables_prefixed_with_the_service_name() {
        // No test sets process variables (that is `unsafe` and racy); a service name no one
        // uses keeps whatever the environment holds out of this test's way.
        let settings: Settings<()> =
            load("kit_load_test_7f3a", "[application]\nport = 8123\n").unwrap();
        assert_eq!(settings.application.port, 8123);
        assert_eq!(settings.bus.service, "kit_load_test_7f3a");
    }

    #[test]
    fn connect_options_target_the_service_database_and_maintenance_the_postgres_one() {
        let settings = load_billing(&[("SHOP__DATABASE__PORT", "5433")]);
        let options = settings.database.connect_options();
        assert_eq!(options.get_host(), "localhost");
        assert_eq!(options.get_port(), 5433);
        assert_eq!(options.get_username(), "postgres");
        assert_eq!(options.get_database(), Some("billing"));
        let maintenance = settings.database.maintenance_options();
        assert_eq!(maintenance.get_database(), Some("postgres"));
        assert_eq!(maintenance.get_port(), 5433);
    }

    #[test]
    fn the_database_ssl_mode_and_root_cert_come_from_the_environment() {
        let settings = load_billing(&[
            ("SHOP__DATABASE__SSL_MODE", "verify-full"),
            ("SHOP__DATABASE__SSL_ROOT_CERT", "/etc/shop/pg-ca.pem"),
        ]);
        assert_eq!(
            settings.database.ssl_mode,
            Some(DatabaseSslMode::VerifyFull)
        );
        let options = settings.database.connect_options();
        assert!(matches!(options.get_ssl_mode(), PgSslMode::VerifyFull));
        let unknown = env(&[("SHOP__DATABASE__SSL_MODE", "verify_full")]);
        let error = load_from::<Billing>("billing", DEFAULTS, &unknown).unwrap_err();
        assert!(error.to_string().contains("database.ssl_mode"), "{error}");
    }

    #[test]
    fn broker_tls_comes_from_the_environment_and_makes_the_uri_amqps() {
        let plain = load_billing(&[]);
        assert!(!plain.bus.broker.tls.enabled);
        assert_eq!(plain.bus.broker.uri().scheme, AMQPScheme::AMQP);
        let settings = load_billing(&[
            ("SHOP__BUS__BROKER__TLS__ENABLED", "true"),
            ("SHOP__BUS__BROKER__TLS__CA_FILE", "/etc/shop/ca.pem"),
            ("SHOP__BUS__BROKER__TLS__PKCS12_PASSWORD", "hunter2"),
        ]);
        let tls = &settings.bus.broker.tls;
        assert!(tls.enabled);
        assert_eq!(tls.ca_file.as_deref(), Some(Path::new("/etc/shop/ca.pem")));
        assert_eq!(settings.bus.broker.uri().scheme, AMQPScheme::AMQPS);
        assert!(!format!("{settings:?}").contains("hunter2"));
    }

    #[test]
    fn debug_output_never_shows_the_password() {
        let settings = load_billing(&[("SHOP__DATABASE__PASSWORD", "hunter2")]);
        assert!(!format!("{settings:?}").contains("hunter2"));
    }
}
