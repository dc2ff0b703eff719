//! The service's database, from nothing to ready: created if missing, pooled, the bus's tables
//! installed, the service's migrations applied.
//!
//! Each service owns one database; nothing here reaches into another's. Errors name the host,
//! port and database, never the password.

use anyhow::Context;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};

use crate::configuration::DatabaseSettings;

/// SQLSTATE `duplicate_database`: another instance created it between our check and our create.
const DUPLICATE_DATABASE: &str = "42P04";

/// SQLSTATE `unique_violation`: the same race, caught by `pg_database`'s unique index instead.
const UNIQUE_VIOLATION: &str = "23505";

/// Creates the database if needed, connects a pool, installs the bus's outbox and inbox tables
/// (before the service's migrations, which may refer to them), then runs `migrator`; the last
/// two without the statement timeout, which is for the service's work.
pub async fn prepare(settings: &DatabaseSettings, migrator: &Migrator) -> anyhow::Result<PgPool> {
    create_if_missing(settings).await?;
    let pool = PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(settings.acquire_timeout())
        .test_before_acquire(settings.test_before_acquire)
        .connect_with(settings.connect_options())
        .await
        .with_context(|| format!("Failed to connect a pool to {}", describe(settings)))?;
    // Set up on a connection of its own, free of the statement timeout.
    let setup = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(settings.acquire_timeout())
        .connect_with(settings.setup_options())
        .await
        .with_context(|| format!("Failed to connect to {}", describe(settings)))?;
    event_bus::schema::install(&setup).await.with_context(|| {
        format!(
            "Failed to install the bus's tables in {}",
            describe(settings)
        )
    })?;
    migrator
        .run(&setup)
        .await
        .with_context(|| format!("Failed to run the migrations of {}", describe(settings)))?;
    setup.close().await;
    Ok(pool)
}

/// Drops the database, disconnecting whoever is still connected: for tests that created one.
pub async fn drop_database(settings: &DatabaseSettings) -> anyhow::Result<()> {
    let mut connection = maintenance_connection(settings).await?;
    let statement = format!(
        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
        quote_identifier(&settings.database_name)
    );
    sqlx::raw_sql(&statement)
        .execute(&mut connection)
        .await
        .with_context(|| format!("Failed to drop {}", describe(settings)))?;
    connection.close().await.ok();
    Ok(())
}

/// Checks `pg_database` first, because `CREATE DATABASE` needs a privilege that a service's
/// role may lack once its database exists.
async fn create_if_missing(settings: &DatabaseSettings) -> anyhow::Result<()> {
    let mut connection = maintenance_connection(settings).await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&settings.database_name)
            .fetch_one(&mut connection)
            .await
            .with_context(|| format!("Failed to look {} up", describe(settings)))?;
    if !exists {
        let statement = format!(
            "CREATE DATABASE {}",
            quote_identifier(&settings.database_name)
        );
        match sqlx::raw_sql(&statement).execute(&mut connection).await {
            Ok(_) => tracing::info!(database = %settings.database_name, "created the database"),
            Err(sqlx::Error::Database(error))
                if matches!(
                    error.code().as_deref(),
                    Some(DUPLICATE_DATABASE | UNIQUE_VIOLATION)
                ) => {}
            Err(error) => {
                return Err(error)
                    .with_context(|| format!("Failed to create {}", describe(settings)));
            }
        }
    }
    connection.close().await.ok();
    Ok(())
}

async fn maintenance_connection(settings: &DatabaseSettings) -> anyhow::Result<PgConnection> {
    let options: PgConnectOptions = settings.maintenance_options();
    PgConnection::connect_with(&options).await.with_context(|| {
        format!(
            "Failed to connect to the maintenance database `postgres` at {}:{} as {}",
            settings.host, settings.port, settings.username
        )
    })
}

/// `database "billing" at host:port`, for error messages.
fn describe(settings: &DatabaseSettings) -> String {
    format!(
        "database {} at {}:{}",
        quote_identifier(&settings.database_name),
        settings.host,
        settings.port
    )
}

/// A PostgreSQL identifier in double quotes, inner quotes doubled: any name is safe to splice
/// into DDL, which cannot take bind parameters.
fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted_and_inner_quotes_doubled() {
        assert_eq!(quote_identifier("billing"), r#""billing""#);
        assert_eq!(quote_identifier(r#"a"; DROP"#), r#""a""; DROP""#);
    }
}
