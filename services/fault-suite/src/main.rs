//! `faults`: runs one, several or all fault scenarios with a chosen load and prints a report line
//! for each; exits non-zero when any invariant broke.
//!
//! ```sh
//! cargo run -p fault-suite --release -- --scenario kill-billing --orders 2000
//! cargo run -p fault-suite --release -- --scenario all --orders 500 --parallel 1
//! cargo run -p fault-suite -- --list
//! ```

use std::{process::ExitCode, time::Instant};

use clap::Parser;
use fault_suite::{Load, Scenario, Suite, SuiteOptions};

/// Injects faults into the running shop and checks that no order is lost and no effect happens
/// twice.
#[derive(Debug, Parser)]
#[command(name = "faults", version)]
struct Cli {
    /// Scenarios to run (repeat or separate with commas), or `all`.
    #[arg(long, short, value_delimiter = ',', default_value = "all")]
    scenario: Vec<String>,
    /// Orders per fault scenario.
    #[arg(long, default_value_t = Load::ci().orders)]
    orders: usize,
    /// Concurrent clients posting them.
    #[arg(long, default_value_t = Load::ci().clients)]
    clients: usize,
    /// Orders per second (paced, so the fault strikes while orders flow).
    #[arg(long, default_value_t = Load::ci().rate)]
    rate: f64,
    /// POSTs of the burst scenario.
    #[arg(long, default_value_t = Load::ci().burst)]
    burst: usize,
    /// Concurrent clients of the burst.
    #[arg(long, default_value_t = Load::ci().burst_clients)]
    burst_clients: usize,
    /// The order service's deadline in the fault scenarios, in seconds.
    #[arg(long, default_value_t = Load::ci().deadline_secs)]
    deadline_secs: u64,
    /// Scenarios run at the same time.
    #[arg(long, default_value_t = SuiteOptions::ci().parallel)]
    parallel: usize,
    /// Lists the scenarios and exits.
    #[arg(long)]
    list: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "fault_suite=info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    if cli.list {
        for scenario in Scenario::all() {
            println!("{scenario}");
        }
        return ExitCode::SUCCESS;
    }
    let scenarios = match chosen(&cli.scenario) {
        Ok(scenarios) => scenarios,
        Err(unknown) => {
            eprintln!("unknown scenario `{unknown}`; `--list` shows them");
            return ExitCode::from(2);
        }
    };
    let options = SuiteOptions {
        load: Load {
            orders: cli.orders,
            clients: cli.clients,
            rate: cli.rate,
            burst: cli.burst,
            burst_clients: cli.burst_clients,
            deadline_secs: cli.deadline_secs,
        },
        parallel: cli.parallel,
    };
    let started = Instant::now();
    let suite = match Suite::start(options).await {
        Ok(suite) => suite,
        Err(error) => {
            eprintln!("could not set the suite up: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    let reports = suite.run(&scenarios, |report| println!("{report}")).await;
    drop(suite);
    let failed = reports.iter().filter(|report| !report.passed()).count();
    println!(
        "{} passed, {failed} failed in {:.0}s",
        reports.len() - failed,
        started.elapsed().as_secs_f64()
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The scenarios named on the command line, in the order of [`Scenario::all`].
fn chosen(names: &[String]) -> Result<Vec<Scenario>, String> {
    if names.iter().any(|name| name == "all") {
        return Ok(Scenario::all());
    }
    names
        .iter()
        .map(|name| Scenario::parse(name.trim()).ok_or_else(|| name.clone()))
        .collect()
}
