//! URL helpers: same-site paths, percent-encoding, locale-prefixed links.

/// A path on this site (no scheme, no `//host`, no control characters).
pub fn is_local_path(p: &str) -> bool {
    p.starts_with('/')
        && !p.starts_with("//")
        && !p.starts_with("/\\")
        && p.len() <= 2048
        && !p.chars().any(|c| c.is_control() || c == '\\')
}

/// `p` as a path on this site: leading slashes and backslashes collapse
/// into one `/` (`//evil.test/x` → `/evil.test/x`), so a link built from a
/// request path never names another host.
pub fn same_site_path(p: &str) -> String {
    // By hand, not `format!`: this runs on every page view.
    crate::base::text::concat(&["/", p.trim_start_matches(['/', '\\'])])
}

/// Decodes `%XX` and `+`; `None` for malformed or non-UTF-8 input.
pub fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        match c {
            b'%' => {
                let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Percent-encodes a query value (unreserved characters and `/` stay).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A path safe for a `Location` header: non-ASCII, spaces and characters
/// that are not allowed in URLs percent-encoded (existing escapes kept).
pub fn encode_location(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    for b in p.bytes() {
        if b.is_ascii_graphic() && !b"\"<>\\^`{|}".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A root-relative link with the locale prefix, unless it has one already
/// or is not a page of the shop.
pub fn prefixed(href: &str, prefix: &str) -> Option<String> {
    let h = href.trim();
    if !h.starts_with('/')
        || h.starts_with("//")
        || h.starts_with("/\\")
        || h.starts_with("/__borderless/")
    {
        return None;
    }
    // `get`, not indexing: the cut may fall inside a multi-byte character.
    let already = h
        .get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
        && matches!(
            h.as_bytes().get(prefix.len()),
            None | Some(b'/' | b'?' | b'#')
        );
    (!already).then(|| format!("{prefix}{h}"))
}

/// A link or image address that is safe to emit: a path on the shop
/// (not `//host`) or an absolute http(s) URL, without control characters.
pub fn safe_url(u: &str) -> bool {
    let ok_chars = !u.is_empty()
        && u.len() <= 2048
        && !u
            .chars()
            .any(|c| c.is_control() || c == '\\' || c.is_whitespace());
    let starts = |p: &str| u.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p));
    ok_chars
        && ((u.starts_with('/') && !u.starts_with("//")) || starts("https://") || starts("http://"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_non_ascii_paths_without_panicking() {
        for p in ["/日本", "/каталог/1", "/منتجات", "/größe", "/d", "/"] {
            assert_eq!(prefixed(p, "/de-de"), Some(format!("/de-de{p}")));
        }
        assert_eq!(prefixed("/de-DE/x", "/de-de"), None);
        assert_eq!(prefixed("//evil.com", "/de-de"), None);
    }

    #[test]
    fn same_site_paths() {
        for (p, want) in [
            ("/p/1?x=1", "/p/1?x=1"),
            ("//evil.com/x", "/evil.com/x"),
            ("/\\evil.com", "/evil.com"),
            ("///a", "/a"),
            ("", "/"),
        ] {
            assert_eq!(same_site_path(p), want);
            assert!(is_local_path(&same_site_path(p)), "{p}");
        }
    }

    #[test]
    fn prefixing_rules() {
        assert_eq!(prefixed("/p/1", "/de-de").as_deref(), Some("/de-de/p/1"));
        assert_eq!(prefixed("/de-de", "/de-de"), None);
        assert_eq!(prefixed("/de-de?x=1", "/de-de"), None);
        assert_eq!(
            prefixed("/de-dex", "/de-de").as_deref(),
            Some("/de-de/de-dex")
        );
        assert_eq!(prefixed("/__borderless/switch", "/de-de"), None);
        assert_eq!(prefixed("/\\evil.test", "/de-de"), None);
        assert_eq!(prefixed("p/1", "/de-de"), None);
        assert_eq!(
            crate::base::escape::escape("<a href=\"x\">'&"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;"
        );
    }
}
