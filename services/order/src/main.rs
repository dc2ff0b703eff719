//! The order service's process: settings, logging, signals, then the application until stopped.

use anyhow::Context;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = order::load_settings().context("Failed to load the order service's settings")?;
    service_kit::telemetry::init(&settings.telemetry);
    let shutdown = service_kit::shutdown::cancel_on_signals();
    let application = order::Application::build(settings, shutdown)
        .await
        .context("Failed to start the order service")?;
    application
        .run_until_stopped()
        .await
        .context("The order service stopped with an error")
}
