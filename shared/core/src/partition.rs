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
}
