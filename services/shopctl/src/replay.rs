//! `shopctl dead replay`: chosen dead letters back into their service's queue, as the events they
//! were, with a fresh attempt count.
//!
//! The copy goes through the service's own retry path (the exchange `<queue>.retry`, which binds
//! the queue by its name), like a retry coming back from its retry queue: only from there does
//! the consumer believe its `x-original-routing-key` and `x-original-exchange` headers
//! (`event_bus::envelope::arrival`), which are kept, as are the message id, the payload and every
//! other property (`user_id` becomes the operator's, the first sender kept in
//! `x-original-user-id`). Removed:
//! `x-attempt` (so the consumer starts again at attempt 1, with every retry ahead of it),
//! `x-error` and `x-dead-letter-kind`.
//!
//! Each copy is published `mandatory` on a confirm channel, and the dead letter is removed only
//! once the broker has confirmed its copy: a crash in between leaves both, and the consumer's
//! inbox (keyed by message id) makes the second delivery change nothing. So does replaying
//! something already applied, as long as the inbox still remembers its id
//! (`bus.inbox_retention_secs`, a week by default).

use lapin::{
    BasicProperties, Channel, Confirmation,
    options::{BasicPublishOptions, ConfirmSelectOptions},
    types::{AMQPValue, FieldTable},
};

use event_bus::{envelope::ORIGINAL_USER_ID, topology::retry_exchange};

use crate::{
    audit::{Action, AuditLog, AuditRecord},
    connection::Broker,
    dead_letter::{DeadLetter, Summary},
    error::{Error, Result, error_chain},
    scan::Scan,
    selector::Choice,
};

/// The headers a replay removes: the spent attempt count and the verdict of the last one.
const CLEARED: [&str; 3] = [
    event_bus::envelope::ATTEMPT,
    event_bus::envelope::ERROR,
    event_bus::envelope::DEAD_LETTER_KIND,
];

/// Replays the chosen dead letters into their service's queue, in queue order, and appends the
/// record of it to `audit`.
///
/// Fails before anything moves when the dead-letter queue or the service's queue does not exist.
/// Once messages move, a failure stops the replay: what was done and why it stopped are in the
/// returned record's `messages` and `error`, and the rest stays in the dead-letter queue.
pub async fn replay(broker: &Broker, choice: &Choice, audit: &AuditLog) -> Result<AuditRecord> {
    let queue = &choice.queue;
    let target = queue.service_queue();
    broker.require_queue(queue.name()).await?;
    broker.require_queue(target).await?;
    let publisher = broker.channel(target).await?;
    publisher
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .map_err(Error::broker("enable publisher confirms", target))?;

    let mut scan = Scan::read(broker, queue, choice.limit).await?;
    let chosen: Vec<DeadLetter> = scan
        .letters
        .iter()
        .filter(|letter| choice.selector.matches(letter))
        .cloned()
        .collect();
    let (replayed, stopped) =
        move_back(&mut scan, &publisher, target, broker.username(), &chosen).await;
    let limit_reached = !scan.complete;
    let given_back = scan.give_back().await;
    let _ = publisher.close(200, "done".into()).await;

    let mut record = AuditRecord::new(
        Action::Replay,
        broker,
        audit,
        queue,
        &choice.selector,
        replayed,
    );
    record.replayed_to = Some(target.to_owned());
    record.limit_reached = limit_reached;
    record.error = stopped.or_else(|| given_back.err().map(|error| error_chain(&error)));
    audit.append(&record)?;
    Ok(record)
}

/// Publishes each of `chosen` into `target` and removes it once confirmed; stops at the first
/// failure. Returns what was replayed, and why it stopped early if it did.
async fn move_back(
    scan: &mut Scan,
    publisher: &Channel,
    target: &str,
    user: &str,
    chosen: &[DeadLetter],
) -> (Vec<Summary>, Option<String>) {
    let mut replayed = Vec::new();
    for letter in chosen {
        if let Err(reason) = publish(publisher, target, user, letter).await {
            let stopped = format!("{} was not replayed: {reason}", letter.id_or_dash());
            return (replayed, Some(stopped));
        }
        replayed.push(letter.summary());
        if let Err(error) = scan.remove(letter.delivery_tag).await {
            let stopped = format!(
                "{} was replayed but is still a dead letter too (a second replay changes \
                 nothing): {}",
                letter.id_or_dash(),
                error_chain(&error)
            );
            return (replayed, Some(stopped));
        }
    }
    (replayed, None)
}

/// Publishes the replayed copy of `letter` into `target` through its retry exchange, as broker
/// user `user`, and waits for the broker's confirm.
async fn publish(
    publisher: &Channel,
    target: &str,
    user: &str,
    letter: &DeadLetter,
) -> Result<(), String> {
    let confirmation = publisher
        .basic_publish(
            retry_exchange(target).as_str().into(),
            target.into(),
            BasicPublishOptions {
                mandatory: true,
                ..BasicPublishOptions::default()
            },
            &letter.payload,
            replay_properties(letter, user),
        )
        .await
        .map_err(|error| format!("publishing failed: {error}"))?
        .await
        .map_err(|error| format!("no confirm from the broker: {error}"))?;
    match confirmation {
        Confirmation::Ack(None) => Ok(()),
        Confirmation::Ack(Some(_)) => Err(format!("the broker returned it: no queue {target:?}")),
        Confirmation::Nack(_) => Err("the broker refused it (nack)".into()),
        Confirmation::NotRequested => Err("the channel is not in confirm mode".into()),
    }
}

