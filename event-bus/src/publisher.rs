//! Publishing with confirms.
//!
//! Messages are persistent and `mandatory`: a message no queue is bound to comes back from the
//! broker and is reported as [`Error::Unroutable`] (and logged), never silently dropped. Confirms
//! are pipelined: a batch is written to the channel first and its confirms awaited together, so a
//! batch costs one round trip, not one per message.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
};

use futures_util::future::join_all;
use lapin::{
    BasicProperties, Channel, Confirmation, ExchangeKind, PublisherConfirm,
    options::{BasicPublishOptions, ExchangeDeclareOptions},
    types::FieldTable,
};
use tokio::sync::watch;
use tracing::{Instrument, field};
use uuid::Uuid;

use crate::{
    error::{Error, Result},
    event::Event,
    message::OutgoingMessage,
};

/// Publishes on the bus's current confirm channel. Cheap to clone; safe to share between tasks.
///
/// While the broker is unreachable, publishing fails with [`Error::NotConnected`] at once rather
/// than waiting: a caller that must not lose an event stages it in the [outbox](crate::outbox)
/// instead, whose relay waits for the connection.
#[derive(Clone)]
pub struct Publisher {
    link: watch::Receiver<Option<Arc<PublishLink>>>,
    /// The `app_id` of every message: the producing service.
    app_id: Arc<str>,
}

impl Publisher {
    pub(crate) fn new(link: watch::Receiver<Option<Arc<PublishLink>>>, app_id: &str) -> Self {
        Self {
            link,
            app_id: app_id.into(),
        }
    }

    /// The service this publisher publishes as.
    pub fn app_id(&self) -> &str {
        &self.app_id
    }

    /// Whether the bus has a confirm channel right now.
    pub fn is_connected(&self) -> bool {
        self.link.borrow().is_some()
    }

    /// Resolves once the bus has a confirm channel (never, if the bus is gone).
    pub async fn connected(&self) {
        let mut link = self.link.clone();
        if link.wait_for(Option::is_some).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    fn current(&self) -> Result<Arc<PublishLink>> {
        self.link.borrow().clone().ok_or(Error::NotConnected)
    }

    /// Publishes `event` as a new step of flow `correlation_id` and waits for its confirm.
    pub async fn publish<E: Event>(&self, event: &E, correlation_id: &str) -> Result<Uuid> {
        let message = OutgoingMessage::new(event, correlation_id, None)?;
        self.publish_message(&message).await?;
        Ok(message.message_id)
    }

    /// Publishes one message and waits for its confirm.
    pub async fn publish_message(&self, message: &OutgoingMessage) -> Result<()> {
        let link = self.current()?;
        link.ensure_exchange(&message.exchange).await?;
        let confirm = self.send(&link.channel, message).await?;
        settle(message, confirm.await)
    }

    /// Publishes `messages` in order with their confirms pipelined; one result per message.
    pub async fn publish_batch(&self, messages: &[OutgoingMessage]) -> Result<Vec<Result<()>>> {
        let link = self.current()?;
        let mut confirms = Vec::with_capacity(messages.len());
        for message in messages {
            link.ensure_exchange(&message.exchange).await?;
            confirms.push(self.send(&link.channel, message).await?);
        }
        let outcomes = join_all(confirms).await;
        Ok(messages
            .iter()
            .zip(outcomes)
            .map(|(message, outcome)| settle(message, outcome))
            .collect())
    }

    /// Writes one message to the channel; the returned future resolves with its confirm.
    async fn send(&self, channel: &Channel, message: &OutgoingMessage) -> Result<PublisherConfirm> {
        let span = tracing::debug_span!(
            "publish",
            event = %message.routing_key,
            message_id = %message.message_id,
            correlation_id = %message.correlation_id,
            causation_id = field::Empty,
        );
        if let Some(causation_id) = &message.causation_id {
            span.record("causation_id", causation_id.as_str());
        }
        channel
            .basic_publish(
                message.exchange.as_str().into(),
                message.routing_key.as_str().into(),
                BasicPublishOptions {
                    mandatory: true,
                    ..BasicPublishOptions::default()
                },
                &message.payload,
                message.properties(&self.app_id),
            )
            .instrument(span)
            .await
            .map_err(|source| Error::Publish {
                routing_key: message.routing_key.clone(),
                source,
            })
    }

    /// Puts a received message, with amended `properties`, straight into `queue` (through the
    /// default exchange) and waits for the confirm: how retries and dead letters are parked.
    pub(crate) async fn forward(
        &self,
        queue: &str,
        payload: &[u8],
        properties: BasicProperties,
    ) -> Result<()> {
        let link = self.current()?;
        let publish_error = |source| Error::Publish {
            routing_key: queue.to_owned(),
            source,
        };
        let confirmation = link
            .channel
            .basic_publish(
                "".into(),
                queue.into(),
                BasicPublishOptions {
                    mandatory: true,
                    ..BasicPublishOptions::default()
                },
                payload,
                properties,
            )
            .await
            .map_err(publish_error)?
            .await
            .map_err(publish_error)?;
        match confirmation {
            Confirmation::Ack(None) | Confirmation::NotRequested => Ok(()),
            Confirmation::Ack(Some(_)) => Err(Error::Unroutable {
                exchange: String::new(),
                routing_key: queue.to_owned(),
            }),
            Confirmation::Nack(_) => Err(Error::Nacked {
                routing_key: queue.to_owned(),
            }),
        }
    }
}

/// The confirm channel of one connection, and the exchanges already declared on it.
///
/// Publishing to an exchange that does not exist makes the broker close the channel, so the
/// publisher declares (idempotently, once per connection) every exchange it publishes to.
pub(crate) struct PublishLink {
    pub(crate) channel: Channel,
    declared: Mutex<HashSet<String>>,
}

impl PublishLink {
    pub(crate) fn new(channel: Channel, declared: impl IntoIterator<Item = String>) -> Self {
        Self {
            channel,
            declared: Mutex::new(declared.into_iter().collect()),
        }
    }

    async fn ensure_exchange(&self, exchange: &str) -> Result<()> {
        if exchange.is_empty() || self.is_declared(exchange) {
            return Ok(());
        }
        self.channel
            .exchange_declare(
                exchange.into(),
                ExchangeKind::Topic,
                ExchangeDeclareOptions {
                    durable: true,
                    ..ExchangeDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(|source| Error::Declare {
                name: exchange.to_owned(),
                source,
            })?;
        self.declared
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(exchange.to_owned());
        Ok(())
    }

    fn is_declared(&self, exchange: &str) -> bool {
        self.declared
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .contains(exchange)
    }
}

/// Turns the broker's answer into a result, logging what would otherwise vanish.
fn settle(message: &OutgoingMessage, outcome: lapin::Result<Confirmation>) -> Result<()> {
    match outcome {
        Ok(Confirmation::Ack(None)) | Ok(Confirmation::NotRequested) => Ok(()),
        Ok(Confirmation::Ack(Some(_returned))) => {
            tracing::warn!(
                event = %message.routing_key,
                message_id = %message.message_id,
                exchange = %message.exchange,
                "unroutable: no queue is bound to this routing key"
            );
            Err(Error::Unroutable {
                exchange: message.exchange.clone(),
                routing_key: message.routing_key.clone(),
            })
        }
        Ok(Confirmation::Nack(_)) => Err(Error::Nacked {
            routing_key: message.routing_key.clone(),
        }),
        Err(source) => Err(Error::Publish {
            routing_key: message.routing_key.clone(),
            source,
        }),
    }
}
