//! `latency.png`: one panel per section that has latency distributions, percentile on a "nines"
//! axis (0, 90, 99, 99.9, 99.99 %) against milliseconds on a log axis, the way HdrHistogram plots
//! read. Text is drawn with a typeface embedded in the binary, so no system font is needed.

use std::path::Path;

use anyhow::anyhow;
use plotters::prelude::*;

use crate::section::Section;

const WIDTH: u32 = 1600;
const HEIGHT: u32 = 720;
const FONT: &str = "sans-serif";

/// Six of Tableau's colours, distinct in print and for most colour-blind readers.
const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// Draws the distributions of `sections` into `path`; `false` (and no file) when there are none.
pub fn draw(sections: &[Section], path: &Path) -> anyhow::Result<bool> {
    let panels: Vec<&Section> = sections
        .iter()
        .filter(|s| s.distributions.iter().any(|d| !d.points.is_empty()))
        .collect();
    if panels.is_empty() {
        return Ok(false);
    }
    plotters::style::register_font(FONT, FontStyle::Normal, epaint_default_fonts::UBUNTU_LIGHT)
        .map_err(|_| anyhow!("The embedded typeface is not a font"))?;
    let root = BitMapBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error)?;
    let root = root
        .titled("Latency distributions", (FONT, 30))
        .map_err(plot_error)?;
    let areas = root.split_evenly((1, panels.len()));
    for (area, section) in areas.iter().zip(&panels) {
        panel(area, section)?;
    }
    root.present().map_err(plot_error)?;
    Ok(true)
}

fn panel(
    area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    section: &Section,
) -> anyhow::Result<()> {
    let values = section
        .distributions
        .iter()
        .flat_map(|d| d.points.iter().map(|&(_, ms)| ms));
    let (low, high) = values.fold((f64::INFINITY, 0f64), |(low, high), ms| {
        (low.min(ms), high.max(ms))
    });
    let low = 10f64.powf(low.max(0.01).log10().floor());
    let high = 10f64.powf(high.max(low * 10.0).log10().ceil());
    let mut chart = ChartBuilder::on(area)
        .caption(&section.title, (FONT, 20))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..4f64, (low..high).log_scale())
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .x_labels(5)
        .x_label_formatter(&|nines| percentile_label(*nines))
        .y_label_formatter(&|ms| format!("{ms}"))
        .x_desc("percentile")
        .y_desc("milliseconds (log)")
        .label_style((FONT, 16))
        .axis_desc_style((FONT, 18))
        .draw()
        .map_err(plot_error)?;
    for (i, distribution) in section.distributions.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let points = distribution
            .points
            .iter()
            .filter(|(p, _)| *p < 100.0)
            .map(|&(p, ms)| (nines(p), ms.max(low)));
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(3)))
            .map_err(plot_error)?
            .label(distribution.name.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(3))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FONT, 15))
        .draw()
        .map_err(plot_error)?;
    Ok(())
}

/// Percentile `p` (0–100) as "nines": 90 % is 1, 99 % is 2, 99.9 % is 3.
fn nines(p: f64) -> f64 {
    -(1.0 - p / 100.0).max(1e-6).log10()
}

/// The percentile at `nines`, as an axis label: `0%`, `90%`, `99%`, `99.9%`.
fn percentile_label(nines: f64) -> String {
    let p = 100.0 * (1.0 - 10f64.powf(-nines));
    let decimals = (nines.ceil() as usize).saturating_sub(2);
    format!("{p:.decimals$}%")
}

fn plot_error(error: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("Failed to draw the latency plot: {error}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_map_to_nines_and_back() {
        assert!((nines(99.0) - 2.0).abs() < 1e-9);
        assert!(nines(0.0).abs() < 1e-9);
        assert_eq!(percentile_label(0.0), "0%");
        assert_eq!(percentile_label(1.0), "90%");
        assert_eq!(percentile_label(2.0), "99%");
        assert_eq!(percentile_label(3.0), "99.9%");
        assert_eq!(percentile_label(4.0), "99.99%");
    }
}
