//! The in-process adapters: cache, bus and latency window (here), the
//! anomaly feed, the partition leases and the live verdicts: the embedded
//! default, where all three services live in one process. Also the fakes
//! for unit tests.

mod anomaly_feed;
mod leases;
mod live_verdicts;

pub use anomaly_feed::MemoryAnomalyFeed;
pub use leases::MemoryLeases;
pub use live_verdicts::MemoryLiveVerdicts;

use crate::ports::bus::{ACK_TIMEOUT, Ack};
use crate::ports::latency_log::{MINUTES_KEPT, MinuteLatency, current_minute};
use crate::{BusEvent, Change, InvalidationBus, LatencyKind, LatencyLog, ModelCache, StoreError};
use anomaly_core::{LatencyHistogram, LatencySummary, ModelRecord, ModelVersion, SeriesId};
use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Mutex, PoisonError, RwLock};
use tokio::sync::{mpsc, oneshot};

/// A [`ModelCache`] in a map, shared by reference.
#[derive(Debug, Default)]
pub struct MemoryCache {
    series: RwLock<HashMap<SeriesId, CachedSeries>>,
}

/// What is cached of one series.
#[derive(Debug, Default)]
struct CachedSeries {
    versions: BTreeMap<ModelVersion, ModelRecord>,
    latest: Option<ModelRecord>,
    /// Versions up to this one were deleted: never cached again.
    deleted: Option<ModelVersion>,
}

impl MemoryCache {
    fn put(&self, record: &ModelRecord, as_latest: bool) {
        let mut all = self.series.write().unwrap_or_else(PoisonError::into_inner);
        let cached = all.entry(record.series_id.clone()).or_default();
        if cached.deleted.is_some_and(|deleted| record.version <= deleted) {
            return;
        }
        cached.versions.insert(record.version, record.clone());
        if as_latest && cached.latest.as_ref().is_none_or(|latest| latest.version < record.version) {
            cached.latest = Some(record.clone());
        }
    }
}

#[async_trait]
impl ModelCache for MemoryCache {
    async fn get(
        &self,
        series_id: &SeriesId,
        version: Option<ModelVersion>,
    ) -> Result<Option<ModelRecord>, StoreError> {
        let all = self.series.read().unwrap_or_else(PoisonError::into_inner);
        let Some(cached) = all.get(series_id) else { return Ok(None) };
        Ok(match version {
            Some(v) => cached.versions.get(&v).cloned(),
            None => cached.latest.clone(),
        })
    }

    async fn put_version(&self, record: &ModelRecord) -> Result<(), StoreError> {
        self.put(record, false);
        Ok(())
    }

    async fn put_latest(&self, record: &ModelRecord) -> Result<(), StoreError> {
        self.put(record, true);
        Ok(())
    }

    async fn forget(&self, series_id: &SeriesId, through: ModelVersion) -> Result<(), StoreError> {
        let mut all = self.series.write().unwrap_or_else(PoisonError::into_inner);
        let cached = all.entry(series_id.clone()).or_default();
        cached.deleted = cached.deleted.max(Some(through));
        cached.versions.retain(|version, _| *version > through);
        if cached.latest.as_ref().is_some_and(|latest| latest.version <= through) {
            cached.latest = None;
        }
        Ok(())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn backend(&self) -> &'static str {
        "memory"
    }
}

/// One subscriber's inbox: the series, its change, and where to acknowledge it.
type Inbox = mpsc::UnboundedSender<(SeriesId, Change, oneshot::Sender<()>)>;

/// An [`InvalidationBus`] between the tasks of one process.
#[derive(Debug, Default)]
pub struct MemoryBus {
    subscribers: Mutex<Vec<Inbox>>,
}

#[async_trait]
impl InvalidationBus for MemoryBus {
    async fn publish(&self, series_id: &SeriesId, change: Change) -> Result<(), StoreError> {
        let mut pending = Vec::new();
        self.subscribers.lock().unwrap_or_else(PoisonError::into_inner).retain(|subscriber| {
            let (ack, acked) = oneshot::channel();
            let alive = subscriber.send((series_id.clone(), change, ack)).is_ok();
            if alive {
                pending.push(acked);
            }
            alive
        });
        let all_acked = futures::future::join_all(pending);
        if tokio::time::timeout(ACK_TIMEOUT, all_acked).await.is_err() {
            tracing::warn!(%series_id, "a subscriber did not acknowledge the invalidation in time");
        }
        Ok(())
    }

    fn subscribe(&self) -> BoxStream<'static, BusEvent> {
        let (sender, receiver) = mpsc::unbounded_channel();
        self.subscribers.lock().unwrap_or_else(PoisonError::into_inner).push(sender);
        let events = futures::stream::unfold(receiver, |mut receiver| async move {
            let (series_id, change, ack) = receiver.recv().await?;
            let ack = Ack::new(move || {
                let _ = ack.send(());
            });
            Some((BusEvent::Invalidate(series_id, change, ack), receiver))
        });
        futures::stream::once(async { BusEvent::Connected }).chain(events).boxed()
    }
}

/// A [`LatencyLog`] in process memory.
#[derive(Debug)]
pub struct MemoryLatencyLog {
    window: usize,
    samples: Mutex<HashMap<LatencyKind, VecDeque<f64>>>,
    minutes: Mutex<BTreeMap<(LatencyKind, i64), LatencyHistogram>>,
}

