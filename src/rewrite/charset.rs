//! Which character encoding a page is in, and whether lol_html can stream it.
//!
//! Order (WHATWG): byte-order mark, then the `Content-Type` charset, then a
//! `<meta>` prescan of the first 1024 bytes. Encodings that are not ASCII
//! compatible (UTF-16, ISO-2022-JP, replacement) are passed through.

use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};

/// Bytes of the page the prescan looks at.
pub const PRESCAN_BYTES: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    /// Stream with this encoding.
    Stream(&'static Encoding),
    /// Declared in a way lol_html cannot stream: pass the page through.
    Unsupported,
}

/// The `charset` parameter of a `Content-Type` value, if any.
pub fn from_content_type(content_type: &str) -> Option<Charset> {
    let label = content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches(['"', '\'']))
    })?;
    Some(from_label(label.as_bytes()))
}

fn from_label(label: &[u8]) -> Charset {
    // Nearly every page: no label lookup (its code runs on every request).
    if label.eq_ignore_ascii_case(b"utf-8") {
        return Charset::Stream(UTF_8);
    }
    match Encoding::for_label(label) {
        Some(e) if e.is_ascii_compatible() => Charset::Stream(e),
        _ => Charset::Unsupported,
    }
}

/// Whether a `Content-Type` is HTML.
pub fn is_html(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("text/html"))
}

/// A byte-order mark at the start of the body, which overrides everything.
pub fn from_bom(prefix: &[u8]) -> Option<Charset> {
    let (e, _) = Encoding::for_bom(prefix)?;
    Some(if e == UTF_8 {
        Charset::Stream(UTF_8)
    } else {
        Charset::Unsupported
    })
}

/// Encoding of a page whose header declares none: `<meta>` prescan of the
/// first bytes; else UTF-8 when they decode as UTF-8, else windows-1252.
pub fn sniff(prefix: &[u8]) -> Charset {
    let head = prefix.get(..PRESCAN_BYTES).unwrap_or(prefix);
    if let Some(c) = from_bom(head) {
        return c;
    }
    if let Some(label) = meta_charset(head) {
        return match Encoding::for_label(label) {
            // WHATWG: a meta UTF-16 declaration means UTF-8, x-user-defined means windows-1252.
            Some(e) if e == encoding_rs::UTF_16LE || e == encoding_rs::UTF_16BE => {
                Charset::Stream(UTF_8)
            }
            Some(e) if e == encoding_rs::X_USER_DEFINED => Charset::Stream(WINDOWS_1252),
            Some(e) if e.is_ascii_compatible() => Charset::Stream(e),
            Some(_) => Charset::Unsupported,
            None => guess(head),
        };
    }
    guess(head)
}

fn guess(head: &[u8]) -> Charset {
    // The prefix may end inside a multi-byte sequence: only a real error counts.
    match std::str::from_utf8(head) {
        Err(e) if e.error_len().is_some() => Charset::Stream(WINDOWS_1252),
        _ => Charset::Stream(UTF_8),
    }
}

/// The charset label of the first `<meta charset>` or
/// `<meta http-equiv=content-type content="...; charset=...">`.
fn meta_charset(head: &[u8]) -> Option<&[u8]> {
    let mut i = 0;
    while let Some(rest) = head.get(i..).filter(|r| !r.is_empty()) {
        if rest.starts_with(b"<!--") {
            i += find(rest, b"-->").map_or(rest.len(), |e| e + 3);
            continue;
        }
        let meta = rest
            .get(..5)
            .is_some_and(|m| m.eq_ignore_ascii_case(b"<meta"))
            && rest.get(5).is_some_and(|b| is_space_or_slash(*b));
        if meta {
            let end = find(rest, b">").unwrap_or(rest.len());
            if let Some(label) = rest.get(5..end).and_then(charset_in_tag) {
                return Some(label);
            }
            i += end.max(1);
            continue;
        }
        i += 1;
    }
    None
}

