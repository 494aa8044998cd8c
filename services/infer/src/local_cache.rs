//! The process-local model cache, first stop of every prediction.
//!
//! A stored version never changes, so `(series, vN)` entries stay valid
//! until the series is deleted, when an invalidation drops all of them.
//! "Latest of a series" also goes stale with each fit; it is dropped when
//! an invalidation arrives, and not used at all while the subscription is
//! down or the shared cache is being repaired after it came back.
//! An epoch counter stops a slow lookup that started before an invalidation
//! from putting back what it read. On a shared bus, nothing is used while
//! the newest heartbeat heard is [`ACK_TIMEOUT`] old: this replica may have
//! stalled past a fit or a delete that answered without it.

use anomaly_core::{ModelRecord, ModelVersion, SeriesId};
use anomaly_store::{ACK_TIMEOUT, Change, bus_clock};
use quick_cache::Equivalent;
use quick_cache::sync::Cache;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// A stored key: series and version (`None` = latest).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Key {
    series_id: SeriesId,
    version: Option<ModelVersion>,
}

/// The same key borrowed, so a lookup allocates nothing.
struct KeyRef<'a> {
    series_id: &'a str,
    version: Option<ModelVersion>,
}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        KeyRef { series_id: self.series_id.as_str(), version: self.version }.hash(state);
    }
}

impl Hash for KeyRef<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.series_id.hash(state);
        self.version.hash(state);
    }
}

impl Equivalent<Key> for KeyRef<'_> {
    fn equivalent(&self, key: &Key) -> bool {
        self.series_id == key.series_id.as_str() && self.version == key.version
    }
}

/// Models by series and version (`None` = latest).
pub struct LocalCache {
    entries: Cache<Key, Arc<ModelRecord>>,
    epoch: AtomicU64,
    live: AtomicBool,
    /// Whether "latest" needs a recent heartbeat (a shared bus).
    needs_heartbeat: bool,
    /// 1 + the [`bus_clock`] nanoseconds at which the newest heartbeat heard
    /// was sent; 0 before the first.
    heard_nanos: AtomicU64,
}

impl LocalCache {
    /// A cache of at most `capacity` models; "latest" is not trusted until
    /// the subscription reports it is live, and with `needs_heartbeat` (a
    /// shared bus) only while [`LocalCache::heard`] was told of a heartbeat
    /// sent less than [`ACK_TIMEOUT`] ago.
    pub fn new(capacity: u64, needs_heartbeat: bool) -> Self {
        Self {
            entries: Cache::new(capacity.max(1) as usize),
            epoch: AtomicU64::new(0),
            live: AtomicBool::new(false),
            needs_heartbeat,
            heard_nanos: AtomicU64::new(0),
        }
    }

    /// The cached model, if any.
    pub fn get(&self, series_id: &SeriesId, version: Option<ModelVersion>) -> Option<Arc<ModelRecord>> {
        if (version.is_none() && !self.is_live()) || !self.heartbeat_recent() {
            return None;
        }
        self.entries.get(&KeyRef { series_id: series_id.as_str(), version })
    }

    /// Whether invalidations are being heard, so that "latest" entries,
    /// here and in the shared cache, can be trusted.
    pub fn is_live(&self) -> bool {
        self.live.load(Ordering::SeqCst)
    }

    /// A heartbeat sent at `sent` ([`bus_clock`] time) was heard.
    pub fn heard(&self, sent: std::time::Duration) {
        let nanos = u64::try_from(sent.as_nanos()).unwrap_or(u64::MAX - 1);
        self.heard_nanos.fetch_max(nanos + 1, Ordering::SeqCst);
    }

    /// Whether this replica has heard the bus recently enough that no fit
    /// can have answered without its acknowledgement.
    fn heartbeat_recent(&self) -> bool {
        if !self.needs_heartbeat {
            return true;
        }
        match self.heard_nanos.load(Ordering::SeqCst) {
            0 => false,
            heard => bus_clock().saturating_sub(std::time::Duration::from_nanos(heard - 1)) < ACK_TIMEOUT,
        }
    }

