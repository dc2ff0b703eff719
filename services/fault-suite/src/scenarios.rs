//! The scenarios: one function per fault, each running a shop of its own to a [`Report`].
//!
//! Every scenario follows the same arc: open a shop, start clients posting orders, inject the
//! fault once a third of the orders are in, lift it, let the clients finish, then
//! [conclude](aftermath::conclude): wait until the shop is quiet, check every invariant, count
//! the dead letters, close the shop.

mod aftermath;
mod broker;
mod burst;
mod cluster;
mod crash;
mod database;
mod duplicates;
mod hang;
mod legacy;
mod network;
mod poison;
mod replay;

use std::{fmt, time::Instant};

use crate::{
    auth::Credentials,
    binaries::Binaries,
    broker::BrokerEndpoint,
    load::{Load, Plan},
    postgres::PgServer,
    report::Report,
    service::Service,
    shop::{Shop, ShopOptions},
};

/// One fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// `kill -9` of a service while orders flow, then a restart.
    Kill(Service),
    /// SIGTERM of a service while orders flow (it drains and exits), then a restart.
    Terminate(Service),
    /// The broker stopped and started again while orders flow (a node of its own).
    BrokerRestart,
    /// The broker down for a minute while orders flow (a node of its own).
    BrokerOutage,
    /// The broker closes every service's connection (management API).
    BrokerClosesConnections,
    /// PostgreSQL stopped and started again while orders flow (a cluster of its own).
    PostgresRestart,
    /// PostgreSQL stopped for a minute and a half while orders flow (a cluster of its own): every
    /// service without its database for longer than all the retry delays together.
    PostgresOutage,
    /// Billing's database out of reach for longer than all the retry delays together while the
    /// order service keeps publishing to it: billing waits it out (nothing may be dead-lettered).
    DatabaseOutage,
    /// The links between the services and the broker go dark for longer than the heartbeat.
    NetworkCut,
    /// Every message delivered three times, and two billing instances on one queue.
    Duplicates,
    /// Garbage, wrong shapes and unknown versions on every key a service binds.
    Poison,
    /// Thousands of POSTs at once, some repeated with the same idempotency key.
    Burst,
    /// Billing broken by a cause of its own (its payments table gone): its messages are
    /// dead-lettered; fixed, then every dead letter replayed.
    DeadLettersReplayed,
    /// Billing's handler hangs on a customer's account row held by a transaction outside it:
    /// the rest of its queue flows, the hung messages time out into the dead letters; the lock
    /// released, they are replayed.
    HandlerHangs,
    /// Another producer publishes legacy `order.v1.submit` events straight to the exchange:
    /// each such foreign order is refused, its charge refunded and its stock released.
    LegacySubmit,
    /// A three-node cluster of its own with quorum queues and two instances of every service:
    /// the node leading the queues killed with SIGKILL and booted again, then the node the
    /// services moved to.
    ClusterNodeLost,
}

impl Scenario {
    /// Every scenario, the longest first so that they overlap the short ones (those that run
    /// alone go after the rest, whatever their place here).
    pub fn all() -> Vec<Self> {
        let mut all = vec![
            Self::ClusterNodeLost,
            Self::PostgresOutage,
            Self::BrokerOutage,
            Self::DatabaseOutage,
            Self::DeadLettersReplayed,
            Self::HandlerHangs,
            Self::BrokerRestart,
            Self::Burst,
            Self::NetworkCut,
            Self::PostgresRestart,
            Self::BrokerClosesConnections,
            Self::Duplicates,
            Self::Poison,
            Self::LegacySubmit,
        ];
        all.extend(Service::ALL.map(Self::Kill));
        all.extend(Service::ALL.map(Self::Terminate));
        all
    }

    /// Whether the scenario needs the machine to itself: the cluster's three nodes and eight
    /// service instances take both cores, and beside another scenario its nodes have been too
    /// slow to start a vhost within 30 s.
    pub fn runs_alone(&self) -> bool {
        matches!(self, Self::ClusterNodeLost)
    }

