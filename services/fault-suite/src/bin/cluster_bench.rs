//! `cluster-bench`: the flow's end-to-end throughput on a private three-node RabbitMQ cluster
//! with quorum queues, with one and then two instances of every service (see
//! [`fault_suite::scaling`]). Prints one summary line per run and their ratio.
//!
//! ```sh
//! scripts/bench --cluster                       # what this runs, in release
//! cargo run -p fault-suite --release --bin cluster-bench -- --orders 3000 --clients 64
//! ```

use std::process::ExitCode;

use clap::Parser;
use fault_suite::scaling::{Bench, Loading, Throughput};

/// Measures the shop on a private cluster with one and with two instances per service.
#[derive(Debug, Parser)]
#[command(name = "cluster-bench", version)]
struct Cli {
    /// Orders of each measured run.
    #[arg(long, default_value_t = 2000)]
    orders: usize,
    /// Concurrent clients (a closed loop).
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Nodes of the private cluster.
    #[arg(long, default_value_t = 3)]
    nodes: usize,
    /// A setting for every instance of both runs, as an environment variable
    /// (`--set SHOP__BUS__BATCH_SIZE=1`); repeatable.
    #[arg(long = "set", value_parser = setting)]
    settings: Vec<(String, String)>,
}

fn setting(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .ok_or_else(|| format!("`{text}` is not KEY=VALUE"))
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "fault_suite=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let loading = Loading {
        orders: cli.orders,
        clients: cli.clients,
    };
    match run(&cli, loading).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("cluster bench failed: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: &Cli, loading: Loading) -> anyhow::Result<()> {
    let bench = Bench::start(cli.nodes, cli.settings.clone()).await?;
    for (key, value) in &cli.settings {
        println!("setting for every instance: {key}={value}");
    }
    let mut runs = Vec::new();
    for instances in [1, 2] {
        let run = bench.run(instances, loading).await?;
        println!("{}", line(cli, loading, &run));
        runs.push(run);
    }
    println!(
        "cluster, 2 instances / 1 instance per service: {:.2}",
        runs[1].per_second() / runs[0].per_second()
    );
    anyhow::ensure!(
        runs.iter().all(|run| !run.unfinished && run.failed == 0),
        "a run left orders unaccepted or unfinished"
    );
    Ok(())
}

fn line(cli: &Cli, loading: Loading, run: &Throughput) -> String {
    let plural = if run.instances == 1 { "" } else { "s" };
    format!(
        "cluster of {} nodes, quorum queues, {} instance{plural} per service: {:.1} orders/s end \
         to end ({} orders by {} clients posted in {:.1}s, all final after {:.1}s{}{})",
        cli.nodes,
        run.instances,
        run.per_second(),
        run.accepted,
        loading.clients,
        run.posting.as_secs_f64(),
        run.took.as_secs_f64(),
        if run.failed > 0 {
            format!(", {} not accepted", run.failed)
        } else {
            String::new()
        },
        if run.unfinished {
            ", some never final"
        } else {
            ""
        },
    )
}
