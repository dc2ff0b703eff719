//! The result file of one part of a benchmark run: `<results>/<key>.json`.
//!
//! The bus benchmarks (`event-bus/benches/bus/support.rs`) write the same shape; `loadgen report`
//! reads every such file of a run and lays the sections out in the order of their keys.

use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

/// One part of the report: a titled table, the summary lines of its figures and the latency
/// distributions to plot.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Section {
    /// Orders sections in the report: `10-bus-hop`, `20-outbox`, `30-flow`...
    pub key: String,
    pub title: String,
    /// Paragraphs under the title: what was measured and how.
    pub notes: Vec<String>,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// One line per figure, printed and quoted at the top of the report.
    pub summary: Vec<String>,
    pub distributions: Vec<Distribution>,
}

/// A latency distribution to plot.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Distribution {
    pub name: String,
    /// `(percentile, milliseconds)`, percentiles ascending.
    pub points: Vec<(f64, f64)>,
}

impl Section {
    /// Prints the summary lines and writes `<dir>/<key>.json`.
    pub fn publish(&self, dir: &Path) -> anyhow::Result<()> {
        for line in &self.summary {
            println!("{line}");
        }
        std::fs::create_dir_all(dir)
            .with_context(|| format!("Failed to create {}", dir.display()))?;
        let path = dir.join(format!("{}.json", self.key));
        std::fs::write(&path, serde_json::to_vec_pretty(self)?)
            .with_context(|| format!("Failed to write {}", path.display()))?;
        eprintln!("wrote {}", path.display());
        Ok(())
    }

    /// Every section in `dir`, by key.
    pub fn read_all(dir: &Path) -> anyhow::Result<Vec<Self>> {
        let mut sections = Vec::new();
        for entry in std::fs::read_dir(dir)
            .with_context(|| format!("Failed to list the results in {}", dir.display()))?
        {
            let path = entry?.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let bytes = std::fs::read(&path)
                .with_context(|| format!("Failed to read {}", path.display()))?;
            let section: Self = serde_json::from_slice(&bytes)
                .with_context(|| format!("{} is not a result section", path.display()))?;
            sections.push(section);
        }
        sections.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(sections)
    }
}
