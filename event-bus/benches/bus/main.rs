//! Benchmarks of the bus against the real local RabbitMQ and PostgreSQL, each part on a vhost and
//! a database of its own (removed afterwards), so they run beside a running system:
//!
//! ```sh
//! cargo bench -p event-bus --bench bus                      # both parts, full size
//! cargo bench -p event-bus --bench bus -- --quick hop       # one part, CI size
//! cargo bench -p event-bus --bench bus -- --out DIR         # where the result files go
//! cargo bench -p event-bus --bench bus -- hop --messages 5000 --rounds 2
//! cargo bench -p event-bus --bench bus -- hop --batch-size 32 --linger-ms 1 --concurrency 4 --savepoints off
//! ```
//!
//! - [`hop`]: a publish and a consume through the bus against the same work on raw lapin;
//! - [`outbox`]: events staged in transactions and relayed: rate and commit → publish lag.
//!
//! Each part prints one summary line per figure and writes `<DIR>/<part>.json`, which
//! `loadgen report` (run by `scripts/bench`) turns into the report's tables and plot. Nothing
//! here is a test: `cargo test` never runs it, and no figure fails anything.

mod hop;
mod outbox;
mod raw;
mod support;

use std::path::PathBuf;

struct Options {
    quick: bool,
    /// Overrides of the hop's messages and rounds, for experiments.
    messages: Option<u64>,
    rounds: Option<usize>,
    /// Overrides of the bus's batching and workers in the hop, for experiments.
    batch_size: Option<usize>,
    linger_ms: Option<u64>,
    concurrency: Option<usize>,
    savepoints: Option<bool>,
    out: PathBuf,
    parts: Vec<String>,
}

fn options() -> Options {
    let mut options = Options {
        quick: false,
        messages: None,
        rounds: None,
        batch_size: None,
        linger_ms: None,
        concurrency: None,
        savepoints: None,
        out: PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../target/bench-report"
        )),
        parts: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => options.quick = true,
            "--out" => options.out = args.next().expect("--out needs a folder").into(),
            "--messages" => options.messages = args.next().and_then(|n| n.parse().ok()),
            "--rounds" => options.rounds = args.next().and_then(|n| n.parse().ok()),
            "--batch-size" => options.batch_size = args.next().and_then(|n| n.parse().ok()),
            "--linger-ms" => options.linger_ms = args.next().and_then(|n| n.parse().ok()),
            "--concurrency" => options.concurrency = args.next().and_then(|n| n.parse().ok()),
            "--savepoints" => options.savepoints = args.next().map(|on| on == "on"),
            "hop" | "outbox" => options.parts.push(arg),
            // `cargo bench` passes `--bench`; filters and harness flags mean nothing here.
            _ => {}
        }
    }
    if options.parts.is_empty() {
        options.parts = vec!["hop".into(), "outbox".into()];
    }
    options
}

fn main() {
    if !std::env::args().any(|arg| arg == "--bench") {
        // Built and run as a test (`cargo test --benches`): timing stays out of the test suite.
        eprintln!("bus benchmarks: run them with `cargo bench -p event-bus --bench bus`");
        return;
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let options = options();
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    runtime.block_on(async {
        for part in &options.parts {
            let section = match part.as_str() {
                "hop" => {
                    let mut config = hop_config(options.quick);
                    config.messages = options.messages.unwrap_or(config.messages);
                    config.rounds = options.rounds.unwrap_or(config.rounds);
                    config.batch_size = options.batch_size.unwrap_or(config.batch_size);
                    config.batch_linger_ms = options.linger_ms.unwrap_or(config.batch_linger_ms);
                    config.concurrency = options.concurrency.unwrap_or(config.concurrency);
                    config.savepoint_per_handler =
                        options.savepoints.unwrap_or(config.savepoint_per_handler);
                    hop::run(&config).await
                }
                _ => outbox::run(&outbox_config(options.quick)).await,
            };
            section.publish(&options.out);
        }
    });
}

/// The hop at the bus's shipped settings (`BusSettings::default()`).
fn hop_config(quick: bool) -> hop::Config {
    let shipped = event_bus::BusSettings::default();
    hop::Config {
        messages: if quick { 2_000 } else { 10_000 },
        warmup: if quick { 200 } else { 1_000 },
        batch: 100,
        prefetch: shipped.prefetch,
        concurrency: shipped.concurrency,
        batch_size: shipped.batch_size,
        batch_linger_ms: shipped.batch_linger_ms,
        savepoint_per_handler: shipped.savepoint_per_handler,
        raw_concurrency: 16,
        rounds: if quick { 1 } else { 5 },
    }
}

fn outbox_config(quick: bool) -> outbox::Config {
    outbox::Config {
        events: if quick { 2_000 } else { 20_000 },
        producers: 8,
        paced_rate: 200,
        paced_secs: if quick { 3 } else { 15 },
    }
}
