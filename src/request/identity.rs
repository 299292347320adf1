//! Who is logged in, as the shop tells the worker: a cookie the shop signs,
//! `<id>.<expiry>.<signature>` where `signature` is the lowercase hex of
//! HMAC-SHA256(shop secret, `<id>.<expiry>`) and `expiry` is Unix seconds.
//!
//! Anything that is not exactly that — a bad shape, an unknown character, a
//! wrong or truncated signature, an expired or implausibly far expiry, an
//! oversized value — is an anonymous visitor. The signature is compared in
//! constant time (`hmac`'s `verify_slice`).
//!
//! The same module names a customer's KV value: `cust/<hex HMAC-SHA256(KV
//! key, id)>`, so KV never holds the id itself and the key cannot be
//! guessed from an id without the secret the CLI and the worker share.

use crate::base::ids::hex;
use hmac::{KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = hmac::Hmac<Sha256>;

/// Default name of the identity cookie.
pub const COOKIE: &str = "borderless_customer";
/// Longest customer id accepted (bytes).
pub const MAX_ID: usize = 64;
/// Longest cookie value looked at: id, dot, 12 digits, dot, 64 hex.
pub const MAX_VALUE: usize = MAX_ID + 1 + 12 + 1 + 64;
/// An expiry further ahead than this is refused (browsers cap cookies at 400 days).
pub const MAX_LIFETIME_S: i64 = 400 * 86_400;
/// Prefix of customer values in KV (not versioned: one key per customer,
/// so erasure deletes exactly one key).
pub const KV_PREFIX: &str = "cust/";
/// Shortest secret accepted (bytes): 128 bits.
pub const MIN_SECRET: usize = 16;

/// A verified customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    pub id: String,
    /// Unix seconds after which the cookie is no longer honoured.
    pub expires_s: i64,
}

