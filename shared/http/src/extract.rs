//! Extractors whose failures have the same JSON error shape as everything
//! else: a body, a body declared as JSON (415 otherwise, so a cross-site
//! form or `text/plain` POST never reaches a handler), a query string, and
//! a validated series id from the path.

use crate::ApiError;
use crate::body_guard::{BodyDeadlinePassed, BodyTooLarge};
use anomaly_core::{SeriesId, ValidationError};
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use http_body_util::BodyExt;
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// The raw body, within the server's bounds (413 past its size limit,
/// 408 past its deadline: see [`crate::body_guard`]).
#[derive(Debug)]
pub struct ApiBytes(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for ApiBytes {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, ApiError> {
        let collected = request.into_body().collect().await.map_err(|error| {
            if caused_by::<BodyTooLarge>(&error) {
                ApiError::PayloadTooLarge
            } else if caused_by::<BodyDeadlinePassed>(&error) {
                ApiError::RequestTimeout
            } else {
                ApiError::BadRequest { code: "unreadable_body", message: format!("could not read the body: {error}") }
            }
        })?;
        Ok(Self(collected.to_bytes()))
    }
}

/// Whether `error` comes from an `E` somewhere down its chain of sources.
fn caused_by<E: std::error::Error + 'static>(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(error) = current {
        if error.is::<E>() {
            return true;
        }
        current = error.source();
    }
    false
}

/// How a request body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    /// `application/json` (or any `application/*+json`).
    Json,
    /// `application/x-ndjson`: one JSON value a line.
    Ndjson,
}

/// The format `headers` declare: JSON, or NDJSON where `ndjson_allowed`;
/// 415 for anything else, a missing `Content-Type` included.
fn body_format(headers: &HeaderMap, ndjson_allowed: bool) -> Result<BodyFormat, ApiError> {
    let declared = headers.get(header::CONTENT_TYPE).map(|v| v.as_bytes());
    // The media type before any parameters, compared without copying (a
    // request's only look at it on the way to the handler).
    let essence = declared.unwrap_or_default().split(|b| *b == b';').next().unwrap_or_default().trim_ascii();
    let is = |expected: &[u8]| essence.eq_ignore_ascii_case(expected);
    let (prefix, suffix) = (b"application/".len(), b"+json".len());
    let structured_json = essence.len() >= prefix + suffix
        && essence[..prefix].eq_ignore_ascii_case(b"application/")
        && essence[essence.len() - suffix..].eq_ignore_ascii_case(b"+json");
    if is(b"application/json") || structured_json {
        return Ok(BodyFormat::Json);
    }
    if ndjson_allowed && is(b"application/x-ndjson") {
        return Ok(BodyFormat::Ndjson);
    }
    let expected = if ndjson_allowed { "application/json or application/x-ndjson" } else { "application/json" };
    let got = declared.map_or_else(|| "none".to_owned(), |value| format!("{:?}", String::from_utf8_lossy(value)));
    Err(ApiError::UnsupportedMediaType {
        message: format!(
            "send the body with Content-Type: {expected} (got {got}); with curl: --json or -H 'Content-Type: application/json'"
        ),
    })
}

/// The raw body of a request declared as JSON (415 otherwise).
#[derive(Debug)]
pub struct JsonBytes(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for JsonBytes {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        declared_body(request, state, false).await.map(|(_, bytes)| Self(bytes))
    }
}

/// The raw body of a request declared as JSON or NDJSON, and which (415
/// otherwise).
#[derive(Debug)]
pub struct JsonOrNdjsonBytes(pub BodyFormat, pub Bytes);

impl<S: Send + Sync> FromRequest<S> for JsonOrNdjsonBytes {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        declared_body(request, state, true).await.map(|(format, bytes)| Self(format, bytes))
    }
}

/// The declared format, checked before the body is read, and the body.
async fn declared_body<S: Send + Sync>(
    request: Request,
    state: &S,
    ndjson_allowed: bool,
) -> Result<(BodyFormat, Bytes), ApiError> {
    let format = body_format(request.headers(), ndjson_allowed)?;
    let ApiBytes(bytes) = ApiBytes::from_request(request, state).await?;
    Ok((format, bytes))
}

/// A JSON body, parsed (415 if not declared as JSON).
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let JsonBytes(bytes) = JsonBytes::from_request(request, state).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Parses JSON, naming what is wrong in a way a client can act on.
pub fn parse_json<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|error| {
        let text = error.to_string();
        if text.starts_with("number out of range") {
            return ValidationError::NonFiniteValue(format!("a number is outside the 64-bit float range ({text})"))
                .into();
        }
        let code = match error.classify() {
            serde_json::error::Category::Data if text.starts_with("missing field") => "missing_field",
            serde_json::error::Category::Data => "invalid_field",
            _ => "malformed_json",
        };
        ApiError::BadRequest { code, message: format!("request body: {text}") }
    })
}