    /// The epoch to pass to [`LocalCache::insert`]; read it before looking
    /// further down.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    /// Caches `record` found for `(series_id, version)`, unless an
    /// invalidation happened since `epoch_before`.
    pub fn insert(
        &self,
        series_id: &SeriesId,
        version: Option<ModelVersion>,
        record: Arc<ModelRecord>,
        epoch_before: u64,
    ) {
        let latest = version.is_none();
        if latest && !self.is_live() {
            return;
        }
        self.entries.insert(Key { series_id: series_id.clone(), version }, record);
        if self.epoch() != epoch_before {
            self.entries.remove(&KeyRef { series_id: series_id.as_str(), version });
        }
    }

    /// `series_id` changed: forget its latest, and after a delete every
    /// version of it (a scan of the whole cache: deletes are rare).
    pub fn invalidate(&self, series_id: &SeriesId, change: Change) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        match change {
            Change::NewVersion => {
                self.entries.remove(&KeyRef { series_id: series_id.as_str(), version: None });
            }
            Change::Deleted => self.entries.retain(|key, _| key.series_id != *series_id),
        }
    }

    /// The subscription went up (`true`) or down (`false`): forget
    /// everything either way, since messages may have been missed.
    pub fn set_live(&self, live: bool) {
        self.live.store(live, Ordering::SeqCst);
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anomaly_core::{Direction, ModelParams};

    fn record(version: u32) -> Arc<ModelRecord> {
        Arc::new(ModelRecord {
            series_id: SeriesId::parse("s").expect("valid"),
            version: ModelVersion::new(version).expect("valid"),
            params: ModelParams::three_sigma(0.0, 1.0, 3.0, Direction::TwoSided, 3).expect("valid"),
            trained_at_ms: 0,
        })
    }

    #[test]
    fn latest_is_ignored_until_live() {
        let cache = LocalCache::new(10, false);
        let id = SeriesId::parse("s").expect("valid");
        cache.insert(&id, None, record(1), cache.epoch());
        assert!(cache.get(&id, None).is_none());
        cache.set_live(true);
        cache.insert(&id, None, record(1), cache.epoch());
        assert_eq!(cache.get(&id, None).map(|r| r.version.number()), Some(1));
    }

    #[test]
    fn a_lookup_older_than_an_invalidation_is_not_kept() {
        let cache = LocalCache::new(10, false);
        cache.set_live(true);
        let id = SeriesId::parse("s").expect("valid");
        let before = cache.epoch();
        cache.invalidate(&id, Change::NewVersion);
        cache.insert(&id, None, record(1), before);
        assert!(cache.get(&id, None).is_none());
    }

    #[test]
    fn versions_survive_invalidation() {
        let cache = LocalCache::new(10, false);
        cache.set_live(true);
        let id = SeriesId::parse("s").expect("valid");
        let v1 = ModelVersion::new(1);
        cache.insert(&id, v1, record(1), cache.epoch());
        cache.invalidate(&id, Change::NewVersion);
        assert!(cache.get(&id, v1).is_some());
        cache.invalidate(&id, Change::Deleted);
        assert!(cache.get(&id, v1).is_none(), "a delete forgets every version");
        cache.insert(&id, v1, record(1), cache.epoch());
        cache.set_live(false);
        assert!(cache.get(&id, v1).is_none(), "a reset forgets everything");
    }

    #[test]
    fn latest_needs_a_recent_heartbeat_on_a_shared_bus() {
        let cache = LocalCache::new(10, true);
        cache.set_live(true);
        let id = SeriesId::parse("s").expect("valid");
        let v1 = ModelVersion::new(1);
        cache.insert(&id, None, record(1), cache.epoch());
        cache.insert(&id, v1, record(1), cache.epoch());
        assert!(cache.get(&id, None).is_none(), "no heartbeat heard yet");
        cache.heard(bus_clock());
        assert_eq!(cache.get(&id, None).map(|r| r.version.number()), Some(1));
        // Stalled: the newest heartbeat heard is as old as a fit may wait.
        std::thread::sleep(ACK_TIMEOUT);
        assert!(cache.get(&id, None).is_none(), "a stalled replica must not trust its latest");
        assert!(cache.get(&id, v1).is_none(), "nor its versions: the series may have been deleted");
        cache.heard(bus_clock());
        assert!(cache.get(&id, None).is_some(), "trusted again once the bus is heard");
    }
}
