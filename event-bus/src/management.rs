//! The one client of the RabbitMQ management HTTP API in the workspace (feature `management`).
//!
//! Three users share it: the test fixtures ([`crate::testing::TestBroker`]: a vhost per test,
//! connections closed by name), the tracker (exchanges, queues, bindings, consumers and
//! connections of the bus's vhost, for its topology view) and the fault suite (its private
//! node's vhosts, connections and queue depths), and `shopctl broker provision` (users, their
//! permissions, the shop's exchanges). It covers the calls they make and no more.
//!
//! The rules it keeps: every path segment (vhost and connection names hold `/`, spaces, `>`) is
//! percent-encoded; every error names the method and URL it came from; the password is a
//! [`SecretString`], sent as basic auth and never part of a URL, a `Debug` output or an error;
//! deleting what is already gone succeeds, so cleanups may run twice.

use std::{collections::BTreeMap, time::Duration};

use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, de::DeserializeOwned};
use serde_json::{Value, json};
use url::Url;

use crate::permissions::Permissions;

/// Why a call to the management API failed.
#[derive(Debug, thiserror::Error)]
pub enum ManagementError {
    #[error("the management URL {url:?} is not a base URL")]
    InvalidUrl {
        url: String,
        #[source]
        source: Option<url::ParseError>,
    },
    #[error("Failed to build the management API's HTTP client")]
    Client(#[source] reqwest::Error),
    #[error("the management API is unreachable at {method} {url}")]
    Unreachable {
        method: Method,
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("the management API answered {status} to {method} {url}")]
    Status {
        method: Method,
        url: String,
        status: StatusCode,
    },
    #[error("the management API's answer to {method} {url} is not what was expected")]
    Decode {
        method: Method,
        url: String,
        #[source]
        source: reqwest::Error,
    },
}

/// A client of one broker's management API, authenticated as one user.
///
/// Cheap to clone (the HTTP connection pool is shared). `Debug` shows the password redacted.
#[derive(Debug, Clone)]
pub struct Management {
    http: reqwest::Client,
    /// `<base>/api/`, without user info: it is shown in errors.
    api: Url,
    username: String,
    password: SecretString,
    /// How long one call may take; unbounded when `None`.
    timeout: Option<Duration>,
}

/// An exchange of a vhost.
#[derive(Debug, Clone, Deserialize)]
pub struct Exchange {
    /// Empty for the default exchange.
    pub name: String,
    /// `topic`, `direct`, `fanout`, `headers`...
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub durable: bool,
}

/// A queue of a vhost, with the figures of the broker's last statistics round.
#[derive(Debug, Clone, Deserialize)]
pub struct Queue {
    pub name: String,
    /// Ready plus unacknowledged; absent until the broker's first statistics round for the
    /// queue.
    #[serde(default)]
    pub messages: Option<u64>,
    #[serde(default)]
    pub consumers: u64,
    /// The node the queue lives on: for a quorum queue, the node of its current leader.
    #[serde(default)]
    pub node: Option<String>,
    /// `classic`, `quorum` or `stream`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

/// A binding of a vhost.
#[derive(Debug, Clone, Deserialize)]
pub struct Binding {
    /// The exchange; empty for the default exchange.
    pub source: String,
    pub destination: String,
    /// `queue` or `exchange`.
    pub destination_type: String,
    pub routing_key: String,
}

/// A consumer of a vhost: which queue, over which connection.
#[derive(Debug, Clone, Deserialize)]
pub struct Consumer {
    pub queue: NamedRef,
    pub channel_details: ChannelDetails,
}

/// A reference to a named object (a consumer's queue).
#[derive(Debug, Clone, Deserialize)]
pub struct NamedRef {
    pub name: String,
}

/// The channel a consumer consumes on.
#[derive(Debug, Clone, Deserialize)]
pub struct ChannelDetails {
    /// The broker's name of the connection (`127.0.0.1:50000 -> 127.0.0.1:5672`).
    #[serde(default)]
    pub connection_name: String,
}

/// A client connection to a vhost. The API lists a connection only after the broker's first
/// statistics round for it.
#[derive(Debug, Clone, Deserialize)]
pub struct Connection {
    /// The broker's name of the connection, used to close it.
    pub name: String,
    #[serde(default)]
    pub client_properties: ClientProperties,
    /// The cluster node the client is connected to.
    #[serde(default)]
    pub node: Option<String>,
}

/// A node of the broker's cluster, as the API lists it.
#[derive(Debug, Clone, Deserialize)]
pub struct Node {
    /// The Erlang node name (`rabbit@host`).
    pub name: String,
    /// Whether the node is up: the API lists members that are down too.
    #[serde(default)]
    pub running: bool,
}

/// A vhost, as the API shows it.
#[derive(Debug, Clone, Deserialize)]
pub struct Vhost {
    pub name: String,
    /// Each cluster node's state of the vhost (`running`, `stopped`...): a vhost just created
    /// serves clients on a node only once its processes run there.
    #[serde(default)]
    pub cluster_state: BTreeMap<String, String>,
}

impl Vhost {
    /// Whether the vhost runs on every node the API knows of.
    pub fn running_everywhere(&self) -> bool {
        !self.cluster_state.is_empty()
            && self.cluster_state.values().all(|state| state == "running")
    }