/// A query string parsed into `T`.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(value) = Query::<T>::from_request_parts(parts, state)
            .await
            .map_err(|rejection| ApiError::BadRequest { code: "invalid_query", message: rejection.body_text() })?;
        Ok(Self(value))
    }
}

/// The `{series_id}` path segment, validated.
#[derive(Debug)]
pub struct SeriesIdPath(pub SeriesId);

/// The `{series_id}` path parameter as the OpenAPI documents state it
/// (`params(SeriesIdParam)`); [`SeriesIdPath`] enforces it.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SeriesIdParam {
    /// 1 to 128 bytes of [A-Za-z0-9._:-], other than . and ..
    #[param(value_type = SeriesIdText, inline)]
    pub series_id: String,
}

// How the OpenAPI documents state a series id wherever one is a parameter
// (`#[param(value_type = SeriesIdText, inline)]`, or `Option<SeriesIdText>`
// for an optional one); `SeriesId` enforces it. The doc line below is the
// schema's description in the documents.
/// 1 to 128 bytes of [A-Za-z0-9._:-], other than . and ..
#[derive(utoipa::ToSchema)]
#[schema(pattern = r"^(?!\.{1,2}$)[A-Za-z0-9._:-]{1,128}$")]
pub struct SeriesIdText(pub String);

impl<S: Send + Sync> FromRequestParts<S> for SeriesIdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let raw = Path::<String>::from_request_parts(parts, state).await.map(|Path(raw)| raw).unwrap_or_default();
        Ok(Self(SeriesId::try_from(raw)?))
    }
}

/// Handler for `/fit/` and `/predict/`: the series id is empty.
pub async fn empty_series_id() -> ApiError {
    SeriesId::parse("").map_or_else(ApiError::from, |_| ApiError::Internal("empty id accepted".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Body {
        values: Vec<f64>,
    }

    fn code(json: &str) -> String {
        let error = parse_json::<Body>(json.as_bytes()).expect_err("should fail");
        match error {
            ApiError::BadRequest { code, .. } => code.to_owned(),
            ApiError::Validation(e) => e.code().to_owned(),
            other => format!("{other:?}"),
        }
    }

    fn format_of(content_type: Option<&str>, ndjson_allowed: bool) -> Result<BodyFormat, String> {
        let mut headers = HeaderMap::new();
        if let Some(value) = content_type {
            headers.insert(header::CONTENT_TYPE, value.parse().expect("header value"));
        }
        body_format(&headers, ndjson_allowed).map_err(|e| e.public_parts().1.to_owned())
    }

    #[test]
    fn only_json_content_types_are_read_as_json() {
        assert_eq!(format_of(Some("application/json"), false), Ok(BodyFormat::Json));
        assert_eq!(format_of(Some("Application/JSON; charset=utf-8"), false), Ok(BodyFormat::Json));
        assert_eq!(format_of(Some("application/merge-patch+json"), false), Ok(BodyFormat::Json));
        assert_eq!(format_of(Some("application/x-ndjson"), true), Ok(BodyFormat::Ndjson));
        for refused in
            [None, Some("text/plain"), Some("application/x-www-form-urlencoded"), Some("multipart/form-data")]
        {
            assert_eq!(format_of(refused, true), Err("unsupported_media_type".to_owned()), "{refused:?}");
        }
        assert_eq!(format_of(Some("application/x-ndjson"), false), Err("unsupported_media_type".to_owned()));
        assert_eq!(format_of(Some(" APPLICATION/X-NDJSON ; q=1"), true), Ok(BodyFormat::Ndjson));
        assert_eq!(format_of(Some("application+json"), false), Err("unsupported_media_type".to_owned()));
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            axum::http::HeaderValue::from_bytes(b"application/\xffjson").expect("obs-text"),
        );
        let refused = body_format(&headers, false).expect_err("not JSON");
        assert!(refused.public_parts().2.contains("application/\u{fffd}json"), "named in the message: {refused:?}");
    }

    #[test]
    fn names_each_json_defect() {
        assert_eq!(code("{"), "malformed_json");
        assert_eq!(code("not json"), "malformed_json");
        assert_eq!(code("{}"), "missing_field");
        assert_eq!(code(r#"{"values": "x"}"#), "invalid_field");
        assert_eq!(code(r#"{"values": [1e999]}"#), "non_finite_value");
    }
}
