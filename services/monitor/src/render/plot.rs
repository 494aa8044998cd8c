//! Drawing a model version as SVG: the training points over time, the mean,
//! the `±k·std` band and the points the model flags, and optionally recent
//! predictions over the same band. Long series are
//! reduced to a min/max envelope per pixel column before drawing, so the SVG
//! stays small whatever the series length.

use anomaly_core::ModelRecord;
use chrono::DateTime;
use plotters::prelude::*;

const WIDTH: u32 = 960;
const HEIGHT: u32 = 480;
/// Above this many points, the line is drawn from per-column min/max.
const MAX_LINE_POINTS: usize = 2 * WIDTH as usize;
/// Empty space above the data, as a share of its range, where the legend sits.
const LEGEND_HEADROOM: f64 = 0.45;
/// At most this many flagged points are marked.
const MAX_MARKERS: usize = 2000;
/// The largest magnitude the value axis reaches. Any finite value is
/// accepted and stored, but a range whose width, padding or headroom
/// overflows f64 sends plotters' tick search into an endless loop, so
/// values beyond this are drawn at the edge of the chart.
const AXIS_LIMIT: f64 = f64::MAX / 8.0;
/// The latest time the time axis reaches, 9999-12-31T23:59:59Z: later
/// points are drawn at its edge (a wider span overflows plotters' tick
/// arithmetic, and no label could name such a time anyway).
const TIME_LIMIT: i64 = 253_402_300_799;

/// What to draw.
pub struct PlotInput<'a> {
    /// The model version.
    pub record: &'a ModelRecord,
    /// Training timestamps, Unix seconds, ascending.
    pub timestamps: &'a [i64],
    /// Training values.
    pub values: &'a [f64],
    /// Recent predictions to draw over the band: (Unix seconds, value, anomaly).
    pub predictions: &'a [(i64, f64, bool)],
}

/// Renders the plot as an SVG document.
pub fn render_svg(input: &PlotInput<'_>) -> Result<String, String> {
    let mut svg = String::new();
    draw(input, &mut svg).map_err(|e| format!("plot: {e}"))?;
    Ok(svg)
}

fn draw(input: &PlotInput<'_>, svg: &mut String) -> Result<(), Box<dyn std::error::Error>> {
    let params = &input.record.params;
    let band = params.threshold() * params.std;
    let (mean, lower, upper) = (on_axis(params.mean), on_axis(params.mean - band), on_axis(params.mean + band));
    let predicted_times = input.predictions.iter().map(|p| p.0);
    let (x0, x1) = x_range(input.timestamps.iter().copied().chain(predicted_times).map(|t| t.clamp(0, TIME_LIMIT)));
    let predicted_values = input.predictions.iter().map(|p| p.1);
    let (y0, y1) = y_range(input.values.iter().copied().chain(predicted_values), lower, upper);

    let root = SVGBackend::with_string(svg, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let title = format!("{} {} ({} points)", input.record.series_id, input.record.version, input.values.len());
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(100)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    let (span, value_span) = (x1 - x0, y1 - y0);
    chart
        .configure_mesh()
        .x_labels(6)
        .y_labels(8)
        .x_label_formatter(&|t| time_label(*t, span))
        .y_label_formatter(&|v| value_label(*v, value_span))
        .x_desc("time (UTC)")
        .y_desc("value")
        .light_line_style(WHITE.mix(0.0))
        .draw()?;

    let band_color = RGBColor(120, 170, 255).mix(0.25);
    let band_label = format!("mean ± {}·std", params.threshold());
    chart
        .draw_series(std::iter::once(Rectangle::new([(x0, lower), (x1, upper)], band_color.filled())))?
        .label(band_label)
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 16, y + 5)], band_color.filled()));
    let mean_color = RGBColor(40, 90, 200);
    chart
        .draw_series(LineSeries::new([(x0, mean), (x1, mean)], mean_color.stroke_width(2)))?
        .label("mean")
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], mean_color.stroke_width(2)));
    let line_color = RGBColor(60, 60, 60);
    chart
        .draw_series(LineSeries::new(line_points(input.timestamps, input.values), line_color))?
        .label("training data")
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], line_color));
    let flags = params.model.flag_training(input.timestamps, input.values);
    let flagged: Vec<(i64, f64)> = input
        .timestamps
        .iter()
        .zip(input.values)
        .zip(flags)
        .filter(|(_, flagged)| *flagged)
        .map(|((t, v), _)| on_chart(*t, *v))
        .collect();
    let step = flagged.len().div_ceil(MAX_MARKERS).max(1);
    chart
        .draw_series(flagged.iter().step_by(step).map(|p| Circle::new(*p, 4, RED.filled())))?
        .label(match params.model.kind() {
            "three_sigma" => format!("outside the band ({})", flagged.len()),
            kind => format!("flagged by {kind} ({})", flagged.len()),
        })
        .legend(|(x, y)| Circle::new((x + 8, y), 4, RED.filled()));
    if !input.predictions.is_empty() {
        draw_predictions(&mut chart, input.predictions)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .draw()?;
    root.present()?;
    Ok(())
}

