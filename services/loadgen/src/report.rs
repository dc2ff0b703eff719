//! The report of a run: `report.md` (the machine, the summary lines, one table per section) and
//! `latency.png` (the latency distributions), from the result files of every part.

use std::{fmt::Write as _, path::PathBuf};

use anyhow::Context;

use crate::{environment::Endpoints, plot, section::Section};

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    #[command(flatten)]
    endpoints: Endpoints,
    /// The folder the parts wrote their `*.json` results to.
    #[arg(long)]
    results: PathBuf,
    /// Where `report.md` and `latency.png` go.
    #[arg(long)]
    out: PathBuf,
    /// `quick` or `full`, as `scripts/bench` ran.
    #[arg(long, default_value = "full")]
    mode: String,
    /// How long the whole run took, in seconds.
    #[arg(long)]
    elapsed_secs: Option<u64>,
    /// `/proc/loadavg` when the run started: the machine may be shared.
    #[arg(long)]
    load_before: Option<String>,
}

/// Writes the report and prints every summary line.
pub async fn write(args: &ReportArgs) -> anyhow::Result<()> {
    let sections = Section::read_all(&args.results)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("Failed to create {}", args.out.display()))?;
    let plotted = plot::draw(&sections, &args.out.join("latency.png"))?;
    let machine = machine(&args.endpoints).await;
    let mut md = String::new();
    writeln!(md, "# Benchmark report\n")?;
    let elapsed = args
        .elapsed_secs
        .map_or_else(String::new, |secs| format!(" in {}", minutes(secs)));
    writeln!(
        md,
        "Measured on {} by `scripts/bench{}`{elapsed}.\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        if args.mode == "quick" { " --quick" } else { "" },
    )?;
    writeln!(md, "**Machine**: {machine}.")?;
    let load_after = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    if let Some(before) = &args.load_before {
        writeln!(
            md,
            "Load average (1, 5, 15 min) at the start: {}; at the end: {}. Everything — broker, database, services, load generator and whatever else runs on the machine — shares its cores.",
            first_three(before),
            first_three(&load_after)
        )?;
    }
    writeln!(md, "\n## Summary\n\n```text")?;
    for section in &sections {
        for line in &section.summary {
            writeln!(md, "{line}")?;
        }
    }
    writeln!(md, "```\n")?;
    if plotted {
        writeln!(md, "![Latency distributions](latency.png)\n")?;
    }
    for section in &sections {
        writeln!(md, "## {}\n", section.title)?;
        for note in &section.notes {
            writeln!(md, "{note}\n")?;
        }
        writeln!(md, "{}", table(section))?;
    }
    let path = args.out.join("report.md");
    std::fs::write(&path, md).with_context(|| format!("Failed to write {}", path.display()))?;
    println!("\n== summary ({machine})");
    for section in &sections {
        for line in &section.summary {
            println!("{line}");
        }
    }
    eprintln!("wrote {}", path.display());
    Ok(())
}

fn table(section: &Section) -> String {
    let cell = |text: &str| text.replace('|', "\\|");
    let mut md = String::new();
    let header: Vec<String> = section.columns.iter().map(|c| cell(c)).collect();
    md.push_str(&format!("| {} |\n", header.join(" | ")));
    md.push_str(&format!(
        "|{}\n",
        section
            .columns
            .iter()
            .enumerate()
            .map(|(i, _)| if i == 0 { "---|" } else { "---:|" })
            .collect::<String>()
    ));
    for row in &section.rows {
        let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
        md.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    md
}

/// CPU, cores, memory, kernel and the broker's and database's versions.
async fn machine(endpoints: &Endpoints) -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_gib = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let http = reqwest::Client::new();
    let rabbitmq = async {
        let overview: serde_json::Value = endpoints
            .management(&http, reqwest::Method::GET, "overview")
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        Some(format!(
            "RabbitMQ {} (Erlang {})",
            overview["rabbitmq_version"].as_str()?,
            overview["erlang_version"].as_str()?
        ))
    }
    .await
    .unwrap_or_else(|| "RabbitMQ (version unknown)".into());
    let postgres = async {
        let pool = endpoints.pg_pool("postgres").await.ok()?;
        let version: String = sqlx::query_scalar("SHOW server_version")
            .fetch_one(&pool)
            .await
            .ok()?;
        pool.close().await;
        Some(format!("PostgreSQL {version}"))
    }
    .await
    .unwrap_or_else(|| "PostgreSQL (version unknown)".into());
    format!(
        "{cpu}, {cores} cores, {memory_gib:.0} GiB, Linux {}; {rabbitmq}; {postgres}",
        kernel.trim()
    )
}

fn first_three(loadavg: &str) -> String {
    loadavg
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(", ")
}

fn minutes(secs: u64) -> String {
    format!("{} min {:02} s", secs / 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_section_becomes_a_markdown_table_with_pipes_escaped() {
        let section = Section {
            columns: vec!["phase".into(), "rate".into()],
            rows: vec![vec!["a|b".into(), "12".into()]],
            ..Section::default()
        };
        assert_eq!(
            table(&section),
            "| phase | rate |\n|---|---:|\n| a\\|b | 12 |\n"
        );
    }

    #[test]
    fn durations_read_in_minutes() {
        assert_eq!(minutes(125), "2 min 05 s");
        assert_eq!(
            first_three("0.50 1.20 0.90 2/300 1234\n"),
            "0.50, 1.20, 0.90"
        );
    }
}
