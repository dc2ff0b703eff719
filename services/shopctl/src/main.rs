//! `shopctl`: see the library's documentation, or `shopctl --help`.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    shopctl::cli::Cli::parse().run().await
}
