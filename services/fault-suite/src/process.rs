//! One running service process: started with its environment, waited for until ready, killed or
//! asked to stop.

use std::{
    path::{Path, PathBuf},
    process::{ExitStatus, Stdio},
    time::{Duration, Instant},
};

use anyhow::Context;
use tokio::process::{Child, Command};

use crate::{os, service::Service};

/// How long a service may take to become ready (database created and migrated, broker
/// connected) or to stop after SIGTERM: a hang guard, not a performance requirement.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// How a stop asked with SIGTERM went.
#[derive(Debug, Clone, Copy)]
pub struct Stopped {
    /// From the signal to the process's exit.
    pub took: Duration,
    pub status: ExitStatus,
}

/// A service process. Dropping it kills the process (SIGKILL).
pub struct ServiceProcess {
    service: Service,
    port: u16,
    child: Child,
    log: PathBuf,
}

impl ServiceProcess {
    /// Starts `binary` with exactly `environment` (plus `PATH`), in `dir`, appending its output
    /// to `log`.
    pub fn spawn(
        service: Service,
        binary: &Path,
        environment: &[(String, String)],
        port: u16,
        dir: &Path,
        log: PathBuf,
    ) -> anyhow::Result<Self> {
        let output = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .with_context(|| format!("Failed to open {}", log.display()))?;
        let child = Command::new(binary)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(environment.iter().map(|(key, value)| (key, value)))
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(output.try_clone().context("Failed to share a log file")?)
            .stderr(output)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("Failed to start {}", binary.display()))?;
        Ok(Self {
            service,
            port,
            child,
            log,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Polls `/health/ready` until it answers 200 (database and broker reachable); fails if the
    /// process exits or [`PATIENCE`] runs out.
    pub async fn wait_ready(&mut self, http: &reqwest::Client) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let url = format!("http://127.0.0.1:{}/health/ready", self.port);
        loop {
            if let Some(status) = self.child.try_wait().context("Failed to poll a service")? {
                anyhow::bail!(
                    "{} exited before it was ready ({status}):\n{}",
                    self.service,
                    os::tail(&self.log, 30)
                );
            }
            let ready = http
                .get(&url)
                .timeout(Duration::from_secs(5))
                .send()
                .await
                .is_ok_and(|response| response.status().is_success());
            if ready {
                return Ok(started.elapsed());
            }
            anyhow::ensure!(
                started.elapsed() < PATIENCE,
                "{} was not ready within {PATIENCE:?}; see {}",
                self.service,
                self.log.display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `kill -9`: the process dies wherever it is, with no chance to finish anything.
    pub async fn kill(mut self) -> anyhow::Result<()> {
        self.child
            .kill()
            .await
            .with_context(|| format!("Failed to kill {}", self.service))
    }

    /// SIGTERM, then waits (at most [`PATIENCE`], then SIGKILL and an error) for the process to
    /// drain and exit.
    pub async fn terminate(mut self) -> anyhow::Result<Stopped> {
        let pid = self.child.id().context("The service already exited")?;
        let started = Instant::now();
        os::signal(pid, "TERM")?;
        match tokio::time::timeout(PATIENCE, self.child.wait()).await {
            Ok(status) => Ok(Stopped {
                took: started.elapsed(),
                status: status.context("Failed to wait for a service")?,
            }),
            Err(_) => {
                let _ = self.child.kill().await;
                anyhow::bail!(
                    "{} did not stop within {PATIENCE:?} of SIGTERM; killed it",
                    self.service
                )
            }
        }
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}
