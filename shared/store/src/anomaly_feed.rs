//! The anomaly feed: every anomaly the platform finds, in the order found,
//! for other systems and for the monitor's live feed and webhooks. The
//! Redis stream `{prefix}anomalies`, or an in-process ring on the embedded
//! default. Each entry is one JSON document ([`FeedAnomaly`]) under an
//! ordered id ([`EntryId`]); readers resume after the last id they saw.
//!
//! The stream worker publishes before the batch that found the anomalies is
//! committed (at least once); infer publishes the anomalous predictions it
//! records, after they are stored.

use crate::stream::{EntryId, StreamAnomaly};
use crate::{PredictionRecord, StoreError};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::watch;

/// Anomalies the in-process feed keeps for readers that resume.
const MEMORY_FEED_CAPACITY: usize = 50_000;

/// One anomaly as published: `{"series_id", "timestamp", "value", "score",
/// "detector", "model_version", "recorded_at_ms", "source"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedAnomaly {
    /// The series.
    pub series_id: String,
    /// The point's time, Unix seconds.
    pub timestamp: i64,
    /// The point's value.
    pub value: f64,
    /// Its score, when finite.
    pub score: Option<f64>,
    /// The detector kind, when known (stream anomalies).
    pub detector: Option<String>,
    /// The fitted version that judged it; `null` for the stream's default detector.
    pub model_version: Option<String>,
    /// When it was judged, Unix milliseconds.
    pub recorded_at_ms: i64,
    /// `stream` or `predict`.
    pub source: String,
}

impl From<&StreamAnomaly> for FeedAnomaly {
    fn from(anomaly: &StreamAnomaly) -> Self {
        Self {
            series_id: anomaly.series_id.to_string(),
            timestamp: anomaly.timestamp,
            value: anomaly.value,
            score: anomaly.score,
            detector: Some(anomaly.detector.clone()),
            model_version: anomaly.version.map(|v| v.to_string()),
            recorded_at_ms: anomaly.recorded_at_ms,
            source: "stream".into(),
        }
    }
}

impl From<&PredictionRecord> for FeedAnomaly {
    fn from(record: &PredictionRecord) -> Self {
        Self {
            series_id: record.series_id.to_string(),
            timestamp: record.timestamp,
            value: record.value,
            score: record.score,
            detector: None,
            model_version: Some(record.version.to_string()),
            recorded_at_ms: record.recorded_at_ms,
            source: "predict".into(),
        }
    }
}

/// One anomaly read back with its position in the feed.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedEntry {
    /// Its position; readers resume after it.
    pub id: EntryId,
    /// The anomaly.
    pub anomaly: FeedAnomaly,
}

/// What one read of the feed gives.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeedPage {
    /// The entries that parse, oldest first.
    pub entries: Vec<FeedEntry>,
    /// The id of the last entry read, parsed or skipped: readers resume
    /// after it. `None`: nothing was read.
    pub end: Option<EntryId>,
    /// Entries read that do not parse (a foreign producer's), left out.
    pub skipped: u64,
}

/// Publishes anomalies and reads them back in order.
#[async_trait]
pub trait AnomalyFeed: Send + Sync {
    /// Publishes `anomalies`, in order.
    async fn publish(&self, anomalies: &[FeedAnomaly]) -> Result<(), StoreError>;

    /// Up to `count` entries after `after`, oldest first; when there are
    /// none yet, waits up to `wait` for the next. Entries that do not parse
    /// (a foreign producer's) are left out and counted, and the page's end
    /// moves past them, so no entry stops a reader.
    async fn read_after(&self, after: EntryId, count: usize, wait: Duration) -> Result<FeedPage, StoreError>;

    /// The id of the newest entry ([`EntryId::START`] when empty): reading
    /// after it follows what is published from now on.
    async fn last_id(&self) -> Result<EntryId, StoreError>;
}

/// The feed of one process: the newest [`MEMORY_FEED_CAPACITY`] anomalies.
#[derive(Debug)]
pub struct MemoryAnomalyFeed {
    entries: Mutex<VecDeque<FeedEntry>>,
    newest: watch::Sender<EntryId>,
}

impl Default for MemoryAnomalyFeed {
    fn default() -> Self {
        Self { entries: Mutex::default(), newest: watch::channel(EntryId::START).0 }
    }
}

