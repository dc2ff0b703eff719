//! [`TraceScope`]: what a handler publishes continues the message's trace.

use crate::layer::{HandlerFuture, Handling, Layer};

/// Makes the handling's trace the current one while the handler runs, so the events it publishes
/// carry a `traceparent` of the same trace (see [`crate::trace_context`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct TraceScope;

impl Layer for TraceScope {
    fn call<'a>(&'a self, handling: Handling<'a>, next: HandlerFuture<'a>) -> HandlerFuture<'a> {
        Box::pin(handling.trace.scope(next))
    }
}
