//! Where the broker and the database server are, and the benchmark's own corner of each: a vhost
//! created before the services start, removed with the services' databases afterwards. Nothing
//! else on the shared broker or server is touched.

use anyhow::{Context, bail};
use sqlx::{
    Connection, PgConnection,
    postgres::{PgConnectOptions, PgPool, PgPoolOptions},
};

/// The shared RabbitMQ management API and PostgreSQL server.
#[derive(Debug, Clone, clap::Args)]
pub struct Endpoints {
    /// The RabbitMQ management API.
    #[arg(
        long,
        env = "BENCH_MANAGEMENT_URL",
        default_value = "http://127.0.0.1:15672"
    )]
    pub management_url: String,
    #[arg(long, env = "BENCH_MANAGEMENT_USER", default_value = "guest")]
    pub management_user: String,
    #[arg(
        long,
        env = "BENCH_MANAGEMENT_PASSWORD",
        default_value = "guest",
        hide_env_values = true
    )]
    pub management_password: String,
    #[arg(long, env = "BENCH_PG_HOST", default_value = "127.0.0.1")]
    pub pg_host: String,
    #[arg(long, env = "BENCH_PG_PORT", default_value_t = 5432)]
    pub pg_port: u16,
    #[arg(long, env = "BENCH_PG_USER", default_value = "postgres")]
    pub pg_user: String,
}

impl Endpoints {
    /// The server, connected to `database`.
    pub fn pg(&self, database: &str) -> PgConnectOptions {
        PgConnectOptions::new()
            .host(&self.pg_host)
            .port(self.pg_port)
            .username(&self.pg_user)
            .database(database)
    }

    /// A pool of one connection to `database`: probes ask one question at a time.
    pub async fn pg_pool(&self, database: &str) -> anyhow::Result<PgPool> {
        PgPoolOptions::new()
            .max_connections(1)
            .connect_with(self.pg(database))
            .await
            .with_context(|| {
                format!(
                    "Failed to connect to database {database:?} at {}:{}",
                    self.pg_host, self.pg_port
                )
            })
    }

    /// A request to the management API, `path` below `/api/`.
    pub fn management(
        &self,
        http: &reqwest::Client,
        method: reqwest::Method,
        path: &str,
    ) -> reqwest::RequestBuilder {
        http.request(
            method,
            format!("{}/api/{path}", self.management_url.trim_end_matches('/')),
        )
        .basic_auth(&self.management_user, Some(&self.management_password))
    }
}

/// Creates `vhost` and lets the management user (the services' user) use it.
pub async fn setup(endpoints: &Endpoints, vhost: &str) -> anyhow::Result<()> {
    check_name(vhost)?;
    let http = reqwest::Client::new();
    send(endpoints.management(&http, reqwest::Method::PUT, &format!("vhosts/{vhost}"))).await?;
    let user = &endpoints.management_user;
    send(
        endpoints
            .management(
                &http,
                reqwest::Method::PUT,
                &format!("permissions/{vhost}/{user}"),
            )
            .json(&serde_json::json!({"configure": ".*", "write": ".*", "read": ".*"})),
    )
    .await
}

/// Deletes `vhost` (with its queues and exchanges), the broker users named `<users_prefix>…`
/// (the run's services, provisioned by `shopctl broker provision`: users are the node's, not the
/// vhost's) and drops `databases`, disconnecting whoever is still connected. Missing ones are
/// fine: teardown also runs after a failed setup.
pub async fn teardown(
    endpoints: &Endpoints,
    vhost: &str,
    users_prefix: Option<&str>,
    databases: &[String],
) -> anyhow::Result<()> {
    check_name(vhost)?;
    let http = reqwest::Client::new();
    if let Some(prefix) = users_prefix {
        delete_users(endpoints, &http, prefix).await?;
    }
    delete_if_present(endpoints, &http, &format!("vhosts/{vhost}"))
        .await
        .with_context(|| format!("Deleting vhost {vhost} failed"))?;
    let mut admin = PgConnection::connect_with(&endpoints.pg("postgres"))
        .await
        .context("Failed to connect to the maintenance database `postgres`")?;
    for database in databases {
        check_name(database)?;
        sqlx::raw_sql(&format!(
            r#"DROP DATABASE IF EXISTS "{database}" WITH (FORCE)"#
        ))
        .execute(&mut admin)
        .await
        .with_context(|| format!("Failed to drop database {database}"))?;
    }
    admin.close().await.ok();
    Ok(())
}

/// Deletes every broker user whose name starts with `prefix`.
async fn delete_users(
    endpoints: &Endpoints,
    http: &reqwest::Client,
    prefix: &str,
) -> anyhow::Result<()> {
    #[derive(serde::Deserialize)]
    struct User {
        name: String,
    }
    check_name(prefix)?;
    let users: Vec<User> = endpoints
        .management(http, reqwest::Method::GET, "users")
        .send()
        .await
        .context("The management API is unreachable")?
        .error_for_status()
        .context("Listing the broker users failed")?
        .json()
        .await
        .context("The management API's list of users is not what was expected")?;
    for user in users.iter().filter(|user| user.name.starts_with(prefix)) {
        delete_if_present(endpoints, http, &format!("users/{}", user.name))
            .await
            .with_context(|| format!("Deleting broker user {} failed", user.name))?;
    }
    Ok(())
}

/// `DELETE` of the management API's `path`; one that is already gone is fine.
async fn delete_if_present(
    endpoints: &Endpoints,
    http: &reqwest::Client,
    path: &str,
) -> anyhow::Result<()> {
    let response = endpoints
        .management(http, reqwest::Method::DELETE, path)
        .send()
        .await
        .context("The management API is unreachable")?;
    let status = response.status();
    if !(status.is_success() || status == reqwest::StatusCode::NOT_FOUND) {
        bail!("The management API answered {status}");
    }
    Ok(())
}

/// Benchmark names go into URLs and DDL: letters, digits, `-` and `_` only.
fn check_name(name: &str) -> anyhow::Result<()> {
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        bail!("{name:?} is not a benchmark name (letters, digits, '-' and '_' only)");
    }
    Ok(())
}

async fn send(request: reqwest::RequestBuilder) -> anyhow::Result<()> {
    let response = request
        .send()
        .await
        .context("The management API is unreachable (is rabbitmq_management enabled?)")?;
    if !response.status().is_success() {
        bail!("The management API answered {}", response.status());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_names_are_accepted() {
        assert!(check_name("bench-1a2b_order").is_ok());
        for bad in ["", "a b", "x\";DROP", "a/b", "%2f"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
