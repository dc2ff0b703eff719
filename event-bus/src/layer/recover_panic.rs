//! [`RecoverPanic`]: a panicking handler is a failing one.

use std::{any::Any, panic::AssertUnwindSafe};

use futures_util::FutureExt;

use crate::{
    error::HandlerError,
    layer::{HandlerFuture, Handling, Layer},
};

/// Turns a panic of what it wraps into a handler error: the message is retried, then
/// dead-lettered with the panic's message, and the worker lives on to handle the next.
#[derive(Debug, Clone, Copy, Default)]
pub struct RecoverPanic;

impl Layer for RecoverPanic {
    fn call<'a>(&'a self, _: Handling<'a>, next: HandlerFuture<'a>) -> HandlerFuture<'a> {
        Box::pin(async move {
            AssertUnwindSafe(next)
                .catch_unwind()
                .await
                .unwrap_or_else(|panic| {
                    Err(HandlerError(anyhow::anyhow!(
                        "the handler panicked: {}",
                        panic_message(panic.as_ref())
                    )))
                })
        })
    }
}

/// What a panic said, when it said it with a string.
fn panic_message(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message")
}
