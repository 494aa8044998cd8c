//! `/dashboard/series`: every series with its latest model and prediction
//! counts; filtered by name, sorted by an indexed column, 50 per page.

use super::{OnPage, PageResult, Section, format_millis, grouped, layout};
use crate::MonitorState;
use anomaly_core::ModelRecord;
use anomaly_http::{ApiError, ApiQuery};
use anomaly_store::{SeriesActivity, SeriesSort, SeriesSortKey};
use axum::extract::State;
use maud::{Markup, html};
use serde::Deserialize;

/// Series per page.
const PAGE_SIZE: u32 = 50;

/// The list's query string.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    /// Only series whose id contains this (any case).
    pub filter: Option<String>,
    /// `series_id`, `version`, `points_used` or `trained_at`.
    pub sort: Option<String>,
    /// `asc` or `desc`.
    pub order: Option<String>,
    /// 1-based page number.
    pub page: Option<u64>,
}

/// The series list page.
pub async fn page(
    State(state): State<MonitorState>,
    OnPage(ApiQuery(query)): OnPage<ApiQuery<ListQuery>>,
) -> PageResult {
    Ok(layout("Series", Section::Series, render(&gather(&state, query).await?)))
}

/// One page of the list, read.
struct SeriesListPage {
    filter: String,
    sort: SeriesSort,
    /// 1-based.
    page: u64,
    pages: u64,
    total: u64,
    rows: Vec<(ModelRecord, SeriesActivity)>,
}

/// Checks the query and reads the page it asks for.
async fn gather(state: &MonitorState, query: ListQuery) -> Result<SeriesListPage, ApiError> {
    let key = match query.sort.as_deref().filter(|s| !s.is_empty()) {
        None => SeriesSortKey::SeriesId,
        Some(text) => SeriesSortKey::parse(text).ok_or_else(|| ApiError::BadRequest {
            code: "invalid_sort",
            message: format!("sort must be series_id, version, points_used or trained_at; got {text:?}"),
        })?,
    };
    let descending = match query.order.as_deref() {
        None | Some("" | "asc") => false,
        Some("desc") => true,
        Some(other) => {
            return Err(ApiError::BadRequest {
                code: "invalid_order",
                message: format!("order must be asc or desc; got {other:?}"),
            });
        }
    };
    let filter = query.filter.unwrap_or_default();
    let page = query.page.unwrap_or(1).max(1);
    let offset = (page - 1).saturating_mul(u64::from(PAGE_SIZE));
    let sort = SeriesSort { key, descending };
    let (records, total) = state.backends.store.series_page(Some(&filter), sort, offset, PAGE_SIZE).await?;
    let ids: Vec<_> = records.iter().map(|r| r.series_id.clone()).collect();
    let activity = state.backends.predictions.series_activity(&ids).await?;
    let pages = total.div_ceil(u64::from(PAGE_SIZE)).max(1);
    let rows = records.into_iter().zip(activity).collect();
    Ok(SeriesListPage { filter, sort, page, pages, total, rows })
}

/// The page's content: the filter, the sortable table and the pager.
fn render(list: &SeriesListPage) -> Markup {
    let SeriesListPage { filter, sort, page, pages, total, rows } = list;
    let (key, descending, page, pages) = (sort.key, sort.descending, *page, *pages);
    let link = |sort: SeriesSort, page: u64| {
        let order = if sort.descending { "desc" } else { "asc" };
        let page = page.to_string();
        let query = [("filter", filter.as_str()), ("sort", sort.key.as_str()), ("order", order), ("page", &page)];
        format!("/dashboard/series?{}", serde_urlencoded::to_string(query).unwrap_or_default())
    };
    let header = |label: &str, column: SeriesSortKey, numeric: bool| -> Markup {
        let active = column == key;
        let next = SeriesSort { key: column, descending: active && !descending };
        let arrow = match (active, descending) {
            (false, _) => "",
            (true, false) => " ▲",
            (true, true) => " ▼",
        };
        html! { th class=[numeric.then_some("num")] { a href=(link(next, 1)) { (label) (arrow) } } }
    };
    html! {
        form.filters method="get" action="/dashboard/series" {
            label { "Series contains" input type="search" name="filter" value=(filter) placeholder="e.g. cpu"; }
            input type="hidden" name="sort" value=(key.as_str());
            input type="hidden" name="order" value=(if descending { "desc" } else { "asc" });
            button type="submit" { "Filter" }
        }
        p.muted { (grouped(*total)) " series" @if !filter.is_empty() { " matching “" (filter) "”" } }
        table {
            thead { tr {
                (header("Series", SeriesSortKey::SeriesId, false))
                (header("Latest", SeriesSortKey::Version, true))
                (header("Points used", SeriesSortKey::PointsUsed, true))
                (header("Last trained (UTC)", SeriesSortKey::TrainedAt, false))
                th.num { "Predictions" }
                th.num { "Anomalies" }
                th { "Last prediction (UTC)" }
            } }
            tbody {
                @for (record, activity) in rows {
                    tr {
                        td { a href={ "/dashboard/series/" (record.series_id) } { (record.series_id) } }
                        td.num { (record.version) }
                        td.num { (grouped(record.params.points_used)) }
                        td { (format_millis(record.trained_at_ms)) }
                        td.num { (grouped(activity.predictions)) }
                        td.num {
                            @if activity.anomalies > 0 { span.badge { (grouped(activity.anomalies)) } } @else { "0" }
                        }
                        td { @if activity.predictions > 0 { (format_millis(activity.last_predicted_ms)) } @else { "–" } }
                    }
                }
                @if rows.is_empty() {
                    tr { td colspan="7" .muted { "No series yet: fit one with POST /fit/{series_id} on the train service." } }
                }
            }
        }
        div.pager {
            @if page > 1 { a href=(link(*sort, page - 1)) { "← Previous" } }
            span.muted { "Page " (page) " of " (grouped(pages)) }
            @if page < pages { a href=(link(*sort, page + 1)) { "Next →" } }
        }
    }
}
