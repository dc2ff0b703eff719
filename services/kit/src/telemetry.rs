//! The process's one `tracing` subscriber.
//!
//! Everything logs through `tracing` (the `log` records of sqlx and lapin are bridged into it),
//! so one filter decides what is written and one format is used for all of it.

use tracing_subscriber::EnvFilter;

use crate::configuration::{LogFormat, TelemetrySettings};

/// Installs the global subscriber: the filter is `RUST_LOG` if set, otherwise
/// `settings.level`; lines go to stdout, human-readable or JSON.
///
/// A second call (several tests in one binary) leaves the first subscriber in place.
pub fn init(settings: &TelemetrySettings) {
    let (filter, rejected_level) = filter(settings);
    let installed = match settings.format {
        LogFormat::Pretty => tracing_subscriber::fmt()
            .with_env_filter(filter)
            .try_init()
            .is_ok(),
        LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_env_filter(filter)
            .try_init()
            .is_ok(),
    };
    if let (true, Some(level)) = (installed, rejected_level) {
        tracing::warn!(
            level,
            "telemetry.level is not a valid filter; logging at info"
        );
    }
}

/// lapin warns about every message the broker returns, with its whole payload in `Debug` form;
/// the bus reports returns itself, once per routing key and as a metric, so lapin's copy is kept
/// to errors unless the configured filter names that target itself.
const QUIET_LAPIN_RETURNS: &str = "lapin::returned_messages=error";

/// `RUST_LOG` wins; otherwise the configured level; a configured level that does not parse
/// falls back to `info` and is returned, to be reported once logging works.
fn filter(settings: &TelemetrySettings) -> (EnvFilter, Option<String>) {
    if let Ok(from_env) = EnvFilter::try_from_default_env() {
        return (from_env, None);
    }
    let with_defaults = |level: &str| {
        if level.contains("lapin") {
            level.to_owned()
        } else {
            format!("{level},{QUIET_LAPIN_RETURNS}")
        }
    };
    match EnvFilter::try_new(with_defaults(&settings.level)) {
        Ok(configured) => (configured, None),
        Err(_) => (
            EnvFilter::new(with_defaults("info")),
            Some(settings.level.clone()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_twice_is_harmless() {
        let settings = TelemetrySettings {
            level: "warn".into(),
            format: LogFormat::Json,
        };
        init(&settings);
        init(&TelemetrySettings::default());
        tracing::info!("still logging");
    }
}
