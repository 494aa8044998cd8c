//! The `event: verdict` part of `GET /events?series_id=`: while a client
//! follows a series, the series is marked watched (renewed every
//! [`WATCH_RENEW`], lapsing [`WATCH_TTL`] after the client left), so the
//! stream workers publish its verdicts; each one is sent as it comes. Not
//! resumable (no `id:`) and best effort: a client that falls behind the
//! process's verdict buffer misses some.

use anomaly_core::SeriesId;
use anomaly_store::LiveVerdicts;
use axum::response::sse::Event;
use futures::Stream;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::AbortHandle;

/// How long a watch lasts without renewal.
const WATCH_TTL: Duration = Duration::from_secs(30);
/// How often a connected client's watch is renewed.
const WATCH_RENEW: Duration = Duration::from_secs(10);

/// Stops renewing the watch when the client's stream is dropped.
struct Watching(AbortHandle);

impl Drop for Watching {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The verdicts of `series_id` from now on, as SSE events, while the
/// returned stream lives.
pub fn verdict_events(live: Arc<dyn LiveVerdicts>, series_id: SeriesId) -> impl Stream<Item = Event> {
    let receiver = live.subscribe();
    let renew = {
        let series_id = series_id.clone();
        tokio::spawn(async move {
            loop {
                if let Err(error) = live.watch(&series_id, WATCH_TTL).await {
                    tracing::warn!(%error, series = %series_id, "cannot mark a series watched; retrying");
                }
                tokio::time::sleep(WATCH_RENEW).await;
            }
        })
    };
    let state = (receiver, Watching(renew.abort_handle()), series_id);
    futures::stream::unfold(state, |(mut receiver, watching, series_id)| async move {
        loop {
            match receiver.recv().await {
                Ok(verdict) if verdict.series_id == series_id.as_str() => {
                    let data = serde_json::to_string(&*verdict).unwrap_or_default();
                    let event = Event::default().event("verdict").data(data);
                    return Some((event, (receiver, watching, series_id)));
                }
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return None,
            }
        }
    })
}
