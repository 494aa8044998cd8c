//! The history part of a series page: the stream's stored points over a
//! chosen range (the last 1 h, 6 h, 24 h or 7 d of the series' own points,
//! everything, or `from`/`to`), drawn from buckets the database computes,
//! with its anomalies marked and listed below (each row the target of its
//! mark), and a fitted 3-sigma band. [`gather`] reads, [`render`] draws.

use super::{format_seconds, format_value};
use crate::api::points::{SummaryQuery, summarise};
use crate::render::history::{ChartBucket, ChartLabels, HistoryChart, history_svg};
use anomaly_core::{Model, ModelRecord, SeriesId};
use anomaly_http::ApiError;
use anomaly_store::{JudgedPoint, PointHistory, PointQuery};
use maud::{Markup, PreEscaped, html};
use serde::Deserialize;

/// Buckets drawn across the chart.
const BUCKETS: u32 = 480;
/// Anomalies marked and listed.
const LISTED_ANOMALIES: u32 = 200;
/// The ranges offered, by name and seconds.
const RANGES: [(&str, i64); 4] = [("1h", 3600), ("6h", 6 * 3600), ("24h", 86_400), ("7d", 7 * 86_400)];

/// The range the page shows.
#[derive(Debug, Default, Deserialize)]
pub struct RangeChoice {
    /// `1h`, `6h`, `24h` (default), `7d` or `all`: up to the last stored point.
    pub range: Option<String>,
    /// Or a range of point times, Unix seconds.
    pub from: Option<i64>,
    /// Its end.
    pub to: Option<i64>,
}

/// What the section shows.
pub struct History {
    series_id: SeriesId,
    /// The range link that is active (none for a `from`/`to` range).
    chosen: String,
    chart: HistoryChart,
    anomalies: Vec<JudgedPoint>,
}

/// Reads the history of `series_id` over the range `choice` names; `None`
/// when the stream has stored no point of it. `model` is the fitted
/// version shown, whose band is drawn when it has one.
pub async fn gather(
    history: &dyn PointHistory,
    series_id: &SeriesId,
    choice: &RangeChoice,
    model: Option<&ModelRecord>,
) -> Result<Option<History>, ApiError> {
    let Some((first, last)) = history.point_range(series_id).await? else { return Ok(None) };
    let named = choice.range.as_deref().filter(|r| !r.is_empty());
    let span = match named {
        Some("all") => None,
        Some(name) => {
            Some(RANGES.iter().find(|(n, _)| *n == name).map(|r| r.1).ok_or_else(|| ApiError::BadRequest {
                code: "invalid_query",
                message: format!("range must be 1h, 6h, 24h, 7d or all; got {name:?}"),
            })?)
        }
        None if choice.from.is_some() || choice.to.is_some() => None,
        None => Some(86_400),
    };
    let to = choice.to.unwrap_or(last);
    let from = choice.from.unwrap_or_else(|| span.map_or(first, |span| to.saturating_sub(span).max(first)));
    let query = SummaryQuery { from: Some(from), to: Some(to), buckets: Some(BUCKETS) };
    let summary = summarise(history, series_id.clone(), &query).await?;
    let anomalies = history
        .points(&PointQuery {
            from: Some(from),
            to: Some(to),
            anomaly: Some(true),
            ..PointQuery::newest(series_id.clone(), LISTED_ANOMALIES)
        })
        .await?;
    let buckets = summary
        .buckets
        .iter()
        .map(|b| ChartBucket { from: b.from, to: b.to, min: b.min, max: b.max, mean: b.mean })
        .collect();
    let marks = anomalies
        .iter()
        .map(|p| {
            (
                p.timestamp,
                p.value,
                anchor(p.timestamp),
                format!("{} at {}", format_value(p.value), format_seconds(p.timestamp)),
            )
        })
        .collect();
    let chart = HistoryChart {
        from,
        to,
        buckets,
        anomalies: marks,
        band: model.and_then(|record| expected_band(&record.params.model)),
        labels: ChartLabels { from: format_seconds(from), to: format_seconds(to), value: Some(format_value) },
    };
    let chosen = match named {
        Some(name) => name.to_owned(),
        None if span.is_none() => String::new(),
        None => "24h".to_owned(),
    };
    Ok(Some(History { series_id: series_id.clone(), chosen, chart, anomalies }))
}

/// The band a fitted 3-sigma model expects: mean ± k·std.
fn expected_band(model: &Model) -> Option<(f64, f64)> {
    match model {
        Model::ThreeSigma(fitted) => {
            let half = fitted.threshold.get() * fitted.std;
            Some((fitted.mean - half, fitted.mean + half))
        }
        _ => None,
    }
}

/// The id of an anomaly's row.
fn anchor(timestamp: i64) -> String {
    format!("point-{timestamp}")
}

/// The section.
pub fn render(history: &History) -> Markup {
    let (chosen, series) = (history.chosen.as_str(), &history.series_id);
    html! {
        h2 { "History" }
        nav.ranges {
            @for (name, _) in RANGES {
                a href={ "?range=" (name) } class=[(chosen == name).then_some("active")] { (name) }
            }
            a href="?range=all" class=[(chosen == "all").then_some("active")] { "all" }
            a href={ "/series/" (series) "/points?format=csv&from=" (history.chart.from) "&to=" (history.chart.to) } { "CSV of this range" }
        }
        div.plot #history-chart { (PreEscaped(history_svg(&history.chart))) }
        p.muted {
            "The stream's stored points from " (format_seconds(history.chart.from)) " to " (format_seconds(history.chart.to))
            " UTC: the band spans each bucket's lowest to highest value, the line is its mean, red marks are anomalies"
            @if history.chart.band.is_some() { ", dashed lines the fitted model's band" } "."
        }
        table #history-anomalies {
            thead { tr { th { "Point time (UTC)" } th.num { "Value" } th.num { "Score" } th { "Detector / version" } } }
            tbody {
                @for point in &history.anomalies {
                    tr.anomaly id=(anchor(point.timestamp)) {
                        td { (format_seconds(point.timestamp)) }
                        td.num { (format_value(point.value)) }
                        td.num { (point.score.map(format_value).unwrap_or_default()) }
                        td { (point.detector) @if let Some(version) = point.version { " " (version) } }
                    }
                }
                @if history.anomalies.is_empty() {
                    tr.empty { td colspan="4" .muted { "No anomaly in this range." } }
                }
            }
        }
    }
}
