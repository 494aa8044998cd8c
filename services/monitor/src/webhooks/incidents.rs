//! Incident grouping for webhooks in `incident` mode: anomalies of one
//! series, each judged within `ALERT_GROUP_SECONDS` of the one before, are
//! one incident. A webhook hears of it twice: when it opens (its first
//! anomaly) and when it closes (that long after its last one).
//!
//! [`IncidentBook`] is the logic over the open incidents as stored: it
//! takes a page of anomalies and the clock, and says which incidents
//! opened, which closed and which changed. Replaying a page changes
//! nothing (a feed entry no later than the incident's latest is not
//! counted again), so two replicas, or a page read twice after a crash,
//! agree; the deliveries are unique by incident and event.

use anomaly_store::{LogPosition, OpenIncident};
use std::collections::BTreeMap;

/// What a webhook is told about an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncidentEvent {
    /// Its first anomaly arrived.
    Opened,
    /// No anomaly followed its last within the grouping time.
    Closed,
}

impl IncidentEvent {
    /// The wire name: `incident_opened` or `incident_closed`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Opened => "incident_opened",
            Self::Closed => "incident_closed",
        }
    }
}

/// One anomaly as the book sees it.
#[derive(Debug, Clone)]
pub struct Sighting<'a> {
    /// Its feed entry.
    pub entry: LogPosition,
    /// The anomaly's id (an incident is named after its first).
    pub anomaly_id: &'a str,
    /// Its series.
    pub series_id: &'a str,
    /// When it was judged, Unix milliseconds.
    pub judged_at_ms: i64,
    /// Its graded score.
    pub anomaly_score: Option<f64>,
    /// It, as listed (JSON).
    pub json: &'a str,
}

/// The open incidents, keyed by webhook and series, as a page changes them.
#[derive(Debug)]
pub struct IncidentBook {
    group_ms: i64,
    open: BTreeMap<(String, String), OpenIncident>,
    changed: BTreeMap<(String, String), ()>,
    closed: Vec<OpenIncident>,
}

impl IncidentBook {
    /// The book over `open` (as stored), grouping anomalies within `group_ms`.
    pub fn new(open: Vec<OpenIncident>, group_ms: i64) -> Self {
        let open = open.into_iter().map(|i| ((i.webhook_id.clone(), i.series_id.clone()), i)).collect();
        Self { group_ms, open, changed: BTreeMap::new(), closed: Vec::new() }
    }

    /// Records `seen` for `webhook_id`; returns the events it causes, each
    /// with its incident: a close (of an incident whose last anomaly is
    /// too long ago) and an open, an open alone, or nothing (it joins the
    /// open incident).
    pub fn record(&mut self, webhook_id: &str, seen: &Sighting<'_>) -> Vec<(IncidentEvent, OpenIncident)> {
        let key = (webhook_id.to_owned(), seen.series_id.to_owned());
        let mut events = Vec::new();
        if let Some(current) = self.open.get_mut(&key) {
            if seen.entry <= current.last_entry {
                return events; // already counted (a page read again)
            }
            if seen.judged_at_ms - current.last_at_ms <= self.group_ms {
                current.last_at_ms = current.last_at_ms.max(seen.judged_at_ms);
                current.last_entry = seen.entry;
                current.anomalies += 1;
                current.max_anomaly_score = max_score(current.max_anomaly_score, seen.anomaly_score);
                seen.json.clone_into(&mut current.last);
                self.changed.insert(key, ());
                return events;
            }
            if let Some(gone) = self.open.remove(&key) {
                self.closed.push(gone.clone());
                events.push((IncidentEvent::Closed, gone));
            }
        }
        let opened = OpenIncident {
            webhook_id: webhook_id.to_owned(),
            series_id: seen.series_id.to_owned(),
            first_anomaly: seen.anomaly_id.to_owned(),
            opened_at_ms: seen.judged_at_ms,
            last_at_ms: seen.judged_at_ms,
            anomalies: 1,
            max_anomaly_score: seen.anomaly_score,
            last: seen.json.to_owned(),
            last_entry: seen.entry,
        };
        events.push((IncidentEvent::Opened, opened.clone()));
        self.open.insert(key.clone(), opened);
        self.changed.insert(key, ());
        events
    }

