//! [`Timeout`]: a handler that hangs fails instead of holding its queue.

use std::time::Duration;

use crate::{
    error::HandlerError,
    layer::{HandlerFuture, Handling, Layer},
};

/// Fails a handler call that has not finished after `limit`: its transaction is rolled back and
/// the message retried, then dead-lettered with the reason, like any failure.
#[derive(Debug, Clone, Copy)]
pub struct Timeout {
    limit: Duration,
}

impl Timeout {
    pub fn new(limit: Duration) -> Self {
        Self { limit }
    }
}

impl Layer for Timeout {
    fn call<'a>(&'a self, handling: Handling<'a>, next: HandlerFuture<'a>) -> HandlerFuture<'a> {
        Box::pin(async move {
            tokio::time::timeout(self.limit, next)
                .await
                .unwrap_or_else(|_| {
                    Err(HandlerError(anyhow::anyhow!(
                        "the handler of {} did not finish within {:?}",
                        handling.envelope.routing_key,
                        self.limit
                    )))
                })
        })
    }
}
