//! A PostgreSQL cluster of the suite's own, in a temporary folder, on a free port.
//!
//! `initdb` with trust authentication for the `postgres` role, then `pg_ctl start` on a free port
//! that listens on 127.0.0.1 only, with its Unix socket in the folder. As root the server cannot
//! run as root, so the folder is handed to the `postgres` user and both commands run as that user
//! (`runuser`). Durability settings are off (`fsync`, full page writes): the cluster lives for one
//! run, and a restart in a scenario is a clean one, which loses nothing without them.
//!
//! [`PrivatePostgres::start_with_tls`] turns TLS on (`ssl = on`) with a copy of the given
//! certificate and key in the folder, the key readable by the server's user only, as PostgreSQL
//! demands; clients may still connect in plain, so a test decides by its own `ssl_mode`.
//!
//! Dropping a [`PrivatePostgres`] shuts the server down at once and removes its folder.

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::Context;
use sqlx::{
    Connection, PgConnection,
    postgres::{PgConnectOptions, PgPoolOptions},
};
use tokio::process::Command;

use crate::{leftovers, os, ports::free_port, server_tls::ServerTls};

/// A running (or deliberately stopped) private cluster.
pub struct PrivatePostgres {
    dir: PathBuf,
    port: u16,
    /// Where `initdb` and `pg_ctl` are.
    bin: PathBuf,
    /// Run the server as the `postgres` user (we are root).
    as_postgres: bool,
    running: bool,
    /// The server presents `tls/server.pem` of the folder.
    tls: bool,
}

impl PrivatePostgres {
    /// Creates the cluster and starts it.
    pub async fn start(label: &str) -> anyhow::Result<Self> {
        Self::start_with(label, None).await
    }

    /// As [`Self::start`], with TLS on, presenting `tls`'s certificate.
    pub async fn start_with_tls(label: &str, tls: &ServerTls) -> anyhow::Result<Self> {
        Self::start_with(label, Some(tls)).await
    }

    async fn start_with(label: &str, tls: Option<&ServerTls>) -> anyhow::Result<Self> {
        let bin = bin_dir()?;
        let dir = leftovers::claim_dir(&format!("postgres-{label}"))?;
        let as_postgres = os::is_root();
        let mut cluster = Self {
            dir,
            port: free_port()?,
            bin,
            as_postgres,
            running: false,
            tls: tls.is_some(),
        };
        if let Some(tls) = tls {
            cluster.install_certificate(tls)?;
        }
        if as_postgres {
            os::run(
                Command::new("chown")
                    .arg("-R")
                    .arg("postgres:")
                    .arg(&cluster.dir),
                "chown of the cluster's folder",
            )
            .await?;
        }
        let data = cluster.data_dir();
        os::run(
            cluster.tool("initdb").arg("-D").arg(&data).args([
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
            ]),
            "initdb",
        )
        .await?;
        cluster.start_again().await?;
        Ok(cluster)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// How the suite and the services reach the cluster.
    pub fn server(&self) -> PgServer {
        PgServer { port: self.port }
    }

    /// Stops the server the way an operator restarting it would (`-m fast`: clients are
    /// disconnected, open transactions roll back); returns how long it took.
    pub async fn stop(&mut self) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let data = self.data_dir();
        os::run(
            self.tool("pg_ctl")
                .arg("-D")
                .arg(&data)
                .args(["-m", "fast", "-w", "-t", "60", "stop"]),
            "pg_ctl stop",
        )
        .await?;
        self.running = false;
        Ok(started.elapsed())
    }

