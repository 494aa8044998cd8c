//! `/dashboard/live`: anomalies as they are found. The page lists the
//! newest ones and its script (`/dashboard/live.js`, no CDN)
//! follows `GET /events` and adds each new anomaly at the top.

use super::anomalies::{SeriesAndSource, anomaly_table};
use super::{OnPage, PageResult, Section, layout};
use crate::MonitorState;
use anomaly_http::ApiQuery;
use axum::extract::State;
use maud::html;

/// Anomalies listed when the page opens.
const LISTED: u32 = 50;

/// The live page.
pub async fn page(
    State(state): State<MonitorState>,
    OnPage(ApiQuery(filters)): OnPage<ApiQuery<SeriesAndSource>>,
) -> PageResult {
    // The page's script passes the same filters on to `/events`.
    let anomalies = filters.anomalies(&state, None, None, LISTED).await?;
    let content = html! {
        form.filters method="get" action="/dashboard/live" {
            (filters.form_fields())
            button type="submit" { "Follow" }
        }
        p.muted {
            span #live-status .state.down { "connecting…" }
            " " span #live-count { "0" } " new since the page opened; the newest " (LISTED)
            " before it are listed below them."
        }
        (anomaly_table(&anomalies, "No anomalies yet; new ones appear here as they are found."))
        script src="/dashboard/format.js" {}
        script src="/dashboard/live.js" {}
    };
    Ok(layout("Live anomalies", Section::Live, content))
}
