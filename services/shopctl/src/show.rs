//! `shopctl dead show ID`: one message with all its properties, headers and payload. Reads
//! through a [`Scan`], which gives every message back in place.

use std::fmt::Write as _;

use chrono::SecondsFormat;
use serde_json::Value;

use crate::{
    connection::Broker,
    dead_letter::{DeadLetter, DeadLetterQueue, TimeSource},
    error::Result,
    scan::Scan,
};

/// Every dead letter with message id `id`, in `queue` or in every dead-letter queue of the vhost.
/// Several when the same event was dead-lettered by several services (each copy keeps its id).
pub async fn show(
    broker: &Broker,
    id: &str,
    queue: Option<&DeadLetterQueue>,
    limit: usize,
) -> Result<Vec<DeadLetter>> {
    let queues = match queue {
        Some(queue) => {
            broker.require_queue(queue.name()).await?;
            vec![queue.clone()]
        }
        None => broker.dead_letter_queues().await?,
    };
    let mut found = Vec::new();
    for queue in &queues {
        let scan = Scan::read(broker, queue, limit).await?;
        found.extend(
            scan.letters
                .iter()
                .filter(|letter| letter.message_id.as_deref() == Some(id))
                .cloned(),
        );
        scan.give_back().await?;
    }
    Ok(found)
}

/// One dead letter, as text: what the bus recorded, then every property and header, then the
/// payload (pretty JSON when it is JSON).
pub fn render(letter: &DeadLetter) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "message {} in {}", letter.id_or_dash(), letter.queue);
    let _ = writeln!(
        out,
        "  routing key    {} (exchange {})",
        letter.routing_key,
        if letter.exchange.is_empty() {
            "-"
        } else {
            letter.exchange.as_str()
        }
    );
    let _ = writeln!(
        out,
        "  reason         {}",
        letter.reason.as_deref().unwrap_or("-")
    );
    let _ = writeln!(
        out,
        "  kind           {}, attempt {}",
        letter.kind.as_deref().unwrap_or("-"),
        letter.attempt.map_or("-".into(), |a| a.to_string())
    );
    if let Some((at, source)) = letter.dead_lettered_at {
        let source = match source {
            TimeSource::LastRetry => "its last retry",
            TimeSource::Published => "its publication",
        };
        let _ = writeln!(
            out,
            "  dead-lettered  {} (time of {source})",
            at.to_rfc3339_opts(SecondsFormat::Millis, true)
        );
    }
    let _ = writeln!(
        out,
        "properties:\n{}",
        pretty(&Value::Object(letter.properties_json()))
    );
    let _ = writeln!(
        out,
        "headers:\n{}",
        pretty(&Value::Object(letter.headers_json()))
    );
    let payload = match letter.payload_json() {
        Ok(json) => pretty(&json),
        Err(text) => text,
    };
    let _ = writeln!(out, "payload ({} bytes):\n{payload}", letter.payload.len());
    out
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}