fn charset_in_tag(tag: &[u8]) -> Option<&[u8]> {
    let lower = tag.to_ascii_lowercase();
    let at = find(&lower, b"charset")?;
    // Either the charset attribute or inside a content value: skip to '='.
    let at_j = |j: usize| tag.get(j).copied();
    let mut j = at + b"charset".len();
    while at_j(j).is_some_and(|b| b.is_ascii_whitespace()) {
        j += 1;
    }
    if at_j(j) != Some(b'=') {
        return None;
    }
    j += 1;
    while at_j(j).is_some_and(|b| b.is_ascii_whitespace() || b == b'"' || b == b'\'') {
        j += 1;
    }
    let start = j;
    while at_j(j).is_some_and(|b| !(b.is_ascii_whitespace() || b"\"';/>".contains(&b))) {
        j += 1;
    }
    tag.get(start..j).filter(|l| !l.is_empty())
}

fn is_space_or_slash(b: u8) -> bool {
    b.is_ascii_whitespace() || b == b'/'
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use encoding_rs::{EUC_KR, SHIFT_JIS, WINDOWS_1251};

    #[test]
    fn content_type_charset() {
        assert_eq!(from_content_type("text/html"), None);
        assert_eq!(
            from_content_type("text/html; charset=utf-8"),
            Some(Charset::Stream(UTF_8))
        );
        assert_eq!(
            from_content_type("text/html;charset=\"Shift_JIS\""),
            Some(Charset::Stream(SHIFT_JIS))
        );
        assert_eq!(
            from_content_type("text/html; charset=iso-8859-1"),
            Some(Charset::Stream(WINDOWS_1252))
        );
        assert_eq!(
            from_content_type("text/html; charset=utf-16"),
            Some(Charset::Unsupported)
        );
        assert_eq!(
            from_content_type("text/html; charset=iso-2022-jp"),
            Some(Charset::Unsupported)
        );
        assert_eq!(
            from_content_type("text/html; charset=klingon"),
            Some(Charset::Unsupported)
        );
    }

    #[test]
    fn html_types() {
        assert!(is_html("text/html"));
        assert!(is_html("TEXT/HTML; charset=utf-8"));
        assert!(!is_html("application/json"));
        assert!(!is_html("text/htmlx"));
        assert!(!is_html(""));
    }

    #[test]
    fn sniffs_meta_and_bom() {
        assert_eq!(
            sniff(b"<html><head><meta charset=\"windows-1251\">"),
            Charset::Stream(WINDOWS_1251)
        );
        assert_eq!(
            sniff(b"<META HTTP-EQUIV=\"Content-Type\" CONTENT=\"text/html; charset=euc-kr\">"),
            Charset::Stream(EUC_KR)
        );
        assert_eq!(
            sniff(b"<meta charset=shift_jis/>"),
            Charset::Stream(SHIFT_JIS)
        );
        assert_eq!(
            sniff(b"<!-- <meta charset=koi8-r> --><meta charset=utf-8>"),
            Charset::Stream(UTF_8)
        );
        assert_eq!(sniff(b"<meta charset=iso-2022-jp>"), Charset::Unsupported);
        assert_eq!(sniff(b"<meta charset=utf-16le>"), Charset::Stream(UTF_8));
        assert_eq!(sniff(b"\xFF\xFE<\x00h\x00"), Charset::Unsupported);
        assert_eq!(sniff(b"\xEF\xBB\xBF<html>"), Charset::Stream(UTF_8));
        assert_eq!(sniff(b"<metadata charset=x>"), Charset::Stream(UTF_8));
    }

    #[test]
    fn guesses_without_declaration() {
        assert_eq!(sniff("<p>Grüße</p>".as_bytes()), Charset::Stream(UTF_8));
        assert_eq!(sniff(b"<p>Gr\xFC\xDFe</p>"), Charset::Stream(WINDOWS_1252));
        // Cut inside a UTF-8 sequence is not an error.
        assert_eq!(sniff(&"<p>ü".as_bytes()[..4]), Charset::Stream(UTF_8));
    }
}
