//! Judging a batch of log entries, whatever log they come from: each
//! point in order with its series' online detector, then one atomic commit
//! of the batch's detector states, anomalies, judged points (the stream's
//! history) and log position (fenced by the owner's epoch), after the
//! anomalies went to the live feed (and to Kafka's anomalies topic when
//! configured). The log worker and the Kafka worker both judge through it,
//! so verdicts do not depend on where the points came from.

use super::metrics::VerdictCounts;
use super::{StreamDefaults, StreamMetrics, StreamStatus};
use crate::ModelLookup;
use anomaly_core::{Model, OnlineDetector, SeriesId, Verdict};
use anomaly_store::{
    Backends, BusEvent, Change, Checkpoint, FeedAnomaly, JudgedPoint, KafkaProducer, LiveVerdict, LogEntry,
    LogPosition, SeriesStream, StoreError, StreamAnomaly, StreamStore,
};
use futures::StreamExt;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

/// How often the judge reads which series are watched live: the delay
/// before a chart opened on a series starts to receive its verdicts.
const WATCHED_REFRESH: Duration = Duration::from_secs(1);
/// Most live verdicts published per batch (the newest): a batch holding a
/// whole replayed file of a watched series is not sent point by point.
const MAX_LIVE_VERDICTS: usize = anomaly_store::VERDICT_BUFFER;

/// Series whose fitted model may have changed since their state was
/// loaded, and how (a delete outweighs any refit).
#[derive(Default)]
struct Refits {
    series: Mutex<HashMap<SeriesId, Change>>,
    /// The subscription (re)connected, so invalidations may have been
    /// missed: reload every series' state between two batches.
    reload_all: AtomicBool,
}

/// A partition of a log as its current owner holds it.
#[derive(Debug, Clone)]
pub(crate) struct Held {
    /// The log ([`anomaly_store::POINT_LOG`] or `kafka:<topic>`).
    pub(crate) log: String,
    pub(crate) partition: u32,
    /// The last entry whose effects are durable.
    pub(crate) position: LogPosition,
    /// The owner's fencing epoch.
    pub(crate) epoch: u64,
}

/// Takes `partition` of `log` over with `epoch`: reads the position the
/// previous owner committed last and writes the claim, so that an older
/// owner's later commits are refused. `None`: a newer epoch holds it.
pub(crate) async fn claim(
    streams: &dyn StreamStore,
    log: &str,
    partition: u32,
    epoch: u64,
) -> Result<Option<Held>, StoreError> {
    let (position, _) = streams.partition_position(log, partition).await?;
    let claim = Checkpoint { log: log.to_owned(), partition, epoch, last_entry: position, ..Default::default() };
    let held = Held { log: log.to_owned(), partition, position, epoch };
    Ok(streams.commit(&claim).await?.then_some(held))
}

pub(crate) use anomaly_store::unix_millis;

/// A judged batch, to commit.
pub(crate) struct Judged {
    /// What the commit writes.
    pub(crate) checkpoint: Checkpoint,
    /// The verdicts of watched series, published after the commit.
    verdicts: Vec<LiveVerdict>,
}

/// Judges batches: the in-memory detector states of the series seen lately.
pub(crate) struct Judge {
    backends: Backends,
    models: Arc<ModelLookup>,
    defaults: StreamDefaults,
    metrics: StreamMetrics,
    refits: Arc<Refits>,
    /// Each state with the number of the batch that last judged it.
    states: HashMap<SeriesId, (SeriesStream, u64)>,
    /// Batches judged so far.
    batches: u64,
    /// Most states kept between batches (`STREAM_STATES_IN_MEMORY`).
    max_states: usize,
    /// Told of every commit.
    status: Arc<StreamStatus>,
    /// Kafka's anomalies topic, when the stream writes there too.
    kafka_sink: Option<(KafkaProducer, String)>,
    /// The series watched live, and when that was read.
    watched: (HashSet<SeriesId>, Option<Instant>),
    /// Whether every judged point is stored (`POINTS_RETENTION_DAYS` > 0).
    keep_points: bool,
}

impl Judge {
    pub(crate) fn new(
        backends: Backends,
        models: Arc<ModelLookup>,
        defaults: StreamDefaults,
        metrics: StreamMetrics,
        max_states: usize,
        status: Arc<StreamStatus>,
        keep_points: bool,
    ) -> Self {
        let refits = Arc::new(Refits::default());
        listen_for_refits(&backends, Arc::downgrade(&refits));
        Self {
            backends,
            models,
            defaults,
            metrics,
            refits,
            states: HashMap::new(),
            batches: 0,
            max_states,
            status,
            kafka_sink: None,
            watched: (HashSet::new(), None),
            keep_points,
        }
    }

