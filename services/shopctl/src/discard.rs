//! `shopctl dead drop`: chosen dead letters removed for good, after a confirmation.
//!
//! The chosen messages are read and held (see [`crate::scan`]) before `confirm` is asked, so
//! what is confirmed is exactly what is removed; meanwhile they are invisible to anyone else.
//! Declined, everything is given back in place and nothing is recorded.

use crate::{
    audit::{Action, AuditLog, AuditRecord},
    connection::Broker,
    dead_letter::DeadLetter,
    error::{Result, error_chain},
    scan::Scan,
    selector::Choice,
};

/// Removes the chosen dead letters once `confirm` agrees (it is not asked when none is chosen),
/// and appends the record of it to `audit`; `None` when `confirm` declined.
///
/// Fails before anything is removed when the dead-letter queue does not exist. A failure while
/// removing stops the drop: what was removed and why it stopped are in the record.
pub async fn discard<F>(
    broker: &Broker,
    choice: &Choice,
    confirm: F,
    audit: &AuditLog,
) -> Result<Option<AuditRecord>>
where
    F: AsyncFnOnce(&[DeadLetter]) -> bool,
{
    let queue = &choice.queue;
    broker.require_queue(queue.name()).await?;
    let mut scan = Scan::read(broker, queue, choice.limit).await?;
    let chosen: Vec<DeadLetter> = scan
        .letters
        .iter()
        .filter(|letter| choice.selector.matches(letter))
        .cloned()
        .collect();
    if !chosen.is_empty() && !confirm(chosen.as_slice()).await {
        scan.give_back().await?;
        return Ok(None);
    }
    let mut dropped = Vec::new();
    let mut stopped = None;
    for letter in &chosen {
        if let Err(error) = scan.remove(letter.delivery_tag).await {
            stopped = Some(format!(
                "{} was not dropped: {}",
                letter.id_or_dash(),
                error_chain(&error)
            ));
            break;
        }
        dropped.push(letter.summary());
    }
    let limit_reached = !scan.complete;
    let given_back = scan.give_back().await;

    let mut record = AuditRecord::new(
        Action::Drop,
        broker,
        audit,
        queue,
        &choice.selector,
        dropped,
    );
    record.limit_reached = limit_reached;
    record.error = stopped.or_else(|| given_back.err().map(|error| error_chain(&error)));
    audit.append(&record)?;
    Ok(Some(record))
}
