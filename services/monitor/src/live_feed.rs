//! The live feed of one monitor process: one task follows the anomaly feed
//! (the Redis stream every replica reads, or the in-process ring) into a
//! bounded ring of the newest [`RING`] anomalies, each encoded once, that
//! every SSE client reads at its own pace with its own cursor. A client
//! that falls further behind than the ring is told so and reads what it
//! missed from the feed itself, a page at a time, so slow clients cost
//! neither memory nor the others' latency.

use crate::queries::PredictionView;
use anomaly_store::{AnomalyFeed, FeedEntry, FeedPage, LogPosition, Mute, MuteStore, StoreError};
use std::collections::VecDeque;
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;
use tokio::sync::watch;

/// Newest anomalies kept for clients in memory.
const RING: usize = 10_000;
/// Entries read from the feed at once.
const PAGE: usize = 512;
/// How long one read of the follower waits for new entries.
const FOLLOW_WAIT: Duration = Duration::from_secs(5);
/// Pause after the feed failed before reading it again.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// One anomaly with its feed position and its `GET /anomalies` JSON,
/// encoded once for every client.
#[derive(Debug, Clone)]
pub struct LiveAnomaly {
    /// Its position in the feed: the SSE event id.
    pub id: LogPosition,
    /// As listed by `GET /anomalies`.
    pub view: PredictionView,
    /// `view` as JSON.
    pub json: String,
}

impl LiveAnomaly {
    /// The anomaly of `entry`, marked muted when one of `mutes` covers it.
    fn new(entry: FeedEntry, mutes: &[Mute]) -> Self {
        let view = PredictionView::from(&entry.anomaly).muted_by(mutes, entry.anomaly.recorded_at_ms);
        let json = serde_json::to_string(&view).unwrap_or_default();
        Self { id: entry.id, view, json }
    }
}

/// The newest anomalies, and from where on it holds every one.
#[derive(Default)]
struct Ring {
    anomalies: VecDeque<Arc<LiveAnomaly>>,
    /// Every entry after this id is in `anomalies`; `None` until the
    /// follower has found the end of the feed.
    complete_after: Option<LogPosition>,
}

/// The feed as a process follows it.
pub struct LiveFeed {
    feed: Arc<dyn AnomalyFeed>,
    mute_store: Arc<dyn MuteStore>,
    /// The mutes as last read (before each page the follower takes in).
    mutes: RwLock<Arc<Vec<Mute>>>,
    ring: RwLock<Ring>,
    /// The newest id followed.
    newest: watch::Sender<Option<LogPosition>>,
}

impl LiveFeed {
    /// Starts following `feed`, marking what `mutes` cover.
    pub fn start(feed: Arc<dyn AnomalyFeed>, mutes: Arc<dyn MuteStore>) -> Arc<Self> {
        let live = Arc::new(Self {
            feed,
            mute_store: mutes,
            mutes: RwLock::default(),
            ring: RwLock::default(),
            newest: watch::channel(None).0,
        });
        tokio::spawn(follow(Arc::downgrade(&live)));
        live
    }

    /// What a client reads: after `resume` (its `Last-Event-ID`), or from now on.
    pub async fn subscribe(self: &Arc<Self>, resume: Option<LogPosition>) -> Result<Subscription, StoreError> {
        let newest = *self.newest.borrow();
        let cursor = match resume.or(newest) {
            Some(id) => id,
            None => self.feed.last_id().await?,
        };
        Ok(Subscription {
            live: self.clone(),
            newest: self.newest.subscribe(),
            cursor,
            following: false,
            ready: VecDeque::new(),
        })
    }

    /// Up to `PAGE` ring entries after `cursor`; `None` when the ring does
    /// not hold every entry after `cursor`.
    fn ring_after(&self, cursor: LogPosition) -> Option<Vec<Arc<LiveAnomaly>>> {
        let ring = self.ring.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        if ring.complete_after.is_none_or(|complete| cursor < complete) {
            return None;
        }
        let first = ring.anomalies.partition_point(|anomaly| anomaly.id <= cursor);
        Some(ring.anomalies.range(first..).take(PAGE).cloned().collect())
    }

    /// The follower found the end of the feed at `id`.
    fn start_at(&self, id: LogPosition) {
        self.ring.write().unwrap_or_else(|poisoned| poisoned.into_inner()).complete_after = Some(id);
        self.newest.send_replace(Some(id));
    }

