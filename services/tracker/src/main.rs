#[tokio::main]
async fn main() -> anyhow::Result<()> {
    service_kit::app::run("tracker", tracker::DEFAULT_SETTINGS, tracker::build).await
}
