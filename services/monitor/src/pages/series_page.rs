//! `/dashboard/series/{series_id}?version=&range=`: one series. First the
//! history of the points the stream judged (see [`series_history`]), then
//! the training data of the chosen version with its mean and band, the
//! recent predictions drawn over it (anomalies marked), the series' stream
//! state and stream anomalies when the stream judges it, the versions with
//! their parameters, and the latest predictions as a table. A series that
//! only streams (no model fitted) shows its history and stream parts.

use super::series_history::{self, RangeChoice};
use super::stream_state;
use super::{OnPage, PageResult, Section, format_millis, format_seconds, format_value, grouped, layout};
use crate::MonitorState;
use crate::queries::{prediction_query, recent_anomalies};
use crate::render::draw_version;
use anomaly_core::{ModelRecord, ModelVersion, SeriesId};
use anomaly_http::{ApiError, ApiQuery, SeriesIdPath};
use anomaly_store::{PointQuery, PredictionQuery, PredictionRecord};
use axum::extract::State;
use maud::{Markup, PreEscaped, html};
use serde::Deserialize;

/// Predictions drawn over the band.
const PLOTTED_PREDICTIONS: u32 = 2000;
/// Predictions listed in the table.
const LISTED_PREDICTIONS: usize = 50;
/// Stream anomalies listed.
const STREAM_ANOMALIES: u32 = 20;
/// Stored points the live chart starts with (as many as it shows).
const LIVE_SEED: u32 = 300;

/// The version picker and the history's range.
#[derive(Debug, Default, Deserialize)]
pub struct VersionQuery {
    /// `v3`, `V3` or `3`; omitted or empty means the latest.
    pub version: Option<String>,
    /// The history's range: `1h`, `6h`, `24h` (default), `7d` or `all`.
    pub range: Option<String>,
    /// Or the history from this Unix second.
    pub from: Option<i64>,
    /// To this one.
    pub to: Option<i64>,
}

/// The series page.
pub async fn page(
    State(state): State<MonitorState>,
    OnPage(SeriesIdPath(series_id)): OnPage<SeriesIdPath>,
    OnPage(ApiQuery(query)): OnPage<ApiQuery<VersionQuery>>,
) -> PageResult {
    let wanted = query.version.as_deref().filter(|v| !v.is_empty()).map(ModelVersion::parse).transpose()?;
    let versions = state.backends.store.versions(&series_id).await?;
    let streamed = stream_section(&state, &series_id).await?;
    let range = RangeChoice { range: query.range.clone(), from: query.from, to: query.to };
    let history = state.backends.stream_points.as_ref();
    let Some(latest) = versions.first() else {
        // Streamed without a fitted model: the history and the stream part are the page.
        let Some(streamed) = streamed else {
            return Err(ApiError::model_not_found(&series_id, None, false).into());
        };
        let history = series_history::gather(history, &series_id, &range, None).await?;
        let content = html! {
            p.muted { "No model fitted: the stream judges it with the platform's default detector." }
            @if let Some(history) = &history { (series_history::render(history)) }
            (streamed)
        };
        return Ok(layout(series_id.as_str(), Section::Series, content));
    };
    let chosen = match wanted {
        None => latest.clone(),
        Some(version) => versions
            .iter()
            .find(|r| r.version == version)
            .cloned()
            .ok_or_else(|| ApiError::model_not_found(&series_id, Some(version), true))?,
    };
    let recent =
        PredictionQuery { series_id: Some(series_id.clone()), limit: PLOTTED_PREDICTIONS, ..Default::default() };
    let predictions = state.backends.predictions.predictions(&recent).await?;
    let overlay = predictions.iter().map(|p| (p.timestamp, p.value, p.anomaly)).collect();
    let svg = draw_version(&state, chosen.clone(), overlay).await?;
    let anomalies = predictions.iter().filter(|p| p.anomaly).count();
    let history = series_history::gather(history, &series_id, &range, Some(&chosen)).await?;
    let content = html! {
        @if let Some(history) = &history { (series_history::render(history)) }
        (version_picker(&series_id, &versions, &chosen))
        p.muted {
            (chosen.version) ": mean " (format_value(chosen.params.mean)) ", std " (format_value(chosen.params.std))
            ", detector " (chosen.params.model.kind()) ", threshold k = " (format_value(chosen.params.threshold())) " (" (chosen.params.direction().as_str()) "), "
            (grouped(chosen.params.points_used)) " training points. "
            (predictions.len()) " recent predictions drawn, " (anomalies) " anomalous."
        }
        div.plot { (PreEscaped(svg)) }
        @if let Some(streamed) = &streamed { (streamed) }
        (versions_table(&versions))
        (predictions_table(&series_id, &predictions))
    };
    Ok(layout(series_id.as_str(), Section::Series, content))
}

