//! `GET /plot?series_id=..&version=..`: one model version, as JSON (its
//! training points, as the original system's clients read them) or as SVG
//! (drawn with its band, for browsers and `<img>` tags).

use crate::MonitorState;
use crate::query_params::format_param;
use crate::render::draw_version;
use anomaly_core::{ModelVersion, SeriesId};
use anomaly_http::{ApiError, ApiQuery, ErrorBody};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Which plot.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PlotQuery {
    /// The series: 1 to 128 bytes of `[A-Za-z0-9._:-]`. Required; a
    /// missing one is answered with 422 `invalid_series_id`.
    #[param(required = true, value_type = anomaly_http::SeriesIdText, inline)]
    pub series_id: Option<String>,
    /// `v3`, `V3` or `3`; omitted means the latest version.
    #[param(pattern = r"^[vV]?0*[1-9][0-9]{0,8}$")]
    pub version: Option<String>,
    /// `json` or `svg`; wins over `Accept`. Omitted: SVG when `Accept`
    /// asks for an image or HTML first (browsers, `<img>` tags), JSON
    /// otherwise (`application/json`, `*/*` or no `Accept`).
    pub format: Option<String>,
}

/// The training points of a model version.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PlotData {
    /// The series.
    #[schema(example = "cpu.host-1")]
    pub series_id: String,
    /// The version drawn, `v1`, `v2`, ...
    #[schema(example = "v2")]
    pub model_version: String,
    /// The points the version was fitted on, oldest first.
    pub data_points: Vec<PlotPoint>,
}

/// One training point.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PlotPoint {
    /// Unix seconds, as fitted.
    pub timestamp: i64,
    /// The value, as fitted.
    pub value: f64,
}

/// The answer's form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PlotFormat {
    Json,
    Svg,
}

/// The training data of a model version: as JSON, or as SVG with its mean,
/// its `±k·std` band and the training points outside the band.
#[utoipa::path(
    get,
    path = "/plot",
    tag = "monitor",
    params(PlotQuery),
    responses(
        (status = 200, description = "The training points of the version (JSON), or the SVG image: see `format`", content(
            (PlotData = "application/json"),
            (String = "image/svg+xml"),
        )),
        (status = 404, description = "Unknown series or version", body = ErrorBody),
        (status = 422, description = "Missing or invalid series_id, version or format", body = ErrorBody),
        (status = 503, description = "A storage dependency is down, or the plot could not be drawn in time (`render_timeout`)", body = ErrorBody),
    )
)]
pub async fn plot(
    State(state): State<MonitorState>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<PlotQuery>,
) -> Result<Response, ApiError> {
    let series_id = SeriesId::parse(query.series_id.as_deref().unwrap_or_default())?;
    let version = query.version.as_deref().map(ModelVersion::parse).transpose()?;
    let format = chosen_format(query.format.as_deref(), &headers)?;
    let store = &state.backends.store;
    let Some(record) = store.model(&series_id, version).await? else {
        let series_exists = version.is_some() && store.model(&series_id, None).await?.is_some();
        return Err(ApiError::model_not_found(&series_id, version, series_exists));
    };
    if format == PlotFormat::Svg {
        let svg = draw_version(&state, record, Vec::new()).await?;
        return Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response());
    }
    let points = store
        .training_points(&record.series_id, record.version)
        .await?
        .ok_or_else(|| ApiError::Internal(format!("{} {} has no training data", record.series_id, record.version)))?;
    let data_points = points
        .timestamps
        .iter()
        .zip(&points.values)
        .map(|(&timestamp, &value)| PlotPoint { timestamp, value })
        .collect();
    Ok(Json(PlotData { series_id: series_id.to_string(), model_version: record.version.to_string(), data_points })
        .into_response())
}

/// `format` wins; else the first of JSON, image or HTML that `Accept`
/// names; else JSON.
fn chosen_format(format: Option<&str>, headers: &HeaderMap) -> Result<PlotFormat, ApiError> {
    match format_param(format, ["json", "svg"])? {
        Some("svg") => return Ok(PlotFormat::Svg),
        Some(_) => return Ok(PlotFormat::Json),
        None => {}
    }
    let accept = headers.get(header::ACCEPT).and_then(|value| value.to_str().ok()).unwrap_or_default();
    let first = accept.split(',').map(|range| range.split(';').next().unwrap_or_default().trim()).find_map(|media| {
        if media == "application/json" || media.ends_with("+json") {
            Some(PlotFormat::Json)
        } else if media.starts_with("image/") || media == "text/html" || media == "application/xhtml+xml" {
            Some(PlotFormat::Svg)
        } else {
            None
        }
    });
    Ok(first.unwrap_or(PlotFormat::Json))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn accepting(accept: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(accept) = accept {
            headers.insert(header::ACCEPT, HeaderValue::from_str(accept).expect("header"));
        }
        headers
    }

    #[test]
    fn api_clients_get_json_and_browsers_svg() {
        let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";
        let img_tag = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8";
        for (accept, expected) in [
            (None, PlotFormat::Json),
            (Some("*/*"), PlotFormat::Json),
            (Some("application/json"), PlotFormat::Json),
            (Some("application/json, image/svg+xml"), PlotFormat::Json),
            (Some("image/svg+xml"), PlotFormat::Svg),
            (Some(browser), PlotFormat::Svg),
            (Some(img_tag), PlotFormat::Svg),
            (Some("text/plain"), PlotFormat::Json),
        ] {
            assert_eq!(chosen_format(None, &accepting(accept)).ok(), Some(expected), "{accept:?}");
        }
    }

    #[test]
    fn format_wins_over_accept_and_a_bad_one_is_refused() {
        assert_eq!(chosen_format(Some("svg"), &accepting(Some("application/json"))).ok(), Some(PlotFormat::Svg));
        assert_eq!(chosen_format(Some("json"), &accepting(Some("image/png"))).ok(), Some(PlotFormat::Json));
        assert_eq!(chosen_format(Some(""), &accepting(Some("image/png"))).ok(), Some(PlotFormat::Svg));
        assert!(matches!(
            chosen_format(Some("png"), &HeaderMap::new()),
            Err(ApiError::BadRequest { code: "invalid_query", .. })
        ));
    }
}
