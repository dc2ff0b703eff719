//! Processes outside the suite: signals, external commands, who we run as.
//!
//! The workspace forbids `unsafe`, so signals are sent with the `kill` command rather than
//! `libc::kill`; it is on every machine that has a shell.

use std::{os::unix::fs::MetadataExt, path::Path, process::Stdio};

use anyhow::Context;
use tokio::process::Command;

/// Sends `signal` (`TERM`, `KILL`) to process `pid`.
pub fn signal(pid: u32, signal: &str) -> anyhow::Result<()> {
    run_kill(&[format!("-{signal}"), pid.to_string()])
}

/// Sends `signal` to every process of the group `pgid`.
pub fn signal_group(pgid: u32, signal: &str) -> anyhow::Result<()> {
    run_kill(&[format!("-{signal}"), "--".into(), format!("-{pgid}")])
}

fn run_kill(arguments: &[String]) -> anyhow::Result<()> {
    let status = std::process::Command::new("kill")
        .args(arguments)
        .stderr(Stdio::null())
        .status()
        .context("Failed to run `kill`")?;
    anyhow::ensure!(status.success(), "`kill {}` failed", arguments.join(" "));
    Ok(())
}

/// Whether a process with this id exists.
pub fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Whether the suite runs as root (then PostgreSQL must be run as the `postgres` user).
pub fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|metadata| metadata.uid() == 0)
}

/// Runs `command` to its end; its standard output on success, an error quoting its standard
/// error otherwise.
pub async fn run(command: &mut Command, what: &str) -> anyhow::Result<String> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .await
        .with_context(|| format!("Failed to start {what}"))?;
    if !output.status.success() {
        anyhow::bail!(
            "{what} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The last `lines` lines of a log file, to show why a child failed.
pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