    /// Also sends every batch's anomalies to `topic`, before the commit.
    pub(crate) fn with_kafka_sink(self, producer: KafkaProducer, topic: String) -> Self {
        Self { kafka_sink: Some((producer, topic)), ..self }
    }

    /// Drops the in-memory states: partitions changed hands or a batch
    /// failed, so they are read again from the last checkpoints.
    pub(crate) fn forget_states(&mut self) {
        self.states.clear();
    }

    /// Between two batches: after the invalidation bus reconnected, every
    /// state is read again (a refit may have gone unnoticed).
    pub(crate) fn reload_if_reconnected(&mut self) {
        if self.refits.reload_all.swap(false, Ordering::SeqCst) {
            self.states.clear();
        }
    }

    /// Judges `entries` (of `held`, after its position) into the batch to
    /// commit: its states, anomalies, judged points and position. `None`
    /// when there are no entries. The states in memory move on at once; a
    /// batch whose commit fails is followed by [`forget_states`](Self::forget_states).
    pub(crate) async fn prepare(&mut self, held: &Held, entries: &[LogEntry]) -> Result<Option<Judged>, StoreError> {
        let Some(last) = entries.last().map(|e| e.id) else { return Ok(None) };
        let mut checkpoint = Checkpoint {
            log: held.log.clone(),
            partition: held.partition,
            epoch: held.epoch,
            last_entry: last,
            points: entries.iter().map(|entry| entry.points.len() as u64).sum(),
            minute: unix_millis().div_euclid(60_000),
            ..Default::default()
        };
        self.refresh_watched().await;
        self.batches += 1;
        let mut verdicts = Vec::new();
        let touched = self.judge(entries, &mut checkpoint, &mut verdicts).await?;
        let now = unix_millis();
        for id in &touched {
            if let Some((state, _)) = self.states.get_mut(id) {
                state.updated_ms = now;
                checkpoint.series.push(state.clone());
            }
        }
        Ok(Some(Judged { checkpoint, verdicts }))
    }

