//! A RabbitMQ node of the suite's own: its own name, ports, data folder and Erlang cookie.
//!
//! The machine's shared broker (5672) serves other tests and maybe a running shop, and a fault
//! scenario stops its broker; so the suite starts a second node beside it:
//!
//! - the node is `fault-<pid>-<n>@localhost`, registered with the machine's `epmd` like any node;
//! - `RABBITMQ_CONFIG_FILE` points at a config of its own with free ports for AMQP and the
//!   management API (the machine's `/etc/rabbitmq/rabbitmq.conf` names 5672 and would clash), and
//!   statistics every 500 ms so that new connections show in the API quickly;
//! - `RABBITMQ_CONF_ENV_FILE` points at an empty file (the machine's `rabbitmq-env.conf` names the
//!   shared node), `RABBITMQ_DIST_PORT` at a free port;
//! - the data (`RABBITMQ_MNESIA_BASE`), logs and the enabled-plugins file live in a temporary
//!   folder, and so does `HOME`, so the node's Erlang cookie is a fresh one there;
//! - the server script runs in a process group of its own, so that the node's Erlang VM and its
//!   helpers can be killed together whatever happens.
//!
//! [`PrivateBroker::start_with_tls`] adds a TLS listener (AMQPS) on a port of its own, which asks
//! every client for a certificate signed by the given CA. [`PrivateBroker::start_member`] boots a
//! node that forms a cluster with its peers (see [`crate::cluster`]): then the cookie is the
//! cluster's, shared by its members, and the peers are listed for classic-config discovery.
//!
//! Dropping a [`PrivateBroker`] kills the node and removes its folder.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    sync::atomic::{AtomicU32, Ordering},
    time::{Duration, Instant},
};

use anyhow::Context;
use tokio::process::{Child, Command};

use crate::{leftovers, management::Management, os, ports::free_port, server_tls::ServerTls};

/// How long a node may take to boot (10 s on an idle two-core machine, several times that on a
/// busy one) or to stop (about 8 s): a hang guard.
const PATIENCE: Duration = Duration::from_secs(180);

/// Numbers the nodes of one run.
static NODES: AtomicU32 = AtomicU32::new(0);

/// What makes a node a member of a cluster of private nodes.
#[derive(Debug, Clone)]
pub struct Membership {
    /// This node's name, from [`node_name`].
    pub node: String,
    /// The Erlang cookie every member shares (distribution refuses a node with another).
    pub cookie: String,
    /// Every member's node name, this one's included: the classic-config peer list. A node
    /// that finds no peer up boots alone; one that finds a peer joins its cluster; one that has
    /// data already rejoins the cluster it was in.
    pub peers: Vec<String>,
}

/// A fresh node name for this run: `fault-<pid>-<n>@localhost`.
pub fn node_name() -> String {
    let number = NODES.fetch_add(1, Ordering::Relaxed);
    format!("fault-{}-{number}@localhost", std::process::id())
}

/// A running (or deliberately stopped) private RabbitMQ node.
pub struct PrivateBroker {
    dir: PathBuf,
    node: String,
    amqp_port: u16,
    /// The TLS listener's port, when started with TLS.
    amqps_port: Option<u16>,
    /// The port of Erlang distribution (how `rabbitmqctl` would talk to the node).
    dist_port: u16,
    management: Management,
    script: PathBuf,
    /// The server script, leader of the node's process group; `None` while stopped.
    child: Option<Child>,
}

impl PrivateBroker {
    /// Creates the node's folder and configuration, boots it and waits until it serves.
    pub async fn start(label: &str) -> anyhow::Result<Self> {
        Self::start_with(label, None, None).await
    }

    /// As [`Self::start`], as a member of the cluster `membership` describes.
    pub async fn start_member(label: &str, membership: &Membership) -> anyhow::Result<Self> {
        Self::start_with(label, None, Some(membership)).await
    }

    /// As [`Self::start`], with a TLS listener too (see [`Self::amqps_port`]) that presents
    /// `tls`'s certificate and requires a client certificate signed by its CA.
    pub async fn start_with_tls(label: &str, tls: &ServerTls) -> anyhow::Result<Self> {
        Self::start_with(label, Some(tls), None).await
    }

