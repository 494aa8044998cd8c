//! Checks of the query parameters several monitor routes and pages share:
//! a page size, a time range, an optional series id, the anomaly source,
//! and an answer's `format`.

use anomaly_core::SeriesId;
use anomaly_http::ApiError;

/// `limit`, or `default` when omitted; 422 `invalid_limit` outside 1..=`max`.
pub fn page_limit(limit: Option<u32>, default: u32, max: u32) -> Result<u32, ApiError> {
    let limit = limit.unwrap_or(default);
    if (1..=max).contains(&limit) {
        Ok(limit)
    } else {
        Err(ApiError::BadRequest {
            code: "invalid_limit",
            message: format!("limit must be from 1 to {max}; got {limit}"),
        })
    }
}

/// The answer format `format` forces: one of `choices` (given as two, the
/// first the default form); `None` when omitted or empty, so the `Accept`
/// header decides. 422 `invalid_query` for any other.
pub fn format_param(format: Option<&str>, choices: [&'static str; 2]) -> Result<Option<&'static str>, ApiError> {
    match format.filter(|f| !f.is_empty()) {
        None => Ok(None),
        Some(given) => {
            choices.into_iter().find(|choice| *choice == given).map(Some).ok_or_else(|| ApiError::BadRequest {
                code: "invalid_query",
                message: format!(
                    "format must be \"{}\" or \"{}\"; got {:?}",
                    choices[0],
                    choices[1],
                    given.chars().take(40).collect::<String>()
                ),
            })
        }
    }
}

/// 422 `invalid_range` when `from` is after `to`.
pub fn check_range(from: Option<i64>, to: Option<i64>) -> Result<(), ApiError> {
    match (from, to) {
        (Some(from), Some(to)) if from > to => Err(ApiError::BadRequest {
            code: "invalid_range",
            message: format!("from ({from}) must not be after to ({to})"),
        }),
        _ => Ok(()),
    }
}

/// The series a filter names; omitted or empty means every series.
pub fn optional_series_id(series_id: Option<&str>) -> Result<Option<SeriesId>, ApiError> {
    Ok(series_id.filter(|id| !id.is_empty()).map(SeriesId::parse).transpose()?)
}

/// Which sources `?source=` asks for: `(predict, stream)`; both when
/// omitted or empty.
pub fn sources(source: Option<&str>) -> Result<(bool, bool), ApiError> {
    match source.filter(|s| !s.is_empty()) {
        None => Ok((true, true)),
        Some("predict") => Ok((true, false)),
        Some("stream") => Ok((false, true)),
        Some(other) => Err(ApiError::BadRequest {
            code: "invalid_query",
            message: format!(
                "source must be \"stream\" or \"predict\"; got {:?}",
                other.chars().take(40).collect::<String>()
            ),
        }),
    }
}
