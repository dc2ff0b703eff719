//! Runs scenarios on one private broker and one private cluster, a few at a time.
//!
//! Starting a RabbitMQ node takes about ten seconds here, so the scenarios share one (each in a
//! vhost of its own) and one PostgreSQL cluster (each with databases of its own). Only the
//! scenarios that restart the broker or the database start an instance of their own. They share
//! one signing key too, which every shop's services trust. Dropping the [`Suite`] stops and
//! removes both shared instances and the key, also when a scenario failed.

use futures_util::{StreamExt, stream};

use crate::{
    auth::SuiteKey,
    binaries::Binaries,
    broker::PrivateBroker,
    leftovers,
    load::Load,
    postgres::PrivatePostgres,
    report::Report,
    scenarios::{Lab, Scenario},
};

/// How a suite runs.
#[derive(Debug, Clone)]
pub struct SuiteOptions {
    pub load: Load,
    /// Scenarios run at the same time.
    pub parallel: usize,
}

impl SuiteOptions {
    /// What `cargo test` runs: the CI load, two scenarios at a time (two cores).
    pub fn ci() -> Self {
        Self {
            load: Load::ci(),
            parallel: 2,
        }
    }
}

/// The shared private infrastructure and the scenarios' lab.
pub struct Suite {
    lab: Lab,
    parallel: usize,
    // Dropped after the lab: the instances go when the suite goes.
    _broker: PrivateBroker,
    _postgres: PrivatePostgres,
    _key: SuiteKey,
}

impl Suite {
    /// Cleans up after killed runs, makes the run's signing key, then builds the services and
    /// starts the shared broker and cluster, all three at once.
    pub async fn start(options: SuiteOptions) -> anyhow::Result<Self> {
        let reaped = leftovers::reap();
        if reaped > 0 {
            tracing::info!(reaped, "removed what killed runs left behind");
        }
        let key = SuiteKey::generate()?;
        let (binaries, broker, postgres) = tokio::try_join!(
            Binaries::prepare(),
            PrivateBroker::start("shared"),
            PrivatePostgres::start("shared"),
        )?;
        let lab = Lab {
            broker: broker.endpoint(),
            postgres: postgres.server(),
            binaries,
            credentials: key.credentials(),
            load: options.load,
        };
        Ok(Self {
            lab,
            parallel: options.parallel.max(1),
            _broker: broker,
            _postgres: postgres,
            _key: key,
        })
    }

    /// Runs `scenarios`, `parallel` at a time, then those that [run alone](Scenario::runs_alone)
    /// one after the other; `each` sees every report as soon as it is ready. The reports come
    /// back in the order they finished.
    pub async fn run(&self, scenarios: &[Scenario], mut each: impl FnMut(&Report)) -> Vec<Report> {
        let (alone, shared): (Vec<Scenario>, Vec<Scenario>) = scenarios
            .iter()
            .copied()
            .partition(|scenario| scenario.runs_alone());
        let mut reports = Vec::with_capacity(scenarios.len());
        let mut running = stream::iter(shared.into_iter().map(|scenario| scenario.run(&self.lab)))
            .buffer_unordered(self.parallel);
        while let Some(report) = running.next().await {
            each(&report);
            reports.push(report);
        }
        for scenario in alone {
            let report = scenario.run(&self.lab).await;
            each(&report);
            reports.push(report);
        }
        reports
    }
}
