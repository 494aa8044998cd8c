//! `/dashboard`: what the platform knows and how it is doing, at a glance.
//! Tiles (series, versions, fits, predictions and streamed points per
//! minute, anomaly rate), the state of each dependency and service, and
//! per-minute charts of the last hour: traffic, anomalies (predicted and
//! streamed), p50/p95/p99 latency of predict and fit, stream throughput and
//! the stream's worst partition lag.

use super::{PageResult, Section, grouped, layout};
use crate::MonitorState;
use crate::render::charts::{Line, minute_chart};
use crate::render::off_the_workers;
use anomaly_http::ApiError;
use anomaly_store::{LatencyKind, MinuteLatency};
use axum::extract::State;
use maud::{Markup, PreEscaped, html};
use plotters::style::RGBColor;
use std::time::Duration;

/// The window the overview covers, in minutes.
const WINDOW_MINUTES: i64 = 60;
const BLUE: RGBColor = RGBColor(40, 90, 200);
const ORANGE: RGBColor = RGBColor(230, 140, 20);
const RED: RGBColor = RGBColor(200, 30, 40);
const GREEN: RGBColor = RGBColor(30, 140, 80);

/// The overview page.
pub async fn page(State(state): State<MonitorState>) -> PageResult {
    Ok(layout("Overview", Section::Overview, render(&gather(&state).await?)))
}

