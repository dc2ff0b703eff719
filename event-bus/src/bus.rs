//! [`EventBus`]: a service's whole relation to the broker, built once at startup.
//!
//! ```no_run
//! # use event_bus::{EventBus, BusSettings, Handler, HandlerContext, HandlerResult};
//! # #[derive(serde::Serialize, serde::Deserialize)] struct Submitted { id: String }
//! # event_bus::event!(Submitted, exchange = "order", name = "submit", version = 1);
//! # struct Charge;
//! # impl Handler<Submitted> for Charge {
//! #     async fn handle(&self, _: &mut HandlerContext<'_>, _: Submitted) -> HandlerResult { Ok(()) }
//! # }
//! # async fn run(pool: sqlx::PgPool, shutdown: tokio_util::sync::CancellationToken) -> event_bus::Result<()> {
//! let bus = EventBus::new(BusSettings::for_service("billing"), pool)
//!     .on::<Submitted, _>(Charge) // binds `order.*.submit` to queue `billing.queue`
//!     .start(shutdown.clone())
//!     .await?;
//! shutdown.cancelled().await;
//! bus.stopped().await; // in-flight handled, outbox flushed, connection closed
//! # Ok(()) }
//! ```

use std::{collections::BTreeSet, sync::Arc, time::Duration};

use sqlx::PgPool;
use tokio::{sync::watch, task::JoinHandle};
use tokio_util::sync::CancellationToken;

use crate::{
    consumer::{AnyEvent, OBSERVER, QueueRuntime, Route, Routes, observer_route, typed_route},
    error::Result,
    event::Event,
    handler::Handler,
    layer::{Layer, Layers},
    outbox::{Outbox, Relay, RelayWake},
    publisher::Publisher,
    schema,
    settings::BusSettings,
    supervisor::Supervisor,
    topology::{Topology, service_queue},
};

/// The builder: which events the service handles and publishes.
pub struct EventBus {
    settings: BusSettings,
    pool: PgPool,
    routes: Routes,
    exchanges: BTreeSet<String>,
    /// The routing keys of the events this service publishes.
    publications: BTreeSet<String>,
    /// The exchanges of those events.
    own_exchanges: BTreeSet<String>,
    /// What goes around every handler call: the bus's own, then the service's.
    layers: Layers,
    /// Woken by every commit that staged events, in handlers or through [`Self::outbox`].
    relay_wake: RelayWake,
}

impl EventBus {
    /// A bus for `settings.service` on `pool`, with the bus's own layers around every handler
    /// call ([`Layers::standard`]) and, when `handler_timeout_ms` is set, a [`Timeout`] inside
    /// them.
    ///
    /// [`Timeout`]: crate::layer::Timeout
    pub fn new(settings: BusSettings, pool: PgPool) -> Self {
        let mut layers = Layers::standard();
        if settings.handler_timeout_ms > 0 {
            layers = layers.layer(crate::layer::Timeout::new(Duration::from_millis(
                settings.handler_timeout_ms,
            )));
        }
        Self {
            settings,
            pool,
            routes: Routes::new(),
            exchanges: BTreeSet::new(),
            publications: BTreeSet::new(),
            own_exchanges: BTreeSet::new(),
            layers,
            relay_wake: RelayWake::default(),
        }
    }

    /// Adds `layer` around every handler call of this service, inside the bus's own layers
    /// (trace, duration, panic recovery) and inside the layers added before it.
    pub fn layer(mut self, layer: impl Layer) -> Self {
        self.layers = self.layers.layer(layer);
        self
    }

    /// Opens transactions that publish through the outbox (HTTP handlers, background jobs); their
    /// commits wake this bus's relay, as a handler's do.
    pub fn outbox(&self) -> Outbox {
        Outbox::new(self.pool.clone(), self.relay_wake.clone())
    }

    /// Handles every version of `E` with `handler`: binds `<exchange>.*.<name>` to the service's
    /// queue, and decodes older versions into `E` through [`Event::decode`].
    ///
    /// # Panics
    /// When a handler for the same event family is already registered: that is a wiring mistake
    /// to find at startup, not at the first message.
    pub fn on<E: Event, H: Handler<E>>(self, handler: H) -> Self {
        self.route(E::EXCHANGE, E::NAME, Arc::new(typed_route::<E, H>(handler)))
    }

    /// Observes everything published on `exchange`: binds `#` and hands each message, whatever
    /// its event and version, to `handler` as JSON. Events with a handler of their own (from
    /// [`Self::on`]) go to that handler instead.
    ///
    /// # Panics
    /// When `exchange` is observed twice.
    pub fn observe<H: Handler<AnyEvent>>(self, exchange: &str, handler: H) -> Self {
        self.route(
            exchange,
            OBSERVER,
            Arc::new(observer_route(exchange, handler)),
        )
    }

