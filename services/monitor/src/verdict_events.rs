//! The `event: verdict` part of `GET /events?series_id=`: while a client
//! follows a series, the series is marked watched (renewed every
//! [`WATCH_RENEW`], lapsing [`WATCH_TTL`] after the client left), so the
//! stream workers publish its verdicts; each one is sent as it comes. Not
//! resumable (no `id:`) and best effort: a client that falls behind the
//! process's verdict buffer misses some, and is told so with
//! `event: verdicts_missed` (data `{"at_most": n}`).

use anomaly_core::SeriesId;
use anomaly_store::{LiveVerdict, LiveVerdicts};
use axum::response::sse::Event;
use futures::{Stream, StreamExt};
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
    verdict_messages(live, series_id).map(|message| match message {
        Message::Verdict(verdict) => {
            Event::default().event("verdict").data(serde_json::to_string(&*verdict).unwrap_or_default())
        }
        Message::Missed(missed) => Event::default().event("verdicts_missed").data(format!(r#"{{"at_most":{missed}}}"#)),
    })
}

/// What a client following a series is sent.
#[derive(Debug, PartialEq)]
enum Message {
    Verdict(Arc<LiveVerdict>),
    /// The client fell behind and up to this many verdicts (of every
    /// watched series) were dropped for it: a chart can say it has a gap.
    Missed(u64),
}

fn verdict_messages(live: Arc<dyn LiveVerdicts>, series_id: SeriesId) -> impl Stream<Item = Message> {
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
            let message = match receiver.recv().await {
                Ok(verdict) if verdict.series_id == series_id.as_str() => Message::Verdict(verdict),
                Ok(_) => continue,
                Err(RecvError::Lagged(missed)) => Message::Missed(missed),
                Err(RecvError::Closed) => return None,
            };
            return Some((message, (receiver, watching, series_id)));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use anomaly_store::{MemoryLiveVerdicts, VERDICT_BUFFER};
    use futures::StreamExt;

    fn verdict(series: &str, timestamp: i64) -> LiveVerdict {
        LiveVerdict {
            series_id: series.into(),
            timestamp,
            value: 1.0,
            score: Some(0.5),
            anomaly_score: Some(0.14),
            anomaly: false,
            warming_up: false,
            detector: "novelty".into(),
            model_version: None,
        }
    }

    #[tokio::test]
    async fn a_client_gets_its_series_verdicts_and_is_told_when_it_fell_behind() {
        let live = Arc::new(MemoryLiveVerdicts::default());
        let cpu = SeriesId::parse("cpu").expect("id");
        let messages = verdict_messages(live.clone(), cpu.clone());
        futures::pin_mut!(messages);
        live.publish(&[verdict("mem", 1), verdict("cpu", 2)]).await.expect("published");
        assert_eq!(messages.next().await, Some(Message::Verdict(Arc::new(verdict("cpu", 2)))));
        tokio::time::sleep(Duration::from_millis(20)).await; // the renewing task runs
        assert!(live.watched().await.expect("watched").contains(&cpu), "watched while followed");

        // Not read meanwhile: the buffer overflows by 10.
        let flood: Vec<_> = (0..VERDICT_BUFFER as i64 + 10).map(|t| verdict("cpu", 10 + t)).collect();
        live.publish(&flood).await.expect("published");
        assert_eq!(messages.next().await, Some(Message::Missed(10)));
        assert_eq!(messages.next().await, Some(Message::Verdict(Arc::new(verdict("cpu", 20)))), "then what is left");
    }
}
