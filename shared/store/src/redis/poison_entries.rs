//! What the Redis point log does with entries another producer wrote that
//! cannot be judged as they are, so that no entry ever stops a partition:
//!
//! - an entry whose `points` field is missing, not UTF-8 or not JSON rows
//!   (or holds rows that do not parse) is copied, fields as they came, to
//!   the dead-letter stream `{prefix}points_dead_letters` with its partition,
//!   id and the reason; its bad rows count as malformed points and the
//!   worker moves past it; so do rows of series that hash to another
//!   partition (judged there, they would race their own partition's);
//! - an entry whose id lies more than [`MAX_AHEAD`] ahead of the clock
//!   (an explicit id such as `18446744073709551615-18446744073709551615`,
//!   after which Redis can append nothing) is moved, with every entry
//!   behind it, to the end of the stream under a new id of now: its points
//!   are judged, and appends go on. The anomaly feed does the same.

use crate::StoreError;
use crate::ports::log_rows::malformed_rows_reason;
use crate::ports::stream::{LogPosition, StreamPoint, decode_points};
use anomaly_core::Partitioner;
use deadpool_redis::Pool;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// How far ahead of the clock an entry id may lie before it is moved back
/// to now (Redis's clock and ours may differ, and XADD `*` never goes back).
pub(super) const MAX_AHEAD: Duration = Duration::from_secs(24 * 3600);
/// About this many dead letters are kept.
const DEAD_LETTERS_KEPT: u64 = 10_000;

/// One entry as Redis returns it: its id, and its fields as bytes.
pub(super) type RawEntry = (String, Vec<(Vec<u8>, Vec<u8>)>);

/// Deletes the entries of `KEYS[1]` at or after `ARGV[1]`, sets the
/// stream's last id back to its newest remaining entry, and appends them
/// again, in order, under ids of now. Atomic: no append lands in between.
const RESEAT_SCRIPT: &str = r"
local ahead = redis.call('XRANGE', KEYS[1], ARGV[1], '+')
if #ahead == 0 then return 0 end
for _, entry in ipairs(ahead) do redis.call('XDEL', KEYS[1], entry[1]) end
local newest = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if #newest > 0 then redis.call('XSETID', KEYS[1], newest[1][1]) else redis.call('XSETID', KEYS[1], '0-1') end
for _, entry in ipairs(ahead) do redis.call('XADD', KEYS[1], '*', unpack(entry[2])) end
return #ahead
";

/// An entry of `partition` (of `partitions`): its points, its rows that
/// did not parse or belong to another partition, and, when it has any, why
/// it goes to the dead letters.
pub(super) fn decode_entry(
    fields: &[(Vec<u8>, Vec<u8>)],
    partition: u32,
    partitions: u32,
) -> (Vec<StreamPoint>, u64, Option<String>) {
    let Some((_, value)) = fields.iter().find(|(name, _)| name == b"points") else {
        return (Vec::new(), 1, Some("the entry has no field `points`".into()));
    };
    let Ok(text) = std::str::from_utf8(value) else {
        return (Vec::new(), 1, Some("the field `points` is not UTF-8".into()));
    };
    let (mut points, malformed) = decode_points(text);
    let parsed = points.len();
    // A series is judged in its own partition only, where its points are in order.
    let mut partitioner = Partitioner::new(partitions);
    points.retain(|point| partitioner.of(&point.series_id) == partition);
    let elsewhere = (parsed - points.len()) as u64;
    let reason = match (malformed, elsewhere) {
        (0, 0) => None,
        (0, n) => Some(format!("{n} row(s) are of series of other partitions (FNV-1a of the id modulo {partitions})")),
        (n, _) => Some(malformed_rows_reason("the field `points`", text, n)),
    };
    (points, malformed + elsewhere, reason)
}

/// The first id that counts as ahead of the clock now.
fn first_id_ahead() -> LogPosition {
    let now = crate::clock::unix_millis().max(0) as u64;
    LogPosition { major: now.saturating_add(MAX_AHEAD.as_millis() as u64), minor: 0 }
}

/// Whether `id` lies ahead of the clock.
pub(super) fn is_ahead(id: LogPosition) -> bool {
    id >= first_id_ahead()
}

/// Moves the entries of the stream `key` at or after `first_ahead` to its
/// end under ids of now; returns how many.
async fn move_from(pool: &Pool, key: &str, first_ahead: LogPosition) -> Result<u64, StoreError> {
    let mut conn = pool.get().await?;
    let moved: u64 =
        redis::Script::new(RESEAT_SCRIPT).key(key).arg(first_ahead.to_string()).invoke_async(&mut conn).await?;
    if moved > 0 {
        tracing::warn!(stream = key, moved, "stream entries with ids ahead of the clock moved to now");
    }
    Ok(moved)
}

/// Moves the entries of the stream `key` whose ids lie ahead of the clock
/// to its end under ids of now; whether there were any (an append Redis
/// refused is then worth trying again).
pub(super) async fn moved_entries_ahead(pool: &Pool, key: &str) -> Result<bool, StoreError> {
    Ok(move_from(pool, key, first_id_ahead()).await? > 0)
}

