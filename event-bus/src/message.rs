//! [`OutgoingMessage`]: an [`Envelope`] and its encoded payload, what the outbox stores and the
//! publisher sends.

use crate::{
    envelope::Envelope,
    error::{Error, Result},
    event::Event,
};

/// A message ready to be published.
#[derive(Debug, Clone, PartialEq)]
pub struct OutgoingMessage {
    pub envelope: Envelope,
    /// JSON bytes of the payload.
    pub payload: Vec<u8>,
    /// Whether the event may be published while no queue is bound ([`Event::MAY_GO_UNHEARD`]).
    pub may_go_unheard: bool,
}

impl OutgoingMessage {
    /// Encodes `event` as the start of (or a step in) the flow named `correlation_id`.
    pub fn new<E: Event>(
        event: &E,
        correlation_id: impl Into<String>,
        causation_id: Option<String>,
    ) -> Result<Self> {
        let payload = serde_json::to_vec(event).map_err(|source| Error::Encode {
            routing_key: E::ROUTING_KEY.to_owned(),
            source,
        })?;
        Ok(Self {
            envelope: Envelope::new::<E>(correlation_id, causation_id),
            payload,
            may_go_unheard: E::MAY_GO_UNHEARD,
        })
    }

    /// Its unique id.
    pub fn message_id(&self) -> &str {
        &self.envelope.message_id
    }
}
