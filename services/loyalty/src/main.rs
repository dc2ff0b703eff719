#[tokio::main]
async fn main() -> anyhow::Result<()> {
    service_kit::app::run("loyalty", loyalty::DEFAULT_SETTINGS, loyalty::build).await
}
