//! Tells the requests that wait for an order (`GET /orders/{id}?wait=`) when it may have changed.
//!
//! Every status change runs `NOTIFY order_status, '<id>'` in its transaction; PostgreSQL delivers
//! it on commit, to every instance. One [`PgListener`] per instance receives them and wakes the
//! waiters of that id, and only them: waiters are registered by order id, all the waiters of one
//! id share one entry, so a notification costs one map lookup however many requests are held
//! (a single channel for every id woke every waiter on every change, which collapsed under load).
//!
//! A waiter registers before it reads its order, so a change committed between the read and the
//! wait still wakes it. When the listener's connection is lost, notifications sent meanwhile are
//! lost with it, so once it listens again every waiter is woken to re-read. Waiters also re-read
//! on a slow timer, as a last resort: notifications make the answer fast, the timer makes it
//! certain.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::Context;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// The channel status changes are notified on, with the order id as payload: the statement that
/// changes a status (`store`) also runs `pg_notify`, which PostgreSQL delivers on commit.
pub const CHANNEL: &str = "order_status";

/// First and largest pause before listening again after the connection was lost.
const RECONNECT_MIN: Duration = Duration::from_millis(100);
const RECONNECT_MAX: Duration = Duration::from_secs(5);

/// The waiters of each order, woken when its status changes (on any instance).
///
/// Cheap to clone: clones share one registry.
#[derive(Debug, Clone, Default)]
pub struct StatusFeed {
    waiters: Arc<Registry>,
}

/// One entry per order that has at least one waiter; an entry lives exactly as long as its
/// waiters (the last [`Waiter`] to go removes it, under the lock that registering takes too).
#[derive(Debug, Default)]
struct Registry(Mutex<HashMap<Uuid, watch::Sender<()>>>);

impl Registry {
    /// The map; a panic while it was held cannot leave it inconsistent (every change is a single
    /// insert or remove), so a poisoned lock is simply taken over.
    fn lock(&self) -> MutexGuard<'_, HashMap<Uuid, watch::Sender<()>>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One request waiting for order `id`: [`Waiter::changed`] returns when the order may have
/// changed since the waiter was registered or last woken. Dropping it unregisters it.
#[derive(Debug)]
pub struct Waiter {
    id: Uuid,
    /// Marked changed by every wake-up of `id` (and of all).
    receiver: watch::Receiver<()>,
    /// To remove the entry of `id` when this is its last waiter.
    registry: Arc<Registry>,
}

impl StatusFeed {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a waiter for order `id`. Register before reading the order, so that a change
    /// committed between the read and the wait is not missed.
    pub fn register(&self, id: Uuid) -> Waiter {
        let receiver = self
            .waiters
            .lock()
            .entry(id)
            .or_insert_with(|| watch::channel(()).0)
            .subscribe();
        Waiter {
            id,
            receiver,
            registry: Arc::clone(&self.waiters),
        }
    }

    /// Wakes the waiters of order `id`, and no other.
    pub fn wake(&self, id: Uuid) {
        if let Some(sender) = self.waiters.lock().get(&id) {
            sender.send_modify(|()| {});
        }
    }

    /// Wakes every waiter: for when notifications may have been lost.
    pub fn wake_all(&self) {
        for sender in self.waiters.lock().values() {
            sender.send_modify(|()| {});
        }
    }

    /// How many orders have waiters right now.
    pub fn orders_waited_for(&self) -> usize {
        self.waiters.lock().len()
    }

