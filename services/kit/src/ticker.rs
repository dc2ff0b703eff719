//! [`every`]: the loop behind every recurring background task of a service (counting pending
//! orders, sweeping overdue ones, delivering due replenishments).
//!
//! Each of those tasks is the same loop around different work: wait for the next tick or for
//! shutdown, whichever comes first; do one round; go again at once while the round says more is
//! waiting (a full batch). Written once here, the timing rules hold for all of them: a period is
//! never shorter than [`MIN_PERIOD`], a slow round delays the next tick instead of being followed
//! by a burst of catch-up rounds, shutdown is checked before every round, and a round in progress
//! always finishes.

use std::future::Future;
use std::time::Duration;

use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

/// The shortest period [`every`] ticks at: tokio refuses a zero period, and a tiny one would
/// turn a background task into a busy loop against the database.
pub const MIN_PERIOD: Duration = Duration::from_millis(10);

/// What a round tells [`every`] to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Wait for the next tick: the round found everything done, or failed (a round logs its
    /// own failure, and the next tick retries).
    Wait,
    /// Run another round at once, without waiting for a tick: the round did a full batch, so
    /// more work is likely waiting.
    Again,
}

/// Runs `round` every `period` (at least [`MIN_PERIOD`]) until `shutdown` is cancelled, the
/// first round at once.
///
/// After each tick, rounds follow one another for as long as they answer [`Next::Again`] and
/// `shutdown` is not cancelled. A round in progress is never interrupted: shutdown is noticed
/// between rounds, so a round that should end early watches the token itself. A round that
/// outlasts the period delays the next tick ([`MissedTickBehavior::Delay`]) rather than being
/// followed by missed ticks in a burst.
pub async fn every<F, Fut>(period: Duration, shutdown: CancellationToken, mut round: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Next>,
{
    let mut ticker = tokio::time::interval(period.max(MIN_PERIOD));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticker.tick() => {}
        }
        while !shutdown.is_cancelled() && round().await == Next::Again {}
    }
}

#[cfg(test)]
mod tests {
    use tokio::time::Instant;

    use super::*;

    const PERIOD: Duration = Duration::from_millis(100);

    /// How long after `start` each of `calls` happened, in milliseconds.
    fn offsets(start: Instant, calls: &[Instant]) -> Vec<u128> {
        calls
            .iter()
            .map(|call| (*call - start).as_millis())
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn the_first_round_runs_at_once_and_then_one_per_period() {
        let start = Instant::now();
        let shutdown = CancellationToken::new();
        let mut calls = Vec::new();
        every(PERIOD, shutdown.clone(), || {
            calls.push(Instant::now());
            if calls.len() == 4 {
                shutdown.cancel();
            }
            async { Next::Wait }
        })
        .await;
        assert_eq!(offsets(start, &calls), [0, 100, 200, 300]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_round_that_asks_for_more_runs_again_without_waiting_for_a_tick() {
        let start = Instant::now();
        let shutdown = CancellationToken::new();
        let mut calls = Vec::new();
        every(PERIOD, shutdown.clone(), || {
            calls.push(Instant::now());
            if calls.len() == 5 {
                shutdown.cancel();
            }
            // Three full batches, then a partial one; then one round a tick.
            let next = if calls.len() <= 3 {
                Next::Again
            } else {
                Next::Wait
            };
            async move { next }
        })
        .await;
        assert_eq!(offsets(start, &calls), [0, 0, 0, 0, 100]);
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_stops_a_run_of_full_batches_before_the_next_round() {
        let shutdown = CancellationToken::new();
        let mut rounds = 0;
        every(PERIOD, shutdown.clone(), || {
            rounds += 1;
            if rounds == 2 {
                shutdown.cancel();
            }
            async { Next::Again }
        })
        .await;
        assert_eq!(rounds, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_while_waiting_for_a_tick_returns_at_once() {
        let start = Instant::now();
        let shutdown = CancellationToken::new();
        let canceller = shutdown.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(150)).await;
            canceller.cancel();
        });
        let mut rounds = 0;
        every(PERIOD, shutdown, || {
            rounds += 1;
            async { Next::Wait }
        })
        .await;
        assert_eq!(rounds, 2, "the rounds at 0 and 100 ms");
        assert_eq!(start.elapsed(), Duration::from_millis(150));
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_round_delays_the_next_tick_instead_of_bursting() {
        let start = Instant::now();
        let shutdown = CancellationToken::new();
        let mut calls = Vec::new();
        every(PERIOD, shutdown.clone(), || {
            calls.push(Instant::now());
            let first = calls.len() == 1;
            if calls.len() == 4 {
                shutdown.cancel();
            }
            async move {
                if first {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Next::Wait
            }
        })
        .await;
        // The missed ticks at 100 and 200 ms become one tick at 250 ms, and the period
        // restarts from there.
        assert_eq!(offsets(start, &calls), [0, 250, 350, 450]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_period_below_the_minimum_ticks_at_the_minimum() {
        let start = Instant::now();
        let shutdown = CancellationToken::new();
        let mut calls = Vec::new();
        every(Duration::ZERO, shutdown.clone(), || {
            calls.push(Instant::now());
            if calls.len() == 3 {
                shutdown.cancel();
            }
            async { Next::Wait }
        })
        .await;
        assert_eq!(offsets(start, &calls), [0, 10, 20]);
    }
}