    fn route(mut self, exchange: &str, name: &str, route: Arc<dyn Route>) -> Self {
        self.exchanges.insert(exchange.to_owned());
        let previous = self
            .routes
            .insert((exchange.to_owned(), name.to_owned()), route);
        assert!(
            previous.is_none(),
            "two handlers registered for {exchange}.*.{name}"
        );
        self
    }

    /// Declares that this service publishes `E`: its exchange is declared at startup, so it
    /// exists (and shows in the management UI) before the first publish, and `E` is listed in
    /// the service's [`Topology::publications`].
    pub fn publishes<E: Event>(mut self) -> Self {
        self.exchanges.insert(E::EXCHANGE.to_owned());
        self.own_exchanges.insert(E::EXCHANGE.to_owned());
        self.publications.insert(E::ROUTING_KEY.to_owned());
        self
    }

    /// What this service declares on the broker.
    pub fn topology(&self) -> Topology {
        let mut bindings: Vec<_> = self.routes.values().map(|route| route.binding()).collect();
        bindings.sort_by(|a, b| (&a.exchange, &a.pattern).cmp(&(&b.exchange, &b.pattern)));
        Topology {
            exchanges: self.exchanges.iter().cloned().collect(),
            own_exchanges: self.own_exchanges.iter().cloned().collect(),
            queue: (!self.routes.is_empty()).then(|| service_queue(&self.settings.service)),
            bindings,
            publications: self.publications.iter().cloned().collect(),
            queue_type: self.settings.queue_type,
            quorum: self.settings.quorum,
            retry_delays: self.settings.retry_delays().collect(),
        }
    }

    /// Installs the outbox and inbox tables, then runs the bus in the background until
    /// `shutdown` is cancelled. The broker need not be up yet: the bus connects when it can, and
    /// [`RunningBus::is_connected`] says when it has.
    pub async fn start(self, shutdown: CancellationToken) -> Result<RunningBus> {
        // A node list that cannot be read is a mistake of the settings: refused now, not retried.
        let nodes = self.settings.broker.each_node()?;
        schema::install(&self.pool).await?;
        let topology = self.topology();
        let (link, link_watch) = watch::channel(None);
        let publisher = Publisher::new(
            link_watch,
            &self.settings.service,
            &self.settings.broker.username,
        );
        let relay_wake = self.relay_wake.clone();
        let outbox = self.outbox();
        let queue = topology.queue.clone().map(|queue| {
            Arc::new(QueueRuntime {
                queue,
                routes: self.routes,
                layers: self.layers,
                max_message_bytes: self.settings.max_message_bytes,
                senders: self.settings.senders.clone(),
                pool: self.pool.clone(),
                publisher: publisher.clone(),
                relay_wake: relay_wake.clone(),
                retry_delays: topology.retry_delays.clone(),
                prefetch: self.settings.prefetch,
                concurrency: self.settings.concurrency,
                batch_size: self.settings.batch_size,
                batch_linger: Duration::from_millis(self.settings.batch_linger_ms),
                savepoint_per_handler: self.settings.savepoint_per_handler,
                handler_timeout_ms: self.settings.handler_timeout_ms,
            })
        });
        let relay = Relay::new(
            self.pool.clone(),
            publisher.clone(),
            self.settings.outbox.clone(),
            Duration::from_secs(self.settings.inbox_retention_secs),
            relay_wake,
        );
        let supervisor = Supervisor {
            settings: self.settings,
            nodes,
            topology: topology.clone(),
            queue,
            link,
            relay,
        };
        let task = tokio::spawn(supervisor.run(shutdown));
        Ok(RunningBus {
            publisher,
            outbox,
            topology: Arc::new(topology),
            task,
        })
    }
}

/// A started bus.
pub struct RunningBus {
    publisher: Publisher,
    outbox: Outbox,
    /// Shared, not copied: a handle a service keeps should stay small.
    topology: Arc<Topology>,
    task: JoinHandle<()>,
}

impl RunningBus {
    /// Opens transactions that publish through the outbox; see [`EventBus::outbox`].
    pub fn outbox(&self) -> Outbox {
        self.outbox.clone()
    }

    /// What this bus declared: its exchanges, queue, bindings and publications.
    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// Publishes directly, with confirms (prefer the outbox where a state change goes with it).
    pub fn publisher(&self) -> Publisher {
        self.publisher.clone()
    }

    /// Whether the broker link is up right now (readiness).
    pub fn is_connected(&self) -> bool {
        self.publisher.is_connected()
    }

    /// Resolves once the broker link is up.
    pub async fn connected(&self) {
        self.publisher.connected().await;
    }

    /// Waits for the bus to finish after its shutdown token was cancelled.
    pub async fn stopped(self) {
        if let Err(error) = self.task.await {
            tracing::error!(%error, "event bus task failed");
        }
    }
}
