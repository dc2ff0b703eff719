//! The bus's own tables in the service's database: the outbox and the inbox.
//!
//! They are created idempotently under an advisory lock, so several instances of a service may
//! start at once, and a service's own migrations never have to know about them.

use sqlx::PgPool;

use crate::error::{Error, Result};

/// Serialises concurrent installs; the number is arbitrary but fixed ("EVENTBUS" in ASCII, roughly).
const INSTALL_LOCK: i64 = 0x4556_454e_5442_5553;

const STATEMENTS: &[&str] = &[
    r#"CREATE TABLE IF NOT EXISTS event_bus_outbox (
        id             BIGSERIAL PRIMARY KEY,
        message_id     UUID        NOT NULL UNIQUE,
        exchange       TEXT        NOT NULL,
        routing_key    TEXT        NOT NULL,
        version        INTEGER     NOT NULL,
        correlation_id TEXT        NOT NULL,
        causation_id   TEXT,
        payload        JSONB       NOT NULL,
        created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
        published_at   TIMESTAMPTZ,
        unroutable     BOOLEAN     NOT NULL DEFAULT FALSE
    )"#,
    r#"CREATE INDEX IF NOT EXISTS event_bus_outbox_pending
        ON event_bus_outbox (id) WHERE published_at IS NULL"#,
    r#"CREATE INDEX IF NOT EXISTS event_bus_outbox_published
        ON event_bus_outbox (published_at) WHERE published_at IS NOT NULL"#,
    r#"CREATE TABLE IF NOT EXISTS event_bus_inbox (
        consumer    TEXT        NOT NULL,
        message_id  TEXT        NOT NULL,
        routing_key TEXT        NOT NULL,
        handled_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY (consumer, message_id)
    )"#,
    // For pruning by age: a BRIN index costs next to nothing per insert on an append-only time
    // column, where a B-tree would be a second index written by every handled message.
    r#"CREATE INDEX IF NOT EXISTS event_bus_inbox_handled_at
        ON event_bus_inbox USING brin (handled_at)"#,
    // Added after the first release: altered only where missing, since ALTER TABLE takes an
    // exclusive lock that would stall every relay of the service while it waits.
    r#"DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM information_schema.columns
                       WHERE table_schema = current_schema()
                         AND table_name = 'event_bus_outbox' AND column_name = 'traceparent') THEN
            ALTER TABLE event_bus_outbox ADD COLUMN traceparent TEXT;
        END IF;
    END $$"#,
    // An event that must be heard and came back unroutable stays pending: how many times it
    // did, and not before when it is published again.
    r#"DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM information_schema.columns
                       WHERE table_schema = current_schema()
                         AND table_name = 'event_bus_outbox' AND column_name = 'may_go_unheard') THEN
            ALTER TABLE event_bus_outbox
                ADD COLUMN may_go_unheard BOOLEAN NOT NULL DEFAULT FALSE,
                ADD COLUMN unheard_attempts INTEGER NOT NULL DEFAULT 0,
                ADD COLUMN retry_at TIMESTAMPTZ;
        END IF;
    END $$"#,
];

/// Creates the outbox and inbox tables if they do not exist yet.
pub async fn install(pool: &PgPool) -> Result<()> {
    let mut tx = pool
        .begin()
        .await
        .map_err(Error::db("beginning the schema install"))?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(INSTALL_LOCK)
        .execute(&mut *tx)
        .await
        .map_err(Error::db("locking the schema install"))?;
    for statement in STATEMENTS {
        sqlx::query(statement)
            .execute(&mut *tx)
            .await
            .map_err(Error::db("installing the outbox and inbox tables"))?;
    }
    tx.commit()
        .await
        .map_err(Error::db("committing the schema install"))
}