    /// Starts the server (again) and waits until it accepts connections.
    pub async fn start_again(&mut self) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let data = self.data_dir();
        let mut options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=600 \
             -c fsync=off -c full_page_writes=off -c synchronous_commit=off",
            self.port,
            self.dir.display()
        );
        if self.tls {
            let tls = self.tls_dir();
            options.push_str(&format!(
                " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
                tls.join("server.pem").display(),
                tls.join("server.key").display()
            ));
        }
        os::run(
            self.tool("pg_ctl")
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(self.dir.join("server.log"))
                .arg("-o")
                .arg(options)
                .args(["-w", "-t", "60", "start"]),
            "pg_ctl start",
        )
        .await
        .map_err(|error| error.context(os::tail(&self.dir.join("server.log"), 20)))?;
        self.running = true;
        Ok(started.elapsed())
    }

    /// Copies the certificate and key into `tls/` (before the folder is handed to the
    /// `postgres` user), the key with mode 0600: PostgreSQL refuses a key others can read.
    fn install_certificate(&self, tls: &ServerTls) -> anyhow::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let dir = self.tls_dir();
        std::fs::create_dir_all(&dir).context("Failed to create the cluster's tls folder")?;
        std::fs::copy(&tls.cert_file, dir.join("server.pem"))
            .with_context(|| format!("Failed to copy {}", tls.cert_file.display()))?;
        std::fs::copy(&tls.key_file, dir.join("server.key"))
            .with_context(|| format!("Failed to copy {}", tls.key_file.display()))?;
        std::fs::set_permissions(dir.join("server.key"), PermissionsExt::from_mode(0o600))
            .context("Failed to make the server key private")
    }

    fn tls_dir(&self) -> PathBuf {
        self.dir.join("tls")
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// `bin/<name>`, as the `postgres` user when we are root.
    fn tool(&self, name: &str) -> Command {
        let program = self.bin.join(name);
        let mut command = if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        };
        command.current_dir(&self.dir);
        command
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        if self.running {
            let program = self.bin.join("pg_ctl");
            let data = self.data_dir();
            let mut command = if self.as_postgres {
                let mut command = std::process::Command::new("runuser");
                command.args(["-u", "postgres", "--"]).arg(program);
                command
            } else {
                std::process::Command::new(program)
            };
            let _ = command
                .arg("-D")
                .arg(&data)
                .args(["-m", "immediate", "-w", "-t", "30", "stop"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
        }
        leftovers::remove_dir(&self.dir);
    }
}

/// The address of a cluster, cheap to clone: what a scenario needs to reach it, without the
/// power to stop it.
#[derive(Debug, Clone, Copy)]
pub struct PgServer {
    pub port: u16,
}

impl PgServer {
    /// How to connect to database `name` of this cluster.
    pub fn connect_options(&self, name: &str) -> PgConnectOptions {
        PgConnectOptions::new()
            .host("127.0.0.1")
            .port(self.port)
            .username("postgres")
            .database(name)
    }

    /// A small pool on database `name`, for reading what a service wrote.
    pub async fn pool(&self, name: &str) -> anyhow::Result<sqlx::PgPool> {
        PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(self.connect_options(name))
            .await
            .with_context(|| format!("Failed to connect to database {name}"))
    }

    /// Takes database `name` out of reach of its clients, as an outage would (new connections
    /// refused, open ones ended), or gives it back; the rest of the cluster keeps serving.
    pub async fn refuse_connections(&self, name: &str, refuse: bool) -> anyhow::Result<()> {
        let mut admin = PgConnection::connect_with(&self.connect_options("postgres"))
            .await
            .context("Failed to connect to the private cluster")?;
        let quoted = name.replace('"', "\"\"");
        sqlx::raw_sql(&format!(
            "ALTER DATABASE \"{quoted}\" WITH ALLOW_CONNECTIONS {}",
            !refuse
        ))
        .execute(&mut admin)
        .await
        .with_context(|| format!("Failed to change whether {name} takes connections"))?;
        if refuse {
            sqlx::query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
            )
            .bind(name)
            .execute(&mut admin)
            .await
            .with_context(|| format!("Failed to end the connections to {name}"))?;
        }
        admin.close().await.ok();
        Ok(())
    }

    /// Drops database `name`, disconnecting whoever is still connected.
    pub async fn drop_database(&self, name: &str) -> anyhow::Result<()> {
        let mut admin = PgConnection::connect_with(&self.connect_options("postgres"))
            .await
            .context("Failed to connect to the private cluster")?;
        let statement = format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            name.replace('"', "\"\"")
        );
        sqlx::raw_sql(&statement)
            .execute(&mut admin)
            .await
            .with_context(|| format!("Failed to drop database {name}"))?;
        admin.close().await.ok();
        Ok(())
    }
}

/// `FAULT_SUITE_PG_BIN`, else the newest `/usr/lib/postgresql/<version>/bin`, else the folder of
/// `pg_ctl` on the `PATH`.
fn bin_dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("FAULT_SUITE_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Ok(bin);
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .find(|dir| Path::new(dir).join("initdb").exists())
        .context("PostgreSQL's initdb was not found: install PostgreSQL or set FAULT_SUITE_PG_BIN")
}