    /// The nodes on which the vhost is `stopped`: its processes failed to start there (seen on
    /// a freshly formed private cluster on a busy machine), and they stay stopped until asked to
    /// start ([`Management::start_vhost`]).
    pub fn stopped_on(&self) -> impl Iterator<Item = &str> {
        self.cluster_state
            .iter()
            .filter(|(_, state)| *state == "stopped")
            .map(|(node, _)| node.as_str())
    }
}

/// What a client said about itself when it connected.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ClientProperties {
    /// The name the client gave its connection: the bus names it after the service.
    #[serde(default)]
    pub connection_name: Option<String>,
}

impl Connection {
    /// The name the client gave this connection, if it gave one.
    pub fn client_name(&self) -> Option<&str> {
        self.client_properties.connection_name.as_deref()
    }
}

impl Management {
    /// A client of the API under `base_url` (`http://127.0.0.1:15672`, with or without a
    /// trailing slash or a path prefix; not ending in `/api`), logging in as `username`.
    pub fn new(
        base_url: &str,
        username: impl Into<String>,
        password: SecretString,
    ) -> Result<Self, ManagementError> {
        let invalid = |source| ManagementError::InvalidUrl {
            url: base_url.to_owned(),
            source,
        };
        let mut api = Url::parse(base_url).map_err(|error| invalid(Some(error)))?;
        // Credentials go in the basic auth header, never in a URL that errors show.
        api.set_password(None).map_err(|()| invalid(None))?;
        api.set_username("").map_err(|()| invalid(None))?;
        api.path_segments_mut()
            .map_err(|()| invalid(None))?
            .pop_if_empty()
            .push("api")
            .push("");
        let http = reqwest::Client::builder()
            .build()
            .map_err(ManagementError::Client)?;
        Ok(Self {
            http,
            api,
            username: username.into(),
            password,
            timeout: None,
        })
    }

    /// Bounds every call to `timeout`.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Whether the API answers, and so the node is up with its management plugin started.
    pub async fn answers(&self) -> bool {
        self.call(Method::GET, &["overview"], None).await.is_ok()
    }

    /// Creates `vhost` (nothing happens if it exists).
    pub async fn create_vhost(&self, vhost: &str) -> Result<(), ManagementError> {
        self.call(Method::PUT, &["vhosts", vhost], None)
            .await
            .map(drop)
    }

    /// Starts `vhost` on `node`, where it is stopped (`POST /api/vhosts/<vhost>/start/<node>`);
    /// nothing happens where it already runs.
    pub async fn start_vhost(&self, vhost: &str, node: &str) -> Result<(), ManagementError> {
        self.call(Method::POST, &["vhosts", vhost, "start", node], None)
            .await
            .map(drop)
    }

    /// `vhost`, or `None` when there is no such vhost.
    pub async fn vhost(&self, vhost: &str) -> Result<Option<Vhost>, ManagementError> {
        match self.get(&["vhosts", vhost]).await {
            Err(ManagementError::Status {
                status: StatusCode::NOT_FOUND,
                ..
            }) => Ok(None),
            result => result.map(Some),
        }
    }

