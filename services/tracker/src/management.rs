//! A small client of the RabbitMQ management HTTP API: what is declared in one vhost and who
//! consumes from it. Read-only.

use futures_util::try_join;
use reqwest::{StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, de::DeserializeOwned};

use crate::settings::ManagementSettings;

/// Why the management API could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ManagementError {
    #[error("the management API is unreachable at {url}")]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("the management API answered {status} to {url}")]
    Status { url: String, status: StatusCode },
    #[error("the management API's answer to {url} is not what was expected")]
    Decode {
        url: String,
        #[source]
        source: reqwest::Error,
    },
}

/// The management API of one vhost.
#[derive(Debug, Clone)]
pub struct Management {
    http: reqwest::Client,
    /// `<base>/api/`.
    api: Url,
    username: String,
    password: SecretString,
    vhost: String,
}

/// Everything the API says about the vhost, as the API says it.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub exchanges: Vec<RawExchange>,
    pub queues: Vec<RawQueue>,
    pub bindings: Vec<RawBinding>,
    pub consumers: Vec<RawConsumer>,
    pub connections: Vec<RawConnection>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RawExchange {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub durable: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RawQueue {
    pub name: String,
    /// Absent until the broker's first statistics round for the queue.
    #[serde(default)]
    pub messages: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RawBinding {
    pub source: String,
    pub destination: String,
    pub destination_type: String,
    pub routing_key: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RawConsumer {
    pub queue: NamedRef,
    pub channel_details: ChannelDetails,
}

#[derive(Debug, Clone, Deserialize)]
pub struct NamedRef {
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ChannelDetails {
    /// The broker's name of the connection (`127.0.0.1:50000 -> 127.0.0.1:5672`).
    #[serde(default)]
    pub connection_name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RawConnection {
    pub name: String,
    #[serde(default)]
    pub client_properties: ClientProperties,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ClientProperties {
    /// The name the client gave its connection: the bus names it after the service.
    #[serde(default)]
    pub connection_name: Option<String>,
}

impl Management {
    /// A client of the API at `settings.url` for `vhost`.
    pub fn new(settings: &ManagementSettings, vhost: &str) -> anyhow::Result<Self> {
        let mut api = Url::parse(&settings.url).map_err(|error| {
            anyhow::anyhow!(
                "the management URL {:?} is not a URL: {error}",
                settings.url
            )
        })?;
        api.path_segments_mut()
            .map_err(|()| anyhow::anyhow!("the management URL {:?} has no path", settings.url))?
            .pop_if_empty()
            .push("api")
            .push("");
        let http = reqwest::Client::builder()
            .timeout(settings.timeout())
            .build()
            .map_err(|error| anyhow::anyhow!("Failed to build the HTTP client: {error}"))?;
        Ok(Self {
            http,
            api,
            username: settings.username.clone(),
            password: settings.password.clone(),
            vhost: vhost.to_owned(),
        })
    }

    /// The vhost this client looks at.
    pub fn vhost(&self) -> &str {
        &self.vhost
    }

    /// Reads exchanges, queues, bindings, consumers and connections of the vhost at once.
    pub async fn snapshot(&self) -> Result<Snapshot, ManagementError> {
        let vhost = self.vhost.as_str();
        let (exchanges, queues, bindings, consumers, connections) = try_join!(
            self.list(self.url(&["exchanges", vhost])),
            self.list(self.url(&["queues", vhost])),
            self.list(self.url(&["bindings", vhost])),
            self.list(self.url(&["consumers", vhost])),
            self.list(self.url(&["vhosts", vhost, "connections"])),
        )?;
        Ok(Snapshot {
            exchanges,
            queues,
            bindings,
            consumers,
            connections,
        })
    }

    /// `<base>/api/<segments>`, each segment percent-encoded (the vhost `/` is `%2F`).
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.api.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// `GET url`, authenticated, decoded as a JSON list.
    async fn list<T: DeserializeOwned>(&self, url: Url) -> Result<Vec<T>, ManagementError> {
        let shown = url.to_string();
        let response = self
            .http
            .get(url)
            .basic_auth(&self.username, Some(self.password.expose_secret()))
            .send()
            .await
            .map_err(|source| ManagementError::Unreachable {
                url: shown.clone(),
                source,
            })?;
        let status = response.status();
        if !status.is_success() {
            return Err(ManagementError::Status { url: shown, status });
        }
        response
            .json()
            .await
            .map_err(|source| ManagementError::Decode { url: shown, source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(url: &str, vhost: &str) -> Management {
        let settings = ManagementSettings {
            url: url.into(),
            ..ManagementSettings::default()
        };
        Management::new(&settings, vhost).unwrap()
    }

    #[test]
    fn the_api_path_is_under_the_base_url_with_or_without_a_slash() {
        assert_eq!(
            client("http://127.0.0.1:15672", "/").api.as_str(),
            "http://127.0.0.1:15672/api/"
        );
        assert_eq!(
            client("http://rabbit:15672/mgmt/", "/").api.as_str(),
            "http://rabbit:15672/mgmt/api/"
        );
    }

    #[test]
    fn the_vhost_is_one_encoded_path_segment() {
        let management = client("http://127.0.0.1:15672", "/");
        assert_eq!(
            management.url(&["vhosts", "/", "connections"]).as_str(),
            "http://127.0.0.1:15672/api/vhosts/%2F/connections"
        );
    }

    #[test]
    fn a_management_url_that_is_not_a_url_is_refused() {
        let settings = ManagementSettings {
            url: "not a url".into(),
            ..ManagementSettings::default()
        };
        assert!(Management::new(&settings, "/").is_err());
    }
}
