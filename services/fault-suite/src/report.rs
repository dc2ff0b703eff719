//! One line per scenario: what was done, what the shop ended up with, what broke.

use std::{collections::BTreeMap, fmt, time::Duration};

use crate::{amqp::DeadLetter, invariants::Figures, service::Service};

/// The outcome of one scenario.
#[derive(Debug, Clone)]
pub struct Report {
    pub scenario: String,
    /// The fault as it was injected, with what was measured about it.
    pub fault: String,
    pub figures: Figures,
    /// From the fault's end until every order accepted up to then was final: the backlog the
    /// fault left was worked off. For faults that last the whole load (duplicates, poison after
    /// injection, the burst) it counts from the end of the load. `None` when that never came.
    pub recovered: Option<Duration>,
    pub dead: DeadLetters,
    /// Every broken invariant; empty means the scenario passed.
    pub violations: Vec<String>,
    /// Where the services' logs are kept (failed scenarios only).
    pub logs: Option<String>,
    pub took: Duration,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }

    /// The line of a scenario that could not even run (a service did not start...).
    pub fn broken(scenario: &str, error: &anyhow::Error, took: Duration) -> Self {
        Self {
            scenario: scenario.to_owned(),
            fault: "not run to the end".into(),
            figures: Figures::default(),
            recovered: None,
            dead: DeadLetters::default(),
            violations: vec![format!("the scenario failed: {error:#}")],
            logs: None,
            took,
        }
    }
}

/// Dead letters by queue and by reason.
#[derive(Debug, Default, Clone)]
pub struct DeadLetters {
    pub by_queue: BTreeMap<Service, usize>,
    pub by_reason: BTreeMap<String, usize>,
}

impl DeadLetters {
    pub fn count(letters: &[DeadLetter]) -> Self {
        let mut counted = Self::default();
        for letter in letters {
            *counted.by_queue.entry(letter.queue).or_insert(0) += 1;
            *counted.by_reason.entry(reason(&letter.reason)).or_insert(0) += 1;
        }
        counted
    }

    pub fn total(&self) -> usize {
        self.by_queue.values().sum()
    }
}

/// The gist of an `x-error`: `malformed payload`, `unknown version 99`, or the first words of a
/// handler's error.
fn reason(error: &str) -> String {
    let gist = error.split(':').next().unwrap_or(error);
    let gist = gist.split(" of `").next().unwrap_or(gist);
    gist.chars().take(60).collect()
}

fn seconds(duration: Duration) -> String {
    format!("{:.1}s", duration.as_secs_f64())
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let figures = &self.figures;
        let verdict = if self.passed() { "PASS" } else { "FAIL" };
        let foreign = if figures.foreign == 0 {
            String::new()
        } else {
            format!(" (+{} foreign)", figures.foreign)
        };
        write!(
            f,
            "{:<26} {verdict} | orders accepted {}{foreign} final {} stuck {} (shipped {}, \
             cancelled {}",
            self.scenario,
            figures.accepted,
            figures.final_orders,
            figures.stuck,
            figures.shipped,
            figures.cancelled_total()
        )?;
        let reasons: Vec<String> = figures
            .cancelled
            .iter()
            .map(|(reason, count)| format!("{reason} {count}"))
            .collect();
        if !reasons.is_empty() {
            write!(f, ": {}", reasons.join(", "))?;
        }
        let per_order = if figures.final_orders == 0 {
            0.0
        } else {
            figures.emails as f64 / figures.final_orders as f64
        };
        write!(
            f,
            ") | charges kept {} refunded {} standing {} | stock {} -> {} (shipped {}, restocked {}, reserved {}) \
             | emails/final order {per_order:.2} (wrong {}) | dead-lettered {}",
            figures.charges_kept,
            figures.charges_refunded,
            figures.charges_standing,
            figures.stock_before,
            figures.stock_after,
            figures.units_shipped,
            figures.units_restocked,
            figures.units_reserved,
            figures.wrong_emails,
            self.dead.total(),
        )?;
        if self.dead.total() > 0 {
            let queues: Vec<String> = self
                .dead
                .by_queue
                .iter()
                .map(|(queue, count)| format!("{queue} {count}"))
                .collect();
            let reasons: Vec<String> = self
                .dead
                .by_reason
                .iter()
                .map(|(reason, count)| format!("{reason} ×{count}"))
                .collect();
            write!(f, " ({}; {})", queues.join(", "), reasons.join(", "))?;
        }
        let recovered = self.recovered.map_or_else(|| "n/a".to_owned(), seconds);
        write!(
            f,
            " | recovered in {recovered} | fault: {} | {}",
            self.fault,
            seconds(self.took)
        )?;
        if !self.passed() {
            write!(f, " | VIOLATIONS: {}", self.violations.join("; "))?;
        }
        if let Some(logs) = &self.logs {
            write!(f, " | logs: {logs}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_cut_to_their_gist() {
        assert_eq!(
            reason("malformed payload: expected value at line 1 column 1"),
            "malformed payload"
        );
        assert_eq!(
            reason("unknown version 99 of `order.submit`"),
            "unknown version 99"
        );
    }

    #[test]
    fn a_report_with_violations_fails_and_says_why() {
        let mut report = Report::broken("kill-order", &anyhow::anyhow!("boom"), Duration::ZERO);
        assert!(!report.passed());
        assert!(report.to_string().contains("FAIL"));
        assert!(report.to_string().contains("boom"));
        report.violations.clear();
        assert!(report.to_string().contains("PASS"));
    }
}