    /// Lets `user` configure, write and read everything in `vhost`.
    pub async fn permit_all(&self, vhost: &str, user: &str) -> Result<(), ManagementError> {
        let everything = json!({"configure": ".*", "write": ".*", "read": ".*"});
        self.call(Method::PUT, &["permissions", vhost, user], Some(everything))
            .await
            .map(drop)
    }

    /// Creates or updates broker user `name` with `password` and no tags (no management access).
    pub async fn put_user(
        &self,
        name: &str,
        password: &SecretString,
    ) -> Result<(), ManagementError> {
        self.put_user_tagged(name, password, "").await
    }

    /// Creates or updates broker user `name` with `password` and `tags` (comma-separated:
    /// `monitoring` to read the management API's view of every vhost, `management` for the
    /// vhosts it has permissions on).
    pub async fn put_user_tagged(
        &self,
        name: &str,
        password: &SecretString,
        tags: &str,
    ) -> Result<(), ManagementError> {
        let body = json!({"password": password.expose_secret(), "tags": tags});
        self.call(Method::PUT, &["users", name], Some(body))
            .await
            .map(drop)
    }

    /// Sets what `user` may do in `vhost`: its configure, write and read expressions, and a
    /// topic permission per exchange it publishes on. Setting again replaces them.
    pub async fn set_permissions(
        &self,
        vhost: &str,
        user: &str,
        permissions: &Permissions,
    ) -> Result<(), ManagementError> {
        let body = json!({
            "configure": permissions.configure,
            "write": permissions.write,
            "read": permissions.read,
        });
        self.call(Method::PUT, &["permissions", vhost, user], Some(body))
            .await?;
        for topic in &permissions.topics {
            let body =
                json!({"exchange": topic.exchange, "write": topic.write, "read": topic.read});
            self.call(Method::PUT, &["topic-permissions", vhost, user], Some(body))
                .await?;
        }
        Ok(())
    }

    /// Declares `name` in `vhost` as the bus declares every exchange: a durable topic exchange
    /// (nothing happens if it exists so).
    pub async fn declare_exchange(&self, vhost: &str, name: &str) -> Result<(), ManagementError> {
        let body =
            json!({"type": "topic", "durable": true, "auto_delete": false, "internal": false});
        self.call(Method::PUT, &["exchanges", vhost, name], Some(body))
            .await
            .map(drop)
    }

    /// Deletes broker user `name`; a user already gone is no error.
    pub async fn delete_user(&self, name: &str) -> Result<(), ManagementError> {
        self.delete(&["users", name]).await
    }

    /// Deletes `vhost` with everything in it; a vhost already gone is no error.
    pub async fn delete_vhost(&self, vhost: &str) -> Result<(), ManagementError> {
        self.delete(&["vhosts", vhost]).await
    }

    /// Closes a client connection from the broker side, as an operator would in the UI; a
    /// connection already gone is no error.
    pub async fn close_connection(&self, name: &str) -> Result<(), ManagementError> {
        self.delete(&["connections", name]).await
    }

    /// Closes every connection to `vhost` whose client named it `client_name`; returns how
    /// many it closed (none while the broker has not listed them yet).
    pub async fn close_connections_named(
        &self,
        vhost: &str,
        client_name: &str,
    ) -> Result<usize, ManagementError> {
        let mut closed = 0;
        for connection in self.connections(vhost).await? {
            if connection.client_name() == Some(client_name) {
                self.close_connection(&connection.name).await?;
                closed += 1;
            }
        }
        Ok(closed)
    }

    /// The exchanges of `vhost`.
    pub async fn exchanges(&self, vhost: &str) -> Result<Vec<Exchange>, ManagementError> {
        self.list(&["exchanges", vhost]).await
    }

    /// The queues of `vhost`, with their figures as of the last statistics round.
    pub async fn queues(&self, vhost: &str) -> Result<Vec<Queue>, ManagementError> {
        self.list(&["queues", vhost]).await
    }

    /// The bindings of `vhost`.
    pub async fn bindings(&self, vhost: &str) -> Result<Vec<Binding>, ManagementError> {
        self.list(&["bindings", vhost]).await
    }

    /// The consumers of `vhost`.
    pub async fn consumers(&self, vhost: &str) -> Result<Vec<Consumer>, ManagementError> {
        self.list(&["consumers", vhost]).await
    }

