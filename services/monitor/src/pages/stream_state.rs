//! The stream part of a series page: how the stream judges the series
//! (detector, warm-up, counters, last point), a live chart that starts
//! with its latest stored points and goes on with those it judges from now
//! on, and its latest stream anomalies.

use super::anomalies::anomaly_table;
use super::{format_millis, format_seconds, format_value, grouped};
use crate::queries::PredictionView;
use anomaly_core::{OnlineDetector, Verdict};
use anomaly_store::{JudgedPoint, SeriesStream};
use maud::{Markup, html};

/// The section, for a series the stream has judged; `recent`: its latest
/// stored points, newest first.
pub fn section(stream: &SeriesStream, anomalies: &[PredictionView], recent: &[JudgedPoint]) -> Markup {
    let seed: Vec<(i64, f64, bool)> = recent.iter().rev().map(|p| (p.timestamp, p.value, p.anomaly)).collect();
    let seed = serde_json::to_string(&seed).unwrap_or_else(|_| "[]".to_owned());
    let warm_up = match stream.model.judge(0.0) {
        Verdict::WarmingUp { seen, needed } => Some((seen, needed)),
        Verdict::Judged(_) => None,
    };
    let judged_by = match stream.version {
        Some(version) => format!("{} of {version}", stream.model.kind()),
        None => format!("{} (the platform default)", stream.model.kind()),
    };
    html! {
        h2 { "Stream" }
        div.tiles {
            div.tile { div.label { "Detector" } div.value.small { (judged_by) } }
            div.tile { div.label { "State" } div.value.small {
                @match warm_up {
                    Some((seen, needed)) => { "warming up: " (seen) " of " (needed) " points" }
                    None => { "judging" }
                }
            } }
            div.tile { div.label { "Points judged" } div.value { (grouped(stream.points)) } }
            div.tile { div.label { "Anomalies" } div.value { (grouped(stream.anomalies)) } }
            div.tile { div.label { "Late points skipped" } div.value { (grouped(stream.late)) } }
            div.tile { div.label { "Last point" } div.value.small {
                @match stream.last_point {
                    Some((timestamp, value)) => { (format_value(value)) " at " (format_seconds(timestamp)) }
                    None => { "none" }
                }
            } }
        }
        p.muted { "State checkpointed at " (format_millis(stream.updated_ms)) " UTC. "
            a href={ "/dashboard/live?series_id=" (stream.series_id) } { "Follow its anomalies live" } }
        h2 { "Live" }
        // Drawn by series_live.js: the latest stored points, then the
        // verdicts the stream sends from now on.
        div.chart #live-chart data-series=(stream.series_id) data-initial=(seed) {
            svg viewBox="0 0 960 220" role="img" aria-label="The latest points judged, and those judged from now on" {}
        }
        p.muted #live-chart-status { "Waiting for the stream to judge this series' next points…" }
        p.muted #live-chart-missed hidden { "This page fell behind the stream: some points are missing from the chart." }
        script src="/dashboard/format.js" {}
        script src="/dashboard/series_live.js" {}
        (anomaly_table(anomalies, "The stream has flagged nothing in this series."))
    }
}
