//! `anomaly eval --report DIR`: a markdown summary of every detector, and
//! for each detector and file an SVG of the series with the windows shaded
//! and the detections marked, to see why a detector missed or over-fired.

use super::Evaluation;
use super::corpus::LabelledSeries;
use super::table;
use anyhow::Context;
use plotters::prelude::*;
use std::fmt::Write as _;
use std::path::Path;

const WIDTH: u32 = 1200;
const HEIGHT: u32 = 360;
/// Values beyond this magnitude are drawn at the chart's edge: wider ranges
/// overflow plotters' tick arithmetic.
const AXIS_LIMIT: f64 = f64::MAX / 8.0;

/// Writes `dir/README.md` and `dir/<detector>/<file>.svg`.
pub fn write_report(dir: &Path, corpus: &[LabelledSeries], evaluations: &[Evaluation]) -> anyhow::Result<()> {
    let mut summary = String::from("# Evaluation\n\n");
    summary += &table::render(evaluations, true);
    for evaluation in evaluations {
        let folder = dir.join(&evaluation.slug);
        std::fs::create_dir_all(&folder).with_context(|| format!("creating {}", folder.display()))?;
        let _ = write!(
            summary,
            "\n## {}\n\nAt the standard threshold.\n\n| file | windows found | false positives | raw score | highest score after probation (row, on the anomaly) |\n|---|---|---|---|---|\n",
            evaluation.detector
        );
        for (series, file) in corpus.iter().zip(&evaluation.files) {
            let svg_name = format!("{}.svg", series.name.replace('/', "__"));
            let svg = plot(series, &file.detections).map_err(|e| anyhow::anyhow!("plotting {}: {e}", series.name))?;
            std::fs::write(folder.join(&svg_name), svg).with_context(|| format!("writing {svg_name}"))?;
            let _ = writeln!(
                summary,
                "| [{}]({}/{svg_name}) | {} / {} | {} | {:.2} | {} |",
                series.name,
                evaluation.slug,
                file.raw.found,
                file.raw.windows,
                file.raw.false_positives,
                file.raw.score,
                match (file.top1, series.anomaly) {
                    (Some((row, solved)), Some((begin, end))) => format!(
                        "{} ({}; anomaly {}-{})",
                        row + 1,
                        if solved { "yes" } else { "no" },
                        begin + 1,
                        end + 1
                    ),
                    _ => "-".to_owned(),
                }
            );
        }
    }
    let file = dir.join("README.md");
    std::fs::write(&file, summary).with_context(|| format!("writing {}", file.display()))
}

/// The series by row, windows shaded, detections as red dots.
pub fn plot(series: &LabelledSeries, detections: &[usize]) -> Result<String, Box<dyn std::error::Error>> {
    let values: Vec<f64> = series.values.iter().map(|v| v.clamp(-AXIS_LIMIT, AXIS_LIMIT)).collect();
    let (mut low, mut high) = values.iter().fold((f64::MAX, f64::MIN), |(l, h), v| (l.min(*v), h.max(*v)));
    if values.is_empty() {
        (low, high) = (0.0, 1.0);
    }
    let pad = ((high - low) * 0.05).max(high.abs() * 1e-9).max(1e-9);
    let (low, high) = ((low - pad).max(-AXIS_LIMIT * 2.0), (high + pad).min(AXIS_LIMIT * 2.0));
    let rows = values.len().max(2);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(&series.name, ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(70)
            .build_cartesian_2d(0..rows - 1, low..high)?;
        chart.configure_mesh().x_desc("row").light_line_style(WHITE.mix(0.0)).draw()?;
        chart.draw_series(
            series
                .windows
                .iter()
                .map(|&(l, r)| Rectangle::new([(l, low), (r, high)], RGBColor(255, 200, 80).mix(0.35).filled())),
        )?;
        chart.draw_series(LineSeries::new(envelope(&values), BLUE))?;
        chart.draw_series(
            detections.iter().filter_map(|&i| values.get(i).map(|v| Circle::new((i, *v), 3, RED.filled()))),
        )?;
        root.present()?;
    }
    Ok(svg)
}

/// The line's points: all of them for a short series, else the minimum
/// and maximum of each run of rows narrower than a pixel, so no spike is lost.
fn envelope(values: &[f64]) -> Vec<(usize, f64)> {
    let run = (values.len() / WIDTH as usize).max(1);
    let mut points = Vec::with_capacity(2 * values.len() / run + 2);
    for (chunk_index, chunk) in values.chunks(run).enumerate() {
        let at = |(i, v): (usize, &f64)| (chunk_index * run + i, *v);
        let min = chunk.iter().enumerate().min_by(|a, b| a.1.total_cmp(b.1)).map(at);
        let max = chunk.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map(at);
        if let (Some(min), Some(max)) = (min, max) {
            let (first, second) = if min.0 <= max.0 { (min, max) } else { (max, min) };
            points.push(first);
            if second.0 != first.0 {
                points.push(second);
            }
        }
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plots_windows_detections_and_extreme_values() {
        let values = (0..100)
            .map(|i| {
                if i == 50 {
                    f64::MAX
                } else if i == 51 {
                    -f64::MAX
                } else {
                    1.0
                }
            })
            .collect();
        let series = LabelledSeries::nab("cat/x.csv".into(), (0..100).collect(), values, vec![(45, 55)]);
        let svg = plot(&series, &[50]).expect("draws");
        assert!(svg.contains("<svg") && svg.contains("<circle"), "{svg}");
        let flat = LabelledSeries { values: vec![3.0; 100], ..series };
        assert!(plot(&flat, &[]).expect("draws a flat series").contains("<svg"));
    }
}
