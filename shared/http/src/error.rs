//! `ApiError`: every way a request can fail, mapped to a status and a stable
//! machine code. 5xx details go to the log, never to the client.

use anomaly_core::{ModelVersion, SeriesId, ValidationError};
use anomaly_store::StoreError;
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use utoipa::ToSchema;

/// The body of every error answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// Stable machine code, e.g. `too_few_points`, `series_not_found`.
    #[schema(example = "too_few_points")]
    pub error: String,
    /// What went wrong and what to fix, for people.
    #[schema(example = "at least 3 points are needed to fit a model; got 2")]
    pub message: String,
}

/// A failed request.
#[derive(Debug, Error)]
pub enum ApiError {
    /// The input broke a domain rule (422).
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// The body or query could not be read as the expected shape (422).
    #[error("{message}")]
    BadRequest {
        /// Machine code.
        code: &'static str,
        /// What to fix.
        message: String,
    },
    /// The body is larger than the configured limit (413).
    #[error("request body is larger than the configured limit (MAX_BODY_BYTES); send less or raise the limit")]
    PayloadTooLarge,
    /// The body did not arrive whole within `REQUEST_BODY_TIMEOUT` (408).
    #[error(
        "the request body did not arrive in full within the time allowed (REQUEST_BODY_TIMEOUT); send it again, faster"
    )]
    RequestTimeout,
    /// The body is not sent as JSON (415).
    #[error("{message}")]
    UnsupportedMediaType {
        /// What was sent and what to send.
        message: String,
    },
    /// No API key, or one that is not configured (401).
    #[error("{message}")]
    Unauthorized {
        /// What to send.
        message: String,
    },
    /// The API key lacks the scope the endpoint needs (403).
    #[error("{message}")]
    Forbidden {
        /// Which scope it has, which it needs.
        message: String,
    },
    /// No such series, version or route (404).
    #[error("{message}")]
    NotFound {
        /// Machine code.
        code: &'static str,
        /// What was not found.
        message: String,
    },
    /// The path exists but not with this method (405).
    #[error("{message}")]
    MethodNotAllowed {
        /// Which method, which path.
        message: String,
    },
    /// The service cannot take this request now (503 with `Retry-After`):
    /// a bounded resource is in use or a deadline passed.
    #[error("{message}")]
    Busy {
        /// Machine code.
        code: &'static str,
        /// What happened and when to retry.
        message: String,
    },
    /// A storage dependency failed (503); the cause is logged.
    #[error("storage unavailable")]
    Unavailable(#[from] StoreError),
    /// A server fault that is not the client's doing (500); the cause is logged.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// The 404 for a model that was asked for and not found: the version
    /// is missing if one was named and the series exists, else the series.
    pub fn model_not_found(series_id: &SeriesId, version: Option<ModelVersion>, series_exists: bool) -> Self {
        match version {
            Some(version) if series_exists => Self::NotFound {
                code: "version_not_found",
                message: format!("series {series_id} has no version {version}; omit ?version= for the latest"),
            },
            _ => Self::NotFound {
                code: "series_not_found",
                message: format!("no model has been fitted for series {series_id}"),
            },
        }
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::Validation(e) => (StatusCode::UNPROCESSABLE_ENTITY, e.code()),
            Self::BadRequest { code, .. } => (StatusCode::UNPROCESSABLE_ENTITY, code),
            Self::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Self::RequestTimeout => (StatusCode::REQUEST_TIMEOUT, "request_timeout"),
            Self::UnsupportedMediaType { .. } => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
            Self::Unauthorized { .. } => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::Forbidden { .. } => (StatusCode::FORBIDDEN, "forbidden"),
            Self::NotFound { code, .. } => (StatusCode::NOT_FOUND, code),
            Self::MethodNotAllowed { .. } => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Self::Busy { code, .. } => (StatusCode::SERVICE_UNAVAILABLE, code),
            Self::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "storage_unavailable"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error"),
        }
    }
}

impl ApiError {
    /// The status, machine code and client-facing message of the error;
    /// storage and internal failures are logged here and not shown.
    pub fn public_parts(&self) -> (StatusCode, &'static str, String) {
        let (status, code) = self.status_and_code();
        let message = match self {
            Self::Unavailable(cause) => {
                tracing::error!(%cause, "storage dependency failed");
                "a storage dependency is unavailable; retry shortly (see /healthcheck)".to_owned()
            }
            Self::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                "internal error; it has been logged".to_owned()
            }
            other => other.to_string(),
        };
        (status, code, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let busy = matches!(self, Self::Busy { .. });
        let unauthorized = matches!(self, Self::Unauthorized { .. });
        // Answered before the body is read: the server drops the connection
        // rather than read a body it refused, and says so.
        let body_unread =
            matches!(self, Self::Unauthorized { .. } | Self::Forbidden { .. } | Self::UnsupportedMediaType { .. });
        let (status, code, message) = self.public_parts();
        let mut response = (status, Json(ErrorBody { error: code.to_owned(), message })).into_response();
        let headers = response.headers_mut();
        if busy {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if body_unread {
            headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        if unauthorized {
            // Bearer for API clients; Basic so a browser asks for the key.
            headers.append(header::WWW_AUTHENTICATE, HeaderValue::from_static(r#"Bearer realm="anomaly""#));
            headers.append(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Basic realm="anomaly", charset="UTF-8""#),
            );
        }
        response
    }
}

/// The JSON 405 for a known path called with the wrong method.
pub async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::MethodNotAllowed { message: format!("{method} is not allowed on {}; see /docs", uri.path()) }
}

/// The JSON 404 for paths no route matches.
pub async fn route_not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound { code: "route_not_found", message: format!("no route for {}; see /docs", uri.path()) }
}
