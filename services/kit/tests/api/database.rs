use service_kit::database::{drop_database, prepare};
use sqlx::PgPool;
use sqlx::migrate::Migrator;

use crate::helpers::{maintenance_pool, unique_database};

async fn database_exists(name: &str) -> bool {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(name)
        .fetch_one(&maintenance_pool())
        .await
        .unwrap()
}

async fn table_exists(pool: &PgPool, table: &str) -> bool {
    sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
        .bind(table)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// A migrator over a temporary directory holding one migration that creates `things`.
async fn migrator_creating_things() -> (Migrator, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("kit-migrations-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("20240101000000_things.sql"),
        "CREATE TABLE things (id BIGINT PRIMARY KEY);",
    )
    .unwrap();
    (Migrator::new(dir.as_path()).await.unwrap(), dir)
}

#[tokio::test]
async fn prepare_creates_the_database_installs_the_bus_tables_and_runs_migrations() {
    let settings = unique_database("kit_prepare");
    let (migrator, dir) = migrator_creating_things().await;

    let pool = prepare(&settings, &migrator).await.expect("prepared");

    assert!(database_exists(&settings.database_name).await);
    assert!(table_exists(&pool, "event_bus_outbox").await);
    assert!(table_exists(&pool, "event_bus_inbox").await);
    assert!(table_exists(&pool, "things").await);
    pool.close().await;
    drop_database(&settings).await.unwrap();
    assert!(!database_exists(&settings.database_name).await);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn prepare_twice_on_the_same_database_succeeds() {
    let settings = unique_database("kit_twice");
    let first = prepare(&settings, &Migrator::DEFAULT).await.expect("first");
    let second = prepare(&settings, &Migrator::DEFAULT)
        .await
        .expect("second");
    first.close().await;
    second.close().await;
    drop_database(&settings).await.unwrap();
}

#[tokio::test]
async fn concurrent_prepares_of_a_new_database_both_succeed() {
    let settings = unique_database("kit_race");
    let (a, b) = tokio::join!(
        prepare(&settings, &Migrator::DEFAULT),
        prepare(&settings, &Migrator::DEFAULT)
    );
    a.expect("first instance");
    b.expect("second instance");
    drop_database(&settings).await.unwrap();
}

#[tokio::test]
async fn a_database_name_needing_quotes_is_created_and_dropped() {
    let mut settings = unique_database("kit");
    settings.database_name = format!("Kit \"quoted\"; {}", settings.database_name);
    let pool = prepare(&settings, &Migrator::DEFAULT)
        .await
        .expect("prepared");
    assert!(database_exists(&settings.database_name).await);
    pool.close().await;
    drop_database(&settings).await.unwrap();
    assert!(!database_exists(&settings.database_name).await);
}

#[tokio::test]
async fn drop_database_disconnects_open_connections() {
    let settings = unique_database("kit_force");
    let pool = prepare(&settings, &Migrator::DEFAULT)
        .await
        .expect("prepared");
    sqlx::query("SELECT 1").execute(&pool).await.unwrap();
    drop_database(&settings)
        .await
        .expect("dropped despite the open pool");
    assert!(!database_exists(&settings.database_name).await);
}

#[tokio::test]
async fn an_unreachable_server_is_an_error_that_names_it_but_not_the_password() {
    let mut settings = unique_database("kit_unreachable");
    settings.port = 1;
    settings.password = "hunter2-secret".into();
    let error = prepare(&settings, &Migrator::DEFAULT).await.unwrap_err();
    let report = format!("{error:?}");
    assert!(report.contains("127.0.0.1:1"), "{report}");
    assert!(!report.contains("hunter2"), "{report}");
}

#[tokio::test]
async fn a_statement_longer_than_the_statement_timeout_fails_instead_of_hanging() {
    let settings = service_kit::DatabaseSettings {
        statement_timeout_ms: 200,
        ..unique_database("kit_statement_timeout")
    };
    let pool = prepare(&settings, &Migrator::DEFAULT)
        .await
        .expect("prepared");

    let error = sqlx::query("SELECT pg_sleep(5)")
        .execute(&pool)
        .await
        .expect_err("cancelled by the statement timeout");
    let code = error
        .as_database_error()
        .and_then(|error| error.code())
        .map(|code| code.into_owned());
    assert_eq!(code.as_deref(), Some("57014"), "{error}");
    pool.close().await;
    drop_database(&settings).await.unwrap();
}

#[tokio::test]
async fn tombstones_older_than_their_retention_are_pruned_and_the_others_kept() {
    let settings = unique_database("kit_tombstones");
    let pool = prepare(&settings, &Migrator::DEFAULT)
        .await
        .expect("prepared");
    sqlx::query(
        "CREATE TABLE cancelled_orders (order_id UUID PRIMARY KEY, at TIMESTAMPTZ NOT NULL DEFAULT now())",
    )
    .execute(&pool)
    .await
    .unwrap();
    let (old, recent) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    sqlx::query(
        "INSERT INTO cancelled_orders (order_id, at) VALUES ($1, now() - interval '8 days'), ($2, now())",
    )
    .bind(old)
    .bind(recent)
    .execute(&pool)
    .await
    .unwrap();

    let week = std::time::Duration::from_secs(7 * 24 * 3_600);
    let pruned = service_kit::tombstone::prune(&pool, week).await.unwrap();
    assert_eq!(pruned, 1);
    let mut connection = pool.acquire().await.unwrap();
    assert!(
        !service_kit::tombstone::is_cancelled(&mut connection, old)
            .await
            .unwrap()
    );
    assert!(
        service_kit::tombstone::is_cancelled(&mut connection, recent)
            .await
            .unwrap()
    );
    drop(connection);
    pool.close().await;
    drop_database(&settings).await.unwrap();
}
