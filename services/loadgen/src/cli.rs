//! The commands, as `scripts/bench` calls them.

use std::{path::PathBuf, sync::Arc, time::Duration};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use crate::{
    catalog,
    environment::{self, Endpoints},
    flow::{self, OpenRate, Planned},
    journey::{self, Shop},
    probes::Probes,
    report,
    tokens::{self, Tokens},
};

/// Drives the shop's order flow under load and writes the benchmark report.
#[derive(Debug, Parser)]
#[command(name = "loadgen", version)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Creates the benchmark's vhost on the shared broker.
    Setup {
        #[command(flatten)]
        endpoints: Endpoints,
        #[arg(long)]
        vhost: String,
    },
    /// Makes the run's signing key pair in a new folder only its owner can read: the services
    /// verify tokens with its public half (`signing-key.pub.pem`), `run` signs with the private.
    Keys {
        /// The folder to create.
        #[arg(long)]
        dir: PathBuf,
    },
    /// Loads the running services: an open loop, then a closed loop; writes the flow's results.
    Run(RunArgs),
    /// Deletes the benchmark's vhost and drops its databases.
    Teardown {
        #[command(flatten)]
        endpoints: Endpoints,
        #[arg(long)]
        vhost: String,
        /// Delete the broker users whose names start with this (the run's own).
        #[arg(long)]
        users_prefixed: Option<String>,
        /// A database to drop; repeat for each.
        #[arg(long = "database")]
        databases: Vec<String>,
    },
    /// Turns a run's result files into the markdown report and its latency plot.
    Report(report::ReportArgs),
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    #[command(flatten)]
    endpoints: Endpoints,
    /// The vhost the services run on (for the broker's message counts).
    #[arg(long)]
    vhost: String,
    /// The order service's base URL.
    #[arg(long, default_value = "http://127.0.0.1:28080")]
    order_url: String,
    /// The folder `keys` made, whose public half the services were given: the run signs its
    /// bearer tokens with its private half.
    #[arg(long)]
    signing_key_dir: PathBuf,
    /// A service as `name=database:pid` (the pid for its peak memory; may be left out as
    /// `name=database`). Repeat for order, billing, logistics and mailer.
    #[arg(long = "service", value_parser = parse_service, required = true)]
    services: Vec<(String, String, Option<u32>)>,
    /// Orders in flight in the closed loop, which runs first; 0 skips it.
    #[arg(long, default_value_t = 64)]
    closed_in_flight: usize,
    #[arg(long, default_value_t = 30)]
    closed_secs: u64,
    /// Orders per second of an open loop, run after the closed loop; `auto` is half the closed
    /// loop's rate to `shipped` (a load the shop sustains). Repeat for several open loops.
    #[arg(long = "open-rate", value_parser = parse_rate, default_values = ["auto", "100"])]
    open_rates: Vec<OpenRate>,
    #[arg(long, default_value_t = 30)]
    open_secs: u64,
    /// Where the result files go.
    #[arg(long)]
    out: PathBuf,
}

/// `100` or `auto`.
fn parse_rate(rate: &str) -> anyhow::Result<OpenRate> {
    if rate == "auto" {
        return Ok(OpenRate::HalfOfClosed);
    }
    match rate.parse() {
        Ok(0) | Err(_) => bail!("an open-loop rate is a positive number of orders/s, or `auto`"),
        Ok(rate) => Ok(OpenRate::Fixed(rate)),
    }
}

/// `order=bench_1_order:1234` or `order=bench_1_order`.
fn parse_service(spec: &str) -> anyhow::Result<(String, String, Option<u32>)> {
    let Some((name, rest)) = spec.split_once('=') else {
        bail!("expected name=database[:pid], got {spec:?}");
    };
    let (database, pid) = match rest.split_once(':') {
        Some((database, pid)) => (database, Some(pid.parse().context("a pid is a number")?)),
        None => (rest, None),
    };
    if name.is_empty() || database.is_empty() {
        bail!("expected name=database[:pid], got {spec:?}");
    }
    Ok((name.to_owned(), database.to_owned(), pid))
}

impl Cli {
    pub async fn run(self) -> anyhow::Result<()> {
        match self.command {
            Command::Setup { endpoints, vhost } => environment::setup(&endpoints, &vhost).await,
            Command::Keys { dir } => tokens::make_key(&dir),
            Command::Teardown {
                endpoints,
                vhost,
                users_prefixed,
                databases,
            } => {
                environment::teardown(&endpoints, &vhost, users_prefixed.as_deref(), &databases)
                    .await
            }
            Command::Run(args) => args.run().await,
            Command::Report(args) => report::write(&args).await,
        }
    }
}

impl RunArgs {
    async fn run(self) -> anyhow::Result<()> {
        let mut plan = Vec::new();
        if self.closed_in_flight > 0 && self.closed_secs > 0 {
            plan.push(Planned::Closed {
                in_flight: self.closed_in_flight,
                secs: self.closed_secs,
            });
        }
        if self.open_secs > 0 {
            plan.extend(self.open_rates.into_iter().map(|rate| Planned::Open {
                rate,
                secs: self.open_secs,
            }));
        }
        let probes = Probes::connect(&self.endpoints, &self.vhost, self.services).await?;
        let tokens = Tokens::sign(&self.signing_key_dir, journey::CUSTOMERS)?;
        let shop = Shop {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .context("Failed to build the HTTP client")?,
            order_url: self.order_url.trim_end_matches('/').to_owned(),
            run_id: self.vhost.clone(),
            tokens: Arc::new(tokens),
        };
        catalog::seed(&shop).await?;
        flow::run(&shop, &probes, &plan, &self.out).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_is_named_with_its_database_and_maybe_its_pid() {
        assert_eq!(
            parse_service("order=bench_order:42").unwrap(),
            ("order".into(), "bench_order".into(), Some(42))
        );
        assert_eq!(
            parse_service("mailer=bench_mailer").unwrap(),
            ("mailer".into(), "bench_mailer".into(), None)
        );
        for bad in ["order", "=db", "order=", "order=db:x"] {
            assert!(parse_service(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_open_rate_is_a_number_or_auto() {
        assert_eq!(parse_rate("100").unwrap(), OpenRate::Fixed(100));
        assert_eq!(parse_rate("auto").unwrap(), OpenRate::HalfOfClosed);
        for bad in ["0", "-1", "fast", ""] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