/// The properties of a replayed copy: the dead letter's, without [`CLEARED`], persistent,
/// published as `user` (the first sender kept in `x-original-user-id`).
pub fn replay_properties(letter: &DeadLetter, user: &str) -> BasicProperties {
    let mut headers = letter
        .properties
        .headers()
        .as_ref()
        .map(|headers| headers.inner().clone())
        .unwrap_or_default();
    for header in CLEARED {
        headers.remove(header);
    }
    let mut headers = FieldTable::from(headers);
    // Published as the operator: RabbitMQ refuses a `user_id` that is not the connection's
    // user. The first sender, when the copy does not name it yet, is kept as the bus keeps it.
    if let Some(sender) = letter.properties.user_id()
        && event_bus::envelope::header_str(Some(&headers), ORIGINAL_USER_ID).is_none()
    {
        headers.insert(
            ORIGINAL_USER_ID.into(),
            AMQPValue::LongString(sender.as_str().as_bytes().to_vec().into()),
        );
    }
    letter
        .properties
        .clone()
        .with_headers(headers)
        .with_delivery_mode(2)
        .with_user_id(user.into())
}

#[cfg(test)]
mod tests {
    use event_bus::envelope::{
        self, ORIGINAL_EXCHANGE, ORIGINAL_ROUTING_KEY, header_str, header_u32,
    };
    use lapin::types::{AMQPValue, LongString};

    use super::*;
    use crate::dead_letter::DeadLetterQueue;

    fn text(value: &str) -> AMQPValue {
        AMQPValue::LongString(LongString::from(value.as_bytes().to_vec()))
    }

    #[test]
    fn a_replayed_copy_keeps_its_identity_and_origin_and_loses_its_verdict() {
        let mut headers = FieldTable::default();
        headers.insert(ORIGINAL_ROUTING_KEY.into(), text("order.v2.submit"));
        headers.insert(ORIGINAL_EXCHANGE.into(), text("order"));
        headers.insert(envelope::ERROR.into(), text("the ledger is closed"));
        headers.insert(envelope::DEAD_LETTER_KIND.into(), text("handler"));
        headers.insert(envelope::ATTEMPT.into(), AMQPValue::LongLongInt(3));
        headers.insert(envelope::CAUSATION_ID.into(), text("cause-1"));
        let properties = BasicProperties::default()
            .with_message_id("m-1".into())
            .with_correlation_id("order-1".into())
            .with_timestamp(1_700_000_000)
            .with_headers(headers);
        let letter = DeadLetter {
            queue: DeadLetterQueue::parse("billing.dead").unwrap(),
            message_id: Some("m-1".into()),
            routing_key: "order.v2.submit".into(),
            exchange: "order".into(),
            reason: Some("the ledger is closed".into()),
            kind: Some("handler".into()),
            attempt: Some(3),
            dead_lettered_at: None,
            properties,
            payload: b"{}".to_vec(),
            delivery_tag: 1,
        };

        let copy = replay_properties(&letter, "operator");
        assert_eq!(
            copy.user_id().as_ref().map(|id| id.as_str()),
            Some("operator")
        );
        let headers = copy.headers().as_ref();
        assert_eq!(
            copy.message_id().as_ref().map(|id| id.as_str()),
            Some("m-1")
        );
        assert_eq!(
            copy.correlation_id().as_ref().map(|id| id.as_str()),
            Some("order-1")
        );
        assert_eq!(*copy.timestamp(), Some(1_700_000_000));
        assert_eq!(*copy.delivery_mode(), Some(2));
        assert_eq!(
            header_str(headers, ORIGINAL_ROUTING_KEY).as_deref(),
            Some("order.v2.submit")
        );
        assert_eq!(
            header_str(headers, ORIGINAL_EXCHANGE).as_deref(),
            Some("order")
        );
        assert_eq!(
            header_str(headers, envelope::CAUSATION_ID).as_deref(),
            Some("cause-1")
        );
        assert_eq!(header_str(headers, envelope::ERROR), None);
        assert_eq!(header_str(headers, envelope::DEAD_LETTER_KIND), None);
        assert_eq!(header_u32(headers, envelope::ATTEMPT), None);

        // The consumer reads it as the event it was, at its first attempt.
        let read = event_bus::Envelope::decode("billing.retry", "billing", &copy, true).unwrap();
        assert_eq!(
            (read.exchange.as_str(), read.routing_key.as_str()),
            ("order", "order.v2.submit")
        );
        assert_eq!(read.attempt, 1);
    }
}
