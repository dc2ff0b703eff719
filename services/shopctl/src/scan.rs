//! Reading a dead-letter queue without losing or reordering anything.
//!
//! AMQP 0-9-1 has no "peek": a message can only be read by taking it. A scan takes the queue's
//! messages one by one with `basic.get` **without auto-ack**, so each stays the broker's
//! (unacknowledged, held by this channel) until it is settled, and it holds them all until it is
//! done:
//!
//! - Taking with `basic.get` until the broker answers `get-empty` ends the scan at a point the
//!   broker states, with no timing guess; messages dead-lettered meanwhile are simply read too.
//!   (A consumer with a prefetch would leave the end to a timeout. Giving each message back as
//!   soon as it is read would not work either: a requeued message goes back to its place at the
//!   head, and would be the next one read again.)
//! - At the end, one `basic.nack(multiple, requeue)` gives back every message not removed. A
//!   classic queue puts requeued messages back at their original positions: the queue is as it
//!   was, in the same order, minus what was removed. `nack` rather than `reject`: RabbitMQ 4.3+
//!   does not count a nack against a quorum queue's delivery limit. (On quorum queues of RabbitMQ
//!   4.0 to 4.2, every return counts against the default limit of 20: don't list such a queue in
//!   a loop there.) Requeued messages are marked `redelivered`, which nothing reads.
//! - A message is removed (`basic.ack`) only by a replay, once the broker has confirmed its copy,
//!   or by a confirmed drop; listing and showing never ack anything. The broker does not answer
//!   acks and nacks, but it answers the channel's close after applying everything sent before:
//!   a scan ends with that close, so "done" means done.
//! - If shopctl dies or its connection drops at any point, the broker gives back everything the
//!   channel held, as a nack would: a scan can delay messages, never lose them.
//!
//! The cost: while a scan runs, the messages it holds are invisible to anyone else (the
//! management UI counts them as unacknowledged), and two scans of the same queue at the same
//! time each see only part of it. `limit` bounds how many one scan holds (and keeps in memory).

use std::collections::BTreeSet;

use lapin::{
    Channel,
    options::{BasicAckOptions, BasicGetOptions, BasicNackOptions},
};

use crate::{
    connection::Broker,
    dead_letter::{DeadLetter, DeadLetterQueue},
    error::{Error, Result},
};

/// The messages of one dead-letter queue, held unacknowledged on a channel of their own until
/// [`Scan::give_back`].
pub(crate) struct Scan {
    channel: Channel,
    queue: DeadLetterQueue,
    /// Everything read, in queue order.
    pub(crate) letters: Vec<DeadLetter>,
    /// The delivery tags still held (read and neither removed nor given back).
    held: BTreeSet<u64>,
    /// Whether the broker said the queue had nothing more (false: `limit` was reached first).
    pub(crate) complete: bool,
}

impl Scan {
    /// Takes up to `limit` messages of `queue`, holding them.
    pub(crate) async fn read(
        broker: &Broker,
        queue: &DeadLetterQueue,
        limit: usize,
    ) -> Result<Self> {
        let channel = broker.channel(queue.name()).await?;
        let mut scan = Self {
            channel,
            queue: queue.clone(),
            letters: Vec::new(),
            held: BTreeSet::new(),
            complete: false,
        };
        if let Err(error) = scan.take_all(limit).await {
            // The error that matters is the first; closing gives back what was held anyway.
            let _ = scan.give_back().await;
            return Err(error);
        }
        Ok(scan)
    }

    async fn take_all(&mut self, limit: usize) -> Result<()> {
        while self.letters.len() < limit {
            let got = self
                .channel
                .basic_get(self.queue.name().into(), BasicGetOptions { no_ack: false })
                .await
                .map_err(Error::broker(
                    "read the dead-letter queue",
                    self.queue.name(),
                ))?;
            let Some(message) = got else {
                self.complete = true;
                return Ok(());
            };
            self.held.insert(message.delivery.delivery_tag);
            self.letters
                .push(DeadLetter::read(&self.queue, message.delivery));
        }
        Ok(())
    }

    /// Removes the message with `delivery_tag` from the queue for good (`basic.ack`).
    pub(crate) async fn remove(&mut self, delivery_tag: u64) -> Result<()> {
        self.channel
            .basic_ack(delivery_tag, BasicAckOptions { multiple: false })
            .await
            .map_err(Error::broker("remove a dead letter", self.queue.name()))?;
        self.held.remove(&delivery_tag);
        Ok(())
    }

    /// Gives back every message still held, in place, and closes the channel (which would give
    /// them back too, should the nack fail). Acks and nacks get no answer from the broker; the
    /// answer to the close, which it handles after them, says they were all applied.
    pub(crate) async fn give_back(self) -> Result<()> {
        let nacked = match self.held.last() {
            Some(&last) => self
                .channel
                .basic_nack(
                    last,
                    BasicNackOptions {
                        multiple: true,
                        requeue: true,
                    },
                )
                .await
                .map_err(Error::broker(
                    "give back the dead letters",
                    self.queue.name(),
                )),
            None => Ok(()),
        };
        let closed = self
            .channel
            .close(200, "done".into())
            .await
            .map_err(Error::broker("settle the dead letters", self.queue.name()));
        nacked.and(closed)
    }
}
