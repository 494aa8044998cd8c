//! Serde for the discord channel's buffers: a `Vec` of 4-byte numbers
//! written as base64 of their little-endian bytes (about 5.3 characters a
//! value, where JSON numbers take up to 12), read back bit for bit.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Deserializer, Serializer};

/// A number of 4 bytes.
pub(crate) trait Packed: Copy {
    fn to_bytes(self) -> [u8; 4];
    fn from_bytes(bytes: [u8; 4]) -> Self;
}

impl Packed for i32 {
    fn to_bytes(self) -> [u8; 4] {
        self.to_le_bytes()
    }
    fn from_bytes(bytes: [u8; 4]) -> Self {
        Self::from_le_bytes(bytes)
    }
}

impl Packed for f32 {
    fn to_bytes(self) -> [u8; 4] {
        self.to_le_bytes()
    }
    fn from_bytes(bytes: [u8; 4]) -> Self {
        Self::from_le_bytes(bytes)
    }
}

/// Writes `values` as one base64 string.
pub(crate) fn serialize<S: Serializer, T: Packed>(values: &[T], serializer: S) -> Result<S::Ok, S::Error> {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_bytes()).collect();
    serializer.serialize_str(&STANDARD.encode(bytes))
}

/// Reads what [`serialize`] wrote.
pub(crate) fn deserialize<'de, D: Deserializer<'de>, T: Packed>(deserializer: D) -> Result<Vec<T>, D::Error> {
    let text = String::deserialize(deserializer)?;
    let bytes = STANDARD.decode(text.as_bytes()).map_err(serde::de::Error::custom)?;
    if bytes.len() % 4 != 0 {
        return Err(serde::de::Error::custom("a packed buffer holds whole 4-byte values"));
    }
    Ok(bytes.chunks_exact(4).map(|c| T::from_bytes([c[0], c[1], c[2], c[3]])).collect())
}
