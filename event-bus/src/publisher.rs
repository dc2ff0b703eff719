//! Publishing with confirms.
//!
//! Messages are persistent and `mandatory`: a message no queue is bound to comes back from the
//! broker and is reported as [`Error::Unroutable`] (and logged), never silently dropped. Confirms
//! are pipelined: a batch is written to the channel first and its confirms awaited together, so a
//! batch costs one round trip, not one per message.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex, OnceLock},
};

use futures_util::future::join_all;
use lapin::{
    BasicProperties, Channel, Confirmation, PublisherConfirm, message::BasicReturnMessage,
    options::BasicPublishOptions,
};
use tokio::sync::watch;
use tracing::{Instrument, field};

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
    /// The `user_id` of every message: the broker user this service connects as. RabbitMQ
    /// refuses a publish whose `user_id` is not the connection's user, so a consumer that reads
    /// it knows who published.
    user_id: Arc<str>,
}

impl Publisher {
    pub(crate) fn new(
        link: watch::Receiver<Option<Arc<PublishLink>>>,
        app_id: &str,
        user_id: &str,
    ) -> Self {
        Self {
            link,
            app_id: app_id.into(),
            user_id: user_id.into(),
        }
    }

    /// The broker user this publisher publishes as.
    pub fn user_id(&self) -> &str {
        &self.user_id
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
    pub async fn publish<E: Event>(&self, event: &E, correlation_id: &str) -> Result<String> {
        let message = OutgoingMessage::new(event, correlation_id, None)?;
        self.publish_message(&message).await?;
        Ok(message.envelope.message_id)
    }

    /// Publishes one message and waits for its confirm.
    pub async fn publish_message(&self, message: &OutgoingMessage) -> Result<()> {
        let link = self.current()?;
        link.ensure_exchange(&message.envelope.exchange).await?;
        let confirm = self.send(&link.channel, message).await?;
        let outcome = confirm.await;
        let returned = returned_ids(std::slice::from_ref(&outcome), [message]);
        confirmation_result(message, outcome, &returned)
    }

    /// Publishes `messages` in order with their confirms pipelined; one result per message.
    pub async fn publish_batch(&self, messages: &[OutgoingMessage]) -> Result<Vec<Result<()>>> {
        let link = self.current()?;
        let mut confirms = Vec::with_capacity(messages.len());
        for message in messages {
            link.ensure_exchange(&message.envelope.exchange).await?;
            confirms.push(self.send(&link.channel, message).await?);
        }
        let outcomes = join_all(confirms).await;
        let returned = returned_ids(&outcomes, messages);
        Ok(messages
            .iter()
            .zip(outcomes)
            .map(|(message, outcome)| confirmation_result(message, outcome, &returned))
            .collect())
    }

    /// Writes one message to the channel; the returned future resolves with its confirm.
    async fn send(&self, channel: &Channel, message: &OutgoingMessage) -> Result<PublisherConfirm> {
        let span = tracing::debug_span!(
            "publish",
            event = %message.envelope.routing_key,
            message_id = %message.envelope.message_id,
            correlation_id = %message.envelope.flow_id(),
            causation_id = field::Empty,
        );
        if let Some(causation_id) = &message.envelope.causation_id {
            span.record("causation_id", causation_id.as_str());
        }
        channel
            .basic_publish(
                message.envelope.exchange.as_str().into(),
                message.envelope.routing_key.as_str().into(),
                BasicPublishOptions {
                    mandatory: true,
                    ..BasicPublishOptions::default()
                },
                &message.payload,
                message
                    .envelope
                    .properties(&self.app_id)
                    .with_user_id(self.user_id.as_ref().into()),
            )
            .instrument(span)
            .await
            .map_err(|source| Error::Publish {
                routing_key: message.envelope.routing_key.clone(),
                source,
            })
    }

    /// Puts a received message, with amended `properties`, into `queue` through `exchange` (the
    /// consumer's own retry path, which binds it by name) and waits for the confirm: how retries
    /// and dead letters are parked.
    pub(crate) async fn forward(
        &self,
        exchange: &str,
        queue: &str,
        payload: &[u8],
        properties: BasicProperties,
    ) -> Result<()> {
        let link = self.current()?;
        let properties_id = properties.message_id().clone();
        let publish_error = |source| Error::Publish {
            routing_key: queue.to_owned(),
            source,
        };
        let confirmation = link
            .channel
            .basic_publish(
                exchange.into(),
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
        // A return carried by this confirm may be another message's (see `returned_ids`): only
        // one with the parked message's id means the parked copy went nowhere.
        let ours = |returned: &BasicReturnMessage| {
            let own = *returned.delivery.properties.message_id() == properties_id;
            if !own {
                log_unroutable_elsewhere(returned);
            }
            own
        };
        match confirmation {
            Confirmation::Ack(None) | Confirmation::NotRequested => Ok(()),
            Confirmation::Ack(Some(returned)) if !ours(&returned) => Ok(()),
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
        crate::topology::declare_exchange(&self.channel, exchange)
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

/// The ids of `messages` that the broker returned as unroutable, read from the returns that
/// `outcomes` carry.
///
/// lapin hands a `basic.return` to whichever pending confirm it completes next, and completes the
/// confirms covered by one `multiple` ack in no fixed order (a `HashMap`), so a return may ride on
/// the confirm of another message of the batch, or of another publish on the same channel (the
/// relay, direct publishes and the consumer's parking share it). The returned message carries its
/// own `message_id`, which says whose it is. A return that belongs to none of `messages` is logged
/// here, so that it does not vanish with the confirm it rode on.
fn returned_ids<'a>(
    outcomes: &[lapin::Result<Confirmation>],
    messages: impl IntoIterator<Item = &'a OutgoingMessage>,
) -> HashSet<String> {
    let ours: HashSet<String> = messages
        .into_iter()
        .map(|message| message.envelope.message_id.clone())
        .collect();
    let mut returned = HashSet::new();
    for outcome in outcomes {
        let (Ok(Confirmation::Ack(Some(message))) | Ok(Confirmation::Nack(Some(message)))) =
            outcome
        else {
            continue;
        };
        match message.delivery.properties.message_id() {
            Some(id) if ours.contains(id.as_str()) => {
                returned.insert(id.to_string());
            }
            _ => log_unroutable_elsewhere(message),
        }
    }
    returned
}

/// Counts and logs a return that rode on the confirm of another publish (see [`returned_ids`]):
/// the publish it belongs to saw a plain ack, so it is counted here or not at all.
fn log_unroutable_elsewhere(returned: &BasicReturnMessage) {
    metrics::counter!("bus_messages_unroutable_total", "event" => returned.delivery.routing_key.to_string())
        .increment(1);
    let message_id = returned
        .delivery
        .properties
        .message_id()
        .as_ref()
        .map(|id| id.to_string())
        .unwrap_or_default();
    log_unroutable(
        returned.delivery.routing_key.as_str(),
        &message_id,
        returned.delivery.exchange.as_str(),
    );
}

/// Logs an unroutable message: at `warn` the first time its routing key comes back in this
/// process, then at `debug`. An event nobody binds yet (a `mailer.v1.sent` before its first
/// subscriber) comes back on every publish; one warning says so, and
/// `bus_messages_unroutable_total` counts every one, without a log line per message.
fn log_unroutable(routing_key: &str, message_id: &str, exchange: &str) {
    static WARNED: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let first = WARNED
        .get_or_init(Default::default)
        .lock()
        .map(|mut warned| warned.insert(routing_key.to_owned()))
        .unwrap_or(true);
    if first {
        tracing::warn!(
            event = %routing_key,
            %message_id,
            %exchange,
            "unroutable: no queue is bound to this routing key (further ones are logged at debug \
             and counted in bus_messages_unroutable_total)"
        );
    } else {
        tracing::debug!(event = %routing_key, %message_id, %exchange, "unroutable");
    }
}

/// Turns the broker's answer into a result, logging what would otherwise vanish. Whether the
/// message came back unroutable is decided by `returned` (its id among the batch's returns), not
/// by the return its own confirm happens to carry.
fn confirmation_result(
    message: &OutgoingMessage,
    outcome: lapin::Result<Confirmation>,
    returned: &HashSet<String>,
) -> Result<()> {
    let unroutable = returned.contains(&message.envelope.message_id);
    match outcome {
        Ok(Confirmation::Ack(_)) | Ok(Confirmation::NotRequested) if !unroutable => {
            metrics::counter!("bus_messages_published_total", "event" => message.envelope.routing_key.clone())
                .increment(1);
            Ok(())
        }
        Ok(Confirmation::Ack(_)) | Ok(Confirmation::NotRequested) => {
            metrics::counter!("bus_messages_unroutable_total", "event" => message.envelope.routing_key.clone())
                .increment(1);
            log_unroutable(
                &message.envelope.routing_key,
                &message.envelope.message_id,
                &message.envelope.exchange,
            );
            Err(Error::Unroutable {
                exchange: message.envelope.exchange.clone(),
                routing_key: message.envelope.routing_key.clone(),
            })
        }
        Ok(Confirmation::Nack(_)) => Err(Error::Nacked {
            routing_key: message.envelope.routing_key.clone(),
        }),
        Err(source) => Err(Error::Publish {
            routing_key: message.envelope.routing_key.clone(),
            source,
        }),
    }
}
