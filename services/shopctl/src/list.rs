//! `shopctl dead list`: the dead letters of the vhost grouped by queue, original routing key and
//! reason, with how many and the oldest and newest. Reads through a [`Scan`], which gives every
//! message back in place.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};

use crate::{
    connection::Broker,
    dead_letter::{DeadLetter, DeadLetterQueue},
    error::Result,
    scan::Scan,
    selector::reason_contains,
};

/// What to list.
#[derive(Debug, Clone)]
pub struct ListRequest {
    /// One dead-letter queue; every one of the vhost when `None`.
    pub queue: Option<DeadLetterQueue>,
    /// Only the dead letters whose reason contains this text (ignoring case).
    pub reason: Option<String>,
    /// How many messages a queue's scan holds at most.
    pub limit: usize,
}

/// Dead letters alike: same queue, same original routing key, same reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub queue: String,
    pub routing_key: String,
    /// `x-error`; `None` when the message has none.
    pub reason: Option<String>,
    pub count: usize,
    /// The earliest and latest dead-letter times (see [`crate::dead_letter::TimeSource`]).
    pub oldest: Option<DateTime<Utc>>,
    pub newest: Option<DateTime<Utc>>,
    /// The message ids of its letters, in queue order: what a replay or drop of exactly this
    /// group names ([`crate::Selector::Ids`]). Shorter than `count` when some letters have none.
    pub message_ids: Vec<String>,
}

/// The groups, and the queues whose scan stopped at the limit.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    /// By queue, routing key and reason.
    pub groups: Vec<Group>,
    pub truncated: Vec<String>,
}

/// Reads each dead-letter queue asked for, gives everything back, and groups what it read.
pub async fn list(broker: &Broker, request: &ListRequest) -> Result<Listing> {
    let queues = match &request.queue {
        Some(queue) => {
            broker.require_queue(queue.name()).await?;
            vec![queue.clone()]
        }
        None => broker.dead_letter_queues().await?,
    };
    let mut listing = Listing::default();
    for queue in &queues {
        let scan = Scan::read(broker, queue, request.limit).await?;
        let chosen = scan.letters.iter().filter(|letter| match &request.reason {
            Some(text) => reason_contains(letter.reason.as_deref(), text),
            None => true,
        });
        listing.groups.extend(group(chosen));
        if !scan.complete {
            listing.truncated.push(queue.name().to_owned());
        }
        scan.give_back().await?;
    }
    Ok(listing)
}

/// Groups `letters` by queue, routing key and reason, in that order.
pub fn group<'a>(letters: impl IntoIterator<Item = &'a DeadLetter>) -> Vec<Group> {
    let mut groups: BTreeMap<(String, String, Option<String>), Group> = BTreeMap::new();
    for letter in letters {
        let key = (
            letter.queue.name().to_owned(),
            letter.routing_key.clone(),
            letter.reason.clone(),
        );
        let at = letter.dead_lettered_at.map(|(at, _)| at);
        let entry = groups.entry(key).or_insert_with(|| Group {
            queue: letter.queue.name().to_owned(),
            routing_key: letter.routing_key.clone(),
            reason: letter.reason.clone(),
            count: 0,
            oldest: None,
            newest: None,
            message_ids: Vec::new(),
        });
        entry.count += 1;
        entry.message_ids.extend(letter.message_id.clone());
        entry.oldest = earliest(entry.oldest, at);
        entry.newest = entry.newest.max(at);
    }
    groups.into_values().collect()
}

