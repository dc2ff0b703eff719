//! Delivery into `.eml` files, for machines without a mail server.

use std::path::Path;

use anyhow::Context;
use lettre::{AsyncFileTransport, Tokio1Executor};

/// A transport writing `<uuid>.eml` into `dir`, which is created if missing (and checked now,
/// so that a folder that cannot be created stops the startup rather than every email).
pub(super) async fn transport(dir: &Path) -> anyhow::Result<AsyncFileTransport<Tokio1Executor>> {
    tokio::fs::create_dir_all(dir)
        .await
        .with_context(|| format!("Failed to create the mail folder {}", dir.display()))?;
    Ok(AsyncFileTransport::new(dir))
}