    /// Listens until `shutdown`, reconnecting with backoff when the connection is lost.
    pub async fn run(self, pool: PgPool, shutdown: CancellationToken) {
        let mut backoff = RECONNECT_MIN;
        while !shutdown.is_cancelled() {
            let started = tokio::time::Instant::now();
            match self.listen(&pool, &shutdown).await {
                Ok(()) => return,
                Err(error) => {
                    tracing::warn!(error = ?error, retry_in_ms = backoff.as_millis() as u64,
                        "order status listener lost; waiters fall back to re-reading");
                }
            }
            // A connection that lived long failed for a new reason: start the backoff over.
            if started.elapsed() > RECONNECT_MAX {
                backoff = RECONNECT_MIN;
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(RECONNECT_MAX);
        }
    }

    /// One listener's life: `Ok` on shutdown, `Err` when it fails and cannot reconnect.
    async fn listen(&self, pool: &PgPool, shutdown: &CancellationToken) -> anyhow::Result<()> {
        let mut listener = PgListener::connect_with(pool)
            .await
            .context("Failed to connect the order status listener")?;
        listener
            .listen(CHANNEL)
            .await
            .with_context(|| format!("Failed to LISTEN on {CHANNEL}"))?;
        // Whatever changed before this LISTEN (while the previous connection was down, or before
        // the first one) was notified to nobody: every waiter re-reads.
        self.wake_all();
        loop {
            // Not `recv()`: it reconnects silently, and the notifications sent in between would
            // be lost without anyone knowing.
            let received = tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                received = listener.try_recv() => {
                    received.context("Failed to receive a notification")?
                }
            };
            let Some(notification) = received else {
                // The connection was lost and (eagerly) re-established, listening again: what
                // was notified in between is gone, so every waiter re-reads.
                tracing::warn!("order status listener reconnected; waking every waiter");
                self.wake_all();
                continue;
            };
            match notification.payload().parse::<Uuid>() {
                Ok(id) => self.wake(id),
                Err(_) => tracing::warn!(
                    payload = notification.payload(),
                    "ignoring a notification that is not an order id"
                ),
            }
        }
    }
}

impl Waiter {
    /// Returns once order `id` may have changed since registration or the previous return.
    /// Several wake-ups in between count as one; the caller re-reads the order either way.
    pub async fn changed(&mut self) {
        if self.receiver.changed().await.is_err() {
            // The sender lives in the registry as long as this waiter does, so this cannot
            // happen; were it to, the caller's timers still end the wait.
            std::future::pending::<()>().await;
        }
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        let mut waiters = self.registry.lock();
        // Under the lock nobody can register meanwhile, so a count of one (this waiter's own
        // receiver, dropped right after) means the entry is about to have no waiter left.
        if waiters
            .get(&self.id)
            .is_some_and(|sender| sender.receiver_count() == 1)
        {
            waiters.remove(&self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_waiters_of_one_order_share_an_entry_removed_when_the_last_one_goes() {
        let feed = StatusFeed::new();
        let id = Uuid::new_v4();
        let first = feed.register(id);
        let second = feed.register(id);
        assert_eq!(feed.orders_waited_for(), 1);

        drop(first);
        assert_eq!(feed.orders_waited_for(), 1);
        drop(second);
        assert_eq!(feed.orders_waited_for(), 0);

        // A new waiter after that gets a fresh entry, woken like any other.
        let again = feed.register(id);
        feed.wake(id);
        assert!(again.receiver.has_changed().expect("the entry is alive"));
        drop(again);
        assert_eq!(feed.orders_waited_for(), 0);
    }

    #[test]
    fn a_notification_wakes_every_waiter_of_its_order_and_no_other() {
        let feed = StatusFeed::new();
        let (one, other) = (Uuid::new_v4(), Uuid::new_v4());
        let first = feed.register(one);
        let second = feed.register(one);
        let bystander = feed.register(other);

        feed.wake(one);

        assert!(first.receiver.has_changed().expect("alive"));
        assert!(second.receiver.has_changed().expect("alive"));
        assert!(!bystander.receiver.has_changed().expect("alive"));
    }

    #[test]
    fn a_notification_for_an_order_nobody_waits_for_changes_nothing() {
        let feed = StatusFeed::new();
        let waiter = feed.register(Uuid::new_v4());

        feed.wake(Uuid::new_v4());

        assert!(!waiter.receiver.has_changed().expect("alive"));
        assert_eq!(feed.orders_waited_for(), 1);
    }

    #[test]
    fn waking_all_wakes_the_waiters_of_every_order() {
        let feed = StatusFeed::new();
        let waiters: Vec<Waiter> = (0..3).map(|_| feed.register(Uuid::new_v4())).collect();

        feed.wake_all();

        for waiter in &waiters {
            assert!(waiter.receiver.has_changed().expect("alive"));
        }
    }

    #[tokio::test]
    async fn a_wake_before_the_wait_is_not_lost() {
        let feed = StatusFeed::new();
        let id = Uuid::new_v4();
        // Registered, then (as if between the read and the wait) the order changes.
        let mut waiter = feed.register(id);
        feed.wake(id);

        // Returns at once: the change was recorded before anyone waited.
        waiter.changed().await;
        assert!(!waiter.receiver.has_changed().expect("alive"));
    }

    #[tokio::test]
    async fn a_waiter_dropped_while_waiting_leaves_no_entry() {
        let feed = StatusFeed::new();
        let id = Uuid::new_v4();
        let mut waiter = feed.register(id);
        let pending = tokio::spawn(async move { waiter.changed().await });

        pending.abort();
        assert!(pending.await.expect_err("aborted").is_cancelled());

        assert_eq!(feed.orders_waited_for(), 0);
    }
}
