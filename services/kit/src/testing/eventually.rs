//! Bounded polling, for what a test cannot await directly (a row committed by the service, a
//! message in a queue, a state reached over HTTP).

use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

/// How long anything a test waits for may take before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// The pause between two looks: short, since what is awaited is usually a few milliseconds away.
const INTERVAL: Duration = Duration::from_millis(20);

/// Calls `probe` until it yields a value, and returns that value; fails the test, naming
/// `what` it waited for, once [`PATIENCE`] has run out.
pub async fn eventually<T, F, Fut>(what: impl Display, probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    eventually_within(PATIENCE, what, probe).await
}

/// [`eventually`] with a patience of its own, for what is slower by design (a whole flow).
pub async fn eventually_within<T, F, Fut>(patience: Duration, what: impl Display, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up after {patience:?} waiting for: {what}"
        );
        tokio::time::sleep(INTERVAL).await;
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    #[tokio::test]
    async fn the_first_value_the_probe_yields_is_returned() {
        let calls = Cell::new(0);
        let value = eventually("the third call", || async {
            calls.set(calls.get() + 1);
            (calls.get() == 3).then_some("third")
        })
        .await;
        assert_eq!(value, "third");
        assert_eq!(calls.get(), 3);
    }

    #[tokio::test]
    #[should_panic(expected = "waiting for: something that never happens")]
    async fn a_probe_that_never_yields_fails_the_test_once_the_patience_runs_out() {
        let patience = Duration::from_millis(100);
        eventually_within(patience, "something that never happens", || async {
            None::<()>
        })
        .await;
    }
}
