//! The one door into the outbox: [`EventTransaction`], for a handler's transaction and for any
//! other ([`Outbox::begin`]).
//!
//! Both keep what is published in a [`Staged`] list and write it in one statement just before
//! the commit, then wake the relay of this process: no statement per event, no `NOTIFY` round
//! trip, and nothing reaches the relay that did not commit.

use sqlx::{PgConnection, PgPool, Postgres};

use crate::{
    error::{Error, Result},
    event::Event,
    message::OutgoingMessage,
    outbox::relay::RelayWake,
};

/// A transaction that events can be published in. What is published is staged in the outbox and
/// commits with everything done through [`Self::db`], or not at all.
///
/// Implemented by a handler's [`HandlerContext`](crate::HandlerContext) (the flow and cause are
/// the handled message's) and by [`OutboxTransaction`] (a flow is started or named).
pub trait EventTransaction {
    /// The open transaction.
    fn db(&mut self) -> &mut PgConnection;

    /// Stages `event` in the flow of the work in progress: the handled message's flow, or a new
    /// one named after the event's own id when there is none. Returns the message id; fails only
    /// when the event cannot be encoded.
    fn publish<E: Event>(&mut self, event: &E) -> Result<String>;

    /// Stages `event` in the flow `flow` (e.g. the order it is about); returns the message id.
    fn publish_in<E: Event>(&mut self, flow: &str, event: &E) -> Result<String>;
}

/// Events published in one transaction, waiting for its commit.
#[derive(Debug, Default)]
pub(crate) struct Staged(Vec<OutgoingMessage>);

impl Staged {
    /// Keeps `message` for the commit; returns its id.
    pub(crate) fn push(&mut self, message: OutgoingMessage) -> String {
        let id = message.envelope.message_id.clone();
        self.0.push(message);
        id
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Forgets what was staged after the first `len` (a handler rolled back to its savepoint).
    pub(crate) fn truncate(&mut self, len: usize) {
        self.0.truncate(len);
    }

    /// Writes every staged message to the outbox, in one statement whatever their number.
    pub(crate) async fn write(&self, connection: &mut PgConnection) -> Result<()> {
        if self.0.is_empty() {
            return Ok(());
        }
        Columns::of(&self.0)?
            .bind(sqlx::query(INSERT_ROWS))
            .execute(connection)
            .await
            .map_err(Error::db("staging events in the outbox"))?;
        Ok(())
    }
}

/// Opens transactions that can publish events; from
/// [`EventBus::outbox`](crate::EventBus::outbox). Cheap to clone.
#[derive(Debug, Clone)]
pub struct Outbox {
    pool: PgPool,
    wake: RelayWake,
}

impl Outbox {
    pub(crate) fn new(pool: PgPool, wake: RelayWake) -> Self {
        Self { pool, wake }
    }

    /// The bus's pool, for reads that need no transaction.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Begins a transaction on the bus's pool.
    pub async fn begin(&self) -> Result<OutboxTransaction> {
        let transaction = self
            .pool
            .begin()
            .await
            .map_err(Error::db("beginning a transaction"))?;
        Ok(self.wrap(transaction))
    }

    /// Lets `transaction`, begun elsewhere (on another pool of the same database, say), publish.
    pub fn wrap(&self, transaction: sqlx::Transaction<'static, Postgres>) -> OutboxTransaction {
        OutboxTransaction {
            transaction,
            staged: Staged::default(),
            wake: self.wake.clone(),
        }
    }
}

/// A database transaction that stages what it publishes; see [`EventTransaction`]. Dropped
/// without [`Self::commit`], it rolls back and publishes nothing.
pub struct OutboxTransaction {
    transaction: sqlx::Transaction<'static, Postgres>,
    staged: Staged,
    wake: RelayWake,
}

impl OutboxTransaction {
    /// Writes what was published to the outbox, commits, and wakes the relay.
    pub async fn commit(self) -> Result<()> {
        let Self {
            mut transaction,
            staged,
            wake,
        } = self;
        staged.write(&mut transaction).await?;
        transaction
            .commit()
            .await
            .map_err(Error::db("committing a transaction with staged events"))?;
        if !staged.is_empty() {
            wake.wake();
        }
        Ok(())
    }

