//! Writes the AsyncAPI document of the flow to `contracts/asyncapi.yaml`:
//! `cargo run -p contracts --example asyncapi` (or pass another path).

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("asyncapi.yaml"));
    let yaml = contracts::asyncapi::to_yaml()?;
    std::fs::write(&path, yaml)
        .map_err(|error| format!("Failed to write {}: {error}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(())
}