    /// The nodes of the cluster, running or not.
    pub async fn nodes(&self) -> Result<Vec<Node>, ManagementError> {
        self.list(&["nodes"]).await
    }

    /// The client connections to `vhost`.
    pub async fn connections(&self, vhost: &str) -> Result<Vec<Connection>, ManagementError> {
        self.list(&["vhosts", vhost, "connections"]).await
    }

    /// `<base>/api/<segments>`, each segment percent-encoded (the vhost `/` is `%2F`).
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.api.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// `GET`, decoded as a JSON list.
    async fn list<T: DeserializeOwned>(
        &self,
        segments: &[&str],
    ) -> Result<Vec<T>, ManagementError> {
        self.get(segments).await
    }

    /// `GET`, decoded from JSON.
    async fn get<T: DeserializeOwned>(&self, segments: &[&str]) -> Result<T, ManagementError> {
        let response = self.call(Method::GET, segments, None).await?;
        let url = response.url().to_string();
        response
            .json()
            .await
            .map_err(|source| ManagementError::Decode {
                method: Method::GET,
                url,
                source,
            })
    }

    /// `DELETE`, where `404 Not Found` means it is already done.
    async fn delete(&self, segments: &[&str]) -> Result<(), ManagementError> {
        match self.call(Method::DELETE, segments, None).await {
            Err(ManagementError::Status {
                status: StatusCode::NOT_FOUND,
                ..
            }) => Ok(()),
            result => result.map(drop),
        }
    }