    /// The commit of `judged`, a future that borrows nothing of the judge
    /// (it may run while the next batch is judged): publishes the
    /// anomalies, then commits; `Ok(false)` when a newer owner holds the
    /// partition. The position of the partition is the caller's to move.
    pub(crate) fn commit(&self, judged: Judged) -> impl Future<Output = Result<bool, StoreError>> + Send + 'static {
        let backends = self.backends.clone();
        let kafka_sink = self.kafka_sink.clone();
        let (status, metrics) = (self.status.clone(), self.metrics.clone());
        async move {
            let Judged { checkpoint, verdicts } = judged;
            // Published before the commit: at least once (a retried batch
            // publishes again), never lost.
            let published: Vec<FeedAnomaly> = checkpoint.anomalies.iter().map(FeedAnomaly::from).collect();
            backends.anomaly_feed.publish(&published).await?;
            if let Some((producer, topic)) = &kafka_sink {
                producer.send_anomalies(topic, &published).await?;
            }
            if !backends.streams.commit(&checkpoint).await? {
                return Ok(false);
            }
            status.committed();
            metrics.last_checkpoint.set(unix_millis() as f64 / 1000.0);
            metrics.anomalies.increment(checkpoint.anomalies.len() as u64);
            metrics.points_stored.increment(checkpoint.judged.len() as u64);
            let newest = &verdicts[verdicts.len().saturating_sub(MAX_LIVE_VERDICTS)..];
            if !newest.is_empty()
                && let Err(error) = backends.live_verdicts.publish(newest).await
            {
                tracing::debug!(%error, "live verdicts not published (best effort)");
            }
            Ok(true)
        }
    }

    /// Whether commits write every judged point (the history is on): long
    /// enough to be worth overlapping with judging the next batch.
    pub(crate) fn keeps_points(&self) -> bool {
        self.keep_points
    }

    /// After a commit (every state in memory is checkpointed, or its
    /// batch's commit is under way): beyond `max_states`, drops the least
    /// recently judged down to 90% of it, so this runs once per many
    /// batches rather than after each.
    pub(crate) fn keep_within_capacity(&mut self) {
        if self.states.len() > self.max_states {
            let keep = self.max_states - self.max_states / 10;
            let mut by_age: Vec<(u64, SeriesId)> =
                self.states.iter().map(|(id, (_, judged_in))| (*judged_in, id.clone())).collect();
            let dropped = by_age.len() - keep;
            by_age.select_nth_unstable(dropped - 1);
            for (_, id) in &by_age[..dropped] {
                self.states.remove(id);
            }
        }
        self.metrics.states_in_memory.set(self.states.len() as f64);
    }

    /// Reads which series are watched live, at most every [`WATCHED_REFRESH`];
    /// keeps the last answer when it cannot.
    async fn refresh_watched(&mut self) {
        if self.watched.1.is_some_and(|read| read.elapsed() < WATCHED_REFRESH) {
            return;
        }
        match self.backends.live_verdicts.watched().await {
            Ok(watched) => self.watched.0 = watched,
            Err(error) => tracing::debug!(%error, "cannot read the watched series"),
        }
        self.watched.1 = Some(Instant::now());
    }

    /// Judges the entries' points in order, adding the anomalies and (with
    /// the history on) every judged point to `checkpoint`, and the verdicts
    /// of watched series to `verdicts`; returns the series touched. A run
    /// of points of one series (an entry of `POST /ingest` holds its series
    /// one after the other) looks its state up once.
    async fn judge(
        &mut self,
        entries: &[LogEntry],
        checkpoint: &mut Checkpoint,
        verdicts: &mut Vec<LiveVerdict>,
    ) -> Result<Vec<SeriesId>, StoreError> {
        let mut touched = Vec::new();
        let mut counts = VerdictCounts::default();
        let recorded_at_ms = unix_millis();
        let mut unloaded = self.read_unloaded(entries).await?;
        for entry in entries {
            self.metrics.malformed.increment(entry.malformed);
            for run in entry.points.chunk_by(|a, b| a.series_id == b.series_id) {
                let series_id = &run[0].series_id;
                self.load_state(series_id, &mut unloaded).await?;
                let Some((state, judged_in)) = self.states.get_mut(series_id) else { continue };
                if *judged_in != self.batches {
                    *judged_in = self.batches;
                    touched.push(series_id.clone());
                }
                let watched = !self.watched.0.is_empty() && self.watched.0.contains(series_id);
                for point in run {
                    if state.last_point.is_some_and(|(last, _)| point.timestamp <= last) {
                        state.late += 1;
                        counts.late += 1;
                        continue;
                    }
                    let verdict = state.model.update_at(point.timestamp, point.value);
                    state.points += 1;
                    state.last_point = Some((point.timestamp, point.value));
                    counts.add(&verdict);
                    if watched || self.keep_points {
                        let judged = judged_point(point, &verdict, state, recorded_at_ms);
                        if watched {
                            verdicts.push(live_verdict(&judged));
                        }
                        if self.keep_points {
                            checkpoint.judged.push(judged);
                        }
                    }
                    if let Verdict::Judged(decision) = verdict
                        && decision.anomaly
                    {
                        state.anomalies += 1;
                        checkpoint.anomalies.push(StreamAnomaly {
                            series_id: series_id.clone(),
                            timestamp: point.timestamp,
                            value: point.value,
                            score: decision.score.is_finite().then_some(decision.score),
                            anomaly_score: Some(decision.anomaly_score),
                            detector: state.model.kind().to_owned(),
                            version: state.version,
                            recorded_at_ms,
                            label: None,
                        });
                    }
                }
            }
        }
        self.metrics.count(&counts);
        Ok(touched)
    }

    /// The stored states of the entries' series that are not in memory,
    /// and which of them have a fitted model: two queries for all, where a
    /// batch meeting thousands of new series (a cold start) would otherwise
    /// wait for a few round trips per series, one series at a time.
    async fn read_unloaded(&self, entries: &[LogEntry]) -> Result<Unloaded, StoreError> {
        let asked: HashSet<SeriesId> = entries
            .iter()
            .flat_map(|entry| &entry.points)
            .filter(|point| !self.states.contains_key(&point.series_id))
            .map(|point| point.series_id.clone())
            .collect();
        if asked.is_empty() {
            return Ok(Unloaded::default());
        }
        let ids: Vec<SeriesId> = asked.iter().cloned().collect();
        let stored = self.backends.streams.series_streams(&ids).await?;
        let fitted = self.backends.store.fitted_among(&ids).await?;
        let stored = stored.into_iter().map(|state| (state.series_id.clone(), state)).collect();
        Ok(Unloaded { asked, stored, fitted })
    }

    /// Makes sure the series' state is in memory and judges with its latest
    /// fitted model (a refit replaces the detector with the fit's warm one;
    /// a deleted series starts over with the default detector).
    async fn load_state(&mut self, series_id: &SeriesId, unloaded: &mut Unloaded) -> Result<(), StoreError> {
        let change = self.refits.take(series_id);
        if change.is_none() && self.states.contains_key(series_id) {
            return Ok(());
        }
        // The batch that last judged the series stays (0: none yet), so the
        // caller counts it touched once per batch, even when a refit
        // replaces its state in the middle of one.
        let (in_memory, judged_in) = match self.states.remove(series_id) {
            Some((state, judged_in)) => (Some(state), judged_in),
            None => (None, 0),
        };
        // A deleted series' state in memory is not carried on.
        let in_memory = in_memory.filter(|_| change != Some(Change::Deleted));
        let read_before = unloaded.asked.contains(series_id);
        let current = match in_memory {
            Some(state) => Some(state),
            None if read_before => unloaded.stored.remove(series_id),
            None => self.backends.streams.series_stream(series_id).await?,
        };
        // A fit noted since the batch began is looked up, whatever was read.
        let latest = if read_before && change.is_none() && !unloaded.fitted.contains(series_id) {
            None
        } else {
            self.models.find(series_id, None).await?
        };
        let state = match (latest, current) {
            (Some(fitted), Some(current)) if current.version >= Some(fitted.version) => current,
            (Some(fitted), current) => {
                let base = current.unwrap_or_else(|| self.fresh(series_id, fitted.params.model.clone()));
                SeriesStream { version: Some(fitted.version), model: fitted.params.model.clone(), ..base }
            }
            // Judged with a fitted model that no longer exists: deleted.
            (None, Some(current)) if current.version.is_some() => self.fresh(series_id, self.defaults.model()),
            (None, Some(current)) => current,
            (None, None) => self.fresh(series_id, self.defaults.model()),
        };
        self.states.insert(series_id.clone(), (state, judged_in));
        Ok(())
    }

    fn fresh(&self, series_id: &SeriesId, model: Model) -> SeriesStream {
        SeriesStream {
            series_id: series_id.clone(),
            version: None,
            model,
            last_point: None,
            points: 0,
            anomalies: 0,
            late: 0,
            updated_ms: 0,
        }
    }
}