    async fn start_with(
        label: &str,
        tls: Option<&ServerTls>,
        membership: Option<&Membership>,
    ) -> anyhow::Result<Self> {
        let script = server_script()?;
        let dir = leftovers::claim_dir(&format!("rabbitmq-{label}"))?;
        let node = match membership {
            Some(membership) => membership.node.clone(),
            None => node_name(),
        };
        let amqp_port = free_port()?;
        let management_port = free_port()?;
        let dist_port = free_port()?;
        let amqps = match tls {
            Some(tls) => Some((free_port()?, tls)),
            None => None,
        };
        write_configuration(&dir, amqp_port, management_port, amqps, membership)?;
        let mut broker = Self {
            dir,
            node,
            amqp_port,
            amqps_port: amqps.map(|(port, _)| port),
            dist_port,
            management: Management::new(management_port),
            script,
            child: None,
        };
        broker.boot().await?;
        Ok(broker)
    }

    /// The TLS listener's port on 127.0.0.1; `None` unless started with TLS.
    pub fn amqps_port(&self) -> Option<u16> {
        self.amqps_port
    }

    /// The node's Erlang name, as the management API names it.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// How the suite and the services reach the node.
    pub fn endpoint(&self) -> BrokerEndpoint {
        BrokerEndpoint {
            amqp_port: self.amqp_port,
            management: self.management.clone(),
        }
    }

    /// Stops the node gracefully (its clients see their connections closed) and waits until its
    /// VM is gone; returns how long that took.
    pub async fn stop(&mut self) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let Some(mut child) = self.child.take() else {
            return Ok(Duration::ZERO);
        };
        let pid = child.id().context("The broker's script has no pid")?;
        os::signal(pid, "TERM")?;
        match tokio::time::timeout(PATIENCE, child.wait()).await {
            Ok(status) => {
                status.context("Failed to wait for the broker to stop")?;
            }
            Err(_) => {
                let _ = os::signal_group(pid, "KILL");
                anyhow::bail!("the broker did not stop within {PATIENCE:?}; killed it");
            }
        }
        // The script waited for the VM; anything else of the group goes too.
        let _ = os::signal_group(pid, "KILL");
        Ok(started.elapsed())
    }

    /// Kills the node's VM and helpers with SIGKILL, as a crashed machine would: nothing is
    /// flushed, no client is told. Waits until the server script is gone.
    pub async fn kill(&mut self) -> anyhow::Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let pid = child.id().context("The broker's script has no pid")?;
        os::signal_group(pid, "KILL")?;
        tokio::time::timeout(PATIENCE, child.wait())
            .await
            .context("the killed broker's script did not exit")?
            .context("Failed to wait for the killed broker")?;
        Ok(())
    }

    /// Boots the node again on the same name, ports and data; returns how long until it served.
    pub async fn start_again(&mut self) -> anyhow::Result<Duration> {
        let started = Instant::now();
        self.boot().await?;
        Ok(started.elapsed())
    }

    async fn boot(&mut self) -> anyhow::Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("server.out"))
            .context("Failed to open the broker's output file")?;
        let mut command = Command::new(&self.script);
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("LANG", "C.UTF-8")
            .env("HOME", self.dir.join("home"))
            .env("RABBITMQ_NODENAME", &self.node)
            .env("RABBITMQ_DIST_PORT", self.dist_port.to_string())
            .env("RABBITMQ_CONFIG_FILE", self.dir.join("rabbitmq.conf"))
            .env(
                "RABBITMQ_ADVANCED_CONFIG_FILE",
                self.dir.join("advanced.config"),
            )
            .env("RABBITMQ_CONF_ENV_FILE", self.dir.join("rabbitmq-env.conf"))
            .env(
                "RABBITMQ_ENABLED_PLUGINS_FILE",
                self.dir.join("enabled_plugins"),
            )
            .env("RABBITMQ_MNESIA_BASE", self.dir.join("mnesia"))
            .env("RABBITMQ_LOG_BASE", self.dir.join("log"))
            .env(
                "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS",
                "-kernel inet_dist_use_interface {127,0,0,1}",
            )
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().context("Failed to share the output file")?)
            .stderr(log)
            .process_group(0)
            .kill_on_drop(true);
        let child = command
            .spawn()
            .with_context(|| format!("Failed to run {}", self.script.display()))?;
        let pid = child.id().context("The broker's script has no pid")?;
        leftovers::record_group(&self.dir, pid)?;
        self.child = Some(child);
        self.wait_ready().await
    }

    async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(child) = &mut self.child
                && let Some(status) = child.try_wait().context("Failed to poll the broker")?
            {
                self.child = None;
                anyhow::bail!(
                    "the private RabbitMQ node exited during boot ({status}):\n{}",
                    os::tail(&self.dir.join("server.out"), 30)
                );
            }
            if self.management.answers().await
                && listens(self.amqp_port).await
                && match self.amqps_port {
                    Some(port) => listens(port).await,
                    None => true,
                }
            {
                return Ok(());
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "the private RabbitMQ node did not start within {PATIENCE:?}; its output ends with:\n{}",
                os::tail(&self.dir.join("server.out"), 15)
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

impl Drop for PrivateBroker {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child
            && let Some(pid) = child.id()
        {
            let _ = os::signal_group(pid, "KILL");
        }
        leftovers::remove_dir(&self.dir);
    }
}

