//! Charts and SVG (`plot`: a model version; `charts`: the per-minute
//! charts; `history`: the stream's stored points of a series), always drawn off the async workers, bounded: at most one chart per core is
//! drawn at a time, and the request gets an answer within
//! [`RENDER_DEADLINE`] whatever the drawing does. Drawing is bounded by
//! construction (the plots clamp every coordinate to a range plotters
//! handles); the deadline and the cap are the second line, so that a
//! drawing bug costs at most one core per slot and never a hung request.

pub mod charts;
pub mod history;
pub mod plot;

use crate::MonitorState;
use anomaly_core::ModelRecord;
use anomaly_http::ApiError;
use plot::{PlotInput, render_svg};
use std::sync::{Arc, LazyLock};
use std::time::Duration;
use tokio::sync::Semaphore;

/// How long a request waits for its chart, slot included.
pub(crate) const RENDER_DEADLINE: Duration = Duration::from_secs(10);

/// One drawing slot per core.
static SLOTS: LazyLock<Arc<Semaphore>> =
    LazyLock::new(|| Arc::new(Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()))));

/// Runs `draw` on the blocking pool and returns what it drew, or a 503
/// `render_timeout` when no slot frees up or the drawing does not end in time.
pub(crate) async fn off_the_workers<T: Send + 'static>(
    what: &'static str,
    draw: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, ApiError> {
    within(RENDER_DEADLINE, what, draw).await
}

async fn within<T: Send + 'static>(
    deadline: Duration,
    what: &'static str,
    draw: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, ApiError> {
    let drawn = tokio::time::timeout(deadline, async {
        let slot = SLOTS.clone().acquire_owned().await.map_err(|e| ApiError::Internal(e.to_string()))?;
        tokio::task::spawn_blocking(move || {
            let drawn = draw();
            drop(slot);
            drawn
        })
        .await
        .map_err(|e| ApiError::Internal(format!("{what} task failed: {e}")))?
        .map_err(ApiError::Internal)
    })
    .await;
    drawn.unwrap_or_else(|_| {
        tracing::error!(what, ?deadline, "drawing did not finish in time");
        Err(ApiError::Busy {
            code: "render_timeout",
            message: format!("the {what} could not be drawn within {deadline:?}; retry later"),
        })
    })
}

/// The SVG of a stored version with `predictions` (time, value, anomaly)
/// drawn over its band; the training points are read here and the drawing
/// runs off the async workers.
pub async fn draw_version(
    state: &MonitorState,
    record: ModelRecord,
    predictions: Vec<(i64, f64, bool)>,
) -> Result<String, ApiError> {
    let points =
        state.backends.store.training_points(&record.series_id, record.version).await?.ok_or_else(|| {
            ApiError::Internal(format!("{} {} has no training data", record.series_id, record.version))
        })?;
    off_the_workers("plot", move || {
        render_svg(&PlotInput {
            record: &record,
            timestamps: &points.timestamps,
            values: &points.values,
            predictions: &predictions,
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn answers_what_was_drawn() {
        assert_eq!(off_the_workers("chart", || Ok(7)).await.ok(), Some(7));
        assert!(matches!(off_the_workers::<()>("chart", || Err("bad".into())).await, Err(ApiError::Internal(_))));
    }

    #[tokio::test]
    async fn a_drawing_that_does_not_end_is_answered_at_the_deadline() {
        let (release, stuck) = std::sync::mpsc::channel::<()>();
        let answer = within(Duration::from_millis(100), "chart", move || {
            let _ = stuck.recv();
            Ok(())
        })
        .await;
        drop(release);
        assert!(matches!(answer, Err(ApiError::Busy { code: "render_timeout", .. })), "{answer:?}");
    }
}