type Chart<'a, 'b> = ChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordi64, plotters::coord::types::RangedCoordf64>,
>;

/// Recent predictions: small dots, anomalous ones as larger red-ringed marks.
fn draw_predictions(
    chart: &mut Chart<'_, '_>,
    predictions: &[(i64, f64, bool)],
) -> Result<(), Box<dyn std::error::Error>> {
    let normal_color = RGBColor(30, 140, 80);
    let step = predictions.len().div_ceil(MAX_MARKERS).max(1);
    let normal = predictions.iter().filter(|p| !p.2).step_by(step);
    chart
        .draw_series(normal.map(|p| Circle::new(on_chart(p.0, p.1), 3, normal_color.filled())))?
        .label("prediction")
        .legend(move |(x, y)| Circle::new((x + 8, y), 3, normal_color.filled()));
    let anomalous: Vec<_> = predictions.iter().filter(|p| p.2).collect();
    let anomaly_color = RGBColor(200, 0, 0);
    chart
        .draw_series(
            anomalous.iter().step_by(step).map(|p| TriangleMarker::new(on_chart(p.0, p.1), 7, anomaly_color.filled())),
        )?
        .label(format!("anomalous prediction ({})", anomalous.len()))
        .legend(move |(x, y)| TriangleMarker::new((x + 8, y), 6, anomaly_color.filled()));
    Ok(())
}

fn x_range(timestamps: impl Iterator<Item = i64>) -> (i64, i64) {
    let (first, last) = timestamps.fold((i64::MAX, i64::MIN), |(lo, hi), t| (lo.min(t), hi.max(t)));
    match (first, last) {
        (first, last) if last > first => (first, last),
        (only, _) if only != i64::MAX => (only.saturating_sub(60), only.saturating_add(60)),
        _ => (0, 60),
    }
}

/// `value` where the chart draws it: within ±[`AXIS_LIMIT`].
pub(crate) fn on_axis(value: f64) -> f64 {
    value.clamp(-AXIS_LIMIT, AXIS_LIMIT)
}

/// A point where the chart draws it.
fn on_chart(unix_seconds: i64, value: f64) -> (i64, f64) {
    (unix_seconds.clamp(0, TIME_LIMIT), on_axis(value))
}

/// The value axis: the data and the band, padded, with headroom for the
/// legend; finite and of finite width for any input.
fn y_range(values: impl Iterator<Item = f64>, lower: f64, upper: f64) -> (f64, f64) {
    let (lo, hi) = values.map(on_axis).fold((lower, upper), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let pad = ((hi - lo) * 0.05).max(f64::EPSILON * hi.abs().max(1.0));
    // Headroom above the data for the legend, so it never covers a point.
    (lo - pad, hi + pad + (hi - lo) * LEGEND_HEADROOM)
}

/// The line to draw: every point when few, else the min and max of each
/// pixel column in time order.
fn line_points(timestamps: &[i64], values: &[f64]) -> Vec<(i64, f64)> {
    if values.len() <= MAX_LINE_POINTS {
        return timestamps.iter().zip(values).map(|(t, v)| on_chart(*t, *v)).collect();
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
        points.push(on_chart(ts[a], vs[a]));
        if b != a {
            points.push(on_chart(ts[b], vs[b]));
        }
    }
    points
}

/// A value label with as many decimals as the plotted span needs; large
/// magnitudes in scientific notation when that still tells ticks apart.
pub(crate) fn value_label(value: f64, span: f64) -> String {
    let step = (span / 8.0).abs().max(f64::MIN_POSITIVE);
    if value.abs() >= 1e7 && step >= value.abs() * 1e-3 {
        return format!("{value:.2e}");
    }
    let decimals = (-step.log10()).ceil().clamp(0.0, 9.0) as usize;
    format!("{value:.decimals$}")
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
            params: ModelParams::three_sigma(mean, std, 3.0, Direction::TwoSided, 0).expect("valid"),
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
            render_svg(&PlotInput { record: &record, timestamps: &timestamps, values: &values, predictions: &[] })
                .expect("renders");
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
        let predictions: Vec<_> = (0..100_000).map(|i| (i * 10, 1e9, i % 100 == 0)).collect();
        let svg = render_svg(&PlotInput {
            record: &record,
            timestamps: &timestamps,
            values: &values,
            predictions: &predictions,
        })
        .expect("renders");
        assert!(svg.len() < 400_000, "svg is {} bytes", svg.len());
        assert!(svg.matches("<circle").count() <= MAX_MARKERS + 10);
    }

    #[test]
    fn one_and_three_points_and_predictions_render() {
        let record = record(10.0, 1.0);
        for n in [1, 3] {
            let timestamps: Vec<i64> = (0..n).map(|i| 1_609_459_200 + 60 * i).collect();
            let values: Vec<f64> = (0..n).map(|i| 9.0 + i as f64).collect();
            let predictions = [(1_609_459_500, 10.2, false), (1_609_459_560, 30.0, true)];
            let svg = render_svg(&PlotInput {
                record: &record,
                timestamps: &timestamps,
                values: &values,
                predictions: &predictions,
            })
            .expect("renders");
            assert!(svg.contains(&format!("({n} points)")), "{n}");
            assert!(svg.contains("anomalous prediction (1)"), "{n}");
            assert!(!svg.contains("NaN") && !svg.contains("inf"), "{n}");
        }
    }

    #[test]
    fn huge_values_with_a_small_spread_get_distinct_labels() {
        assert_eq!(value_label(1_000_000_001.5, 0.8), "1000000001.5");
        assert_eq!(value_label(3.2e12, 4e12), "3.20e12");
        assert_eq!(value_label(0.000_012, 0.000_008), "0.000012");
        let record = record(1e9, 0.5);
        let timestamps = [0, 60, 120];
        let values = [1e9 - 0.5, 1e9, 1e9 + 0.5];
        let svg =
            render_svg(&PlotInput { record: &record, timestamps: &timestamps, values: &values, predictions: &[] })
                .expect("renders");
        assert!(svg.contains("1000000000.0"), "ticks keep their decimals");
    }
}

