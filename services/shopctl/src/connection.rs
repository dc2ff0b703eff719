//! shopctl's link to one vhost: an AMQP connection to read and move messages, and the
//! management API to learn the names of the vhost's queues (AMQP cannot list them).

use event_bus::{BrokerSettings, management::Management};
use lapin::{
    Channel, Connection, ConnectionProperties,
    options::QueueDeclareOptions,
    protocol::{AMQPErrorKind, AMQPSoftError},
    types::FieldTable,
};

use crate::{
    dead_letter::DeadLetterQueue,
    error::{Error, Result},
};

/// The name shopctl gives its connection: the management UI shows who holds the messages.
const CONNECTION_NAME: &str = "shopctl";

/// A connection to one vhost, as one broker user.
pub struct Broker {
    connection: Connection,
    management: Management,
    vhost: String,
    /// The broker user: recorded in the audit log.
    username: String,
}

impl Broker {
    /// Connects to the broker of `settings` and prepares a client of the management API at
    /// `management_url`, logged in as the same user.
    pub async fn connect(settings: &BrokerSettings, management_url: &str) -> Result<Self> {
        let management = Management::new(
            management_url,
            settings.username.clone(),
            settings.password.clone(),
        )
        .map_err(|source| Error::Management {
            vhost: settings.vhost.clone(),
            source,
        })?
        .with_timeout(settings.connect_timeout());
        Self::connect_with(settings, management, CONNECTION_NAME).await
    }

    /// Connects to the broker of `settings` with a management API client of the caller's own
    /// (another URL, user or timeout), naming the connection `connection_name` in the management
    /// UI: for a service that works on dead letters for its users (the tracker's page).
    pub async fn connect_with(
        settings: &BrokerSettings,
        management: Management,
        connection_name: &str,
    ) -> Result<Self> {
        let properties =
            ConnectionProperties::default().with_connection_name(connection_name.into());
        // The URI bounds the handshake (`BrokerSettings::uri`: 10 s).
        let connection = Connection::connect_uri(settings.uri(), properties)
            .await
            .map_err(|source| Error::Connect {
                endpoint: settings.endpoint(),
                username: settings.username.clone(),
                source: Box::new(source),
            })?;
        Ok(Self {
            connection,
            management,
            vhost: settings.vhost.clone(),
            username: settings.username.clone(),
        })
    }

    /// The vhost this connection works in.
    pub fn vhost(&self) -> &str {
        &self.vhost
    }

    /// The broker user this connection logged in as.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// Every dead-letter queue of the vhost (`<service>.dead`), by name.
    pub async fn dead_letter_queues(&self) -> Result<Vec<DeadLetterQueue>> {
        let queues = self
            .management
            .queues(&self.vhost)
            .await
            .map_err(|source| Error::Management {
                vhost: self.vhost.clone(),
                source,
            })?;
        let mut dead: Vec<DeadLetterQueue> = queues
            .iter()
            .filter_map(|queue| DeadLetterQueue::parse(&queue.name).ok())
            .collect();
        dead.sort();
        Ok(dead)
    }

    /// How many messages `queue` holds ready, or `None` when there is no such queue. A passive
    /// declare of a missing queue closes its channel, so each check has a channel of its own.
    pub async fn queue_depth(&self, queue: &str) -> Result<Option<u32>> {
        let channel = self.channel(queue).await?;
        let passive = QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::default()
        };
        match channel
            .queue_declare(queue.into(), passive, FieldTable::default())
            .await
        {
            Ok(state) => {
                let _ = channel.close(200, "checked".into()).await;
                Ok(Some(state.message_count()))
            }
            Err(error) if is_not_found(&error) => Ok(None),
            Err(source) => Err(Error::broker("check that the queue exists", queue)(source)),
        }
    }

    /// Fails with [`Error::NoSuchQueue`] unless `queue` exists.
    pub(crate) async fn require_queue(&self, queue: &str) -> Result<()> {
        match self.queue_depth(queue).await? {
            Some(_) => Ok(()),
            None => Err(Error::NoSuchQueue(queue.to_owned())),
        }
    }

    /// A new channel, for work on `queue`.
    pub(crate) async fn channel(&self, queue: &str) -> Result<Channel> {
        self.connection
            .create_channel()
            .await
            .map_err(Error::broker("open a channel", queue))
    }

    /// Closes the connection; the broker gives back whatever a channel still held.
    pub async fn close(self) {
        let _ = self.connection.close(200, "done".into()).await;
    }
}

fn is_not_found(error: &lapin::Error) -> bool {
    matches!(
        error.kind(),
        lapin::ErrorKind::ProtocolError(amqp)
            if matches!(amqp.kind(), AMQPErrorKind::Soft(AMQPSoftError::NOTFOUND))
    )
}
