//! A bound on the bytes of fit bodies in flight (`FIT_MAX_BYTES_IN_FLIGHT`):
//! a fit holds its body, the parsed series and the fitted model at once, so
//! a dozen 60 MB fits together would take over a gigabyte. A fit reserves
//! its declared `Content-Length` (the body limit when it declares none)
//! before its body is read; a fit that does not fit in what is left is
//! answered 503 with `Retry-After` at once, without reading its body.

use crate::TrainState;
use anomaly_http::ApiError;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Reservations are counted in KiB, so budgets of terabytes fit in a permit count.
const UNIT: u64 = 1024;

/// The bytes fits may hold at once.
#[derive(Debug)]
pub struct FitBudget {
    units: Arc<Semaphore>,
    total_units: u32,
    max_body_units: u32,
}

impl FitBudget {
    /// A budget of `bytes`, for bodies of at most `max_body_bytes`.
    pub fn new(bytes: u64, max_body_bytes: usize) -> Self {
        let total_units = units(bytes).max(1);
        Self {
            units: Arc::new(Semaphore::new(total_units as usize)),
            total_units,
            max_body_units: units(max_body_bytes as u64),
        }
    }

    /// Reserves room for a body of `declared` bytes (unknown: the body
    /// limit); a body larger than the whole budget reserves all of it, so it
    /// runs alone rather than never.
    pub fn reserve(&self, declared: Option<u64>) -> Result<FitReservation, ApiError> {
        let wanted = declared.map_or(self.max_body_units, units).clamp(1, self.total_units);
        Arc::clone(&self.units).try_acquire_many_owned(wanted).map(|room| FitReservation { _room: room }).map_err(
            |_| ApiError::Busy {
                code: "fits_busy",
                message: "other fits hold the memory set aside for fits (FIT_MAX_BYTES_IN_FLIGHT); retry shortly"
                    .into(),
            },
        )
    }
}

fn units(bytes: u64) -> u32 {
    u32::try_from(bytes.div_ceil(UNIT)).unwrap_or(u32::MAX)
}

/// Room reserved for one fit, given back when dropped.
#[derive(Debug)]
pub struct FitReservation {
    _room: OwnedSemaphorePermit,
}

impl FromRequestParts<Arc<TrainState>> for FitReservation {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<TrainState>) -> Result<Self, ApiError> {
        let declared =
            parts.headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
        state.fit_budget.reserve(declared)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_beyond_the_budget_wait_their_turn() {
        let budget = FitBudget::new(100 * 1024 * 1024, 64 * 1024 * 1024);
        let first = budget.reserve(Some(60 * 1024 * 1024)).expect("room for one");
        assert!(budget.reserve(Some(60 * 1024 * 1024)).is_err(), "no room for a second");
        assert!(budget.reserve(Some(1000)).is_ok(), "small fits still pass");
        assert!(budget.reserve(None).is_err(), "an undeclared length counts as the body limit");
        drop(first);
        assert!(budget.reserve(Some(60 * 1024 * 1024)).is_ok(), "room again once the first is done");
    }

    #[test]
    fn a_body_larger_than_the_budget_runs_alone() {
        let budget = FitBudget::new(1024 * 1024, 64 * 1024 * 1024);
        let alone = budget.reserve(Some(10 * 1024 * 1024)).expect("runs alone");
        assert!(budget.reserve(Some(10)).is_err());
        drop(alone);
    }
}
