//! Latency of successful calls: measured by the handler from a parsed
//! request to its answer, written to a lock-free ring in process (an atomic add and an atomic
//! store, nanoseconds), and flushed in batches to the platform-wide
//! [`LatencyLog`], so recording never waits on a lock or on Redis.
//!
//! The ring holds the samples of one flush interval; past that, older
//! unflushed samples are overwritten, which only thins a window that is a
//! sample anyway. A sample written while a flush reads its slot is picked
//! up by a later flush or dropped.

use anomaly_store::{LatencyKind, LatencyLog, StoreError};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

/// Samples the ring holds between two flushes (a power of two).
const RING_SLOTS: usize = 1 << 16;

/// Collects the latencies of one kind of call.
pub struct LatencyRecorder {
    kind: LatencyKind,
    /// Nanoseconds + 1 per slot; 0 marks an empty slot.
    ring: Box<[AtomicU64]>,
    /// Slots ever claimed by writers.
    written: AtomicUsize,
    /// Slots already taken by a flush (only flushes touch it).
    flushed: Mutex<usize>,
    log: Arc<dyn LatencyLog>,
}

impl LatencyRecorder {
    /// A recorder flushing to `log` every `flush_every` until it is dropped.
    pub fn start(kind: LatencyKind, log: Arc<dyn LatencyLog>, flush_every: Duration) -> Arc<Self> {
        let recorder = Arc::new(Self {
            kind,
            ring: (0..RING_SLOTS).map(|_| AtomicU64::new(0)).collect(),
            written: AtomicUsize::new(0),
            flushed: Mutex::new(0),
            log,
        });
        tokio::spawn(flush_periodically(Arc::downgrade(&recorder), flush_every));
        recorder
    }

    /// Records one sample.
    pub fn record(&self, elapsed: Duration) {
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX - 1);
        let slot = self.written.fetch_add(1, Ordering::Relaxed) % RING_SLOTS;
        self.ring[slot].store(nanos + 1, Ordering::Release);
    }

    /// Awaits `call` and records its duration if it succeeded.
    pub async fn time<T, E>(&self, call: impl Future<Output = Result<T, E>>) -> Result<T, E> {
        let started = Instant::now();
        let result = call.await;
        if result.is_ok() {
            self.record(started.elapsed());
        }
        result
    }

    /// Sends the samples recorded since the last flush to the shared log.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let samples = self.take_recorded();
        self.log.append(self.kind, &samples).await
    }

    fn take_recorded(&self) -> Vec<f64> {
        let mut flushed = self.flushed.lock().unwrap_or_else(PoisonError::into_inner);
        let written = self.written.load(Ordering::Acquire);
        let start = (*flushed).max(written.saturating_sub(RING_SLOTS));
        *flushed = written;
        (start..written)
            .filter_map(|i| match self.ring[i % RING_SLOTS].swap(0, Ordering::AcqRel) {
                0 => None,
                stored => Some((stored - 1) as f64 / 1e6),
            })
            .collect()
    }
}

async fn flush_periodically(recorder: Weak<LatencyRecorder>, every: Duration) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let Some(recorder) = recorder.upgrade() else { return };
        if let Err(error) = recorder.flush().await {
            tracing::debug!(%error, "latency samples dropped");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anomaly_store::MemoryLatencyLog;

    #[tokio::test]
    async fn flushes_each_sample_once() {
        let log = Arc::new(MemoryLatencyLog::new(100));
        let recorder = LatencyRecorder::start(LatencyKind::Inference, log.clone(), Duration::from_secs(3600));
        recorder.record(Duration::from_millis(2));
        recorder.record(Duration::from_millis(4));
        recorder.flush().await.expect("flush");
        recorder.flush().await.expect("second flush adds nothing");
        let summary = log.summary(LatencyKind::Inference).await.expect("summary");
        assert_eq!((summary.samples, summary.avg, summary.p95), (2, 3.0, 4.0));
    }

    #[tokio::test]
    async fn keeps_the_newest_ring_full_when_flushes_fall_behind() {
        let log = Arc::new(MemoryLatencyLog::new(RING_SLOTS * 2));
        let recorder = LatencyRecorder::start(LatencyKind::Training, log.clone(), Duration::from_secs(3600));
        for i in 0..RING_SLOTS + 10 {
            recorder.record(Duration::from_nanos(i as u64));
        }
        recorder.flush().await.expect("flush");
        assert_eq!(log.summary(LatencyKind::Training).await.expect("summary").samples, RING_SLOTS);
    }
}
