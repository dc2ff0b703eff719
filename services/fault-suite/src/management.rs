//! The private broker's management HTTP API: vhosts, connections and queue depths.

use anyhow::Context;
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

/// A client of one node's management API, as the `guest` user.
#[derive(Clone, Debug)]
pub struct Management {
    /// `http://127.0.0.1:<port>/api`.
    base: String,
    http: reqwest::Client,
}

/// A client connection as the API lists it.
#[derive(Debug, Clone)]
pub struct ClientConnection {
    /// The broker's name of the connection, used to close it.
    pub name: String,
    /// The name the client gave itself (a service names its connection after itself).
    pub client_name: Option<String>,
}

/// A queue's depth.
#[derive(Debug, Clone, Deserialize)]
pub struct QueueDepth {
    pub name: String,
    /// Ready plus unacknowledged.
    #[serde(default)]
    pub messages: u64,
    #[serde(default)]
    pub consumers: u64,
}

impl Management {
    pub fn new(port: u16) -> Self {
        Self {
            base: format!("http://127.0.0.1:{port}/api"),
            http: reqwest::Client::new(),
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<reqwest::Response> {
        let mut request = self
            .http
            .request(method.clone(), format!("{}/{path}", self.base))
            .basic_auth("guest", Some("guest"))
            .timeout(std::time::Duration::from_secs(10));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("Failed to call the management API: {method} {path}"))?;
        let status = response.status();
        anyhow::ensure!(
            status.is_success() || status == StatusCode::NOT_FOUND,
            "management API {method} {path} answered {status}"
        );
        Ok(response)
    }

    /// Whether the node answers (it is up and its management plugin started).
    pub async fn answers(&self) -> bool {
        self.call(Method::GET, "overview", None)
            .await
            .is_ok_and(|response| response.status().is_success())
    }

    /// Creates `vhost` and lets `guest` do everything in it.
    pub async fn create_vhost(&self, vhost: &str) -> anyhow::Result<()> {
        self.call(Method::PUT, &format!("vhosts/{}", encode(vhost)), None)
            .await?;
        self.call(
            Method::PUT,
            &format!("permissions/{}/guest", encode(vhost)),
            Some(json!({"configure": ".*", "write": ".*", "read": ".*"})),
        )
        .await?;
        Ok(())
    }

    /// Deletes `vhost` with everything in it.
    pub async fn delete_vhost(&self, vhost: &str) -> anyhow::Result<()> {
        self.call(Method::DELETE, &format!("vhosts/{}", encode(vhost)), None)
            .await?;
        Ok(())
    }

    /// The client connections to `vhost`. A connection shows up only after the node's first
    /// statistics round for it (the private node collects every 500 ms).
    pub async fn connections(&self, vhost: &str) -> anyhow::Result<Vec<ClientConnection>> {
        let listed: Vec<Value> = self
            .call(
                Method::GET,
                &format!("vhosts/{}/connections", encode(vhost)),
                None,
            )
            .await?
            .json()
            .await
            .context("Failed to read the connections as JSON")?;
        Ok(listed
            .iter()
            .filter_map(|connection| {
                Some(ClientConnection {
                    name: connection["name"].as_str()?.to_owned(),
                    client_name: connection["client_properties"]["connection_name"]
                        .as_str()
                        .map(str::to_owned),
                })
            })
            .collect())
    }

    /// Closes a connection from the broker side, as an operator would in the UI.
    pub async fn close_connection(&self, name: &str) -> anyhow::Result<()> {
        self.call(
            Method::DELETE,
            &format!("connections/{}", encode(name)),
            None,
        )
        .await?;
        Ok(())
    }

    /// Every queue of `vhost` with its depth (as of the last statistics round).
    pub async fn queues(&self, vhost: &str) -> anyhow::Result<Vec<QueueDepth>> {
        self.call(Method::GET, &format!("queues/{}", encode(vhost)), None)
            .await?
            .json()
            .await
            .context("Failed to read the queues as JSON")
    }
}

/// Percent-encodes a path segment (vhost and connection names contain `/`, spaces, `>`...).
fn encode(segment: &str) -> String {
    segment
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_names_are_encoded_as_one_path_segment() {
        assert_eq!(
            encode("127.0.0.1:5000 -> 127.0.0.1:5672"),
            "127.0.0.1%3A5000%20-%3E%20127.0.0.1%3A5672"
        );
        assert_eq!(encode("/"), "%2F");
    }
}
