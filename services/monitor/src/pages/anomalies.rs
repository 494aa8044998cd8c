//! `/dashboard/anomalies`: recent anomalies across series (found by the
//! stream and answered by predict), newest first, filtered by series,
//! source and a UTC time range of the points.

use super::{OnPage, PageResult, Section, format_seconds, format_value, layout};
use crate::MonitorState;
use crate::queries::{PredictionView, prediction_query, recent_anomalies};
use crate::query_params::{optional_series_id, sources};
use anomaly_http::{ApiError, ApiQuery};
use axum::extract::State;
use chrono::NaiveDateTime;
use maud::{Markup, html};
use serde::Deserialize;

/// Anomalies listed per page.
const LISTED: u32 = 200;

/// The series and source filters of the anomalies and live pages.
#[derive(Debug, Default, Deserialize)]
pub struct SeriesAndSource {
    /// Exact series id; empty means any.
    pub series_id: Option<String>,
    /// `stream`, `predict`, or empty for both.
    pub source: Option<String>,
}

impl SeriesAndSource {
    /// The anomalies of the newest points they select, at most `limit`,
    /// between `from` and `to` (Unix seconds) when given.
    pub async fn anomalies(
        &self,
        state: &MonitorState,
        from: Option<i64>,
        to: Option<i64>,
        limit: u32,
    ) -> Result<Vec<PredictionView>, ApiError> {
        let series_id = optional_series_id(self.series_id.as_deref().map(str::trim))?;
        let query = prediction_query(series_id, from, to, Some(limit), true)?;
        recent_anomalies(state, &query, sources(self.source.as_deref())?).await
    }

    /// Their fields of the page's form.
    pub fn form_fields(&self) -> Markup {
        let series = self.series_id.as_deref().map(str::trim).unwrap_or_default();
        let source = self.source.as_deref().unwrap_or_default();
        html! {
            label { "Series" input type="text" name="series_id" value=(series) placeholder="any"; }
            label { "Source" select name="source" {
                @for (value, label) in [("", "both"), ("stream", "stream"), ("predict", "predict")] {
                    option value=(value) selected[source == value] { (label) }
                }
            } }
        }
    }
}

/// The page's filters, as the form sends them.
#[derive(Debug, Default, Deserialize)]
pub struct AnomalyFilters {
    /// Series and source.
    #[serde(flatten)]
    pub selected: SeriesAndSource,
    /// `YYYY-MM-DDTHH:MM` (UTC), inclusive.
    pub from: Option<String>,
    /// `YYYY-MM-DDTHH:MM` (UTC), inclusive.
    pub to: Option<String>,
}

/// The anomalies page.
pub async fn page(
    State(state): State<MonitorState>,
    OnPage(ApiQuery(filters)): OnPage<ApiQuery<AnomalyFilters>>,
) -> PageResult {
    let (from_text, to_text) = (filters.from.unwrap_or_default(), filters.to.unwrap_or_default());
    let (from, to) = (parse_minute(&from_text)?, parse_minute(&to_text)?);
    let anomalies = filters.selected.anomalies(&state, from, to, LISTED).await?;
    let content = html! {
        form.filters method="get" action="/dashboard/anomalies" {
            (filters.selected.form_fields())
            label { "From (UTC)" input type="datetime-local" name="from" value=(from_text); }
            label { "To (UTC)" input type="datetime-local" name="to" value=(to_text); }
            button type="submit" { "Filter" }
            a href="/dashboard/anomalies" { "Clear" }
        }
        p.muted { (anomalies.len()) " anomalies shown (newest " (LISTED) " at most, by point time). "
            a href="/dashboard/live" { "Follow them live" } }
        (anomaly_table(&anomalies, "No anomalies recorded for these filters."))
    };
    Ok(layout("Anomalies", Section::Anomalies, content))
}

/// The table of anomalies the anomalies, live and series pages share (the
/// live scripts add rows of the same shape), with its label buttons
/// (`labels.js`).
pub fn anomaly_table(anomalies: &[PredictionView], empty: &str) -> Markup {
    html! {
        table {
            thead { tr {
                th { "Point time (UTC)" } th { "Series" } th.num { "Value" } th.num { "Score" } th { "Source" }
                th { "Detector / version" } th { "Judged at (UTC)" } th { "Label" }
            } }
            tbody #anomaly-rows {
                @for anomaly in anomalies { (anomaly_row(anomaly)) }
                @if anomalies.is_empty() {
                    tr.empty { td colspan="8" .muted { (empty) } }
                }
            }
        }
        script src="/dashboard/labels.js" {}
    }
}

/// The label of an anomaly as a row shows it.
fn label_name(label: Option<&str>) -> &'static str {
    match label {
        Some("true_positive") => "real",
        Some("false_positive") => "false alarm",
        _ => "unlabelled",
    }
}

fn anomaly_row(anomaly: &PredictionView) -> Markup {
    let version = anomaly.model_version.as_deref();
    let judged_by = [anomaly.detector.as_deref(), version].into_iter().flatten().collect::<Vec<_>>().join(" ");
    let label = anomaly.label.as_deref();
    html! {
        tr.anomaly data-label=(label.unwrap_or_default()) {
            td { (format_seconds(anomaly.timestamp)) }
            td { a href=(series_link(anomaly)) { (anomaly.series_id) } }
            td.num { (format_value(anomaly.value)) }
            td.num { (anomaly.score.map(format_value).unwrap_or_default()) }
            td { (anomaly.source) @if anomaly.muted { " " span.tag title="judged during a mute: no webhook fired" { "muted" } } }
            td { (judged_by) }
            td { (anomaly.recorded_at.replace('T', " ").get(..19).unwrap_or_default()) }
            td.label-cell {
                span class={ "label-state " (label.unwrap_or("unlabelled")) } title=[anomaly.label_note.as_deref()] {
                    (label_name(label))
                }
                form.label-form method="post" action={ "/anomalies/" (anomaly.id) "/label" } data-id=(anomaly.id) {
                    button type="submit" name="label" value="true_positive" { "Real" }
                    button type="submit" name="label" value="false_positive" { "False alarm" }
                }
            }
        }
    }
}

/// Where an anomaly's series link goes: a stream anomaly to the series'
/// history centred on it (three hours each side, its row in view), a
/// predicted one to the version that judged it.
fn series_link(anomaly: &PredictionView) -> String {
    let page = format!("/dashboard/series/{}", anomaly.series_id);
    match (anomaly.source.as_str(), anomaly.model_version.as_deref()) {
        ("stream", _) => {
            let (from, to) = (anomaly.timestamp.saturating_sub(3 * 3600), anomaly.timestamp.saturating_add(3 * 3600));
            format!("{page}?from={from}&to={to}#point-{}", anomaly.timestamp)
        }
        (_, Some(version)) => format!("{page}?version={version}"),
        _ => page,
    }
}

/// A `datetime-local` value (`YYYY-MM-DDTHH:MM[:SS]`, UTC) as Unix seconds;
/// empty means no bound.
fn parse_minute(text: &str) -> Result<Option<i64>, ApiError> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text.trim(), format).ok())
        .map(|t| Some(t.and_utc().timestamp()))
        .ok_or_else(|| ApiError::BadRequest {
            code: "invalid_time",
            message: format!("times are YYYY-MM-DDTHH:MM in UTC; got {text:?}"),
        })
}
