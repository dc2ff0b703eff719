//! The suite's temporary folders, and what a killed run left behind in them.
//!
//! Every private broker, database cluster and scenario works in a folder under
//! `<tmp>/fault-suite/`, which records the id of the suite process that owns it (`owner`) and,
//! for a broker, its process group (`group`). Drop guards stop and remove everything when a run
//! ends, even by a failed assertion; but a run killed with SIGKILL runs no destructor. So each run
//! first [`reap`]s the brokers and clusters of owners that are gone: it kills a broker's process
//! group, shuts a PostgreSQL down (`SIGQUIT`, immediate) and deletes the folder (a signing key's
//! folder is just deleted). A scenario's folder holds only logs, kept when it failed: those stay
//! for a person to read. A process is only signalled when its command line names the folder, so
//! a recycled pid is never hit.

use std::path::{Path, PathBuf};

use anyhow::Context;
use uuid::Uuid;

use crate::os;

/// `<tmp>/fault-suite`.
pub fn base_dir() -> PathBuf {
    std::env::temp_dir().join("fault-suite")
}

/// Creates a fresh folder owned by this process: `<tmp>/fault-suite/<pid>-<label>-<random>`.
pub fn claim_dir(label: &str) -> anyhow::Result<PathBuf> {
    let dir = base_dir().join(format!(
        "{}-{label}-{}",
        std::process::id(),
        &Uuid::new_v4().simple().to_string()[..8]
    ));
    std::fs::create_dir_all(&dir).with_context(|| format!("Failed to create {}", dir.display()))?;
    std::fs::write(dir.join("owner"), std::process::id().to_string())
        .context("Failed to record the folder's owner")?;
    Ok(dir)
}

/// Records the process group a folder's broker runs in, for [`reap`].
pub fn record_group(dir: &Path, pgid: u32) -> anyhow::Result<()> {
    std::fs::write(dir.join("group"), pgid.to_string()).context("Failed to record a process group")
}

/// Removes a folder, quietly: nothing is left to do about a folder that will not go.
pub fn remove_dir(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
}

/// Stops and removes the brokers and clusters that runs whose process is gone left behind;
/// returns how many.
pub fn reap() -> usize {
    let Ok(entries) = std::fs::read_dir(base_dir()) else {
        return 0;
    };
    let mut reaped = 0;
    for entry in entries.flatten() {
        let dir = entry.path();
        // A scenario's folder holds only logs, kept on purpose when it failed. A signing key's
        // folder goes with its run: its private key is of use to nobody else.
        let infrastructure = dir.join("group").exists()
            || dir.join("data").exists()
            || dir
                .join(service_kit::auth::issuer::PRIVATE_KEY_FILE)
                .exists();
        if !infrastructure {
            continue;
        }
        let owner = read_pid(&dir.join("owner"));
        if owner.is_some_and(os::alive) || owner.is_none() && !is_old(&dir) {
            continue;
        }
        if let Some(group) = read_pid(&dir.join("group"))
            && names(group, &dir)
        {
            let _ = os::signal_group(group, "KILL");
        }
        if let Some(postmaster) = first_line_pid(&dir.join("data").join("postmaster.pid"))
            && names(postmaster, &dir)
        {
            let _ = os::signal(postmaster, "QUIT");
        }
        remove_dir(&dir);
        reaped += 1;
    }
    reaped
}

fn read_pid(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn first_line_pid(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path)
        .ok()?
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()
}

/// Whether process `pid` still runs something of `dir` (its command line or environment names
/// the folder).
fn names(pid: u32, dir: &Path) -> bool {
    let needle = dir.to_string_lossy().into_owned();
    ["cmdline", "environ"].iter().any(|file| {
        std::fs::read(format!("/proc/{pid}/{file}"))
            .map(|bytes| String::from_utf8_lossy(&bytes).contains(&needle))
            .unwrap_or(false)
    })
}

/// A folder without an owner file is being created right now, unless it is older than a minute.
fn is_old(dir: &Path) -> bool {
    std::fs::metadata(dir)
        .and_then(|metadata| metadata.modified())
        .ok()
        .and_then(|modified| modified.elapsed().ok())
        .is_some_and(|age| age.as_secs() > 60)
}
