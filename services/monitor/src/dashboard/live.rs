//! `/dashboard/live`: anomalies as they are found. The page lists the
//! newest ones and its script (`/dashboard/live.js`, served here, no CDN)
//! follows `GET /events` and adds each new anomaly at the top.

use super::anomalies::{anomaly_table, source_select};
use super::{OnPage, PageResult, Section, layout};
use crate::MonitorState;
use crate::predictions_route::{prediction_query, recent_anomalies, sources};
use anomaly_core::SeriesId;
use anomaly_http::ApiQuery;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use maud::html;
use serde::Deserialize;

/// Anomalies listed when the page opens.
const LISTED: u32 = 50;

/// The page's script.
const SCRIPT: &str = include_str!("live.js");

/// The live page's filters (passed on to `/events`).
#[derive(Debug, Default, Deserialize)]
pub struct LiveFilters {
    /// Exact series id.
    pub series_id: Option<String>,
    /// `stream`, `predict`, or empty for both.
    pub source: Option<String>,
}

/// The live page.
pub async fn page(
    State(state): State<MonitorState>,
    OnPage(ApiQuery(filters)): OnPage<ApiQuery<LiveFilters>>,
) -> PageResult {
    let series = filters.series_id.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let series_id = series.map(SeriesId::parse).transpose()?;
    let source = filters.source.unwrap_or_default();
    let query = prediction_query(series_id, None, None, Some(LISTED), true)?;
    let anomalies = recent_anomalies(&state, &query, sources(Some(&source))?).await?;
    let content = html! {
        form.filters method="get" action="/dashboard/live" {
            label { "Series" input type="text" name="series_id" value=(series.unwrap_or_default()) placeholder="any"; }
            (source_select(&source))
            button type="submit" { "Follow" }
        }
        p.muted {
            span #live-status .state.down { "connecting…" }
            " " span #live-count { "0" } " new since the page opened; the newest " (LISTED)
            " before it are listed below them."
        }
        (anomaly_table(&anomalies, "No anomalies yet; new ones appear here as they are found."))
        script src="/dashboard/live.js" {}
    };
    Ok(layout("Live anomalies", Section::Live, content))
}

/// The script of the live page.
pub async fn script() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "max-age=300")], SCRIPT)
}
