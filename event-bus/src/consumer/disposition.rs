//! Once a delivery's transaction is over: ack it, or park a copy in its retry queue or in the
//! dead-letter queue first and then ack it. A copy the broker did not confirm gives the original
//! back (nack, requeue) rather than lose it.

use lapin::{
    BasicProperties,
    message::Delivery,
    options::{BasicAckOptions, BasicNackOptions},
    types::AMQPValue,
};
use tracing::Instrument;

use crate::{
    consumer::{receive::Received, transaction::Outcome, worker::QueueRuntime},
    envelope::{self, long_string},
    error::Error,
    topology::{dead_letter_queue, retry_exchange, retry_queue},
};

/// The headers only the runtime's own retry path may set: dropped from a first delivery's copy.
const STEERING: &[&str] = &[
    envelope::ATTEMPT,
    envelope::ORIGINAL_ROUTING_KEY,
    envelope::ORIGINAL_EXCHANGE,
    envelope::ORIGINAL_USER_ID,
    envelope::ERROR,
    envelope::DEAD_LETTER_KIND,
];

/// How a delivery arrived, as its disposal needs it.
struct Arrival<'a> {
    /// The routing key it first arrived with.
    routing_key: &'a str,
    attempt: u32,
    /// Whether it came back from the queue's own retry path.
    retried: bool,
}

impl QueueRuntime {
    /// Acks, retries or dead-letters a delivery, in its own span.
    pub(crate) async fn dispose(&self, received: Received, outcome: Outcome) {
        let Received {
            delivery,
            routing_key,
            attempt,
            retried,
            span,
            ..
        } = received;
        let arrival = Arrival {
            routing_key: &routing_key,
            attempt,
            retried,
        };
        self.dispose_in_span(delivery, arrival, outcome)
            .instrument(span)
            .await;
    }

    async fn dispose_in_span(&self, delivery: Delivery, arrival: Arrival<'_>, outcome: Outcome) {
        let Arrival {
            routing_key,
            attempt,
            ..
        } = arrival;
        let parked = match &outcome {
            Outcome::Handled | Outcome::Duplicate => Ok(()),
            // Not the message's fault: back to the queue as it was, no attempt counted.
            Outcome::Unavailable(reason) => {
                tracing::warn!(outcome = "given_back", %reason, "the database is out of reach");
                Err(Error::Unavailable(reason.clone()))
            }
            Outcome::Undecodable(reason) => {
                tracing::warn!(outcome = "dead_lettered", %reason, "undecodable message");
                let headers = [
                    (envelope::ERROR, long_string(&reason.to_string())),
                    (envelope::DEAD_LETTER_KIND, long_string("decode")),
                    (
                        envelope::ATTEMPT,
                        AMQPValue::LongLongInt(i64::from(attempt)),
                    ),
                ];
                self.park(
                    &delivery,
                    &arrival,
                    &dead_letter_queue(&self.queue),
                    &headers,
                )
                .await
            }
            Outcome::Failed(error) => {
                let error_text = long_string(&error.to_string());
                match self.retry_delays.get(attempt as usize - 1) {
                    Some(delay) => {
                        tracing::warn!(outcome = "retried", %error, delay_ms = delay.as_millis() as u64, "handler failed");
                        let headers = [
                            (envelope::ERROR, error_text),
                            (
                                envelope::ATTEMPT,
                                AMQPValue::LongLongInt(i64::from(attempt) + 1),
                            ),
                        ];
                        let queue = retry_queue(&self.queue, *delay);
                        self.park(&delivery, &arrival, &queue, &headers).await
                    }
                    None => {
                        tracing::error!(outcome = "dead_lettered", %error, attempts = attempt, "handler failed on its last attempt");
                        let headers = [
                            (envelope::ERROR, error_text),
                            (envelope::DEAD_LETTER_KIND, long_string("handler")),
                            (
                                envelope::ATTEMPT,
                                AMQPValue::LongLongInt(i64::from(attempt)),
                            ),
                        ];
                        let queue = dead_letter_queue(&self.queue);
                        self.park(&delivery, &arrival, &queue, &headers).await
                    }
                }
            }
        };
        match (&outcome, parked) {
            (Outcome::Handled, Ok(())) => tracing::info!(outcome = "handled", "event handled"),
            (Outcome::Duplicate, Ok(())) => tracing::info!(
                outcome = "duplicate",
                "already handled; acked without effect"
            ),
            (_, Ok(())) => {}
            (_, Err(error)) => {
                // The copy did not reach the broker (or none was made, the database being out
                // of reach): give the original back rather than lose it.
                if matches!(outcome, Outcome::Unavailable(_)) {
                    self.count(routing_key, attempt, &outcome);
                } else {
                    tracing::error!(%error, "could not park the message; requeueing it");
                }
                let _ = delivery
                    .nack(BasicNackOptions {
                        requeue: true,
                        ..BasicNackOptions::default()
                    })
                    .await;
                return;
            }
        }
        self.count(routing_key, attempt, &outcome);
        if let Err(error) = delivery.ack(BasicAckOptions::default()).await {
            // The link is gone: the broker redelivers it, and the inbox absorbs the repeat.
            tracing::warn!(%error, "ack failed; the message will be redelivered");
        }
    }

    /// Copies the delivery into `queue` with extra headers, keeping its id, payload and the
    /// proof of its first sender (`x-original-user-id`), published as this service. A first
    /// delivery's own steering headers are dropped and its real arrival recorded; a retried
    /// copy's, which the runtime set, are kept.
    async fn park(
        &self,
        delivery: &Delivery,
        arrival: &Arrival<'_>,
        queue: &str,
        extra: &[(&str, AMQPValue)],
    ) -> Result<(), Error> {
        let mut headers = delivery.properties.headers().clone().unwrap_or_default();
        if !arrival.retried {
            let mut kept = headers.inner().clone();
            for steering in STEERING {
                kept.remove(&lapin::types::ShortString::from(*steering));
            }
            headers = kept.into();
            headers.insert(
                envelope::ORIGINAL_ROUTING_KEY.into(),
                long_string(arrival.routing_key),
            );
            headers.insert(
                envelope::ORIGINAL_EXCHANGE.into(),
                long_string(delivery.exchange.as_str()),
            );
            if let Some(sender) = delivery.properties.user_id() {
                headers.insert(
                    envelope::ORIGINAL_USER_ID.into(),
                    long_string(sender.as_str()),
                );
            }
        }
        for (key, value) in extra {
            headers.insert((*key).into(), value.clone());
        }
        // Republished under this service's own identity: RabbitMQ refuses (and closes the
        // channel on) a publish whose `user_id` is another user's, which would give the message
        // back as attempt 1 forever and disturb everything else on the link.
        let properties: BasicProperties = delivery
            .properties
            .clone()
            .with_headers(headers)
            .with_delivery_mode(2)
            .with_user_id(self.publisher.user_id().into());
        self.publisher
            .forward(
                &retry_exchange(&self.queue),
                queue,
                &delivery.data,
                properties,
            )
            .await
    }
}
