//! The mailer process: settings, logging, signals, then the application until it is stopped.

use anyhow::Context;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = mailer::load_settings().context("Failed to load the mailer's settings")?;
    service_kit::telemetry::init(&settings.telemetry);
    let shutdown = service_kit::shutdown::cancel_on_signals();
    let application = mailer::Application::build(settings, shutdown)
        .await
        .context("Failed to start the mailer")?;
    tracing::info!(port = application.port(), "the mailer is listening");
    application.run_until_stopped().await
}
