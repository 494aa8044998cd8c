//! The signature of a delivery: `X-Anomaly-Signature: sha256=<hex>`, the
//! HMAC-SHA256 of the exact body with the webhook's secret. A receiver
//! recomputes it over the raw body and compares in constant time.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The header value for `body` signed with `secret`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_known_hmac_sha256() {
        // RFC 4231, test case 2.
        assert_eq!(
            sign("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
