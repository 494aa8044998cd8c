//! `/dashboard/anomalies`: recent anomalous predictions across series,
//! newest first, filtered by series and by a UTC time range of the points.

use super::{OnPage, PageResult, Section, format_millis, format_seconds, format_value, layout};
use crate::MonitorState;
use crate::predictions_route::prediction_query;
use anomaly_core::SeriesId;
use anomaly_http::{ApiError, ApiQuery};
use axum::extract::State;
use chrono::NaiveDateTime;
use maud::html;
use serde::Deserialize;

/// Anomalies listed per page.
const LISTED: u32 = 200;

/// The page's filters, as the form sends them.
#[derive(Debug, Default, Deserialize)]
pub struct AnomalyFilters {
    /// Exact series id.
    pub series_id: Option<String>,
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
    let series = filters.series_id.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let series_id = series.map(SeriesId::parse).transpose()?;
    let (from_text, to_text) = (filters.from.unwrap_or_default(), filters.to.unwrap_or_default());
    let query = prediction_query(series_id, parse_minute(&from_text)?, parse_minute(&to_text)?, Some(LISTED), true)?;
    let anomalies = state.backends.predictions.predictions(&query).await?;
    let content = html! {
        form.filters method="get" action="/dashboard/anomalies" {
            label { "Series" input type="text" name="series_id" value=(series.unwrap_or_default()) placeholder="any"; }
            label { "From (UTC)" input type="datetime-local" name="from" value=(from_text); }
            label { "To (UTC)" input type="datetime-local" name="to" value=(to_text); }
            button type="submit" { "Filter" }
            a href="/dashboard/anomalies" { "Clear" }
        }
        p.muted { (anomalies.len()) " anomalies shown (newest " (LISTED) " at most, by point time)." }
        table {
            thead { tr {
                th { "Point time (UTC)" } th { "Series" } th.num { "Value" } th.num { "Score (z)" } th { "Version" }
                th { "Judged at (UTC)" }
            } }
            tbody {
                @for p in &anomalies {
                    tr.anomaly {
                        td { (format_seconds(p.timestamp)) }
                        td { a href={ "/dashboard/series/" (p.series_id) "?version=" (p.version) } { (p.series_id) } }
                        td.num { (format_value(p.value)) }
                        td.num { (p.score.map(format_value).unwrap_or_default()) }
                        td { (p.version) }
                        td { (format_millis(p.recorded_at_ms)) }
                    }
                }
                @if anomalies.is_empty() {
                    tr { td colspan="6" .muted { "No anomalies recorded for these filters." } }
                }
            }
        }
    };
    Ok(layout("Anomalies", Section::Anomalies, content))
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
