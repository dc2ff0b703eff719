//! Keeps one service's link to the broker alive.
//!
//! Connect (with exponential backoff) to one of the broker's nodes, declare the topology, open the confirm channel for the
//! publisher, consume; when any of it fails, drop the link and start over. Messages in flight when
//! a link dies were not acked, so the broker delivers them again and the inbox absorbs the repeat;
//! publishes whose confirm never came leave their outbox rows pending, so the relay publishes them
//! again on the next link. On a cluster the next link starts with the node after the one that was
//! lost, so a service leaves a dead node at its first reconnect, and the topology is declared
//! again there (idempotent: a quorum queue lives on, its leader moved to a surviving node).
//! On shutdown the order is: stop consuming and finish in-flight handlers, flush the outbox while
//! the link still stands, close the connection.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use lapin::{Connection, ConnectionProperties, options::ConfirmSelectOptions};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::{
    consumer::{ConsumeEnd, QueueRuntime},
    error::{Error, Result},
    outbox::Relay,
    publisher::PublishLink,
    settings::{BrokerSettings, BusSettings},
    topology::{self, Topology},
};

/// How often the link's health is looked at, besides the consumer's own errors.
const WATCH_INTERVAL: Duration = Duration::from_millis(250);

/// The depths of the retry and dead-letter queues are read every this many watch intervals (5 s).
const DEPTH_EVERY: u32 = 20;

pub(crate) struct Supervisor {
    pub(crate) settings: BusSettings,
    /// The settings of each broker node to try, in order ([`BrokerSettings::each_node`]).
    pub(crate) nodes: Vec<BrokerSettings>,
    pub(crate) topology: Topology,
    /// `None` for a service that only publishes.
    pub(crate) queue: Option<Arc<QueueRuntime>>,
    pub(crate) link: watch::Sender<Option<Arc<PublishLink>>>,
    pub(crate) relay: Relay,
}

impl Supervisor {
    /// Runs until `shutdown`, then drains and closes.
    pub(crate) async fn run(self, shutdown: CancellationToken) {
        let relay_stop = CancellationToken::new();
        let Self {
            settings,
            nodes,
            topology,
            queue,
            link,
            relay,
        } = self;
        let relay = tokio::spawn(relay.run(relay_stop.clone()));
        let link_keeper = LinkKeeper {
            settings: &settings,
            nodes: &nodes,
            next_node: AtomicUsize::new(0),
            topology: &topology,
            queue: queue.as_ref(),
            link: &link,
        };
        let min = Duration::from_millis(settings.reconnect_min_ms.max(1));
        let max = Duration::from_millis(settings.reconnect_max_ms.max(settings.reconnect_min_ms));
        let mut backoff = min;
        let connection = loop {
            match link_keeper.serve(&shutdown, &mut backoff, min).await {
                Ok(connection) => break Some(connection),
                Err(error) => {
                    link.send_replace(None);
                    if shutdown.is_cancelled() {
                        break None;
                    }
                    tracing::warn!(
                        error = %error,
                        retry_in_ms = backoff.as_millis() as u64,
                        "broker link down; reconnecting"
                    );
                    tokio::select! {
                        _ = shutdown.cancelled() => break None,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(max);
                }
            }
        };
        relay_stop.cancel();
        if let Err(error) = relay.await {
            tracing::error!(%error, "outbox relay task failed");
        }
        if let Some(publishing) = link.send_replace(None) {
            let _ = publishing.channel.close(200, "shutdown".into()).await;
        }
        if let Some(connection) = connection {
            let _ = connection.close(200, "shutdown".into()).await;
        }
        tracing::info!(service = %settings.service, "event bus stopped");
    }
}

/// One attempt at a link: lives as long as the connection does.
struct LinkKeeper<'a> {
    settings: &'a BusSettings,
    nodes: &'a [BrokerSettings],
    /// Which of `nodes` the next attempt starts with: the one after the last link's.
    next_node: AtomicUsize,
    topology: &'a Topology,
    queue: Option<&'a Arc<QueueRuntime>>,
    link: &'a watch::Sender<Option<Arc<PublishLink>>>,
}