/// A customer id as the cookie may carry it: `[A-Za-z0-9_-]{1,64}` (no
/// dots, so the value splits unambiguously; no characters a cookie escapes).
pub fn valid_id(id: &str) -> bool {
    (1..=MAX_ID).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn mac(secret: &[u8]) -> Option<HmacSha256> {
    if secret.len() < MIN_SECRET {
        return None;
    }
    HmacSha256::new_from_slice(secret).ok()
}

/// Lowercase hex only (one spelling per signature).
fn unhex(s: &str) -> Option<Vec<u8>> {
    let nib = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let b = s.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    b.chunks_exact(2)
        .map(|p| match p {
            [hi, lo] => Some(nib(*hi)? << 4 | nib(*lo)?),
            _ => None,
        })
        .collect()
}

/// The cookie value for `id` valid until `expires_s` (what a shop's backend
/// computes; here for tests and the CLI). `None` for an invalid id or a
/// secret shorter than [`MIN_SECRET`].
pub fn sign(id: &str, expires_s: i64, secret: &[u8]) -> Option<String> {
    if !valid_id(id) || !(0..=999_999_999_999).contains(&expires_s) {
        return None;
    }
    let payload = format!("{id}.{expires_s}");
    let mut m = mac(secret)?;
    m.update(payload.as_bytes());
    Some(format!("{payload}.{}", hex(&m.finalize().into_bytes())))
}

/// Verifies a cookie value at `now_ms`; `None` means anonymous.
pub fn verify(value: &str, secret: &[u8], now_ms: i64) -> Option<Customer> {
    if value.len() > MAX_VALUE {
        return None;
    }
    let (payload, sig) = value.rsplit_once('.')?;
    let (id, expiry) = payload.split_once('.')?;
    if !valid_id(id)
        || !(1..=12).contains(&expiry.len())
        || !expiry.bytes().all(|b| b.is_ascii_digit())
        || sig.len() != 64
    {
        return None;
    }
    let expires_s: i64 = expiry.parse().ok()?;
    let now_s = now_ms.div_euclid(1000);
    if expires_s <= now_s || expires_s - now_s > MAX_LIFETIME_S {
        return None;
    }
    let sig = unhex(sig)?;
    let mut m = mac(secret)?;
    m.update(payload.as_bytes());
    m.verify_slice(&sig).ok()?;
    Some(Customer {
        id: id.to_string(),
        expires_s,
    })
}

/// The KV key of a customer's value; `None` for an invalid id or a secret
/// shorter than [`MIN_SECRET`].
pub fn kv_key(id: &str, kv_secret: &[u8]) -> Option<String> {
    if id.is_empty() || id.len() > MAX_ID {
        return None;
    }
    let mut m = mac(kv_secret)?;
    m.update(id.as_bytes());
    Some(format!("{KV_PREFIX}{}", hex(&m.finalize().into_bytes())))
}

/// Whether `key` has the shape of [`kv_key`]'s output.
pub fn is_kv_key(key: &str) -> bool {
    key.strip_prefix(KV_PREFIX)
        .is_some_and(|h| h.len() == 64 && unhex(h).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"a shop secret of 32 bytes or so!";
    const NOW_MS: i64 = 1_764_000_000_000;

    #[test]
    fn sign_then_verify() {
        let v = sign("17850", 1_764_003_600, SECRET).unwrap();
        assert!(v.starts_with("17850.1764003600."));
        assert_eq!(v.len(), "17850.1764003600.".len() + 64);
        let c = verify(&v, SECRET, NOW_MS).unwrap();
        assert_eq!(c.id, "17850");
        assert_eq!(c.expires_s, 1_764_003_600);
    }

    /// The value every snippet in the README must produce (computed with
    /// Python's `hmac` module).
    #[test]
    fn known_vector() {
        let v = sign(
            "cust-42",
            1_900_000_000,
            b"0123456789abcdef0123456789abcdef",
        )
        .unwrap();
        assert_eq!(
            v,
            "cust-42.1900000000.806c0b5609060392895668e66d07525222e9b13e4a8302edbd6d4866288b51c1"
        );
    }

    #[test]
    fn anything_else_is_anonymous() {
        let good = sign("17850", 1_764_003_600, SECRET).unwrap();
        let (payload, sig) = good.rsplit_once('.').unwrap();
        let mut flipped = sig.as_bytes().to_vec();
        flipped[10] = if flipped[10] == b'0' { b'1' } else { b'0' };
        let flipped = String::from_utf8(flipped).unwrap();
        let bad = [
            String::new(),
            "17850".into(),
            payload.to_string(),
            format!("{payload}.{flipped}"),
            format!("{payload}.{}", sig.to_uppercase()),
            format!("{payload}.{}", &sig[..62]),
            format!("{payload}.{sig}00"),
            // Another id, another expiry under the same signature.
            format!("17851.1764003600.{sig}"),
            format!("17850.1764003601.{sig}"),
            format!("17850.01764003600.{sig}"),
            format!("17850.+1764003600.{sig}"),
            format!("a.b.17850.1764003600.{sig}"),
            format!("{good} "),
            "x".repeat(MAX_VALUE + 1),
        ];
        for v in &bad {
            assert_eq!(verify(v, SECRET, NOW_MS), None, "{v:?}");
        }
        // Signed with another secret.
        let other = sign("17850", 1_764_003_600, b"another secret of enough bytes").unwrap();
        assert_eq!(verify(&other, SECRET, NOW_MS), None);
        // Expired, expiring now, too far ahead.
        let past = sign("17850", NOW_MS / 1000 - 1, SECRET).unwrap();
        let now = sign("17850", NOW_MS / 1000, SECRET).unwrap();
        let far = sign("17850", NOW_MS / 1000 + MAX_LIFETIME_S + 1, SECRET).unwrap();
        for v in [past, now, far] {
            assert_eq!(verify(&v, SECRET, NOW_MS), None, "{v}");
        }
        // Ids a cookie could not carry cleanly, short secrets.
        for id in ["", "a.b", "é", "a b", "<script>", &"9".repeat(MAX_ID + 1)] {
            assert_eq!(sign(id, 1_764_003_600, SECRET), None, "{id:?}");
        }
        assert_eq!(sign("17850", 1_764_003_600, b"short"), None);
        assert_eq!(verify(&good, b"short", NOW_MS), None);
        // Non-ASCII anywhere is refused without panicking on char boundaries.
        let odd = format!("17850.1764003600.{}é", &sig[..62]);
        assert_eq!(verify(&odd, SECRET, NOW_MS), None);
    }

    #[test]
    fn kv_keys() {
        let k = kv_key("17850", SECRET).unwrap();
        assert!(is_kv_key(&k), "{k}");
        assert!(!k.contains("17850"));
        assert_eq!(k, kv_key("17850", SECRET).unwrap());
        assert_ne!(k, kv_key("17851", SECRET).unwrap());
        assert_ne!(
            k,
            kv_key("17850", b"another secret of enough bytes").unwrap()
        );
        assert_eq!(kv_key("17850", b"short"), None);
        assert_eq!(kv_key("", SECRET), None);
        assert!(!is_kv_key("cust/17850") && !is_kv_key("b/x/cust/00"));
    }
}
