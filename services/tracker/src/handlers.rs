//! The bus handler that stores every message of an exchange, whatever its event or version.

use anyhow::Context;
use chrono::Utc;
use event_bus::{AnyEvent, Handler, HandlerContext, HandlerResult};

use crate::{recorded::RecordedEvent, store};

/// Observes the exchanges (`EventBus::observe`): stores each message once, in the handler's
/// transaction, so it is acked only once stored.
pub struct Recorder;

impl Handler<AnyEvent> for Recorder {
    async fn handle(&self, ctx: &mut HandlerContext<'_>, event: AnyEvent) -> HandlerResult {
        let recorded =
            RecordedEvent::from_message(ctx.metadata().clone(), event.payload, Utc::now());
        store::record(ctx.db(), &recorded).await.with_context(|| {
            format!("Failed to record message {}", recorded.envelope.message_id)
        })?;
        Ok(())
    }
}