/// Cuts `entries`, read from `key` in id order, before the first one whose
/// id lies ahead of the clock, once those are moved to the end of the
/// stream: a reader never moves past such an id, and its next read has them
/// under their new ids.
pub(super) async fn cut_before_ids_ahead(
    pool: &Pool,
    key: &str,
    entries: &mut Vec<RawEntry>,
) -> Result<(), StoreError> {
    let first_ahead = first_id_ahead();
    if let Some(ahead) = entries.iter().position(|(id, _)| LogPosition::parse(id).is_none_or(|id| id >= first_ahead)) {
        move_from(pool, key, first_ahead).await?;
        entries.truncate(ahead);
    }
    Ok(())
}

/// The dead-letter stream and what this process already copied to it.
#[derive(Clone)]
pub(super) struct PoisonEntries {
    pool: Pool,
    dead_letters: String,
    /// The newest entry copied per partition: a batch that is retried
    /// reads its entries again, and copies none of them twice.
    copied: Arc<Mutex<HashMap<u32, LogPosition>>>,
}

impl PoisonEntries {
    pub(super) fn new(pool: Pool, prefix: &str) -> Self {
        Self { pool, dead_letters: format!("{prefix}points_dead_letters"), copied: Arc::default() }
    }

    /// Copies entry `id` of `stream` (partition `partition`) to the dead letters.
    pub(super) async fn dead_letter(
        &self,
        stream: &str,
        partition: u32,
        id: LogPosition,
        fields: &[(Vec<u8>, Vec<u8>)],
        reason: &str,
    ) -> Result<(), StoreError> {
        if self.copied.lock().unwrap_or_else(PoisonError::into_inner).get(&partition).is_some_and(|c| *c >= id) {
            return Ok(());
        }
        tracing::warn!(stream, entry = %id, reason, "stream entry that does not parse copied to the dead letters");
        let mut add = redis::cmd("XADD");
        add.arg(&self.dead_letters).arg("MAXLEN").arg("~").arg(DEAD_LETTERS_KEPT).arg("*");
        add.arg("stream").arg(stream).arg("entry").arg(id.to_string()).arg("reason").arg(reason);
        for (name, value) in fields {
            add.arg(name.as_slice()).arg(value.as_slice());
        }
        let mut conn = self.pool.get().await?;
        let _: String = add.query_async(&mut conn).await?;
        self.copied.lock().unwrap_or_else(PoisonError::into_inner).insert(partition, id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, value: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
        vec![(name.as_bytes().to_vec(), value.to_vec())]
    }

    /// Decoded as an entry of the only partition.
    fn decode_entry_of_one(fields: &[(Vec<u8>, Vec<u8>)]) -> (Vec<StreamPoint>, u64, Option<String>) {
        decode_entry(fields, 0, 1)
    }

    #[test]
    fn rows_of_series_of_other_partitions_are_left_out() {
        let cpu = anomaly_core::partition_of(&anomaly_core::SeriesId::parse("cpu").expect("valid"), 16);
        let text = br#"[["cpu",1,1.5],["mem",1,2.5]]"#;
        let mem = anomaly_core::partition_of(&anomaly_core::SeriesId::parse("mem").expect("valid"), 16);
        assert_ne!(cpu, mem, "two series of two partitions");
        let (points, malformed, reason) = decode_entry(&field("points", text), cpu, 16);
        assert_eq!((points.len(), points[0].series_id.as_str(), malformed), (1, "cpu", 1));
        assert_eq!(reason.as_deref(), Some("1 row(s) are of series of other partitions (FNV-1a of the id modulo 16)"));
    }

    #[test]
    fn entries_that_do_not_parse_say_why() {
        let (points, malformed, reason) = decode_entry_of_one(&field("points", br#"[["cpu",1,1.5]]"#));
        assert_eq!((points.len(), malformed, reason), (1, 0, None));
        let (points, malformed, reason) = decode_entry_of_one(&field("points", b"[[\"cpu\",1,1]]\xff"));
        assert_eq!((points.len(), malformed), (0, 1));
        assert_eq!(reason.as_deref(), Some("the field `points` is not UTF-8"));
        let (_, _, reason) = decode_entry_of_one(&field("other", b"[]"));
        assert_eq!(reason.as_deref(), Some("the entry has no field `points`"));
        let (_, _, reason) = decode_entry_of_one(&field("points", b"{}"));
        assert_eq!(reason.as_deref(), Some("the field `points` is not a JSON array of rows"));
        let (points, malformed, reason) = decode_entry_of_one(&field("points", br#"[["cpu",1,1],["cpu",-1,1]]"#));
        assert_eq!((points.len(), malformed), (1, 1));
        assert_eq!(reason.as_deref(), Some("1 row(s) are not [series_id, unix_seconds >= 0, finite value]"));
    }
}
