#[tokio::main]
async fn main() -> anyhow::Result<()> {
    service_kit::app::run("order", order::DEFAULT_SETTINGS, order::build).await
}
