//! Packing of training points into one blob, compactly: regular series
//! have near-constant timestamp steps, so timestamps are stored as zigzag
//! varint deltas (about 1 byte each instead of 8); values stay exact f64.
//!
//! Layout: format byte (1), varint point count, varint zigzag first
//! timestamp and deltas, then the values as little-endian f64.

use crate::StoreError;

const FORMAT: u8 = 1;

/// Packs parallel timestamp and value slices.
pub(crate) fn pack(timestamps: &[i64], values: &[f64]) -> Vec<u8> {
    let mut blob = Vec::with_capacity(16 + 2 * timestamps.len() + 8 * values.len());
    blob.push(FORMAT);
    put_varint(&mut blob, timestamps.len() as u64);
    let mut previous = 0i64;
    for &t in timestamps {
        put_varint(&mut blob, zigzag(t.wrapping_sub(previous)));
        previous = t;
    }
    for v in values {
        blob.extend_from_slice(&v.to_le_bytes());
    }
    blob
}

/// Unpacks a blob written by [`pack`].
pub(crate) fn unpack(blob: &[u8]) -> Result<(Vec<i64>, Vec<f64>), StoreError> {
    let corrupt = |why: &str| StoreError::Corrupt(format!("training blob: {why}"));
    let (&format, mut rest) = blob.split_first().ok_or_else(|| corrupt("empty"))?;
    if format != FORMAT {
        return Err(corrupt("unknown format"));
    }
    let count = usize::try_from(take_varint(&mut rest).ok_or_else(|| corrupt("no count"))?)
        .map_err(|_| corrupt("count too large"))?;
    if count > rest.len() {
        return Err(corrupt("count larger than the blob"));
    }
    let mut timestamps = Vec::with_capacity(count);
    let mut previous = 0i64;
    for _ in 0..count {
        let delta = unzigzag(take_varint(&mut rest).ok_or_else(|| corrupt("short timestamps"))?);
        previous = previous.wrapping_add(delta);
        timestamps.push(previous);
    }
    if rest.len() != count * 8 {
        return Err(corrupt("values do not match the count"));
    }
    let values = rest.chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().unwrap_or_default())).collect();
    Ok((timestamps, values))
}

fn zigzag(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
}

fn unzigzag(n: u64) -> i64 {
    ((n >> 1) as i64) ^ -((n & 1) as i64)
}

fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn take_varint(input: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for (i, &byte) in input.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            *input = &input[i + 1..];
            return Some(value);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_extremes() {
        let timestamps = [0, 1_609_459_500, i64::MAX, 5, i64::MIN];
        let values = [-1.5, 0.0, f64::MAX, f64::MIN_POSITIVE, -0.0];
        let (t, v) = unpack(&pack(&timestamps, &values)).expect("valid blob");
        assert_eq!(t, timestamps);
        assert_eq!(
            v.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            values.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
    }

    #[test]
    fn regular_timestamps_take_about_a_byte() {
        let timestamps: Vec<i64> = (0..1000).map(|i| 1_600_000_000 + 60 * i).collect();
        let blob = pack(&timestamps, &vec![1.0; 1000]);
        assert!(blob.len() < 1000 * 8 + 1000 + 16, "{} bytes", blob.len());
    }

    #[test]
    fn rejects_damaged_blobs() {
        let blob = pack(&[1, 2, 3], &[1.0, 2.0, 3.0]);
        for damaged in [&blob[..0], &blob[..3], &blob[..blob.len() - 1], &[9u8, 0][..]] {
            assert!(unpack(damaged).is_err());
        }
    }
}
