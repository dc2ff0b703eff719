//! The dead letters of the bus's vhost for the page: listed and replayed through shopctl's
//! library ([`shopctl::list()`], [`shopctl::replay()`]), so the page reads and moves them exactly
//! as `scripts/shopctl dead list|replay` does: nothing lost or reordered by a listing, a dead
//! letter removed only once the broker confirmed its replayed copy, every replay recorded in
//! shopctl's audit log with the staff member who asked for it as its `operator` (the subject of
//! their token; `os_user` is then only the account the tracker runs as).
//!
//! Each call opens its own AMQP connection to the bus's vhost (as the bus's broker user, named
//! [`CONNECTION_NAME`] in the management UI) and closes it before answering: a dead letter is
//! never held between two requests. Calls take turns ([`DeadLetters::busy`]): two scans of one
//! queue at the same time would each see only part of it (see `shopctl::scan`).

use chrono::{DateTime, Utc};
use event_bus::BrokerSettings;
use serde::Serialize;
use shopctl::{AuditLog, Broker, Choice, DeadLetterQueue, ListRequest, Selector};
use tokio::sync::Mutex;

use crate::settings::DeadLetterSettings;

/// The name of the tracker's dead-letter connections in the management UI.
pub const CONNECTION_NAME: &str = "tracker-dead-letters";

/// The dead letters of one vhost, as the page sees and replays them.
#[derive(Debug)]
pub struct DeadLetters {
    /// The bus's broker and vhost.
    broker: BrokerSettings,
    /// The tracker's management API client (its URL, user and timeout): names the vhost's
    /// dead-letter queues.
    management: event_bus::management::Management,
    /// Where replays are recorded; each replay names its own operator.
    audit: AuditLog,
    /// How many messages of a queue one scan reads at most.
    scan_limit: usize,
    /// Held for the whole of a listing or a replay, so that the tracker's own scans never
    /// overlap (each would see only the part of a queue the other does not hold).
    busy: Mutex<()>,
}

/// The answer of `GET /dead-letters`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Listing {
    pub vhost: String,
    /// Every dead-letter queue of the vhost, by name, the empty ones included.
    pub queues: Vec<QueueListing>,
}

/// One dead-letter queue and what it holds.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct QueueListing {
    /// `<service>.dead`.
    #[schema(example = "billing.dead")]
    pub queue: String,
    /// Where a replay puts its messages back.
    #[schema(example = "billing")]
    pub service_queue: String,
    /// How many dead letters were read (all of them, unless `truncated`).
    pub count: usize,
    /// True when the scan stopped at `service.dead_letters.scan_limit`: more are not counted.
    pub truncated: bool,
    /// By original routing key, then reason.
    pub groups: Vec<Group>,
}

/// Dead letters alike: same original routing key, same reason.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Group {
    /// The routing key they first arrived with.
    #[schema(example = "order.v2.submit")]
    pub routing_key: String,
    /// Why they were dead-lettered (`x-error`); null when a message says nothing.
    pub reason: Option<String>,
    pub count: usize,
    /// The earliest and latest dead-letter times: the last retry's (`x-death`), or the
    /// publication's for a message never retried.
    pub oldest: Option<DateTime<Utc>>,
    pub newest: Option<DateTime<Utc>>,
    /// Their message ids, in queue order; fewer than `count` when some have none (only
    /// `"all": true` replays those).
    pub message_ids: Vec<String>,
}

/// The answer of `POST /dead-letters/replay`: what was replayed, as recorded in the audit log.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Replayed {
    /// The dead-letter queue replayed from.
    pub queue: String,
    /// The service's queue the messages were put back into.
    pub replayed_to: String,
    /// How many were replayed; 0 when none of those asked for is there (any more).
    pub count: usize,
    /// The replayed messages, in queue order.
    pub messages: Vec<ReplayedMessage>,
    /// True when the replay stopped before the end (the broker failed meanwhile): what is
    /// listed was replayed, the rest is still in the dead-letter queue; the cause is in the
    /// audit log and the tracker's log.
    pub stopped_early: bool,
    /// True when the scan stopped at `service.dead_letters.scan_limit`: chosen dead letters
    /// beyond it were not seen.
    pub limit_reached: bool,
}