    /// `kill-billing`, `sigterm-order`, `broker-restart`...
    pub fn name(&self) -> String {
        match self {
            Self::Kill(service) => format!("kill-{service}"),
            Self::Terminate(service) => format!("sigterm-{service}"),
            Self::BrokerRestart => "broker-restart".into(),
            Self::BrokerOutage => "broker-outage".into(),
            Self::BrokerClosesConnections => "broker-closes-connections".into(),
            Self::PostgresRestart => "postgres-restart".into(),
            Self::PostgresOutage => "postgres-outage".into(),
            Self::DatabaseOutage => "billing-database-outage".into(),
            Self::NetworkCut => "network-cut".into(),
            Self::Duplicates => "duplicates".into(),
            Self::Poison => "poison".into(),
            Self::Burst => "burst".into(),
            Self::DeadLettersReplayed => "dead-letters-replayed".into(),
            Self::HandlerHangs => "handler-hangs".into(),
            Self::LegacySubmit => "legacy-submit".into(),
            Self::ClusterNodeLost => "cluster-node-lost".into(),
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::all()
            .into_iter()
            .find(|scenario| scenario.name() == name)
    }

    /// Runs the scenario to its report; a scenario that cannot run to the end fails.
    pub async fn run(self, lab: &Lab) -> Report {
        let started = Instant::now();
        let name = self.name();
        tracing::info!(scenario = %name, "scenario started");
        let outcome = match self {
            Self::Kill(service) => crash::kill(lab, service).await,
            Self::Terminate(service) => crash::terminate(lab, service).await,
            Self::BrokerRestart => broker::restart(lab, &name, broker::RESTART).await,
            Self::BrokerOutage => broker::restart(lab, &name, broker::OUTAGE).await,
            Self::BrokerClosesConnections => broker::close_connections(lab).await,
            Self::PostgresRestart => database::restart(lab, &name, database::BRIEF).await,
            Self::PostgresOutage => database::restart(lab, &name, database::OUTAGE).await,
            Self::DatabaseOutage => database::outage(lab, &name, Service::Billing).await,
            Self::NetworkCut => network::cut(lab).await,
            Self::Duplicates => duplicates::run(lab).await,
            Self::Poison => poison::run(lab).await,
            Self::Burst => burst::run(lab).await,
            Self::DeadLettersReplayed => replay::run(lab).await,
            Self::HandlerHangs => hang::run(lab).await,
            Self::LegacySubmit => legacy::run(lab).await,
            Self::ClusterNodeLost => cluster::run(lab, &name).await,
        };
        let report =
            outcome.unwrap_or_else(|error| Report::broken(&name, &error, started.elapsed()));
        tracing::info!(scenario = %name, passed = report.passed(), "scenario ended");
        report
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// What every scenario runs on: the shared private broker and cluster, the service binaries,
/// the signing key the services trust and the load.
#[derive(Debug, Clone)]
pub struct Lab {
    pub broker: BrokerEndpoint,
    pub postgres: PgServer,
    pub binaries: Binaries,
    pub credentials: Credentials,
    pub load: Load,
}

impl Lab {
    /// A shop on the shared broker and cluster.
    pub async fn shop(&self, name: &str, options: ShopOptions) -> anyhow::Result<Shop> {
        Shop::open(
            name,
            self.broker.clone(),
            self.postgres,
            self.binaries.clone(),
            self.credentials.clone(),
            options,
        )
        .await
    }

    /// The shop options of a fault scenario.
    pub fn options(&self) -> ShopOptions {
        ShopOptions {
            deadline_secs: self.load.deadline_secs,
            ..ShopOptions::default()
        }
    }

    /// The paced orders of a fault scenario.
    pub fn plan(&self, name: &str) -> Plan {
        Plan::paced(name, self.load.orders, self.load.rate, self.load.clients)
    }

    /// When the fault strikes: once this many orders were answered.
    pub fn strike_at(&self) -> usize {
        self.load.orders / 3
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scenario_is_found_by_its_name() {
        let all = Scenario::all();
        assert_eq!(all.len(), 22);
        for scenario in all {
            assert_eq!(Scenario::parse(&scenario.name()), Some(scenario));
        }
        assert_eq!(
            Scenario::parse("kill-billing"),
            Some(Scenario::Kill(Service::Billing))
        );
        assert_eq!(Scenario::parse("kill-nobody"), None);
    }
}
