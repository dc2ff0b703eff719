//! [`Measure`]: how long handlers take, by queue and event.

use std::time::Instant;

use crate::layer::{HandlerFuture, Handling, Layer};

/// Records each call's duration in `bus_handler_duration_seconds{queue, event}`, failed or not.
#[derive(Debug, Clone, Copy, Default)]
pub struct Measure;

impl Layer for Measure {
    fn call<'a>(&'a self, handling: Handling<'a>, next: HandlerFuture<'a>) -> HandlerFuture<'a> {
        Box::pin(async move {
            let started = Instant::now();
            let result = next.await;
            metrics::histogram!(
                "bus_handler_duration_seconds",
                "queue" => handling.queue.to_owned(),
                "event" => handling.envelope.routing_key.clone(),
            )
            .record(started.elapsed().as_secs_f64());
            result
        })
    }
}