fn earliest(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The listing as an aligned table, reason last (it is the longest).
pub fn render(listing: &Listing) -> String {
    let mut out = String::new();
    if listing.groups.is_empty() {
        out.push_str("no dead letters\n");
    } else {
        let rows: Vec<[String; 6]> = listing
            .groups
            .iter()
            .map(|group| {
                [
                    group.queue.clone(),
                    group.routing_key.clone(),
                    group.count.to_string(),
                    time(group.oldest),
                    time(group.newest),
                    group.reason.clone().unwrap_or_else(|| "(no reason)".into()),
                ]
            })
            .collect();
        let header = [
            "QUEUE",
            "ROUTING KEY",
            "COUNT",
            "OLDEST",
            "NEWEST",
            "REASON",
        ]
        .map(String::from);
        let mut widths = header.clone().map(|cell| cell.chars().count());
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        for row in std::iter::once(&header).chain(&rows) {
            let mut line = String::new();
            for (index, (cell, width)) in row.iter().zip(widths).enumerate() {
                if index == row.len() - 1 {
                    line.push_str(cell);
                } else if index == 2 {
                    line.push_str(&format!("{cell:>width$}  "));
                } else {
                    line.push_str(&format!("{cell:<width$}  "));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
    for queue in &listing.truncated {
        out.push_str(&format!(
            "{queue}: stopped at --limit; more dead letters are not counted\n"
        ));
    }
    out
}

fn time(at: Option<DateTime<Utc>>) -> String {
    at.map(|at| at.to_rfc3339_opts(SecondsFormat::Millis, true))
        .unwrap_or_else(|| "-".into())
}

#[cfg(test)]
mod tests {
    use lapin::BasicProperties;

    use super::*;
    use crate::dead_letter::TimeSource;

    fn letter(queue: &str, key: &str, reason: Option<&str>, at: i64) -> DeadLetter {
        DeadLetter {
            queue: DeadLetterQueue::parse(queue).unwrap(),
            message_id: Some(format!("m-{at}")),
            routing_key: key.into(),
            exchange: "order".into(),
            reason: reason.map(String::from),
            kind: Some("handler".into()),
            attempt: Some(3),
            dead_lettered_at: DateTime::from_timestamp(at, 0).map(|t| (t, TimeSource::Published)),
            properties: BasicProperties::default(),
            payload: Vec::new(),
            delivery_tag: 0,
        }
    }

    #[test]
    fn letters_are_grouped_by_queue_key_and_reason_with_their_time_span() {
        let letters = [
            letter("billing.dead", "order.v2.submit", Some("closed"), 30),
            letter("billing.dead", "order.v2.submit", Some("closed"), 10),
            letter("billing.dead", "order.v2.submit", Some("timeout"), 20),
            letter("billing.dead", "order.v1.cancelled", Some("closed"), 40),
            letter("logistics.dead", "order.v2.submit", Some("closed"), 50),
            letter("logistics.dead", "order.v2.submit", None, 60),
        ];
        let groups = group(&letters);
        type Row<'a> = (&'a str, &'a str, Option<&'a str>, usize, i64, i64);
        let summary: Vec<Row> = groups
            .iter()
            .map(|g| {
                (
                    g.queue.as_str(),
                    g.routing_key.as_str(),
                    g.reason.as_deref(),
                    g.count,
                    g.oldest.unwrap().timestamp(),
                    g.newest.unwrap().timestamp(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (
                    "billing.dead",
                    "order.v1.cancelled",
                    Some("closed"),
                    1,
                    40,
                    40
                ),
                ("billing.dead", "order.v2.submit", Some("closed"), 2, 10, 30),
                (
                    "billing.dead",
                    "order.v2.submit",
                    Some("timeout"),
                    1,
                    20,
                    20
                ),
                ("logistics.dead", "order.v2.submit", None, 1, 60, 60),
                (
                    "logistics.dead",
                    "order.v2.submit",
                    Some("closed"),
                    1,
                    50,
                    50
                ),
            ]
        );
        assert_eq!(groups[1].message_ids, ["m-30", "m-10"], "in queue order");
    }

    #[test]
    fn the_table_aligns_its_columns_and_names_a_truncated_queue() {
        let listing = Listing {
            groups: group(&[letter("billing.dead", "order.v2.submit", Some("closed"), 0)]),
            truncated: vec!["billing.dead".into()],
        };
        assert_eq!(
            render(&listing),
            "QUEUE         ROUTING KEY      COUNT  OLDEST                    NEWEST                    REASON\n\
             billing.dead  order.v2.submit      1  1970-01-01T00:00:00.000Z  1970-01-01T00:00:00.000Z  closed\n\
             billing.dead: stopped at --limit; more dead letters are not counted\n"
        );
        assert_eq!(render(&Listing::default()), "no dead letters\n");
    }
}
