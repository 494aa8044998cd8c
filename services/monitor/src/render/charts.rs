//! Small per-minute time-series charts for the overview, drawn by plotters
//! as SVG: one or more lines over the last hour, a time axis in UTC, a
//! legend, and a note when there is nothing to draw yet.

use super::plot::{on_axis, value_label};
use chrono::DateTime;
use plotters::prelude::*;

const WIDTH: u32 = 560;
const HEIGHT: u32 = 240;

/// One line of a chart: its name, colour and (Unix minute, value) points.
pub struct Line {
    /// Legend text.
    pub name: &'static str,
    /// Colour.
    pub color: RGBColor,
    /// The points, in minute order.
    pub points: Vec<(i64, f64)>,
}

/// Draws `lines` over the minutes `first..=last` as an SVG document.
pub fn minute_chart(title: &str, unit: &str, first: i64, last: i64, lines: &[Line]) -> Result<String, String> {
    let mut svg = String::new();
    draw(title, unit, first, last.max(first + 1), lines, &mut svg).map_err(|e| format!("chart: {e}"))?;
    Ok(svg)
}

fn draw(
    title: &str,
    unit: &str,
    first: i64,
    last: i64,
    lines: &[Line],
    svg: &mut String,
) -> Result<(), Box<dyn std::error::Error>> {
    let highest = lines.iter().flat_map(|l| l.points.iter().map(|p| on_axis(p.1))).fold(0.0, f64::max);
    let top = if highest > 0.0 { highest * 1.15 } else { 1.0 };
    let root = SVGBackend::with_string(svg, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(28)
        .y_label_area_size(58)
        .build_cartesian_2d(first..last, 0.0..top)?;
    chart
        .configure_mesh()
        .x_labels(6)
        .y_labels(5)
        .x_label_formatter(&|minute| {
            DateTime::from_timestamp(minute * 60, 0).map(|t| t.format("%H:%M").to_string()).unwrap_or_default()
        })
        .y_label_formatter(&|v| value_label(*v, top))
        .y_desc(unit)
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    if lines.iter().all(|l| l.points.is_empty()) {
        let (x, y) = (WIDTH as i32 / 2 - 40, HEIGHT as i32 / 2);
        root.draw(&Text::new("no data yet", (x, y), ("sans-serif", 14).into_font().color(&RGBColor(140, 140, 140))))?;
    }
    for line in lines {
        let color = line.color;
        chart
            .draw_series(LineSeries::new(line.points.iter().map(|p| (p.0, on_axis(p.1))), color.stroke_width(2)))?
            .label(line.name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 14, y)], color.stroke_width(2)));
        // Single minutes would be invisible as a line: mark every point.
        chart.draw_series(line.points.iter().map(|p| Circle::new((p.0, on_axis(p.1)), 2, color.filled())))?;
    }
    if lines.len() > 1 || lines.iter().any(|l| !l.points.is_empty()) {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.2))
            .draw()?;
    }
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_lines_and_an_empty_chart() {
        let line = Line { name: "p95", color: RGBColor(200, 0, 0), points: vec![(100, 1.5), (101, 2.5)] };
        let svg = minute_chart("Predict latency", "ms", 90, 101, &[line]).expect("renders");
        assert!(svg.starts_with("<svg") && svg.contains("p95") && svg.contains("Predict latency"));
        let empty = minute_chart("Fits", "per minute", 90, 101, &[]).expect("renders");
        assert!(empty.contains("no data yet"));
        let line = Line { name: "p50", color: RGBColor(0, 0, 0), points: vec![(100, 0.02)] };
        let small = minute_chart("Predict latency", "ms", 90, 101, &[line]).expect("renders");
        for tick in ["0.015", "0.010", "0.005"] {
            assert!(small.contains(tick), "distinct small ticks: {tick}: {small}");
        }
    }

    #[test]
    fn the_largest_values_draw() {
        let line = Line { name: "calls", color: RGBColor(0, 0, 0), points: vec![(100, f64::MAX), (101, 1.0)] };
        let svg = minute_chart("Calls", "calls", 90, 101, &[line]).expect("renders");
        assert!(svg.starts_with("<svg") && !svg.contains("NaN") && !svg.contains("inf"));
    }
}
