//! The anomaly feed of one process (the embedded default): a ring of the
//! newest anomalies, ids made by Redis's rule.

use crate::ports::anomaly_feed::{AnomalyFeed, FeedAnomaly, FeedEntry, FeedPage};
use crate::{LogPosition, StoreError};
use async_trait::async_trait;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::watch;

/// Anomalies the in-process feed keeps for readers that resume.
const MEMORY_FEED_CAPACITY: usize = 50_000;

/// The feed of one process: the newest [`MEMORY_FEED_CAPACITY`] anomalies.
#[derive(Debug)]
pub struct MemoryAnomalyFeed {
    entries: Mutex<VecDeque<FeedEntry>>,
    newest: watch::Sender<LogPosition>,
}

impl Default for MemoryAnomalyFeed {
    fn default() -> Self {
        Self { entries: Mutex::default(), newest: watch::channel(LogPosition::START).0 }
    }
}

impl MemoryAnomalyFeed {
    fn after(&self, after: LogPosition, count: usize) -> Vec<FeedEntry> {
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
            let mut id = entries.back().map_or(LogPosition::START, |entry| entry.id);
            for anomaly in anomalies {
                // Redis's rule: the time in ms, or the last id's next sequence.
                let now = crate::clock::unix_millis().max(0) as u64;
                id = if now > id.major {
                    LogPosition { major: now, minor: 0 }
                } else {
                    LogPosition { major: id.major, minor: id.minor + 1 }
                };
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

    async fn read_after(&self, after: LogPosition, count: usize, wait: Duration) -> Result<FeedPage, StoreError> {
        let mut newest = self.newest.subscribe();
        let _ = tokio::time::timeout(wait, newest.wait_for(|id| *id > after)).await;
        let entries = self.after(after, count.max(1));
        Ok(FeedPage { end: entries.last().map(|entry| entry.id), entries, skipped: 0 })
    }

    async fn last_id(&self) -> Result<LogPosition, StoreError> {
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
            anomaly_score: Some(0.8),
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
        let all = feed.read_after(LogPosition::START, 10, Duration::ZERO).await.expect("read").entries;
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
        let oldest = feed.read_after(LogPosition::START, 1, Duration::ZERO).await.expect("read");
        assert_eq!(oldest.entries[0].anomaly.timestamp, 5);
        assert_eq!(oldest.end, Some(oldest.entries[0].id));
    }
}
