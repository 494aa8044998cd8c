//! The dashboard's pages: server-rendered HTML (maud) with plots drawn by plotters
//! as inline SVG. No script, font or style comes from elsewhere: the one
//! stylesheet and the scripts of the live page and the series page's live
//! chart are served by the monitor.
//!
//! Pages: `/dashboard` (overview), `/dashboard/series` (every series),
//! `/dashboard/series/{series_id}` (one series), `/dashboard/anomalies`,
//! `/dashboard/live` (anomalies as they are found),
//! `/dashboard/webhooks`. Every page is sent with a Content-Security-Policy
//! that allows only the monitor's own script and stylesheet (no inline
//! script or style), and may not be framed.

mod anomalies;
mod assets;
mod live;
mod overview;
mod series_history;
mod series_list;
mod series_page;
mod stream_state;
mod webhooks;

use crate::MonitorState;
use anomaly_http::{Access, ApiError, Scope};
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::DateTime;
use maud::{DOCTYPE, Markup, html};
use tower_http::set_header::SetResponseHeaderLayer;

/// What a dashboard response may load: the monitor's own script, style
/// and feed, and `data:` images (the empty favicon).
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The dashboard routes, and `/` redirecting to it. Pages need a key with
/// the read scope when reads do; the webhooks page (endpoint URLs can hold
/// secrets) the admin scope whenever keys are configured.
pub fn routes(access: &Access) -> Router<MonitorState> {
    let pages = Router::new()
        .route("/dashboard", get(overview::page))
        .route("/dashboard/series", get(series_list::page))
        .route("/dashboard/series/{series_id}", get(series_page::page))
        .route("/dashboard/anomalies", get(anomalies::page))
        .route("/dashboard/live", get(live::page));
    let admin_pages = Router::new().route("/dashboard/webhooks", get(webhooks::page));
    let assets = assets::routes().route("/", get(|| async { Redirect::temporary("/dashboard") }));
    access
        .guard(Scope::Read, pages)
        .merge(access.guard(Scope::Admin, admin_pages))
        .merge(assets)
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
}

/// Which navigation entry a page belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    Overview,
    Series,
    Anomalies,
    Live,
    Webhooks,
}

/// The frame every page shares: head, navigation, content.
fn layout(title: &str, section: Section, content: Markup) -> Markup {
    let nav = [
        (Section::Overview, "/dashboard", "Overview"),
        (Section::Series, "/dashboard/series", "Series"),
        (Section::Anomalies, "/dashboard/anomalies", "Anomalies"),
        (Section::Live, "/dashboard/live", "Live"),
        (Section::Webhooks, "/dashboard/webhooks", "Webhooks"),
    ];
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · anomaly monitor" }
                link rel="stylesheet" href="/dashboard/style.css";
                link rel="icon" href="data:,";
            }
            body {
                header {
                    span.brand { "anomaly monitor" }
                    nav {
                        @for (entry, href, label) in nav {
                            a href=(href) class=[(entry == section).then_some("active")] { (label) }
                        }
                        a href="/docs" { "API" }
                        a href="/metrics" { "Metrics" }
                    }
                }
                main { h1 { (title) } (content) }
            }
        }
    }
}

/// A dashboard failure, shown as a page with the error's status.
pub struct PageError(ApiError);

impl<E: Into<ApiError>> From<E> for PageError {
    fn from(error: E) -> Self {
        Self(error.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, code, message) = self.0.public_parts();
        let title = if status == StatusCode::NOT_FOUND { "Not found" } else { "Cannot show this page" };
        let body = html! {
            p.error { (message) }
            p.muted { "Error code: " code { (code) } }
            p { a href="/dashboard" { "Back to the overview" } }
        };
        (status, layout(title, Section::Overview, body)).into_response()
    }
}

/// An extractor whose rejection is shown as a page instead of JSON.
pub struct OnPage<E>(pub E);

impl<S: Send + Sync, E: FromRequestParts<S, Rejection = ApiError>> FromRequestParts<S> for OnPage<E> {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, PageError> {
        E::from_request_parts(parts, state).await.map(OnPage).map_err(PageError)
    }
}

/// What a dashboard handler answers.
type PageResult = Result<Markup, PageError>;

/// Unix milliseconds as `YYYY-MM-DD HH:MM:SS` UTC.
fn format_millis(millis: i64) -> String {
    DateTime::from_timestamp_millis(millis).map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string()).unwrap_or_default()
}

/// Unix seconds as `YYYY-MM-DD HH:MM:SS` UTC.
fn format_seconds(seconds: i64) -> String {
    format_millis(seconds.saturating_mul(1000))
}

/// A number with thousands separators.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A value with up to 4 significant decimals, or scientific when huge or tiny.
fn format_value(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude != 0.0 && !(1e-3..1e9).contains(&magnitude) {
        format!("{value:.3e}")
    } else {
        let text = format!("{value:.4}");
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(
            (grouped(0), grouped(999), grouped(1000), grouped(1_234_567)),
            ("0".into(), "999".into(), "1,000".into(), "1,234,567".into())
        );
        assert_eq!(
            (format_value(25.5), format_value(3.0), format_value(2e12)),
            ("25.5".into(), "3".into(), "2.000e12".into())
        );
        assert_eq!(format_seconds(1_609_459_500), "2021-01-01 00:05:00");
    }
}