impl MemoryAnomalyFeed {
    fn after(&self, after: EntryId, count: usize) -> Vec<FeedEntry> {
        let entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let first = entries.partition_point(|entry| entry.id <= after);
        entries.range(first..).take(count).cloned().collect()
    }
}

#[async_trait]
impl AnomalyFeed for MemoryAnomalyFeed {
    async fn publish(&self, anomalies: &[FeedAnomaly]) -> Result<(), StoreError> {
        let Some(newest) = ({
            let mut entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let mut id = entries.back().map_or(EntryId::START, |entry| entry.id);
            for anomaly in anomalies {
                // Redis's rule: the time in ms, or the last id's next sequence.
                let now = crate::clock::unix_millis().max(0) as u64;
                id = if now > id.ms { EntryId { ms: now, seq: 0 } } else { EntryId { ms: id.ms, seq: id.seq + 1 } };
                if entries.len() == MEMORY_FEED_CAPACITY {
                    entries.pop_front();
                }
                entries.push_back(FeedEntry { id, anomaly: anomaly.clone() });
            }
            (!anomalies.is_empty()).then_some(id)
        }) else {
            return Ok(());
        };
        self.newest.send_replace(newest);
        Ok(())
    }

    async fn read_after(&self, after: EntryId, count: usize, wait: Duration) -> Result<FeedPage, StoreError> {
        let mut newest = self.newest.subscribe();
        let _ = tokio::time::timeout(wait, newest.wait_for(|id| *id > after)).await;
        let entries = self.after(after, count.max(1));
        Ok(FeedPage { end: entries.last().map(|entry| entry.id), entries, skipped: 0 })
    }

    async fn last_id(&self) -> Result<EntryId, StoreError> {
        Ok(*self.newest.borrow())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anomaly(timestamp: i64) -> FeedAnomaly {
        FeedAnomaly {
            series_id: "s".into(),
            timestamp,
            value: 1.0,
            score: Some(4.0),
            detector: Some("novelty".into()),
            model_version: None,
            recorded_at_ms: 0,
            source: "stream".into(),
        }
    }

    #[tokio::test]
    async fn readers_resume_after_the_last_id_they_saw_in_order() {
        let feed = MemoryAnomalyFeed::default();
        feed.publish(&[anomaly(1), anomaly(2), anomaly(3)]).await.expect("published");
        let all = feed.read_after(EntryId::START, 10, Duration::ZERO).await.expect("read").entries;
        assert_eq!(all.iter().map(|e| e.anomaly.timestamp).collect::<Vec<_>>(), [1, 2, 3]);
        assert!(all.windows(2).all(|pair| pair[0].id < pair[1].id), "ids ordered: {all:?}");
        let rest = feed.read_after(all[0].id, 1, Duration::ZERO).await.expect("read").entries;
        assert_eq!(rest[0].anomaly.timestamp, 2);
        assert_eq!(feed.last_id().await.expect("last"), all[2].id);
    }

    #[tokio::test]
    async fn a_waiting_reader_wakes_on_the_next_publish() {
        let feed = std::sync::Arc::new(MemoryAnomalyFeed::default());
        let start = feed.last_id().await.expect("last");
        let reader = tokio::spawn({
            let feed = feed.clone();
            async move { feed.read_after(start, 10, Duration::from_secs(10)).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        feed.publish(&[anomaly(7)]).await.expect("published");
        let read = tokio::time::timeout(Duration::from_secs(2), reader).await.expect("woke").expect("joined");
        assert_eq!(read.expect("read").entries[0].anomaly.timestamp, 7);
    }

    #[tokio::test]
    async fn the_ring_keeps_the_newest_entries() {
        let feed = MemoryAnomalyFeed::default();
        let many: Vec<_> = (0..MEMORY_FEED_CAPACITY as i64 + 5).map(anomaly).collect();
        feed.publish(&many).await.expect("published");
        let oldest = feed.read_after(EntryId::START, 1, Duration::ZERO).await.expect("read");
        assert_eq!(oldest.entries[0].anomaly.timestamp, 5);
        assert_eq!(oldest.end, Some(oldest.entries[0].id));
    }
}
