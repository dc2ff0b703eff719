#[tokio::main]
async fn main() -> anyhow::Result<()> {
    service_kit::app::run("logistics", logistics::DEFAULT_SETTINGS, logistics::build).await
}
