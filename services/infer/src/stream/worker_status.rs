//! What the stream worker of this process holds (its partitions and
//! positions, the Kafka high watermarks, its last commit) and which of its
//! partitions keep failing, for `/ready`, `/healthcheck` and the metrics.

use super::StreamMetrics;
use super::judge;
use anomaly_http::{STUCK_AFTER_FAILURES, StuckPartitionHealth};
use anomaly_store::{LogPosition, StoreError};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, PoisonError};

/// What the worker of this process holds: its partitions and positions.
#[derive(Default)]
pub struct StreamStatus {
    owned: Mutex<Option<BTreeMap<u32, LogPosition>>>,
    /// Kafka: each owned partition's high watermark (the next offset to be written).
    ends: Mutex<BTreeMap<u32, u64>>,
    /// When the worker last committed a batch, Unix ms; 0: not yet.
    last_commit_ms: AtomicI64,
    /// Partitions whose last batches failed: how many in a row, and the last error.
    failing: Mutex<BTreeMap<u32, (u32, String)>>,
}

impl StreamStatus {
    /// The worker committed a batch now.
    pub(crate) fn committed(&self) {
        self.last_commit_ms.store(judge::unix_millis(), Ordering::Relaxed);
    }

    /// Seconds since the worker last committed a batch; `None` before its first.
    pub fn last_commit_age_seconds(&self) -> Option<f64> {
        let at = self.last_commit_ms.load(Ordering::Relaxed);
        (at > 0).then(|| (judge::unix_millis() - at).max(0) as f64 / 1000.0)
    }

    /// A batch of `partition` failed with `error`.
    pub(crate) fn batch_failed(&self, partition: u32, error: &StoreError) {
        let mut failing = self.failing.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = failing.entry(partition).or_insert((0, String::new()));
        *entry = (entry.0.saturating_add(1), error.to_string());
        StreamMetrics::set_failures(partition, entry.0);
    }

    /// A batch of `partition` went through (or it is no longer owned).
    pub(crate) fn batch_done(&self, partition: u32) {
        if self.failing.lock().unwrap_or_else(PoisonError::into_inner).remove(&partition).is_some() {
            StreamMetrics::set_failures(partition, 0);
        }
    }

    /// Partitions whose last [`STUCK_AFTER_FAILURES`] batches or more failed.
    pub fn stuck(&self) -> Vec<StuckPartitionHealth> {
        let failing = self.failing.lock().unwrap_or_else(PoisonError::into_inner);
        failing
            .iter()
            .filter(|(_, (failures, _))| *failures >= STUCK_AFTER_FAILURES)
            .map(|(partition, (failures, error))| StuckPartitionHealth {
                partition: *partition,
                failures: *failures,
                error: error.clone(),
            })
            .collect()
    }

    pub(crate) fn set_owned(&self, owned: BTreeMap<u32, LogPosition>) {
        let failing: Vec<u32> = self.failing.lock().unwrap_or_else(PoisonError::into_inner).keys().copied().collect();
        for partition in failing.into_iter().filter(|partition| !owned.contains_key(partition)) {
            self.batch_done(partition);
        }
        *self.owned.lock().unwrap_or_else(PoisonError::into_inner) = Some(owned);
    }

    pub(crate) fn set_position(&self, partition: u32, position: LogPosition) {
        if let Some(owned) = self.owned.lock().unwrap_or_else(PoisonError::into_inner).as_mut() {
            owned.insert(partition, position);
        }
    }

    pub(crate) fn release(&self, partition: u32) {
        self.batch_done(partition);
        if let Some(owned) = self.owned.lock().unwrap_or_else(PoisonError::into_inner).as_mut() {
            owned.remove(&partition);
        }
    }

    /// Kafka: records `partition`'s high watermark.
    pub(crate) fn set_end(&self, partition: u32, end: u64) {
        self.ends.lock().unwrap_or_else(PoisonError::into_inner).insert(partition, end);
    }

    /// Kafka: messages of `partition` after `position` (as far as the last
    /// watermark read tells; unknown counts as none).
    pub(crate) fn kafka_lag(&self, partition: u32, position: LogPosition) -> u64 {
        let ends = self.ends.lock().unwrap_or_else(PoisonError::into_inner);
        ends.get(&partition).map_or(0, |end| end.saturating_sub(position.major))
    }

    /// The owned partitions and their positions; `None` until claimed.
    pub fn owned(&self) -> Option<BTreeMap<u32, LogPosition>> {
        self.owned.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}
