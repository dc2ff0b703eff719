//! One order's flow as a timeline: its events in the order they happened, each with what caused
//! it, who received it and whether it undid something. Pure, so the ordering rules are tested
//! without a database.
//!
//! Order: by creation time, except that an event never comes before the event that caused it
//! (clocks of different hosts may disagree by more than the gap between cause and effect).

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use contracts::catalog;
use serde::Serialize;
use uuid::Uuid;

use crate::{recorded::event_name, store::StoredEvent};

/// The answer of `GET /flows/{order_id}`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Timeline {
    pub order_id: Uuid,
    /// The lifelines of a sequence diagram: every service that published or received an event
    /// of the flow, the flow's own services first, in the order the flow meets them.
    pub services: Vec<String>,
    pub events: Vec<TimelineEvent>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TimelineEvent {
    pub message_id: String,
    pub routing_key: String,
    pub exchange: String,
    pub name: String,
    pub version: i32,
    /// The publishing service (`app_id`); `null` when the producer did not say.
    pub producer: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub causation_id: Option<String>,
    /// The event whose handling published this one; `null` at the start of the flow. Its
    /// `routing_key` is `null` when the tracker never saw that message.
    pub caused_by: Option<Cause>,
    /// The services whose queues receive it (their bindings, from the contracts' catalog, and
    /// any service seen publishing an event it caused), the tracker left out.
    pub consumers: Vec<String>,
    /// Whether it undoes an earlier event: an order cancelled, a charge refunded, stock released.
    pub compensation: bool,
    pub payload: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Cause {
    pub message_id: String,
    pub routing_key: Option<String>,
}

/// Builds the timeline of `order_id` from its stored events (in any order).
pub fn build(order_id: Uuid, stored: Vec<StoredEvent>) -> Timeline {
    let stored = causal_order(stored);
    let mut events: Vec<TimelineEvent> = stored.iter().map(from_stored).collect();
    // A service that published an event caused by another evidently received that one.
    for (effect, producer) in stored
        .iter()
        .filter_map(|e| Some((e, e.envelope.producer.as_ref()?)))
    {
        let Some(cause_id) = &effect.envelope.causation_id else {
            continue;
        };
        if let Some(cause) = events.iter_mut().find(|e| &e.message_id == cause_id)
            && !cause.consumers.contains(producer)
        {
            cause.consumers.push(producer.clone());
        }
    }
    Timeline {
        order_id,
        services: lifelines(&events),
        events,
    }
}

fn from_stored(event: &StoredEvent) -> TimelineEvent {
    let envelope = &event.envelope;
    let name = event_name(envelope);
    TimelineEvent {
        message_id: envelope.message_id.clone(),
        routing_key: envelope.routing_key.clone(),
        exchange: envelope.exchange.clone(),
        version: i32::try_from(envelope.version).unwrap_or(i32::MAX),
        producer: envelope.producer.clone(),
        occurred_at: event.occurred_at,
        causation_id: envelope.causation_id.clone(),
        caused_by: envelope.causation_id.as_ref().map(|id| Cause {
            message_id: id.clone(),
            routing_key: event.cause_routing_key.clone(),
        }),
        consumers: catalog::subscribers(&envelope.exchange, &envelope.routing_key)
            .into_iter()
            .filter(|service| *service != catalog::TRACKER)
            .map(str::to_owned)
            .collect(),
        compensation: catalog::is_compensation(&envelope.exchange, &name),
        name,
        payload: event.payload.clone(),
    }
}

/// Sorts by time then id, then moves each event after its cause where the clock says otherwise.
/// A cause outside the flow, or a cycle (which real ids cannot form), does not hold an event back.
fn causal_order(mut events: Vec<StoredEvent>) -> Vec<StoredEvent> {
    events.sort_by(|a, b| {
        (a.occurred_at, &a.envelope.message_id).cmp(&(b.occurred_at, &b.envelope.message_id))
    });
    let ids: HashSet<String> = events
        .iter()
        .map(|e| e.envelope.message_id.clone())
        .collect();
    let mut placed: HashSet<String> = HashSet::new();
    let mut ordered = Vec::with_capacity(events.len());
    while !events.is_empty() {
        let ready = events
            .iter()
            .position(|event| match &event.envelope.causation_id {
                Some(cause) => !ids.contains(cause) || placed.contains(cause),
                None => true,
            })
            .unwrap_or(0);
        let event = events.remove(ready);
        placed.insert(event.envelope.message_id.clone());
        ordered.push(event);
    }
    ordered
}

/// The services of the flow: the shop's own in their usual order, then any other in the order
/// the timeline meets them.
fn lifelines(events: &[TimelineEvent]) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for event in events {
        for service in event.producer.iter().chain(&event.consumers) {
            if !seen.contains(service) {
                seen.push(service.clone());
            }
        }
    }
    let mut services: Vec<String> = catalog::all()
        .iter()
        .map(|event| event.producer.to_owned())
        .filter(|service| seen.contains(service))
        .fold(Vec::new(), |mut known, service| {
            if !known.contains(&service) {
                known.push(service);
            }
            known
        });
    for service in seen {
        if !services.contains(&service) {
            services.push(service);
        }
    }
    services
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use event_bus::Envelope;

    use super::*;

    fn at(ms: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + Duration::milliseconds(ms)
    }

    fn stored(id: &str, key: &str, producer: &str, ms: i64, cause: Option<&str>) -> StoredEvent {
        StoredEvent {
            envelope: Envelope {
                message_id: id.into(),
                exchange: key.split('.').next().unwrap().to_owned(),
                routing_key: key.into(),
                version: 1,
                correlation_id: None,
                causation_id: cause.map(str::to_owned),
                producer: Some(producer.into()),
                sender: None,
                timestamp: Some(at(ms)),
                traceparent: None,
                attempt: 1,
            },
            cause_routing_key: None,
            occurred_at: at(ms),
            payload: serde_json::Value::Null,
        }
    }

    fn keys(timeline: &Timeline) -> Vec<&str> {
        timeline
            .events
            .iter()
            .map(|e| e.routing_key.as_str())
            .collect()
    }

    #[test]
    fn events_are_ordered_by_time() {
        let timeline = build(
            Uuid::nil(),
            vec![
                stored("b", "billing.v1.charged", "billing", 20, Some("a")),
                stored("a", "order.v2.submit", "order", 10, None),
                stored("c", "logistics.v1.reserved", "logistics", 15, Some("a")),
            ],
        );
        assert_eq!(
            keys(&timeline),
            [
                "order.v2.submit",
                "logistics.v1.reserved",
                "billing.v1.charged"
            ]
        );
    }

    #[test]
    fn an_effect_never_comes_before_its_cause_whatever_the_clocks_say() {
        let timeline = build(
            Uuid::nil(),
            vec![
                stored("a", "order.v2.submit", "order", 100, None),
                // billing's clock is behind: its charge looks older than the submit.
                stored("b", "billing.v1.charged", "billing", 90, Some("a")),
                stored("c", "order.v1.confirmed", "order", 110, Some("b")),
            ],
        );
        assert_eq!(
            keys(&timeline),
            [
                "order.v2.submit",
                "billing.v1.charged",
                "order.v1.confirmed"
            ]
        );
    }

    #[test]
    fn a_cause_outside_the_flow_does_not_hold_an_event_back() {
        let timeline = build(
            Uuid::nil(),
            vec![
                stored("b", "billing.v1.refunded", "billing", 20, Some("elsewhere")),
                stored("a", "order.v2.submit", "order", 30, None),
            ],
        );
        assert_eq!(keys(&timeline), ["billing.v1.refunded", "order.v2.submit"]);
        let cause = timeline.events[0].caused_by.as_ref().unwrap();
        assert_eq!(cause.message_id, "elsewhere");
        assert_eq!(cause.routing_key, None);
    }

    #[test]
    fn consumers_come_from_the_bindings_and_leave_the_tracker_out() {
        let timeline = build(
            Uuid::nil(),
            vec![stored("a", "order.v2.submit", "order", 1, None)],
        );
        assert_eq!(timeline.events[0].consumers, ["billing", "logistics"]);
        assert_eq!(timeline.services, ["order", "billing", "logistics"]);
    }

    #[test]
    fn a_service_that_published_an_effect_counts_as_a_consumer_of_its_cause() {
        let timeline = build(
            Uuid::nil(),
            vec![
                stored("a", "order.v1.confirmed", "order", 1, None),
                stored("b", "audit.v1.noted", "auditor", 2, Some("a")),
            ],
        );
        assert_eq!(
            timeline.events[0].consumers,
            ["logistics", "mailer", "loyalty", "auditor"]
        );
        assert_eq!(
            timeline.services,
            ["order", "logistics", "mailer", "loyalty", "auditor"]
        );
    }

    #[test]
    fn cancellations_refunds_and_releases_are_marked_as_compensations() {
        let timeline = build(
            Uuid::nil(),
            vec![
                stored("a", "order.v1.cancelled", "order", 1, None),
                stored("b", "billing.v1.refunded", "billing", 2, Some("a")),
                stored("c", "logistics.v1.released", "logistics", 3, Some("a")),
                stored("d", "mailer.v1.sent", "mailer", 4, Some("a")),
            ],
        );
        let marked: Vec<bool> = timeline.events.iter().map(|e| e.compensation).collect();
        assert_eq!(marked, [true, true, true, false]);
    }
}