/// One replayed message.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReplayedMessage {
    pub message_id: Option<String>,
    pub routing_key: String,
    pub reason: Option<String>,
}

impl DeadLetters {
    /// The dead letters of `broker`'s vhost, named through `management`, replays recorded in
    /// `settings.audit_log`.
    pub fn new(
        broker: BrokerSettings,
        management: event_bus::management::Management,
        settings: &DeadLetterSettings,
    ) -> Self {
        Self {
            broker,
            management,
            audit: AuditLog::new(&settings.audit_log),
            scan_limit: settings.scan_limit,
            busy: Mutex::new(()),
        }
    }

    /// The vhost looked at.
    pub fn vhost(&self) -> &str {
        &self.broker.vhost
    }

    /// Every dead-letter queue of the vhost with its dead letters grouped; every message is
    /// given back in place.
    pub async fn list(&self) -> shopctl::Result<Listing> {
        let _turn = self.busy.lock().await;
        let broker = self.connect().await?;
        let listed = self.list_on(&broker).await;
        broker.close().await;
        Ok(Listing {
            vhost: self.vhost().to_owned(),
            queues: listed?,
        })
    }

    async fn list_on(&self, broker: &Broker) -> shopctl::Result<Vec<QueueListing>> {
        let mut queues = Vec::new();
        for queue in broker.dead_letter_queues().await? {
            let request = ListRequest {
                queue: Some(queue.clone()),
                reason: None,
                limit: self.scan_limit,
            };
            match shopctl::list(broker, &request).await {
                Ok(listing) => queues.push(QueueListing::new(&queue, listing)),
                // Deleted since the management API named it: nothing to list.
                Err(shopctl::Error::NoSuchQueue(_)) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(queues)
    }

    /// Replays the dead letters of `queue` that `selector` chooses into the service's queue,
    /// with a fresh attempt count, and records it in the audit log as done by `operator` (the
    /// staff member who asked: their token's subject).
    pub async fn replay(
        &self,
        operator: &str,
        queue: DeadLetterQueue,
        selector: Selector,
    ) -> shopctl::Result<Replayed> {
        let _turn = self.busy.lock().await;
        let broker = self.connect().await?;
        let choice = Choice {
            queue,
            selector,
            limit: self.scan_limit,
        };
        let audit = self.audit.clone().operated_by(operator);
        let replayed = shopctl::replay(&broker, &choice, &audit).await;
        broker.close().await;
        let record = replayed?;
        if let Some(error) = &record.error {
            tracing::warn!(queue = %record.queue, replayed = record.count, operator, %error, "a replay from the page stopped early");
        } else {
            tracing::info!(queue = %record.queue, replayed = record.count, operator, "dead letters replayed from the page");
        }
        Ok(Replayed {
            replayed_to: record
                .replayed_to
                .unwrap_or_else(|| choice.queue.service_queue().to_owned()),
            queue: record.queue,
            count: record.count,
            messages: record
                .messages
                .into_iter()
                .map(|message| ReplayedMessage {
                    message_id: message.message_id,
                    routing_key: message.routing_key,
                    reason: message.reason,
                })
                .collect(),
            stopped_early: record.error.is_some(),
            limit_reached: record.limit_reached,
        })
    }

    async fn connect(&self) -> shopctl::Result<Broker> {
        Broker::connect_with(&self.broker, self.management.clone(), CONNECTION_NAME).await
    }
}

impl QueueListing {
    fn new(queue: &DeadLetterQueue, listing: shopctl::list::Listing) -> Self {
        let groups: Vec<Group> = listing
            .groups
            .into_iter()
            .map(|group| Group {
                routing_key: group.routing_key,
                reason: group.reason,
                count: group.count,
                oldest: group.oldest,
                newest: group.newest,
                message_ids: group.message_ids,
            })
            .collect();
        Self {
            queue: queue.name().to_owned(),
            service_queue: queue.service_queue().to_owned(),
            count: groups.iter().map(|group| group.count).sum(),
            truncated: !listing.truncated.is_empty(),
            groups,
        }
    }
}
