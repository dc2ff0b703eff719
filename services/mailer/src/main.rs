#[tokio::main]
async fn main() -> anyhow::Result<()> {
    service_kit::app::run("mailer", mailer::DEFAULT_SETTINGS, mailer::build).await
}
