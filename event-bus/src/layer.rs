//! Layers: behaviour around every handler call, one concern each, composed in one visible place.
//!
//! A [`Layer`] wraps the call of a handler (everything inside it: the layers added after it, then
//! the handler) in one more concern, the way tower's layers wrap a service or Watermill's
//! middleware wraps a handler. The bus puts its own around every call, outermost first, in
//! [`Layers::standard`]: [`TraceScope`] (the trace of the message is the trace of what the
//! handler publishes), [`Measure`] (`bus_handler_duration_seconds`), [`RecoverPanic`] (a panic
//! is a failure, not a dead worker); a service adds its own inside them with
//! [`EventBus::layer`](crate::EventBus::layer), e.g. a [`Timeout`].
//!
//! A layer sees the message's [`Envelope`] but not the decoded event: it is for what is the same
//! for every event (time, panics, traces, limits). What a layer returns is what the handler
//! returned for the runtime: an error is retried, then dead-lettered, like the handler's own.
//!
//! ```
//! use std::time::Duration;
//! use event_bus::layer::{HandlerFuture, Handling, Layer};
//!
//! /// Logs every call that fails.
//! struct LogFailures;
//!
//! impl Layer for LogFailures {
//!     fn call<'a>(&'a self, handling: Handling<'a>, next: HandlerFuture<'a>) -> HandlerFuture<'a> {
//!         Box::pin(async move {
//!             let result = next.await;
//!             if let Err(error) = &result {
//!                 tracing::warn!(event = %handling.envelope.routing_key, %error, "failed");
//!             }
//!             result
//!         })
//!     }
//! }
//! ```

mod measure;
mod recover_panic;
mod timeout;
mod trace_scope;

use std::{future::Future, pin::Pin, sync::Arc};

pub use measure::Measure;
pub use recover_panic::RecoverPanic;
pub use timeout::Timeout;
pub use trace_scope::TraceScope;

use crate::{envelope::Envelope, error::HandlerResult, trace_context::TraceContext};

/// The call of a handler, or of the layers around it.
pub type HandlerFuture<'a> = Pin<Box<dyn Future<Output = HandlerResult> + Send + 'a>>;

/// What a layer knows about the call it wraps.
#[derive(Debug, Clone, Copy)]
pub struct Handling<'a> {
    /// The queue the message came from.
    pub queue: &'a str,
    /// The message.
    pub envelope: &'a Envelope,
    /// The trace of this handling (a child of the message's own).
    pub trace: TraceContext,
}

/// One concern around a handler call.
pub trait Layer: Send + Sync + 'static {
    /// Runs `next` (the rest of the stack and the handler) with this layer's concern around it.
    fn call<'a>(&'a self, handling: Handling<'a>, next: HandlerFuture<'a>) -> HandlerFuture<'a>;
}

/// The layers of a consumer, outermost first.
#[derive(Clone, Default)]
pub struct Layers(Vec<Arc<dyn Layer>>);

impl Layers {
    /// What the bus puts around every handler call, outermost first.
    pub fn standard() -> Self {
        Self::default()
            .layer(TraceScope)
            .layer(Measure)
            .layer(RecoverPanic)
    }

    /// Adds `layer` inside the ones already there.
    pub fn layer(mut self, layer: impl Layer) -> Self {
        self.0.push(Arc::new(layer));
        self
    }

    /// Wraps `handler` in every layer, the first added outermost.
    pub fn wrap<'a>(
        &'a self,
        handling: Handling<'a>,
        handler: HandlerFuture<'a>,
    ) -> HandlerFuture<'a> {
        self.0
            .iter()
            .rev()
            .fold(handler, |next, layer| layer.call(handling, next))
    }
}