/// What the overview shows, read and drawn.
struct Overview {
    /// The tiles: label and value.
    tiles: Vec<(&'static str, String)>,
    /// Each dependency and service, and whether it answers.
    states: Vec<(String, bool)>,
    /// The per-minute charts, as SVG.
    charts: Vec<String>,
}

/// Reads the counters and the last hour, and draws the charts.
async fn gather(state: &MonitorState) -> Result<Overview, ApiError> {
    let backends = &state.backends;
    let now = chrono::Utc::now().timestamp().div_euclid(60);
    let since = now - WINDOW_MINUTES + 1;
    let (series, versions, predict, fit, activity, stream, database_up, cache_up, train_up, infer_up) = tokio::join!(
        backends.store.series_count(),
        backends.store.version_count(),
        backends.latency.minutes(LatencyKind::Inference, since),
        backends.latency.minutes(LatencyKind::Training, since),
        backends.predictions.minutes(since),
        backends.streams.stream_minutes(since),
        backends.store.ping(),
        backends.cache.ping(),
        service_up(state, &state.train_url),
        service_up(state, &state.infer_url),
    );
    let (predict, fit, activity, stream) = (predict.unwrap_or_default(), fit.unwrap_or_default(), activity?, stream?);
    let streamed: u64 = stream.iter().map(|m| m.points).sum();
    let count = |minutes: &[MinuteLatency]| minutes.iter().map(|m| m.histogram.count()).sum::<u64>();
    let (predictions_recorded, anomalies) =
        activity.iter().fold((0, 0), |(p, a), m| (p + m.predictions, a + m.anomalies));
    let anomaly_rate = (predictions_recorded > 0).then(|| anomalies as f64 / predictions_recorded as f64);

    let traffic = [
        Line { name: "predictions", color: BLUE, points: counts(&predict) },
        Line { name: "fits", color: GREEN, points: counts(&fit) },
    ];
    let anomaly_lines = [
        Line {
            name: "anomalous predictions",
            color: RED,
            points: activity.iter().map(|m| (m.minute, m.anomalies as f64)).collect(),
        },
        Line {
            name: "stream anomalies",
            color: ORANGE,
            points: stream.iter().map(|m| (m.minute, m.anomalies as f64)).collect(),
        },
    ];
    let stream_line =
        [Line { name: "points", color: BLUE, points: stream.iter().map(|m| (m.minute, m.points as f64)).collect() }];
    let lag_line = [Line {
        name: "worst partition",
        color: ORANGE,
        points: stream.iter().map(|m| (m.minute, m.lag_entries as f64)).collect(),
    }];
    let (predict_lines, fit_lines) = (quantile_lines(&predict), quantile_lines(&fit));
    let charts = off_the_workers("overview charts", move || {
        Ok(vec![
            minute_chart("Calls per minute", "calls", since, now, &traffic)?,
            minute_chart("Anomalies per minute", "anomalies", since, now, &anomaly_lines)?,
            minute_chart("Predict latency", "ms", since, now, &predict_lines)?,
            minute_chart("Fit latency", "ms", since, now, &fit_lines)?,
            minute_chart("Stream: points taken in per minute", "points", since, now, &stream_line)?,
            minute_chart("Stream lag", "entries behind", since, now, &lag_line)?,
        ])
    })
    .await?;

    let tiles = vec![
        ("Series trained", grouped(series?)),
        ("Model versions", grouped(versions?)),
        ("Fits / min (1 h)", per_minute(count(&fit))),
        ("Predictions / min (1 h)", per_minute(count(&predict))),
        ("Streamed points / min (1 h)", per_minute(streamed)),
        ("Anomaly rate (1 h)", anomaly_rate.map_or("–".to_owned(), |r| format!("{:.2} %", r * 100.0))),
    ];
    let states = vec![
        (format!("Database ({})", backends.store.backend()), database_up.is_ok()),
        (format!("Cache and bus ({})", backends.cache.backend()), cache_up.is_ok()),
        ("train".to_owned(), train_up),
        ("infer".to_owned(), infer_up),
        ("monitor".to_owned(), true),
    ];
    Ok(Overview { tiles, states, charts })
}

/// The page's content.
fn render(overview: &Overview) -> Markup {
    html! {
        div.tiles {
            @for (label, value) in &overview.tiles { (tile(label, value)) }
        }
        h2 { "Dependencies and services" }
        div.tiles {
            @for (name, up) in &overview.states { (state_tile(name, *up)) }
        }
        h2 { "Last hour, per minute (UTC)" }
        div.charts {
            @for svg in &overview.charts {
                div.chart { (PreEscaped(svg)) }
            }
        }
        p.muted {
            "Latency percentiles are bucketed (within 19 %). The anomaly rate counts every verdict that reached the history writer. "
            "Stream lag: the most log entries (with Kafka, messages) one partition was behind during the minute (sampled every lease round, or every second from Kafka's high watermarks). "
            "Prometheus metrics: " a href="/metrics" { "/metrics" } " on every service."
        }
    }
}

fn tile(label: &str, value: &str) -> Markup {
    html! { div.tile { div.label { (label) } div.value { (value) } } }
}

fn state_tile(name: &str, up: bool) -> Markup {
    let (class, text) = if up { ("state up", "up") } else { ("state down", "down") };
    html! { div.tile { div.label { (name) } div.value { span class=(class) { (text) } } } }
}

fn per_minute(total: u64) -> String {
    let rate = total as f64 / WINDOW_MINUTES as f64;
    match rate {
        r if r >= 10.0 => grouped(r.round() as u64),
        r if r >= 1.0 => format!("{r:.1}"),
        r => format!("{r:.2}"),
    }
}

fn counts(minutes: &[MinuteLatency]) -> Vec<(i64, f64)> {
    minutes.iter().map(|m| (m.minute, m.histogram.count() as f64)).collect()
}

fn quantile_lines(minutes: &[MinuteLatency]) -> [Line; 3] {
    let line = |name, color, quantile| Line {
        name,
        color,
        points: minutes.iter().map(|m| (m.minute, m.histogram.quantile_ms(quantile))).collect(),
    };
    [line("p50", BLUE, 0.5), line("p95", ORANGE, 0.95), line("p99", RED, 0.99)]
}

/// Whether the service at `base_url` answers its healthcheck with 200.
async fn service_up(state: &MonitorState, base_url: &str) -> bool {
    let request = state.http.get(format!("{}/healthcheck", base_url.trim_end_matches('/')));
    matches!(request.timeout(Duration::from_secs(1)).send().await, Ok(r) if r.status().is_success())
}