/// What [`Judge::read_unloaded`] read for the series of a batch that were
/// not in memory.
#[derive(Default)]
struct Unloaded {
    /// The series asked about.
    asked: HashSet<SeriesId>,
    /// Their stored states (taken as they are loaded).
    stored: HashMap<SeriesId, SeriesStream>,
    /// Those with a fitted model.
    fitted: HashSet<SeriesId>,
}

/// What the history keeps of one judged point.
fn judged_point(
    point: &anomaly_store::StreamPoint,
    verdict: &Verdict,
    state: &SeriesStream,
    judged_at_ms: i64,
) -> JudgedPoint {
    let (score, anomaly) = match verdict {
        Verdict::Judged(decision) => (decision.score.is_finite().then_some(decision.score), decision.anomaly),
        Verdict::WarmingUp { .. } => (None, false),
    };
    JudgedPoint {
        series_id: point.series_id.clone(),
        timestamp: point.timestamp,
        value: point.value,
        score,
        anomaly_score: Some(verdict.anomaly_score()),
        anomaly,
        warming_up: matches!(verdict, Verdict::WarmingUp { .. }),
        detector: Cow::Borrowed(state.model.kind()),
        version: state.version,
        judged_at_ms,
    }
}

/// What the live feed sends of one judged point.
fn live_verdict(judged: &JudgedPoint) -> LiveVerdict {
    LiveVerdict {
        series_id: judged.series_id.to_string(),
        timestamp: judged.timestamp,
        value: judged.value,
        score: judged.score,
        anomaly_score: judged.anomaly_score,
        anomaly: judged.anomaly,
        warming_up: judged.warming_up,
        detector: judged.detector.clone().into_owned(),
        model_version: judged.version.map(|version| version.to_string()),
    }
}

impl Refits {
    /// How `series_id` changed since it was last checked, if it did (and forgets it).
    fn take(&self, series_id: &SeriesId) -> Option<Change> {
        self.series.lock().unwrap_or_else(PoisonError::into_inner).remove(series_id)
    }

    fn note(&self, series_id: SeriesId, change: Change) {
        let mut series = self.series.lock().unwrap_or_else(PoisonError::into_inner);
        let noted = series.entry(series_id).or_insert(change);
        if change == Change::Deleted {
            *noted = change;
        }
    }
}

/// Notes refitted series as invalidations arrive (and acknowledges them).
fn listen_for_refits(backends: &Backends, refits: Weak<Refits>) {
    let mut events = backends.bus.subscribe();
    tokio::spawn(async move {
        while let Some(event) = events.next().await {
            let Some(refits) = refits.upgrade() else { return };
            match event {
                BusEvent::Invalidate(series_id, change, ack) => {
                    refits.note(series_id, change);
                    ack.send();
                }
                BusEvent::Connected => refits.reload_all.store(true, Ordering::SeqCst),
                BusEvent::Disconnected | BusEvent::Heartbeat(_) => {}
            }
        }
    });
}