    /// Rolls back: nothing done or published in it remains.
    pub async fn rollback(self) -> Result<()> {
        self.transaction
            .rollback()
            .await
            .map_err(Error::db("rolling a transaction back"))
    }
}

impl EventTransaction for OutboxTransaction {
    fn db(&mut self) -> &mut PgConnection {
        &mut self.transaction
    }

    fn publish<E: Event>(&mut self, event: &E) -> Result<String> {
        let mut message = OutgoingMessage::new(event, String::new(), None)?;
        message.envelope.correlation_id = Some(message.envelope.message_id.clone());
        Ok(self.staged.push(message))
    }

    fn publish_in<E: Event>(&mut self, flow: &str, event: &E) -> Result<String> {
        Ok(self.staged.push(OutgoingMessage::new(event, flow, None)?))
    }
}

/// Inserts the rows given as one array per column, in their order.
const INSERT_ROWS: &str = "INSERT INTO event_bus_outbox
        (message_id, exchange, routing_key, version, correlation_id, causation_id, payload,
         created_at, traceparent, may_go_unheard)
    SELECT message_id, exchange, routing_key, version, correlation_id, causation_id,
           payload::jsonb, created_at, traceparent, may_go_unheard
    FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int4[], $5::text[], $6::text[],
                $7::text[], $8::timestamptz[], $9::text[], $10::bool[])
         AS rows (message_id, exchange, routing_key, version, correlation_id, causation_id,
                  payload, created_at, traceparent, may_go_unheard)";

/// Outgoing messages as the column arrays [`INSERT_ROWS`] takes.
#[derive(Default)]
struct Columns {
    message_id: Vec<uuid::Uuid>,
    exchange: Vec<String>,
    routing_key: Vec<String>,
    version: Vec<i32>,
    correlation_id: Vec<String>,
    causation_id: Vec<Option<String>>,
    payload: Vec<String>,
    created_at: Vec<chrono::DateTime<chrono::Utc>>,
    traceparent: Vec<Option<String>>,
    may_go_unheard: Vec<bool>,
}

impl Columns {
    /// Fails, before anything reaches the database, for a payload that is not JSON.
    fn of(messages: &[OutgoingMessage]) -> Result<Self> {
        let mut columns = Self::default();
        for OutgoingMessage {
            envelope,
            payload,
            may_go_unheard,
        } in messages
        {
            let encode_error = |source| Error::Encode {
                routing_key: envelope.routing_key.clone(),
                source,
            };
            let payload: &serde_json::value::RawValue =
                serde_json::from_slice(payload).map_err(encode_error)?;
            // The bus's own ids are UUIDs; the outbox stores them as such.
            let message_id = uuid::Uuid::parse_str(&envelope.message_id).map_err(|error| {
                encode_error(serde::de::Error::custom(format!(
                    "message id `{}` is not a UUID: {error}",
                    envelope.message_id
                )))
            })?;
            columns.message_id.push(message_id);
            columns.exchange.push(envelope.exchange.clone());
            columns.routing_key.push(envelope.routing_key.clone());
            columns.version.push(envelope.version as i32);
            columns.correlation_id.push(envelope.flow_id().to_owned());
            columns.causation_id.push(envelope.causation_id.clone());
            columns.payload.push(payload.get().to_owned());
            columns
                .created_at
                .push(envelope.timestamp.unwrap_or_else(chrono::Utc::now));
            columns.traceparent.push(envelope.traceparent.clone());
            columns.may_go_unheard.push(*may_go_unheard);
        }
        Ok(columns)
    }

    fn bind(
        self,
        query: sqlx::query::Query<'_, Postgres, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::Query<'_, Postgres, sqlx::postgres::PgArguments> {
        query
            .bind(self.message_id)
            .bind(self.exchange)
            .bind(self.routing_key)
            .bind(self.version)
            .bind(self.correlation_id)
            .bind(self.causation_id)
            .bind(self.payload)
            .bind(self.created_at)
            .bind(self.traceparent)
            .bind(self.may_go_unheard)
    }
}