    /// The mutes as last read.
    fn mutes(&self) -> Arc<Vec<Mute>> {
        self.mutes.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// Reads the mutes again; on failure the last ones read stay.
    async fn refresh_mutes(&self) {
        match self.mute_store.mutes().await {
            Ok(mutes) => *self.mutes.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(mutes),
            Err(error) => tracing::warn!(%error, "cannot read the mutes; the live feed marks by the last ones read"),
        }
    }

    /// Adds a page read from the feed; the newest id followed moves to its
    /// end, past entries that did not parse.
    fn push(&self, page: FeedPage) {
        let Some(newest) = page.end else { return };
        count_skipped("live_feed", page.skipped);
        // Encoded before the lock: readers never wait on JSON.
        let mutes = self.mutes();
        let anomalies: Vec<_> =
            page.entries.into_iter().map(|entry| Arc::new(LiveAnomaly::new(entry, &mutes))).collect();
        {
            let mut ring = self.ring.write().unwrap_or_else(|poisoned| poisoned.into_inner());
            for anomaly in anomalies {
                if ring.anomalies.len() == RING
                    && let Some(dropped) = ring.anomalies.pop_front()
                {
                    ring.complete_after = Some(dropped.id);
                }
                ring.anomalies.push_back(anomaly);
            }
        }
        self.newest.send_replace(Some(newest));
    }
}

/// Counts feed entries a reader skipped because they do not parse.
pub(crate) fn count_skipped(reader: &'static str, skipped: u64) {
    if skipped > 0 {
        metrics::counter!("anomaly_feed_skipped_entries_total", "reader" => reader).increment(skipped);
    }
}

/// Reads the feed into the ring for as long as the [`LiveFeed`] lives,
/// after the newest id it followed.
async fn follow(live: Weak<LiveFeed>) {
    while let Some(current) = live.upgrade() {
        let (feed, followed) = (current.feed.clone(), *current.newest.borrow());
        drop(current);
        let read = async {
            let after = match followed {
                Some(id) => id,
                None => {
                    let end = feed.last_id().await?;
                    if let Some(live) = live.upgrade() {
                        live.start_at(end);
                    }
                    end
                }
            };
            feed.read_after(after, PAGE, FOLLOW_WAIT).await
        };
        match read.await {
            Ok(page) => {
                if let Some(live) = live.upgrade() {
                    if !page.entries.is_empty() {
                        live.refresh_mutes().await;
                    }
                    live.push(page);
                }
            }
            Err(error) => {
                tracing::warn!(%error, "cannot read the anomaly feed; retrying");
                tokio::time::sleep(RETRY_AFTER).await;
            }
        }
    }
}

/// What one client is sent next.
#[derive(Debug, Clone)]
pub enum LiveEvent {
    /// An anomaly.
    Anomaly(Arc<LiveAnomaly>),
    /// The client fell further behind than the ring; what it missed
    /// follows, read from the feed.
    Lagged,
}

/// One client's position in the feed.
pub struct Subscription {
    live: Arc<LiveFeed>,
    newest: watch::Receiver<Option<LogPosition>>,
    /// The newest id this client has been handed.
    cursor: LogPosition,
    /// Reading from the ring (rather than catching up from the feed).
    following: bool,
    ready: VecDeque<Arc<LiveAnomaly>>,
}

impl Subscription {
    /// The next event, in feed order, without gaps or repeats; `Err` when
    /// the feed cannot be read (the client reconnects with `Last-Event-ID`).
    pub async fn next(&mut self) -> Result<LiveEvent, StoreError> {
        loop {
            if let Some(anomaly) = self.ready.pop_front() {
                return Ok(LiveEvent::Anomaly(anomaly));
            }
            // Read before the ring: every entry up to it is in the ring by now.
            let newest = *self.newest.borrow();
            match self.live.ring_after(self.cursor) {
                Some(page) if page.is_empty() => {
                    self.following = true;
                    // What lies between the cursor and the newest id followed
                    // did not parse: nothing to send.
                    if let Some(newest) = newest.filter(|newest| *newest > self.cursor) {
                        self.cursor = newest;
                    }
                    let cursor = self.cursor;
                    if self.newest.wait_for(|newest| newest.is_some_and(|id| id > cursor)).await.is_err() {
                        return Err(StoreError::Corrupt("the live feed stopped".into()));
                    }
                }
                Some(page) => {
                    self.following = true;
                    let end = page.last().map(|anomaly| anomaly.id);
                    self.take(page, end);
                }
                None if self.following => {
                    self.following = false;
                    return Ok(LiveEvent::Lagged);
                }
                None => {
                    let (page, end) = self.read_feed().await?;
                    if end.is_none() {
                        // At the end of the feed before the follower started.
                        let _ = tokio::time::timeout(RETRY_AFTER, self.newest.changed()).await;
                    }
                    self.take(page, end);
                }
            }
        }
    }

    /// Queues `page`, read up to `end` (past its last anomaly when entries
    /// after it did not parse).
    fn take(&mut self, page: Vec<Arc<LiveAnomaly>>, end: Option<LogPosition>) {
        if let Some(end) = end {
            self.cursor = end;
        }
        self.ready.extend(page);
    }

    /// The page after the cursor, read from the feed on a task of its own
    /// (a client that stops reading mid-way never holds a connection), and
    /// the id it was read up to.
    async fn read_feed(&self) -> Result<(Vec<Arc<LiveAnomaly>>, Option<LogPosition>), StoreError> {
        let (feed, cursor) = (self.live.feed.clone(), self.cursor);
        let page = tokio::spawn(async move { feed.read_after(cursor, PAGE, Duration::ZERO).await }).await??;
        count_skipped("live_feed", page.skipped);
        let mutes = self.live.mutes();
        Ok((page.entries.into_iter().map(|entry| Arc::new(LiveAnomaly::new(entry, &mutes))).collect(), page.end))
    }
}