/// The address of a node, cheap to clone: what a scenario needs to reach it, without the power
/// to stop it.
#[derive(Debug, Clone)]
pub struct BrokerEndpoint {
    /// The AMQP port on 127.0.0.1 (user `guest`).
    pub amqp_port: u16,
    pub management: Management,
}

/// The real server script: Debian's `/usr/sbin/rabbitmq-server` is a wrapper that switches to
/// the `rabbitmq` user and its home, which would share the machine's node's folders.
fn server_script() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("FAULT_SUITE_RABBITMQ_SERVER") {
        return Ok(PathBuf::from(path));
    }
    let debian = PathBuf::from("/usr/lib/rabbitmq/bin/rabbitmq-server");
    if debian.exists() {
        return Ok(debian);
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("rabbitmq-server"))
        .find(|path| path.exists())
        .context(
            "rabbitmq-server was not found: install RabbitMQ or set FAULT_SUITE_RABBITMQ_SERVER",
        )
}

/// Whether something accepts connections on `port` of 127.0.0.1.
async fn listens(port: u16) -> bool {
    tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_ok()
}

fn write_configuration(
    dir: &Path,
    amqp_port: u16,
    management_port: u16,
    amqps: Option<(u16, &ServerTls)>,
    membership: Option<&Membership>,
) -> anyhow::Result<()> {
    let mut configuration = format!(
        "listeners.tcp.default = 127.0.0.1:{amqp_port}\n\
         management.tcp.ip = 127.0.0.1\n\
         management.tcp.port = {management_port}\n\
         collect_statistics_interval = 500\n"
    );
    if let Some((port, tls)) = amqps {
        configuration.push_str(&format!(
            "listeners.ssl.default = 127.0.0.1:{port}\n\
             ssl_options.cacertfile = {}\n\
             ssl_options.certfile = {}\n\
             ssl_options.keyfile = {}\n\
             ssl_options.verify = verify_peer\n\
             ssl_options.fail_if_no_peer_cert = true\n",
            tls.ca_file.display(),
            tls.cert_file.display(),
            tls.key_file.display()
        ));
    }
    if let Some(membership) = membership {
        configuration.push_str("cluster_formation.peer_discovery_backend = classic_config\n");
        for (number, peer) in membership.peers.iter().enumerate() {
            configuration.push_str(&format!(
                "cluster_formation.classic_config.nodes.{} = {peer}\n",
                number + 1
            ));
        }
    }
    let files = [
        ("rabbitmq.conf", configuration),
        ("rabbitmq-env.conf", String::new()),
        ("enabled_plugins", "[rabbitmq_management].\n".to_owned()),
    ];
    std::fs::create_dir_all(dir.join("home")).context("Failed to create the broker's home")?;
    for (name, content) in files {
        std::fs::write(dir.join(name), content)
            .with_context(|| format!("Failed to write the broker's {name}"))?;
    }
    if let Some(membership) = membership {
        write_cookie(&dir.join("home").join(".erlang.cookie"), &membership.cookie)?;
    }
    Ok(())
}

/// The Erlang cookie, readable by its owner only (Erlang refuses a cookie others can read).
fn write_cookie(path: &Path, cookie: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, cookie).context("Failed to write the broker's Erlang cookie")?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o400))
        .context("Failed to restrict the broker's Erlang cookie")
}
