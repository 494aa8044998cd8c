//! The series page's history chart: the stream's stored points over a time
//! range, drawn from per-bucket summaries (a min/max band and the mean
//! line), its anomalies marked (each a link to its row on the page), and a
//! fitted 3-sigma model's band. Written as SVG by hand: links and hover
//! titles are what plotters does not draw. Every coordinate is computed
//! from halves of the values, so values up to ±`f64::MAX` neither overflow
//! nor leave the chart.

use std::fmt::Write;

const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 84.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 26.0;

/// One bucket of points: its time range and values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChartBucket {
    /// First Unix second.
    pub from: i64,
    /// Last Unix second.
    pub to: i64,
    /// Lowest value.
    pub min: f64,
    /// Highest value.
    pub max: f64,
    /// Mean.
    pub mean: f64,
}

/// What the chart shows.
#[derive(Debug, Clone, Default)]
pub struct HistoryChart {
    /// The range drawn, Unix seconds.
    pub from: i64,
    /// Its end.
    pub to: i64,
    /// The buckets holding points, oldest first.
    pub buckets: Vec<ChartBucket>,
    /// The anomalies in the range: (time, value, their row's anchor, a title).
    pub anomalies: Vec<(i64, f64, String, String)>,
    /// The expected band of the detector, when it has one: (low, high).
    pub band: Option<(f64, f64)>,
    /// Labels of the range's ends and of the value axis' ends.
    pub labels: ChartLabels,
}

/// The texts on the axes.
#[derive(Debug, Clone, Default)]
pub struct ChartLabels {
    /// Under the left end.
    pub from: String,
    /// Under the right end.
    pub to: String,
    /// Formats a value for the value axis.
    pub value: Option<fn(f64) -> String>,
}

