//! What is declared in the bus's vhost and who consumes from it, read through the workspace's
//! management API client ([`event_bus::management`]). Read-only.

pub use event_bus::management::{
    Binding as RawBinding, Connection as RawConnection, Consumer as RawConsumer,
    Exchange as RawExchange, ManagementError, Queue as RawQueue,
};

use crate::settings::ManagementSettings;

/// The management API of one vhost.
#[derive(Debug, Clone)]
pub struct Management {
    api: event_bus::management::Management,
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

impl Management {
    /// A client of the API at `settings.url` for `vhost`.
    pub fn new(settings: &ManagementSettings, vhost: &str) -> Result<Self, ManagementError> {
        let api = event_bus::management::Management::new(
            &settings.url,
            settings.username.clone(),
            settings.password.clone(),
        )?
        .with_timeout(settings.timeout());
        Ok(Self {
            api,
            vhost: vhost.to_owned(),
        })
    }

    /// The workspace's client underneath (its URL, user and timeout), for shopctl's library.
    pub fn api(&self) -> &event_bus::management::Management {
        &self.api
    }

    /// The vhost this client looks at.
    pub fn vhost(&self) -> &str {
        &self.vhost
    }

    /// Reads exchanges, queues, bindings, consumers and connections of the vhost at once.
    pub async fn snapshot(&self) -> Result<Snapshot, ManagementError> {
        let vhost = self.vhost.as_str();
        let (exchanges, queues, bindings, consumers, connections) = tokio::try_join!(
            self.api.exchanges(vhost),
            self.api.queues(vhost),
            self.api.bindings(vhost),
            self.api.consumers(vhost),
            self.api.connections(vhost),
        )?;
        Ok(Snapshot {
            exchanges,
            queues,
            bindings,
            consumers,
            connections,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_management_url_that_is_not_a_url_is_refused() {
        let settings = ManagementSettings {
            url: "not a url".into(),
            ..ManagementSettings::default()
        };
        assert!(Management::new(&settings, "/").is_err());
    }
}
