//! How messages ended, counted by queue, event and outcome. (A delivery's span is opened where
//! it is read, in [`receive`](super::receive); handler durations are the [`Measure`] layer's.)
//!
//! [`Measure`]: crate::layer::Measure

use crate::{
    consumer::{transaction::Outcome, worker::QueueRuntime},
    error::DecodeError,
};

impl QueueRuntime {
    /// Counts how a message ended, by queue and routing key (`unknown` for a key no handler
    /// knows, so that poison cannot grow the label set without bound).
    pub(crate) fn count(&self, routing_key: &str, attempt: u32, outcome: &Outcome) {
        let unknown = matches!(
            outcome,
            Outcome::Undecodable(
                DecodeError::InvalidRoutingKey(_)
                    | DecodeError::NoHandler(_)
                    | DecodeError::MissingMessageId
                    | DecodeError::TooLarge { .. }
            )
        );
        let event = if unknown {
            "unknown".to_owned()
        } else {
            routing_key.to_owned()
        };
        let queue = self.queue.clone();
        match outcome {
            Outcome::Handled => {
                metrics::counter!("bus_messages_handled_total", "queue" => queue, "event" => event, "outcome" => "handled")
                    .increment(1);
            }
            Outcome::Duplicate => {
                metrics::counter!("bus_messages_handled_total", "queue" => queue, "event" => event, "outcome" => "duplicate")
                    .increment(1);
            }
            Outcome::Failed(_) if (attempt as usize) <= self.retry_delays.len() => {
                metrics::counter!("bus_messages_retried_total", "queue" => queue, "event" => event)
                    .increment(1);
            }
            Outcome::Failed(_) => {
                metrics::counter!("bus_messages_dead_lettered_total", "queue" => queue, "event" => event, "kind" => "handler")
                    .increment(1);
            }
            Outcome::Unavailable(_) => {
                metrics::counter!("bus_messages_given_back_total", "queue" => queue, "event" => event)
                    .increment(1);
            }
            Outcome::Undecodable(_) => {
                metrics::counter!("bus_messages_dead_lettered_total", "queue" => queue, "event" => event, "kind" => "decode")
                    .increment(1);
            }
        }
    }
}