/// The chart's SVG (the page puts it inside a `div.plot`).
pub fn history_svg(chart: &HistoryChart) -> String {
    let finite = |v: &f64| v.is_finite();
    let values = chart
        .buckets
        .iter()
        .flat_map(|b| [b.min, b.max])
        .chain(chart.anomalies.iter().map(|a| a.1))
        .chain(chart.band.into_iter().flat_map(|(low, high)| [low, high]))
        .filter(finite);
    let (mut low, mut high) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| (l.min(v), h.max(v)));
    if low > high {
        (low, high) = (0.0, 1.0);
    }
    if low == high {
        let pad = if low == 0.0 { 1.0 } else { low.abs() / 2.0 };
        (low, high) = (low - pad, high + pad);
    }
    let scale = Scale { from: chart.from, to: chart.to.max(chart.from + 1), low, high };
    let mut svg = String::with_capacity(4096 + chart.buckets.len() * 40);
    let _ = write!(
        svg,
        r#"<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="The series' stored points"><rect class="frame" x="{LEFT}" y="{TOP}" width="{}" height="{}"/>"#,
        WIDTH - LEFT - RIGHT,
        HEIGHT - TOP - BOTTOM
    );
    if let Some((band_low, band_high)) = chart.band.filter(|(l, h)| l.is_finite() && h.is_finite()) {
        for edge in [band_low, band_high] {
            let y = scale.y(edge);
            let _ =
                write!(svg, r#"<line class="expected" x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}"/>"#, WIDTH - RIGHT);
        }
    }
    if !chart.buckets.is_empty() {
        let centre = |b: &ChartBucket| scale.x(b.from / 2 + b.to / 2 + (b.from % 2 + b.to % 2) / 2);
        svg.push_str(r#"<polygon class="range" points=""#);
        for b in &chart.buckets {
            let _ = write!(svg, "{:.1},{:.1} ", centre(b), scale.y(b.max));
        }
        for b in chart.buckets.iter().rev() {
            let _ = write!(svg, "{:.1},{:.1} ", centre(b), scale.y(b.min));
        }
        svg.push_str(r#""/><polyline class="mean" points=""#);
        for b in &chart.buckets {
            let _ = write!(svg, "{:.1},{:.1} ", centre(b), scale.y(b.mean));
        }
        svg.push_str(r#""/>"#);
    }
    for (timestamp, value, anchor, title) in &chart.anomalies {
        let _ = write!(
            svg,
            r##"<a href="#{}"><circle class="anomaly" cx="{:.1}" cy="{:.1}" r="4"><title>{}</title></circle></a>"##,
            escape(anchor),
            scale.x(*timestamp),
            scale.y(*value),
            escape(title)
        );
    }
    let value_label = chart.labels.value.unwrap_or(|v| format!("{v:.4e}"));
    let _ = write!(
        svg,
        r#"<text class="axis" x="{}" y="{}" text-anchor="end">{}</text><text class="axis" x="{}" y="{}" text-anchor="end">{}</text>"#,
        LEFT - 6.0,
        TOP + 10.0,
        escape(&value_label(high)),
        LEFT - 6.0,
        HEIGHT - BOTTOM,
        escape(&value_label(low))
    );
    let _ = write!(
        svg,
        r#"<text class="axis" x="{LEFT}" y="{}">{}</text><text class="axis" x="{}" y="{}" text-anchor="end">{}</text></svg>"#,
        HEIGHT - 8.0,
        escape(&chart.labels.from),
        WIDTH - RIGHT,
        HEIGHT - 8.0,
        escape(&chart.labels.to)
    );
    svg
}

/// From times and values to chart coordinates, clamped into the plot.
struct Scale {
    from: i64,
    to: i64,
    low: f64,
    high: f64,
}

impl Scale {
    fn x(&self, timestamp: i64) -> f64 {
        let share = (i128::from(timestamp) - i128::from(self.from)) as f64
            / (i128::from(self.to) - i128::from(self.from)) as f64;
        LEFT + share.clamp(0.0, 1.0) * (WIDTH - LEFT - RIGHT)
    }

    fn y(&self, value: f64) -> f64 {
        let share = (self.high / 2.0 - value / 2.0) / (self.high / 2.0 - self.low / 2.0);
        TOP + if share.is_nan() { 0.5 } else { share.clamp(0.0, 1.0) } * (HEIGHT - TOP - BOTTOM)
    }
}

/// Text safe inside SVG elements and attributes.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every drawn coordinate: of circles, lines and polygons.
    fn coordinates(svg: &str) -> Vec<f64> {
        let mut found = Vec::new();
        for attribute in ["cx=\"", "cy=\"", "y1=\"", "y2=\"", "points=\""] {
            for part in svg.split(attribute).skip(1) {
                let value = part.split('"').next().unwrap_or_default();
                found.extend(
                    value.split([' ', ',']).filter(|v| !v.is_empty()).map(|v| v.parse::<f64>().expect("a number")),
                );
            }
        }
        found
    }

    #[test]
    fn extremes_stay_inside_the_chart() {
        let bucket = |from, min, max| ChartBucket { from, to: from + 9, min, max, mean: min / 2.0 + max / 2.0 };
        let chart = HistoryChart {
            from: 0,
            to: 100,
            buckets: vec![bucket(0, -f64::MAX, f64::MAX), bucket(10, 5e-324, 1.0), bucket(90, 1e308, 1e308)],
            anomalies: vec![(50, f64::MAX, "point-50".into(), "<b>".into())],
            band: Some((f64::MIN, f64::MAX)),
            labels: ChartLabels::default(),
        };
        let svg = history_svg(&chart);
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
        assert!(svg.contains("&lt;b&gt;"), "titles are escaped");
        let drawn = coordinates(&svg);
        assert!(drawn.len() > 10 && drawn.iter().all(|c| (0.0..=WIDTH).contains(c)), "{drawn:?}");
        assert!(svg.contains(r##"href="#point-50""##));
    }

    #[test]
    fn an_empty_or_flat_range_draws() {
        assert!(history_svg(&HistoryChart { from: 5, to: 5, ..Default::default() }).starts_with("<svg"));
        let flat = ChartBucket { from: 0, to: 0, min: 3.0, max: 3.0, mean: 3.0 };
        let svg = history_svg(&HistoryChart { from: 0, to: 10, buckets: vec![flat], ..Default::default() });
        assert!(!svg.contains("NaN"), "{svg}");
    }
}
