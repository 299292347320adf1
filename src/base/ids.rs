//! Syntax checks for the identifiers that come from requests, configs and
//! KV: countries, zones, locales, currencies, product ids, tokens.

/// Lower-case hex of `bytes` (ids, nonces, MACs).
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        for nibble in [b >> 4, b & 15] {
            s.extend(char::from_digit(u32::from(nibble), 16));
        }
    }
    s
}

/// ISO 3166-1 alpha-2 (or Cloudflare's `XX`/`T1`), upper case.
pub fn valid_country(c: &str) -> bool {
    c.len() == 2
        && c.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// An IANA zone name's syntax (`Europe/Berlin`, `Etc/GMT+2`).
pub fn valid_timezone(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= 64
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/_+-".contains(&b))
}

/// 1..=`max` of `[A-Za-z0-9._-]`.
pub fn is_token(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// A well-formed BCP 47 tag: a 2-3 letter language and alphanumeric subtags.
pub fn is_locale(s: &str) -> bool {
    let mut parts = s.split('-');
    let lang_ok = parts
        .next()
        .is_some_and(|l| (2..=3).contains(&l.len()) && l.bytes().all(|b| b.is_ascii_alphabetic()));
    lang_ok
        && s.len() <= 35
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// An ISO 4217 code's syntax.
pub fn is_currency(s: &str) -> bool {
    s.len() == 3 && s.bytes().all(|b| b.is_ascii_uppercase())
}

/// A product id: 1-32 of `[A-Za-z0-9_-]`.
pub fn valid_id(s: &str) -> bool {
    (1..=32).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::hex;

    #[test]
    fn hex_is_lower_case_two_digits_a_byte() {
        assert_eq!(hex(&[0, 15, 16, 0xab, 255]), "000f10abff");
        assert_eq!(hex(&[]), "");
    }
}
