//! Shutdown as a value: a [`CancellationToken`] that the process's signals cancel.
//!
//! Everything long-running (the HTTP server, the bus, background loops) takes a clone of the
//! token and drains when it is cancelled, so a test stops a service by cancelling, not by
//! sending itself a signal.

use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio_util::sync::CancellationToken;

/// Returns a token cancelled at the first SIGINT or SIGTERM. Must be called inside a tokio
/// runtime. The signal handlers are installed before this returns, so no early signal is missed;
/// the task that waits for them ends when the token is cancelled, whoever cancels it.
pub fn cancel_on_signals() -> CancellationToken {
    let token = CancellationToken::new();
    let interrupt = listen(SignalKind::interrupt(), "SIGINT");
    let terminate = listen(SignalKind::terminate(), "SIGTERM");
    let cancel = token.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = received(interrupt) => {
                tracing::info!(signal = "SIGINT", "shutting down");
            }
            _ = received(terminate) => {
                tracing::info!(signal = "SIGTERM", "shutting down");
            }
            _ = cancel.cancelled() => return,
        }
        cancel.cancel();
    });
    token
}

/// A signal stream, or `None` (logged) if it could not be installed: the other signal and the
/// token still work, which beats refusing to start.
fn listen(kind: SignalKind, name: &'static str) -> Option<Signal> {
    signal(kind)
        .inspect_err(|error| tracing::error!(signal = name, %error, "cannot listen for signal"))
        .ok()
}

/// Resolves when the signal arrives; never if it could not be installed or its stream ended
/// (the runtime is going away, which is not a request to shut down).
async fn received(signal: Option<Signal>) {
    if let Some(mut signal) = signal
        && signal.recv().await.is_some()
    {
        return;
    }
    std::future::pending().await
}