impl MemoryLatencyLog {
    /// Keeps the `window` most recent samples per kind.
    pub fn new(window: usize) -> Self {
        Self { window: window.max(1), samples: Mutex::default(), minutes: Mutex::default() }
    }
}

#[async_trait]
impl LatencyLog for MemoryLatencyLog {
    async fn append(&self, kind: LatencyKind, samples_ms: &[f64]) -> Result<(), StoreError> {
        let mut all = self.samples.lock().unwrap_or_else(PoisonError::into_inner);
        let window = all.entry(kind).or_default();
        window.extend(samples_ms);
        let excess = window.len().saturating_sub(self.window);
        window.drain(..excess);
        drop(all);
        if samples_ms.is_empty() {
            return Ok(());
        }
        let minute = current_minute();
        let mut minutes = self.minutes.lock().unwrap_or_else(PoisonError::into_inner);
        let histogram = minutes.entry((kind, minute)).or_default();
        for sample in samples_ms {
            histogram.record(*sample);
        }
        minutes.retain(|(_, m), _| *m > minute - MINUTES_KEPT);
        Ok(())
    }

    async fn minutes(&self, kind: LatencyKind, since_minute: i64) -> Result<Vec<MinuteLatency>, StoreError> {
        let minutes = self.minutes.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(minutes
            .range((kind, since_minute)..=(kind, i64::MAX))
            .map(|((_, minute), histogram)| MinuteLatency { minute: *minute, histogram: histogram.clone() })
            .collect())
    }

    async fn summary(&self, kind: LatencyKind) -> Result<LatencySummary, StoreError> {
        let all = self.samples.lock().unwrap_or_else(PoisonError::into_inner);
        let samples: Vec<f64> = all.get(&kind).map(|w| w.iter().copied().collect()).unwrap_or_default();
        Ok(LatencySummary::of(&samples))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anomaly_core::{Direction, ModelParams};

    fn record(version: u32) -> ModelRecord {
        ModelRecord {
            series_id: SeriesId::parse("s").expect("valid"),
            version: ModelVersion::new(version).expect("valid"),
            params: ModelParams::three_sigma(1.0, 1.0, 3.0, Direction::TwoSided, 3).expect("valid"),
            trained_at_ms: 0,
        }
    }

    #[tokio::test]
    async fn latest_never_goes_back() {
        let cache = MemoryCache::default();
        cache.put_latest(&record(2)).await.expect("put");
        cache.put_latest(&record(1)).await.expect("put");
        let latest = cache.get(&record(1).series_id, None).await.expect("get").expect("cached");
        assert_eq!(latest.version.number(), 2);
        assert!(cache.get(&record(1).series_id, ModelVersion::new(1)).await.expect("get").is_some());
    }

    #[tokio::test]
    async fn forgotten_versions_are_never_cached_again() {
        let cache = MemoryCache::default();
        let id = record(1).series_id;
        cache.put_latest(&record(1)).await.expect("put");
        cache.put_latest(&record(2)).await.expect("put");
        cache.forget(&id, ModelVersion::new(2).expect("valid")).await.expect("forget");
        assert!(cache.get(&id, None).await.expect("get").is_none());
        assert!(cache.get(&id, ModelVersion::new(1)).await.expect("get").is_none());
        cache.put_latest(&record(2)).await.expect("a stale lookup puts it back");
        assert!(cache.get(&id, None).await.expect("get").is_none(), "refused: deleted");
        cache.put_latest(&record(3)).await.expect("put");
        assert_eq!(cache.get(&id, None).await.expect("get").map(|r| r.version.number()), Some(3));
    }

    #[tokio::test]
    async fn caching_a_version_leaves_latest_alone() {
        let cache = MemoryCache::default();
        cache.put_version(&record(1)).await.expect("put");
        assert!(cache.get(&record(1).series_id, None).await.expect("get").is_none());
    }

    #[tokio::test]
    async fn latency_window_is_bounded() {
        let log = MemoryLatencyLog::new(3);
        log.append(LatencyKind::Training, &[100.0, 1.0, 2.0, 3.0]).await.expect("append");
        let summary = log.summary(LatencyKind::Training).await.expect("summary");
        assert_eq!((summary.samples, summary.avg), (3, 2.0));
        let minutes = log.minutes(LatencyKind::Training, 0).await.expect("minutes");
        assert_eq!(minutes.len(), 1);
        assert_eq!(minutes[0].histogram.count(), 4, "the minute keeps every sample, not just the window");
        assert!(log.minutes(LatencyKind::Inference, 0).await.expect("minutes").is_empty());
    }

    #[tokio::test]
    async fn publish_returns_once_every_subscriber_acknowledged() {
        let bus = std::sync::Arc::new(MemoryBus::default());
        let mut events = bus.subscribe();
        assert!(matches!(events.next().await, Some(BusEvent::Connected)));
        let publisher = tokio::spawn({
            let bus = bus.clone();
            async move { bus.publish(&record(1).series_id, Change::Deleted).await }
        });
        let Some(BusEvent::Invalidate(series_id, change, ack)) = events.next().await else { panic!("an invalidation") };
        assert_eq!((series_id, change), (record(1).series_id, Change::Deleted));
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(!publisher.is_finished(), "publish waits for the acknowledgement");
        ack.send();
        publisher.await.expect("joined").expect("published");
    }
}
