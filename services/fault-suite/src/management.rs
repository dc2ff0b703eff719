//! The private broker's management HTTP API: vhosts, connections and queue depths, through the
//! workspace's management API client ([`event_bus::management`]).

use std::time::{Duration, Instant};

use event_bus::management::ManagementError;
use secrecy::SecretString;

/// How long one call may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// How long a new vhost may take to run on every node. The API's `PUT` waits for that itself,
/// but on a freshly formed cluster of a busy machine it has taken longer than [`TIMEOUT`]; the
/// vhost is then created and still starting, so the suite goes on waiting for it.
const VHOST_STARTING: Duration = Duration::from_secs(120);

/// A client of one node's management API, as the `guest` user.
#[derive(Clone, Debug)]
pub struct Management(event_bus::management::Management, u16);

/// A client connection as the API lists it.
#[derive(Debug, Clone)]
pub struct ClientConnection {
    /// The broker's name of the connection, used to close it.
    pub name: String,
    /// The name the client gave itself (a service names its connection after itself).
    pub client_name: Option<String>,
    /// The cluster node the client is connected to.
    pub node: Option<String>,
}

/// A queue's depth.
#[derive(Debug, Clone)]
pub struct QueueDepth {
    pub name: String,
    /// Ready plus unacknowledged; 0 before the node's first statistics round for the queue.
    pub messages: u64,
    pub consumers: u64,
    /// The node it lives on; for a quorum queue, its leader's.
    pub node: Option<String>,
    /// `classic` or `quorum`.
    pub kind: Option<String>,
}

impl Management {
    /// The API of the node whose management listener is on `127.0.0.1:port`.
    pub fn new(port: u16) -> Self {
        let api = event_bus::management::Management::new(
            &format!("http://127.0.0.1:{port}"),
            "guest",
            SecretString::from("guest"),
        )
        .expect("a loopback URL is a valid management URL");
        Self(api.with_timeout(TIMEOUT), port)
    }

    /// The workspace's client underneath, as the node's administrator (`guest`).
    pub fn client(&self) -> &event_bus::management::Management {
        &self.0
    }

    /// The API's base URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.1)
    }

    /// Whether the node answers (it is up and its management plugin started).
    pub async fn answers(&self) -> bool {
        self.0.answers().await
    }

    /// Creates `vhost`, waits until it runs on every node, and lets `guest` do everything in
    /// it.
    pub async fn create_vhost(&self, vhost: &str) -> anyhow::Result<()> {
        let deadline = Instant::now() + VHOST_STARTING;
        match self.0.create_vhost(vhost).await {
            Err(ManagementError::Unreachable { source, .. }) if source.is_timeout() => {
                tracing::info!(
                    vhost,
                    "creating the vhost outlasted one call; waiting for it"
                )
            }
            result => result?,
        }
        loop {
            let state = self.0.vhost(vhost).await;
            if let Ok(Some(found)) = &state {
                if found.running_everywhere() {
                    break;
                }
                // A node where the vhost failed to start keeps it stopped: ask it again, as an
                // operator would (seen once in CI, one node of three stopped for 120 s).
                for node in found.stopped_on() {
                    tracing::info!(vhost, node, "the vhost is stopped on a node; starting it");
                    if let Err(error) = self.0.start_vhost(vhost, node).await {
                        tracing::info!(vhost, node, %error, "starting the vhost failed; retrying");
                    }
                }
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "vhost {vhost} does not run on every node after {VHOST_STARTING:?}: {state:?}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        Ok(self.0.permit_all(vhost, "guest").await?)
    }

    /// Deletes `vhost` with everything in it.
    pub async fn delete_vhost(&self, vhost: &str) -> Result<(), ManagementError> {
        self.0.delete_vhost(vhost).await
    }

    /// The client connections to `vhost`. A connection shows up only after the node's first
    /// statistics round for it (the private node collects every 500 ms).
    pub async fn connections(&self, vhost: &str) -> Result<Vec<ClientConnection>, ManagementError> {
        Ok(self
            .0
            .connections(vhost)
            .await?
            .into_iter()
            .map(|connection| ClientConnection {
                client_name: connection.client_properties.connection_name,
                name: connection.name,
                node: connection.node,
            })
            .collect())
    }

    /// Closes a connection from the broker side, as an operator would in the UI.
    pub async fn close_connection(&self, name: &str) -> Result<(), ManagementError> {
        self.0.close_connection(name).await
    }

    /// Every queue of `vhost` with its depth (as of the last statistics round).
    pub async fn queues(&self, vhost: &str) -> Result<Vec<QueueDepth>, ManagementError> {
        Ok(self
            .0
            .queues(vhost)
            .await?
            .into_iter()
            .map(|queue| QueueDepth {
                name: queue.name,
                messages: queue.messages.unwrap_or_default(),
                consumers: queue.consumers,
                node: queue.node,
                kind: queue.kind,
            })
            .collect())
    }
}
