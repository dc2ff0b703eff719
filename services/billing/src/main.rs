#[tokio::main]
async fn main() -> anyhow::Result<()> {
    service_kit::app::run("billing", billing::DEFAULT_SETTINGS, billing::build).await
}
