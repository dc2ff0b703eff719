//! The bus handler that stores every message of an exchange, whatever its event or version.

use anyhow::Context;
use chrono::Utc;
use event_bus::{AnyEvent, Handler, HandlerContext, HandlerResult};

use crate::{
    recorded::{Envelope, RecordedEvent},
    store,
};

/// Observes one exchange (`EventBus::observe`): stores each message once, in the handler's
/// transaction, so it is acked only once stored.
pub struct Recorder {
    /// The observed exchange; the routing key alone would not say it for a foreign producer.
    pub exchange: &'static str,
}

impl Handler<AnyEvent> for Recorder {
    async fn handle(&self, ctx: &mut HandlerContext<'_>, event: AnyEvent) -> HandlerResult {
        let envelope = Envelope::from(ctx.metadata());
        let recorded =
            RecordedEvent::from_message(self.exchange, &envelope, event.payload, Utc::now());
        store::record(ctx.db(), &recorded)
            .await
            .with_context(|| format!("Failed to record message {}", recorded.message_id))?;
        Ok(())
    }
}