    /// One authenticated call; any answer but a success is an error.
    async fn call(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<Value>,
    ) -> Result<reqwest::Response, ManagementError> {
        let url = self.url(segments);
        let shown = url.to_string();
        let mut request = self
            .http
            .request(method.clone(), url)
            .basic_auth(&self.username, Some(self.password.expose_secret()));
        if let Some(timeout) = self.timeout {
            request = request.timeout(timeout);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .map_err(|source| ManagementError::Unreachable {
                method: method.clone(),
                url: shown.clone(),
                source,
            })?;
        let status = response.status();
        if !status.is_success() {
            return Err(ManagementError::Status {
                method,
                url: shown,
                status,
            });
        }
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(url: &str) -> Management {
        Management::new(url, "guest", SecretString::from("guest")).unwrap()
    }

    #[test]
    fn the_api_path_is_under_the_base_url_with_or_without_a_slash() {
        assert_eq!(
            client("http://127.0.0.1:15672").api.as_str(),
            "http://127.0.0.1:15672/api/"
        );
        assert_eq!(
            client("http://rabbit:15672/mgmt/").api.as_str(),
            "http://rabbit:15672/mgmt/api/"
        );
    }

    #[test]
    fn vhost_and_connection_names_are_each_one_encoded_path_segment() {
        let management = client("http://127.0.0.1:15672");
        assert_eq!(
            management.url(&["vhosts", "/", "connections"]).as_str(),
            "http://127.0.0.1:15672/api/vhosts/%2F/connections"
        );
        assert_eq!(
            management
                .url(&["connections", "127.0.0.1:5000 -> 127.0.0.1:5672"])
                .as_str(),
            "http://127.0.0.1:15672/api/connections/127.0.0.1:5000%20-%3E%20127.0.0.1:5672"
        );
    }

    #[test]
    fn a_management_url_that_is_not_a_base_url_is_refused() {
        for url in ["not a url", "mailto:guest@example.com"] {
            let refused = Management::new(url, "guest", SecretString::from("guest"));
            assert!(
                matches!(refused, Err(ManagementError::InvalidUrl { .. })),
                "{url}"
            );
        }
    }

    #[test]
    fn neither_debug_output_nor_urls_show_a_password() {
        let management = Management::new(
            "http://admin:hunter2@rabbit:15672",
            "admin",
            SecretString::from("s3cr3t"),
        )
        .unwrap();
        let shown = format!("{management:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert_eq!(
            management.url(&["overview"]).as_str(),
            "http://rabbit:15672/api/overview"
        );
    }

    /// Against the local broker: every listing decodes what RabbitMQ answers, closing by name
    /// closes, and deleting twice is no error.
    #[tokio::test]
    async fn a_vhost_is_read_closed_and_deleted_on_the_local_broker() {
        use lapin::options::{BasicConsumeOptions, QueueBindOptions, QueueDeclareOptions};
        use lapin::{Connection as Amqp, ConnectionProperties, types::FieldTable};

        let env = |key: &str, default: &str| std::env::var(key).unwrap_or_else(|_| default.into());
        let management = client(&env(
            "TEST_RABBITMQ_MANAGEMENT_URL",
            "http://127.0.0.1:15672",
        ))
        .with_timeout(Duration::from_secs(10));
        let vhost = format!("test-management-{}", uuid::Uuid::new_v4().simple());
        management.create_vhost(&vhost).await.unwrap();
        management.permit_all(&vhost, "guest").await.unwrap();
        let created = management.vhost(&vhost).await.unwrap().expect("the vhost");
        assert_eq!(created.name, vhost);
        assert!(created.running_everywhere(), "{created:?}");
        assert_eq!(created.stopped_on().count(), 0, "{created:?}");
        for node in created.cluster_state.keys() {
            management.start_vhost(&vhost, node).await.unwrap();
        }
        assert!(
            management
                .start_vhost(&vhost, "no-such-node@nowhere")
                .await
                .is_err(),
            "starting the vhost on a node that is not in the cluster is refused"
        );

        let uri = format!(
            "amqp://guest:guest@{}:{}/{vhost}",
            env("TEST_AMQP_HOST", "127.0.0.1"),
            env("TEST_AMQP_PORT", "5672"),
        );
        let properties = ConnectionProperties::default().with_connection_name("probe".into());
        let amqp = Amqp::connect(&uri, properties).await.unwrap();
        let channel = amqp.create_channel().await.unwrap();
        let declare = QueueDeclareOptions::default();
        channel
            .queue_declare("probe".into(), declare, FieldTable::default())
            .await
            .unwrap();
        let bind = QueueBindOptions::default();
        let key = "probe.#";
        channel
            .queue_bind(
                "probe".into(),
                "amq.topic".into(),
                key.into(),
                bind,
                FieldTable::default(),
            )
            .await
            .unwrap();
        let consume = BasicConsumeOptions::default();
        let _consumer = channel
            .basic_consume("probe".into(), "".into(), consume, FieldTable::default())
            .await
            .unwrap();

        let exchanges = management.exchanges(&vhost).await.unwrap();
        assert!(
            exchanges
                .iter()
                .any(|e| e.name == "amq.topic" && e.kind == "topic")
        );
        let bindings = management.bindings(&vhost).await.unwrap();
        assert!(bindings.iter().any(|b| b.source == "amq.topic"
            && b.destination == "probe"
            && b.destination_type == "queue"
            && b.routing_key == key));
        // Connections, consumers and queue figures show after the next statistics round.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let connections = management.connections(&vhost).await.unwrap();
            let consumers = management.consumers(&vhost).await.unwrap();
            let queues = management.queues(&vhost).await.unwrap();
            let listed = connections.iter().any(|c| c.client_name() == Some("probe"))
                && consumers.iter().any(|c| c.queue.name == "probe")
                && queues.iter().any(|q| q.name == "probe" && q.consumers == 1);
            if listed {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "nothing listed in 30 s"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_eq!(
            management
                .close_connections_named(&vhost, "probe")
                .await
                .unwrap(),
            1
        );

        management.delete_vhost(&vhost).await.unwrap();
        management.delete_vhost(&vhost).await.unwrap();
        assert!(management.vhost(&vhost).await.unwrap().is_none());
        let gone = management.queues(&vhost).await.unwrap_err();
        assert!(
            matches!(
                gone,
                ManagementError::Status {
                    status: StatusCode::NOT_FOUND,
                    ..
                }
            ),
            "{gone}"
        );
    }

    #[tokio::test]
    async fn an_unreachable_api_is_an_error_naming_the_call() {
        // Nothing listens on port 9 (discard) here; the call fails at once.
        let management = client("http://127.0.0.1:9").with_timeout(Duration::from_secs(5));
        assert!(!management.answers().await);
        let error = management.queues("/").await.unwrap_err();
        assert_eq!(
            error.to_string(),
            "the management API is unreachable at GET http://127.0.0.1:9/api/queues/%2F"
        );
    }
}
