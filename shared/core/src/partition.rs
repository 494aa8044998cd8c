//! Which stream partition a series belongs to. Stable across processes,
//! versions and languages, so producers can write to a partition directly:
//! FNV-1a (64-bit) of the series id's bytes, modulo the partition count.

use crate::SeriesId;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// The partition of `series_id` among `partitions` (>= 1).
pub fn partition_of(series_id: &SeriesId, partitions: u32) -> u32 {
    let hash = series_id.as_str().bytes().fold(FNV_OFFSET, |h, b| (h ^ u64::from(b)).wrapping_mul(FNV_PRIME));
    (hash % u64::from(partitions.max(1))) as u32
}

/// [`partition_of`] (or another partition function) for points in order:
/// a run of points of one series (as ingest and producers write them) is
/// hashed once.
pub struct Partitioner {
    partitions: u32,
    function: fn(&SeriesId, u32) -> u32,
    last: Option<(SeriesId, u32)>,
}

impl Partitioner {
    /// [`partition_of`] among `partitions` partitions (>= 1).
    pub fn new(partitions: u32) -> Self {
        Self::with(partitions, partition_of)
    }

    /// `function` among `partitions` partitions (>= 1).
    pub fn with(partitions: u32, function: fn(&SeriesId, u32) -> u32) -> Self {
        Self { partitions, function, last: None }
    }

    /// The partition of `series_id`.
    pub fn of(&mut self, series_id: &SeriesId) -> u32 {
        match &self.last {
            Some((last, partition)) if last == series_id => *partition,
            _ => {
                let partition = (self.function)(series_id, self.partitions);
                self.last = Some((series_id.clone(), partition));
                partition
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_the_documented_fnv1a() {
        // FNV-1a 64 of "a" is 0xaf63dc4c8601ec8c (the published test vector).
        let a = SeriesId::parse("a").expect("valid");
        assert_eq!(partition_of(&a, u32::MAX), (0xaf63_dc4c_8601_ec8c_u64 % u64::from(u32::MAX)) as u32);
        assert_eq!(partition_of(&a, 16), (0xaf63_dc4c_8601_ec8c_u64 % 16) as u32);
        assert_eq!(partition_of(&a, 1), 0);
        // The README's producer example.
        assert_eq!(partition_of(&SeriesId::parse("cpu").expect("valid"), 16), 9);
    }

    #[test]
    fn the_partitioner_agrees_with_partition_of_in_and_between_runs() {
        let mut partitioner = Partitioner::new(16);
        for name in ["cpu", "cpu", "a", "cpu", "a", "a", "b"] {
            let id = SeriesId::parse(name).expect("valid");
            assert_eq!(partitioner.of(&id), partition_of(&id, 16), "{name}");
        }
    }
}
