//! The logistics service's process: settings, logging, signals, then the library's application.

use anyhow::Context;
use logistics::{Application, load_settings};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = load_settings().context("Failed to load the settings")?;
    service_kit::telemetry::init(&settings.telemetry);
    let shutdown = service_kit::shutdown::cancel_on_signals();
    let application = Application::build(settings, shutdown)
        .await
        .context("Failed to start logistics")?;
    application
        .run_until_stopped()
        .await
        .context("logistics stopped with an error")
}