/// The series' stream state and recent stream anomalies, when it streams.
async fn stream_section(state: &MonitorState, series_id: &SeriesId) -> Result<Option<Markup>, ApiError> {
    let Some(stream) = state.backends.streams.series_stream(series_id).await? else { return Ok(None) };
    let query = prediction_query(Some(series_id.clone()), None, None, Some(STREAM_ANOMALIES), true)?;
    let recent = state.backends.stream_points.points(&PointQuery::newest(series_id.clone(), LIVE_SEED)).await?;
    Ok(Some(stream_state::section(&stream, &recent_anomalies(state, &query, (false, true)).await?, &recent)))
}

/// The version select, with links to the chosen version's SVG and the
/// predictions' JSON.
fn version_picker(series_id: &SeriesId, versions: &[ModelRecord], chosen: &ModelRecord) -> Markup {
    html! {
        form.filters method="get" {
            label { "Version"
                select name="version" {
                    @for record in versions {
                        option value=(record.version) selected[record.version == chosen.version] {
                            (record.version) " · " (format_millis(record.trained_at_ms))
                        }
                    }
                }
            }
            button type="submit" { "Show" }
            a href={ "/plot?series_id=" (series_id) "&version=" (chosen.version) "&format=svg" } { "SVG of this version" }
            a href={ "/series/" (series_id) "/predictions" } { "Predictions as JSON" }
        }
    }
}

/// Every version with its parameters, newest first.
fn versions_table(versions: &[ModelRecord]) -> Markup {
    html! {
        h2 { "Versions" }
        table {
            thead { tr {
                th { "Version" } th { "Trained (UTC)" } th.num { "Points" } th.num { "Mean" } th.num { "Std" }
                th.num { "k" } th { "Direction" }
            } }
            tbody {
                @for record in versions {
                    tr {
                        td { a href={ "?version=" (record.version) } { (record.version) } }
                        td { (format_millis(record.trained_at_ms)) }
                        td.num { (grouped(record.params.points_used)) }
                        td.num { (format_value(record.params.mean)) }
                        td.num { (format_value(record.params.std)) }
                        td.num { (format_value(record.params.threshold())) }
                        td { (record.params.direction().as_str()) }
                    }
                }
            }
        }
    }
}

/// The latest predictions, newest first.
fn predictions_table(series_id: &SeriesId, predictions: &[PredictionRecord]) -> Markup {
    html! {
        h2 { "Latest predictions" }
        table {
            thead { tr {
                th { "Point time (UTC)" } th.num { "Value" } th.num { "Score (z)" } th { "Verdict" } th { "Version" }
                th { "Judged at (UTC)" }
            } }
            tbody {
                @for p in predictions.iter().take(LISTED_PREDICTIONS) {
                    tr class=[p.anomaly.then_some("anomaly")] {
                        td { (format_seconds(p.timestamp)) }
                        td.num { (format_value(p.value)) }
                        td.num { (p.score.map(format_value).unwrap_or_default()) }
                        td { @if p.anomaly { span.badge { "anomaly" } } @else { "normal" } }
                        td { (p.version) }
                        td { (format_millis(p.recorded_at_ms)) }
                    }
                }
                @if predictions.is_empty() {
                    tr { td colspan="6" .muted { "No predictions recorded yet: POST /predict/" (series_id) " on the infer service." } }
                }
            }
        }
    }
}
