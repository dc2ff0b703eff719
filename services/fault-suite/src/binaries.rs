//! The service executables the suite runs.
//!
//! By default the suite builds them itself, with the cargo that runs it (`$CARGO`), in the same
//! target folder and profile as the running executable: `target/debug/order` for `cargo test`,
//! `target/release/order` for `cargo run --release`. Cargo does nothing when they are up to date.
//! `FAULT_SUITE_BIN_DIR` names a folder of prebuilt `order`, `billing`, `logistics` and `mailer`
//! instead, and nothing is built.

use std::path::{Path, PathBuf};

use anyhow::Context;
use tokio::process::Command;

use crate::{os, service::Service};

/// Where the four executables are.
#[derive(Debug, Clone)]
pub struct Binaries {
    dir: PathBuf,
}

impl Binaries {
    /// Builds the services (or takes `FAULT_SUITE_BIN_DIR`) and checks that all four exist.
    pub async fn prepare() -> anyhow::Result<Self> {
        let dir = match std::env::var_os("FAULT_SUITE_BIN_DIR") {
            Some(dir) => PathBuf::from(dir),
            None => build().await?,
        };
        for service in Service::ALL {
            let path = dir.join(service.name());
            anyhow::ensure!(
                path.exists(),
                "{} is missing; build it or fix FAULT_SUITE_BIN_DIR",
                path.display()
            );
        }
        Ok(Self { dir })
    }

    /// The executable of `service`.
    pub fn path(&self, service: Service) -> PathBuf {
        self.dir.join(service.name())
    }
}

/// Runs `cargo build -p order -p billing -p logistics -p mailer` for the running executable's
/// profile and target folder; returns the profile's folder.
async fn build() -> anyhow::Result<PathBuf> {
    let profile_dir = profile_dir()?;
    let target_dir = profile_dir
        .parent()
        .context("The profile folder has no parent")?;
    let profile = match profile_dir.file_name().and_then(|name| name.to_str()) {
        Some("debug") => "dev".to_owned(),
        Some(name) => name.to_owned(),
        None => anyhow::bail!("Cannot name the profile of {}", profile_dir.display()),
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.toml");
    let mut command = Command::new(cargo);
    command
        .arg("build")
        .arg("--quiet")
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--target-dir")
        .arg(target_dir)
        .args(["--profile", &profile]);
    for service in Service::ALL {
        command.args(["-p", service.name()]);
    }
    os::run(&mut command, "cargo build of the services").await?;
    Ok(profile_dir)
}

/// `target/<profile>`: the folder of the running executable, or its parent for a test binary
/// (which lives in `target/<profile>/deps`).
fn profile_dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("Failed to find the running executable")?;
    let dir = exe.parent().context("The executable has no folder")?;
    Ok(if dir.file_name().is_some_and(|name| name == "deps") {
        dir.parent().context("deps has no parent")?.to_path_buf()
    } else {
        dir.to_path_buf()
    })
}
