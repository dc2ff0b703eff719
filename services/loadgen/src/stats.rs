//! Latency histograms (HdrHistogram, microsecond resolution, three significant digits).

use std::time::Duration;

use hdrhistogram::Histogram;

/// Latencies of one kind, e.g. POST → confirmed in the open loop.
pub struct Latencies(Histogram<u64>);

impl Default for Latencies {
    fn default() -> Self {
        Self(Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds"))
    }
}

impl Latencies {
    pub fn record(&mut self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.0.saturating_record(micros.max(1));
    }

    pub fn len(&self) -> u64 {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The latency at percentile `p` (0–100), in milliseconds; `max` at 100.
    pub fn ms(&self, p: f64) -> f64 {
        if p >= 100.0 {
            return self.0.max() as f64 / 1_000.0;
        }
        self.0.value_at_quantile(p / 100.0) as f64 / 1_000.0
    }

    /// `p50 / p90 / p99 / max` in milliseconds, for a table cell or a line.
    pub fn brief(&self) -> [f64; 4] {
        [self.ms(50.0), self.ms(90.0), self.ms(99.0), self.ms(100.0)]
    }

    /// The distribution as `(percentile, ms)` points, evenly spaced in "nines" up to 99.99.
    pub fn points(&self) -> Vec<(f64, f64)> {
        if self.is_empty() {
            return Vec::new();
        }
        (0..=80)
            .map(|step| {
                let nines = f64::from(step) / 20.0;
                let p = 100.0 * (1.0 - 10f64.powf(-nines));
                (p, self.ms(p))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_read_in_milliseconds() {
        let mut latencies = Latencies::default();
        for ms in 1..=100 {
            latencies.record(Duration::from_millis(ms));
        }
        assert_eq!(latencies.len(), 100);
        assert!((latencies.ms(50.0) - 50.0).abs() < 0.1);
        assert!((latencies.ms(99.0) - 99.0).abs() < 0.1);
        assert!((latencies.ms(100.0) - 100.0).abs() < 0.1);
    }

    #[test]
    fn points_climb_in_nines_up_to_four() {
        let mut latencies = Latencies::default();
        latencies.record(Duration::from_millis(3));
        let points = latencies.points();
        assert_eq!(points.first().map(|p| p.0), Some(0.0));
        let last = points.last().expect("points").0;
        assert!((last - 99.99).abs() < 1e-9, "{last}");
    }

    #[test]
    fn an_empty_histogram_has_no_points() {
        assert!(Latencies::default().points().is_empty());
    }
}
