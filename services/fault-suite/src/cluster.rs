//! A RabbitMQ cluster of the suite's own: three [private nodes](PrivateBroker) sharing one
//! Erlang cookie and listing each other for classic-config peer discovery.
//!
//! The first node boots alone (no peer answers yet), the others find it and join its cluster.
//! A node killed and booted again keeps its data folder, and so rejoins the cluster it was in;
//! its quorum queue replicas catch up from the leaders elected meanwhile. The cluster is formed
//! once [`PrivateCluster::start`] returns: every node's management API lists all members as
//! running.

use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::future::try_join_all;
use uuid::Uuid;

use crate::{
    broker::{self, BrokerEndpoint, Membership, PrivateBroker},
    management::Management,
};

/// How long the members may take to see each other after booting.
const FORMING: Duration = Duration::from_secs(120);

/// Running (or deliberately killed) members of one private cluster.
pub struct PrivateCluster {
    members: Vec<PrivateBroker>,
}

impl PrivateCluster {
    /// Boots `size` clustered nodes and waits until each sees all of them running.
    pub async fn start(label: &str, size: usize) -> anyhow::Result<Self> {
        anyhow::ensure!(size >= 1, "a cluster needs a node");
        let cookie = Uuid::new_v4().simple().to_string().to_uppercase();
        let peers: Vec<String> = (0..size).map(|_| broker::node_name()).collect();
        let membership = |node: &String| Membership {
            node: node.clone(),
            cookie: cookie.clone(),
            peers: peers.clone(),
        };
        // The first boots alone and forms the cluster; the rest join it, at once.
        let first = PrivateBroker::start_member(&format!("{label}-1"), &membership(&peers[0]))
            .await
            .context("Failed to boot the cluster's first node")?;
        let rest = try_join_all(peers.iter().enumerate().skip(1).map(|(number, node)| {
            let membership = membership(node);
            let label = format!("{label}-{}", number + 1);
            async move { PrivateBroker::start_member(&label, &membership).await }
        }))
        .await
        .context("Failed to boot the cluster's other nodes")?;
        let mut members = vec![first];
        members.extend(rest);
        let cluster = Self { members };
        for index in 0..size {
            cluster.wait_formed(index).await?;
        }
        Ok(cluster)
    }

    /// How many members the cluster has, up or down.
    pub fn size(&self) -> usize {
        self.members.len()
    }

    /// The members' Erlang names, by index.
    pub fn node_names(&self) -> Vec<String> {
        self.members
            .iter()
            .map(|member| member.node().to_owned())
            .collect()
    }

    /// The index of the member named `node`.
    pub fn index_of(&self, node: &str) -> Option<usize> {
        self.members.iter().position(|member| member.node() == node)
    }

    /// How the suite reaches member `index`.
    pub fn endpoint(&self, index: usize) -> BrokerEndpoint {
        self.members[index].endpoint()
    }

    /// The services' node list: `127.0.0.1:<port>` of every member, in order.
    pub fn node_list(&self) -> String {
        self.members
            .iter()
            .map(|member| format!("127.0.0.1:{}", member.endpoint().amqp_port))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// SIGKILL of member `index`.
    pub async fn kill(&mut self, index: usize) -> anyhow::Result<()> {
        self.members[index].kill().await
    }

    /// Boots member `index` again and waits until it is back in the cluster; returns how long
    /// that took.
    pub async fn start_again(&mut self, index: usize) -> anyhow::Result<Duration> {
        let started = Instant::now();
        self.members[index].start_again().await?;
        self.wait_formed(index).await?;
        Ok(started.elapsed())
    }

    /// Waits until member `index`'s API lists every member as running.
    async fn wait_formed(&self, index: usize) -> anyhow::Result<()> {
        let management = self.endpoint(index).management;
        let deadline = Instant::now() + FORMING;
        loop {
            let running = running_members(&management).await.unwrap_or_default();
            if running == self.size() {
                return Ok(());
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "node {} sees {running} of {} members running after {FORMING:?}",
                self.members[index].node(),
                self.size()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// How many members the node behind `management` sees running.
async fn running_members(management: &Management) -> anyhow::Result<usize> {
    Ok(management
        .client()
        .nodes()
        .await?
        .iter()
        .filter(|node| node.running)
        .count())
}
