//! The four services of the flow, by name.

use std::fmt;

/// One of the shop's services; its name is also its executable, its queue, its connection name
/// and (uppercased) its environment prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    Order,
    Billing,
    Logistics,
    Mailer,
}

impl Service {
    pub const ALL: [Self; 4] = [Self::Order, Self::Billing, Self::Logistics, Self::Mailer];

    pub fn name(self) -> &'static str {
        match self {
            Self::Order => "order",
            Self::Billing => "billing",
            Self::Logistics => "logistics",
            Self::Mailer => "mailer",
        }
    }

    /// The prefix of its own environment variables: `BILLING__SERVICE__...`.
    pub fn env_prefix(self) -> String {
        self.name().to_uppercase()
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|service| service.name() == name)
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