impl LinkKeeper<'_> {
    /// Connects to the first node that answers, starting with [`Self::next_node`]; the error of
    /// the last node tried when none does. Whatever happens to the link, the next attempt starts
    /// with the node after the one connected to.
    async fn connect(&self, shutdown: &CancellationToken) -> Result<(&BrokerSettings, Connection)> {
        let start = self.next_node.load(Ordering::Relaxed);
        let mut failure = None;
        for offset in 0..self.nodes.len() {
            let index = (start + offset) % self.nodes.len();
            let node = &self.nodes[index];
            match self.connect_to(node, shutdown).await {
                Ok(connection) => {
                    self.next_node.store(index + 1, Ordering::Relaxed);
                    return Ok((node, connection));
                }
                Err(error) => {
                    if shutdown.is_cancelled() {
                        return Err(error);
                    }
                    if self.nodes.len() > 1 {
                        tracing::warn!(endpoint = %node.endpoint(), %error, "broker node unreachable; trying the next");
                    }
                    failure = Some(error);
                }
            }
        }
        Err(failure.unwrap_or_else(|| Error::LinkLost("no broker node is configured".into())))
    }

    /// One connection attempt to `broker`, bounded in time and raced with the shutdown.
    async fn connect_to(
        &self,
        broker: &BrokerSettings,
        shutdown: &CancellationToken,
    ) -> Result<Connection> {
        let properties = ConnectionProperties::default()
            .with_connection_name(self.settings.service.as_str().into());
        // lapin ignores the URI's `connection_timeout`: a connection that is accepted but never
        // answered (a broker out of reach behind a load balancer or sidecar, a link that died in
        // the handshake) would hang this attempt, and with it every later reconnect, forever,
        // even once the network is back; and a shutdown could not end it. So the attempt is
        // bounded and raced with the shutdown. Found by the fault suite's network cut.
        let timeout = broker.connect_timeout();
        let connecting = tokio::time::timeout(timeout, broker.connect(properties));
        tokio::select! {
            () = shutdown.cancelled() => {
                Err(Error::LinkLost("shut down while connecting".into()))
            }
            connected = connecting => connected
                .map_err(|_| {
                    Error::LinkLost(format!(
                        "the broker at {} did not answer within {timeout:?} of connecting",
                        broker.endpoint()
                    ))
                })?,
        }
    }

    /// Connects and serves; returns the connection after a drained shutdown, an error when the
    /// link failed.
    async fn serve(
        &self,
        shutdown: &CancellationToken,
        backoff: &mut Duration,
        min: Duration,
    ) -> Result<Connection> {
        let (broker, connection) = self.connect(shutdown).await?;
        self.topology.declare(&connection).await?;

        let publishing = connection
            .create_channel()
            .await
            .map_err(Error::broker("opening the publishing channel"))?;
        publishing
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(Error::broker("enabling publisher confirms"))?;
        self.link.send_replace(Some(Arc::new(PublishLink::new(
            publishing.clone(),
            self.topology.exchanges.iter().cloned(),
        ))));
        *backoff = min;
        tracing::info!(
            service = %self.settings.service,
            endpoint = %broker.endpoint(),
            "connected to the broker; topology declared"
        );

        let consume = async {
            let Some(queue) = self.queue else {
                shutdown.cancelled().await;
                return Ok(ConsumeEnd::Drained);
            };
            loop {
                let channel = connection
                    .create_channel()
                    .await
                    .map_err(Error::broker("opening the consuming channel"))?;
                match queue.consume(channel, shutdown).await? {
                    // An outage of the database is waited out, not retried message by message:
                    // what the consumer held went back to the queue with no attempt counted.
                    ConsumeEnd::DatabaseDown(reason) => {
                        tracing::warn!(
                            queue = %queue.queue,
                            %reason,
                            "the database is out of reach: consumption paused, deliveries given back"
                        );
                        queue.database_back(shutdown).await;
                        if shutdown.is_cancelled() {
                            return Ok(ConsumeEnd::Drained);
                        }
                        tracing::info!(queue = %queue.queue, "the database answers: consuming again");
                    }
                    end => return Ok(end),
                }
            }
        };
        let parked = topology::parked_queues(self.topology);
        let depths = connection.create_channel().await.ok();
        let watchdog = async {
            let mut tick = tokio::time::interval(WATCH_INTERVAL);
            let mut ticks: u32 = 0;
            loop {
                tick.tick().await;
                ticks = ticks.wrapping_add(1);
                if ticks % DEPTH_EVERY == 1
                    && let Some(channel) = depths.as_ref().filter(|c| c.status().connected())
                    && let Err(error) = topology::report_depths(channel, &parked).await
                {
                    // A queue removed by hand closes this channel; the next link reopens it.
                    tracing::debug!(%error, "could not read the depths of the retry and dead-letter queues");
                }
                if !connection.status().connected() {
                    return "the connection closed";
                }
                if !publishing.status().connected() {
                    return "the publishing channel closed";
                }
            }
        };
        tokio::select! {
            end = consume => match end? {
                ConsumeEnd::Drained => Ok(connection),
                ConsumeEnd::Lost(reason) => Err(Error::LinkLost(reason)),
                ConsumeEnd::DatabaseDown(reason) => Err(Error::Unavailable(reason)),
            },
            reason = watchdog => Err(Error::LinkLost(reason.to_owned())),
        }
    }
}