    /// Closes every incident whose last anomaly was judged more than the
    /// grouping time before `now_ms`.
    pub fn expire(&mut self, now_ms: i64) -> Vec<(IncidentEvent, OpenIncident)> {
        let due: Vec<_> =
            self.open.iter().filter(|(_, i)| now_ms - i.last_at_ms > self.group_ms).map(|(k, _)| k.clone()).collect();
        let mut events = Vec::new();
        for key in due {
            if let Some(gone) = self.open.remove(&key) {
                self.changed.remove(&key);
                self.closed.push(gone.clone());
                events.push((IncidentEvent::Closed, gone));
            }
        }
        events
    }

    /// Whether any incident is open.
    pub fn has_open(&self) -> bool {
        !self.open.is_empty()
    }

    /// What to store: the incidents opened or changed (still open), and
    /// those closed.
    pub fn into_changes(self) -> (Vec<OpenIncident>, Vec<OpenIncident>) {
        let open = self.changed.keys().filter_map(|key| self.open.get(key).cloned()).collect();
        (open, self.closed)
    }
}

fn max_score(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Anomaly `id`, feed entry `entry`, judged at `at_ms`.
    fn seen(id: &str, entry: u64, at_ms: i64) -> Sighting<'_> {
        let entry = LogPosition::parse(&format!("{entry}-0")).expect("an id");
        Sighting { entry, anomaly_id: id, series_id: "cpu", judged_at_ms: at_ms, anomaly_score: Some(0.6), json: "{}" }
    }

    #[test]
    fn a_burst_is_one_incident_opened_then_closed() {
        let mut book = IncidentBook::new(Vec::new(), 300_000);
        let ids: Vec<String> = (0..50).map(|i| format!("a{i}")).collect();
        let mut events = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            // Judged together, as a batch of the stream is.
            events.extend(book.record("wh", &seen(id, i as u64 + 1, 1_000)));
        }
        assert_eq!(events.len(), 1, "one open for 50 anomalies in 2 minutes");
        assert_eq!((events[0].0, events[0].1.first_anomaly.as_str()), (IncidentEvent::Opened, "a0"));
        assert!(book.expire(1_000 + 300_000).is_empty(), "not yet: exactly the grouping time");
        let closed = book.expire(1_000 + 300_001);
        assert_eq!(closed.len(), 1);
        assert_eq!((closed[0].0, closed[0].1.anomalies), (IncidentEvent::Closed, 50));
        assert!(!book.has_open());
        let (open, gone) = book.into_changes();
        assert!(open.is_empty());
        assert_eq!(gone.len(), 1);
    }

    #[test]
    fn a_gap_closes_one_and_opens_the_next_and_replays_count_nothing() {
        let mut book = IncidentBook::new(Vec::new(), 1_000);
        assert_eq!(book.record("wh", &seen("a", 1, 0)).len(), 1);
        assert!(book.record("wh", &seen("a", 1, 0)).is_empty(), "the same entry again");
        assert!(book.record("wh", &seen("b", 2, 900)).is_empty());
        let events = book.record("wh", &seen("c", 3, 5_000));
        assert_eq!(events.iter().map(|(e, _)| *e).collect::<Vec<_>>(), [IncidentEvent::Closed, IncidentEvent::Opened]);
        assert_eq!((events[0].1.anomalies, events[1].1.first_anomaly.as_str()), (2, "c"));
        // Another webhook has incidents of its own.
        assert_eq!(book.record("other", &seen("c", 3, 5_000)).len(), 1);
        let (open, closed) = book.into_changes();
        assert_eq!((open.len(), closed.len()), (2, 1));
    }

    #[test]
    fn stored_incidents_carry_on() {
        let stored = OpenIncident {
            webhook_id: "wh".into(),
            series_id: "cpu".into(),
            first_anomaly: "a".into(),
            opened_at_ms: 0,
            last_at_ms: 100,
            anomalies: 3,
            max_anomaly_score: Some(0.7),
            last: "{}".into(),
            last_entry: LogPosition::parse("7-0").expect("an id"),
        };
        let mut book = IncidentBook::new(vec![stored], 1_000);
        assert!(book.record("wh", &seen("c", 7, 600)).is_empty(), "counted before the restart");
        assert!(book.record("wh", &seen("d", 8, 600)).is_empty());
        let (open, _) = book.into_changes();
        assert_eq!((open[0].anomalies, open[0].last_at_ms, open[0].max_anomaly_score), (4, 600, Some(0.7)));
    }
}