#[cfg(test)]
mod hostile_values {
    use super::*;
    use anomaly_core::{Direction, ModelParams, ModelVersion, SeriesId};
    use std::sync::mpsc;
    use std::time::Duration;

    fn record(mean: f64, std: f64, threshold: f64) -> ModelRecord {
        ModelRecord {
            series_id: SeriesId::parse("p1").expect("valid"),
            version: ModelVersion::new(1).expect("valid"),
            params: ModelParams::three_sigma(mean, std, threshold, Direction::TwoSided, 3).expect("valid"),
            trained_at_ms: 0,
        }
    }

    /// Renders on a thread of its own and fails, instead of hanging the
    /// test run, when drawing does not end within a few seconds.
    fn renders_in_time(
        record: ModelRecord,
        timestamps: Vec<i64>,
        values: Vec<f64>,
        predictions: Vec<(i64, f64, bool)>,
    ) {
        let (done, finished) = mpsc::channel();
        std::thread::spawn(move || {
            let svg = render_svg(&PlotInput {
                record: &record,
                timestamps: &timestamps,
                values: &values,
                predictions: &predictions,
            });
            let _ = done.send(svg);
        });
        let svg =
            finished.recv_timeout(Duration::from_secs(10)).expect("the chart is drawn within 10 s").expect("renders");
        assert!(svg.starts_with("<svg"));
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "no non-finite coordinate in the SVG");
    }

    #[test]
    fn extreme_predictions_draw() {
        let (ts, vs) = (vec![0, 60, 120], vec![9.0, 10.0, 11.0]);
        renders_in_time(record(10.0, 1.0, 3.0), ts.clone(), vs.clone(), vec![(180, f64::MAX, true)]);
        renders_in_time(record(10.0, 1.0, 3.0), ts, vs, vec![(180, 1e308, true), (240, -1e308, true)]);
    }

    #[test]
    fn a_huge_threshold_draws() {
        renders_in_time(record(10.0, 1.0, 1e308), vec![0, 60, 120], vec![9.0, 10.0, 11.0], Vec::new());
        renders_in_time(record(0.0, 1e300, 1e10), vec![0, 60], vec![-1e300, 1e300], Vec::new());
    }

    #[test]
    fn extreme_training_values_and_times_draw() {
        renders_in_time(record(0.0, f64::MAX, 3.0), vec![0, 1], vec![-f64::MAX, f64::MAX], Vec::new());
        renders_in_time(record(5e-324, 5e-324, 3.0), vec![0, i64::MAX], vec![5e-324, 1e-323], Vec::new());
        renders_in_time(record(1e-300, 1e-310, 3.0), vec![i64::MAX - 1, i64::MAX], vec![0.0, 1e-300], Vec::new());
    }
}
