//! Every fault scenario at the CI load, against a private RabbitMQ node and PostgreSQL cluster
//! (the machine's shared ones are never touched), with the real service binaries, which the
//! suite builds first (`cargo build -p order -p billing -p logistics -p mailer`, same profile).
//!
//! One test runs them all, so that the private broker and cluster are started once and stopped
//! by their drop guards when it ends, passed or failed. Each scenario's report line goes to
//! stderr as soon as it is ready (not captured, so CI logs show them) and to
//! `target/fault-suite-report.txt`. `FAULT_SUITE_SCENARIOS=kill-order,poison` runs only those.

use std::{io::Write, path::PathBuf};

use fault_suite::{Report, Scenario, Suite, SuiteOptions};

/// The scenarios to run: all, or those named in `FAULT_SUITE_SCENARIOS`.
fn scenarios() -> Vec<Scenario> {
    match std::env::var("FAULT_SUITE_SCENARIOS") {
        Ok(names) if !names.trim().is_empty() => names
            .split(',')
            .map(|name| {
                Scenario::parse(name.trim())
                    .unwrap_or_else(|| panic!("FAULT_SUITE_SCENARIOS names no scenario `{name}`"))
            })
            .collect(),
        _ => Scenario::all(),
    }
}

/// `target/fault-suite-report.txt`, next to the profile folders.
fn report_file() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    Some(
        exe.parent()?
            .parent()?
            .parent()?
            .join("fault-suite-report.txt"),
    )
}

/// Writes straight to the process's stderr, which the test harness does not capture.
fn show(line: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_scenario_keeps_every_order_final_every_charge_settled_and_nothing_done_twice()
{
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "fault_suite=info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
    let scenarios = scenarios();
    let suite = Suite::start(SuiteOptions::ci())
        .await
        .expect("the private broker, the private cluster and the service binaries");
    let reports: Vec<Report> = suite
        .run(&scenarios, |report| show(&report.to_string()))
        .await;
    drop(suite);

    let lines: Vec<String> = reports.iter().map(ToString::to_string).collect();
    if let Some(path) = report_file() {
        let _ = std::fs::write(&path, lines.join("\n") + "\n");
        show(&format!("fault suite report: {}", path.display()));
    }
    let failed: Vec<&String> = reports
        .iter()
        .zip(&lines)
        .filter(|(report, _)| !report.passed())
        .map(|(_, line)| line)
        .collect();
    assert_eq!(reports.len(), scenarios.len(), "every scenario reports");
    assert!(
        failed.is_empty(),
        "{} of {} fault scenarios broke an invariant:\n{}",
        failed.len(),
        reports.len(),
        failed
            .iter()
            .map(|line| line.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}
