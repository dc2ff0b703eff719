//! `loadgen`: see the library's documentation, or `loadgen --help`.

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    loadgen::cli::Cli::parse().run().await
}
