//! Drawing a model version as SVG: the training points over time, the mean,
//! the `±k·std` band and the points the model flags. Long series are
//! reduced to a min/max envelope per pixel column before drawing, so the SVG
//! stays small whatever the series length.

use anomaly_core::{Detector, ModelRecord};
use chrono::DateTime;
use plotters::prelude::*;

const WIDTH: u32 = 960;
const HEIGHT: u32 = 480;
/// Above this many points, the line is drawn from per-column min/max.
const MAX_LINE_POINTS: usize = 2 * WIDTH as usize;
/// At most this many flagged points are marked.
const MAX_MARKERS: usize = 2000;

/// What to draw.
pub struct PlotInput<'a> {
    /// The model version.
    pub record: &'a ModelRecord,
    /// Training timestamps, Unix seconds, ascending.
    pub timestamps: &'a [i64],
    /// Training values.
    pub values: &'a [f64],
}

/// Renders the plot as an SVG document.
pub fn render_svg(input: &PlotInput<'_>) -> Result<String, String> {
    let mut svg = String::new();
    draw(input, &mut svg).map_err(|e| format!("plot: {e}"))?;
    Ok(svg)
}

fn draw(input: &PlotInput<'_>, svg: &mut String) -> Result<(), Box<dyn std::error::Error>> {
    let params = &input.record.params;
    let detector = params.detector()?;
    let band = params.threshold * params.std;
    let (lower, upper) = (params.mean - band, params.mean + band);
    let (x0, x1) = x_range(input.timestamps);
    let (y0, y1) = y_range(input.values, lower, upper);

    let root = SVGBackend::with_string(svg, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let title = format!("{} {} ({} points)", input.record.series_id, input.record.version, input.values.len());
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(80)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    let span = x1 - x0;
    chart
        .configure_mesh()
        .x_labels(6)
        .y_labels(8)
        .x_label_formatter(&|t| time_label(*t, span))
        .x_desc("time (UTC)")
        .y_desc("value")
        .light_line_style(WHITE.mix(0.0))
        .draw()?;

    let band_color = RGBColor(120, 170, 255).mix(0.25);
    let band_label = format!("mean ± {}·std", params.threshold);
    chart
        .draw_series(std::iter::once(Rectangle::new([(x0, lower), (x1, upper)], band_color.filled())))?
        .label(band_label)
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 16, y + 5)], band_color.filled()));
    let mean_color = RGBColor(40, 90, 200);
    chart
        .draw_series(LineSeries::new([(x0, params.mean), (x1, params.mean)], mean_color.stroke_width(2)))?
        .label("mean")
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], mean_color.stroke_width(2)));
    let line_color = RGBColor(60, 60, 60);
    chart
        .draw_series(LineSeries::new(line_points(input.timestamps, input.values), line_color))?
        .label("training data")
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], line_color));
    let flagged: Vec<(i64, f64)> = input
        .timestamps
        .iter()
        .zip(input.values)
        .filter(|(_, v)| detector.evaluate(**v).anomaly)
        .map(|(t, v)| (*t, *v))
        .collect();
    let step = flagged.len().div_ceil(MAX_MARKERS).max(1);
    chart
        .draw_series(flagged.iter().step_by(step).map(|p| Circle::new(*p, 4, RED.filled())))?
        .label(format!("outside the band ({})", flagged.len()))
        .legend(|(x, y)| Circle::new((x + 8, y), 4, RED.filled()));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .draw()?;
    root.present()?;
    Ok(())
}

fn x_range(timestamps: &[i64]) -> (i64, i64) {
    match (timestamps.first(), timestamps.last()) {
        (Some(&first), Some(&last)) if last > first => (first, last),
        (Some(&only), _) => (only.saturating_sub(60), only.saturating_add(60)),
        _ => (0, 60),
    }
}

fn y_range(values: &[f64], lower: f64, upper: f64) -> (f64, f64) {
    let lo = values.iter().copied().fold(lower, f64::min);
    let hi = values.iter().copied().fold(upper, f64::max);
    let pad = ((hi - lo) * 0.05).max(f64::EPSILON * hi.abs().max(1.0));
    (lo - pad, hi + pad)
}

/// The line to draw: every point when few, else the min and max of each
/// pixel column in time order.
fn line_points(timestamps: &[i64], values: &[f64]) -> Vec<(i64, f64)> {
    if values.len() <= MAX_LINE_POINTS {
        return timestamps.iter().copied().zip(values.iter().copied()).collect();
    }
    let columns = WIDTH as usize;
    let per_column = values.len().div_ceil(columns);
    let mut points = Vec::with_capacity(2 * columns);
    for (ts, vs) in timestamps.chunks(per_column).zip(values.chunks(per_column)) {
        let (mut min_i, mut max_i) = (0, 0);
        for (i, v) in vs.iter().enumerate() {
            if *v < vs[min_i] {
                min_i = i;
            }
            if *v > vs[max_i] {
                max_i = i;
            }
        }
        let (a, b) = (min_i.min(max_i), min_i.max(max_i));
        points.push((ts[a], vs[a]));
        if b != a {
            points.push((ts[b], vs[b]));
        }
    }
    points
}

/// A time label with as much detail as the plotted span needs.
fn time_label(unix_seconds: i64, span_seconds: i64) -> String {
    let format = match span_seconds {
        s if s <= 2 * 86_400 => "%m-%d %H:%M",
        s if s <= 400 * 86_400 => "%Y-%m-%d",
        _ => "%Y-%m",
    };
    DateTime::from_timestamp(unix_seconds, 0).map(|t| t.format(format).to_string()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use anomaly_core::{Direction, ModelParams, ModelVersion, SeriesId};

    fn record(mean: f64, std: f64) -> ModelRecord {
        ModelRecord {
            series_id: SeriesId::parse("cpu").expect("valid"),
            version: ModelVersion::new(2).expect("valid"),
            params: ModelParams { mean, std, threshold: 3.0, direction: Direction::TwoSided, points_used: 0 },
            trained_at_ms: 0,
        }
    }

    #[test]
    fn draws_band_line_and_flagged_points() {
        let timestamps: Vec<i64> = (0..20).map(|i| 1_609_459_200 + 60 * i).collect();
        let mut values = vec![10.0; 20];
        values[7] = 100.0;
        let record = record(10.0, 1.0);
        let svg =
            render_svg(&PlotInput { record: &record, timestamps: &timestamps, values: &values }).expect("renders");
        assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
        assert!(svg.contains("cpu v2 (20 points)"));
        assert!(svg.contains("outside the band (1)"));
        assert_eq!(svg.matches("<circle").count(), 2, "one marker plus its legend swatch");
    }

    #[test]
    fn a_million_points_stay_small() {
        let timestamps: Vec<i64> = (0..1_000_000).collect();
        let values: Vec<f64> = (0..1_000_000).map(|i| (i as f64 / 1000.0).sin() * 1e9).collect();
        let record = record(0.0, 0.7e9);
        let svg =
            render_svg(&PlotInput { record: &record, timestamps: &timestamps, values: &values }).expect("renders");
        assert!(svg.len() < 200_000, "svg is {} bytes", svg.len());
    }
}
