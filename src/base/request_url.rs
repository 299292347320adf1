//! The request's URL, split by hand when it is already in the form the
//! `url` crate serializes to (as the runtime hands it over): the crate's
//! parse, host checks and setters were a quarter of phase one's work. Any
//! other URL goes through the crate, so both give the same parts.

use crate::base::recent::Recent;
use std::cell::RefCell;
use url::Url;

/// A request URL: `http(s)://host[:port]/path[?query]` as it came, or parsed.
#[derive(Debug, Clone)]
pub enum RequestUrl<'a> {
    /// Already serialized: `path_at` is where the path starts, `query_at`
    /// where its `?` is.
    Plain {
        text: &'a str,
        path_at: usize,
        query_at: Option<usize>,
    },
    Parsed(Box<Url>),
}

impl<'a> RequestUrl<'a> {
    pub fn parse(s: &'a str) -> Result<RequestUrl<'a>, url::ParseError> {
        match split(s) {
            Some((path_at, query_at)) => Ok(RequestUrl::Plain {
                text: s,
                path_at,
                query_at,
            }),
            None => Url::parse(s).map(|u| RequestUrl::Parsed(Box::new(u))),
        }
    }

    pub fn scheme(&self) -> &str {
        match self {
            RequestUrl::Plain { text, .. } if text.starts_with("https:") => "https",
            RequestUrl::Plain { .. } => "http",
            RequestUrl::Parsed(u) => u.scheme(),
        }
    }

    pub fn path(&self) -> &str {
        match self {
            RequestUrl::Plain {
                text,
                path_at,
                query_at,
            } => text
                .get(*path_at..query_at.unwrap_or(text.len()))
                .unwrap_or("/"),
            RequestUrl::Parsed(u) => u.path(),
        }
    }

    pub fn query(&self) -> Option<&str> {
        match self {
            RequestUrl::Plain { text, query_at, .. } => query_at.and_then(|q| text.get(q + 1..)),
            RequestUrl::Parsed(u) => u.query(),
        }
    }

    /// `scheme://host[:port]`.
    pub fn origin(&self) -> String {
        match self {
            RequestUrl::Plain { text, path_at, .. } => text.get(..*path_at).unwrap_or("").into(),
            RequestUrl::Parsed(u) => u.origin().ascii_serialization(),
        }
    }

    /// The URL as the crate has it.
    pub fn to_url(&self) -> Result<Url, url::ParseError> {
        match self {
            RequestUrl::Plain { text, .. } => Url::parse(text),
            RequestUrl::Parsed(u) => Ok((**u).clone()),
        }
    }

    /// This URL with its path replaced by `path` (if any) and its scheme,
    /// host and port by `origin`'s (if any), as the crate's setters give
    /// it; `None` where only the crate can tell.
    pub fn rebased(&self, path: Option<&str>, origin: Option<&str>) -> Option<String> {
        let RequestUrl::Plain { text, path_at, .. } = self else {
            return None;
        };
        let path = path.unwrap_or(self.path());
        if !plain_path(path) {
            return None;
        }
        let prefix = origin.or_else(|| text.get(..*path_at))?;
        let mut out = String::with_capacity(prefix.len() + path.len() + 64);
        out.push_str(prefix);
        out.push_str(path);
        if let Some(q) = self.query() {
            out.push('?');
            out.push_str(q);
        }
        Some(out)
    }
}

/// Where the path and the `?` of `s` are, if `s` is a URL the crate
/// would serialize to exactly `s` (checked by the tests against the crate).
fn split(s: &str) -> Option<(usize, Option<usize>)> {
    let (scheme, rest) = match s.strip_prefix("https://") {
        Some(r) => ("https", r),
        None => ("http", s.strip_prefix("http://")?),
    };
    let auth_len = rest.find('/')?;
    if !known_plain(rest.get(..auth_len)?, scheme) {
        return None;
    }
    let path_at = s.len() - rest.len() + auth_len;
    let tail = s.get(path_at..)?;
    let query_at = tail.find('?');
    let path = tail.get(..query_at.unwrap_or(tail.len()))?;
    if !plain_path(path) {
        return None;
    }
    if let Some(q) = query_at {
        if !tail.get(q + 1..)?.bytes().all(plain_query_byte) {
            return None;
        }
    }
    Some((path_at, query_at.map(|q| path_at + q)))
}

/// Authorities found plain lately, with their scheme: a shop's requests
/// name one or a few hosts, checked once per isolate, not per request.
const MAX_HOSTS: usize = 8;

thread_local! {
    static PLAIN_HOSTS: RefCell<Recent<(bool, String)>> = const { RefCell::new(Recent::new(MAX_HOSTS)) };
}

/// [`plain_authority`], remembered for the authorities it accepted.
fn known_plain(auth: &str, scheme: &str) -> bool {
    let https = scheme == "https";
    let known = PLAIN_HOSTS.with_borrow(|h| h.find(|(s, a)| *s == https && a == auth).is_some());
    if known {
        return true;
    }
    let plain = plain_authority(auth, scheme);
    if plain {
        PLAIN_HOSTS.with_borrow_mut(|h| h.push((https, auth.to_string())));
    }
    plain
}

/// A lower-case host name or dotted-quad IPv4 address, and a port other
/// than the scheme's own: what the crate leaves as it is.
fn plain_authority(auth: &str, scheme: &str) -> bool {
    let (host, port) = match auth.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (auth, None),
    };
    if let Some(p) = port {
        let default = if scheme == "https" { 443 } else { 80 };
        let ok = !p.is_empty()
            && p.len() <= 5
            && !p.starts_with('0')
            && p.bytes().all(|b| b.is_ascii_digit())
            && p.parse::<u32>().is_ok_and(|n| n <= 65535 && n != default);
        if !ok {
            return false;
        }
    }
    if host.is_empty() || host.len() > 253 {
        return false;
    }
    let labels_ok = host.split('.').all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with("xn--")
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    });
    // A host ending in a number is an IPv4 address to the crate: plain only
    // in its own dotted-quad form.
    let last_numeric = host
        .rsplit('.')
        .next()
        .is_some_and(|l| l.starts_with(|c: char| c.is_ascii_digit()));
    labels_ok && (!last_numeric || dotted_quad(host))
}

fn dotted_quad(host: &str) -> bool {
    let parts: Vec<&str> = host.split('.').collect();
    parts.len() == 4
        && parts.iter().all(|p| {
            (p.len() == 1 || !p.starts_with('0'))
                && p.len() <= 3
                && p.bytes().all(|b| b.is_ascii_digit())
                && p.parse::<u32>().is_ok_and(|n| n <= 255)
        })
}

/// An absolute path the crate leaves as it is: printable ASCII it does
/// not percent-encode, `%` only before two hex digits, no `.` or `..`
/// segment (written plainly or encoded).
fn plain_path(p: &str) -> bool {
    let b = p.as_bytes();
    p.starts_with('/')
        && b.iter().enumerate().all(|(i, &c)| {
            c != b'%'
                || b.get(i + 1..i + 3)
                    .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
        })
        && b.iter().all(|&c| {
            c.is_ascii_graphic()
                && !matches!(
                    c,
                    b'"' | b'#' | b'<' | b'>' | b'?' | b'`' | b'{' | b'}' | b'\\' | b'^' | b'|'
                )
        })
        && !p.split('/').any(dot_segment)
}

fn dot_segment(s: &str) -> bool {
    let s = s.as_bytes();
    let dot = |t: Option<&[u8]>| t.is_some_and(|t| t == b"." || t.eq_ignore_ascii_case(b"%2e"));
    let split = |i: usize| dot(s.get(..i)) && dot(s.get(i..));
    match s.len() {
        1 | 3 => dot(Some(s)),
        2 => split(1),
        4 => split(1) || split(3),
        6 => split(3),
        _ => false,
    }
}

fn plain_query_byte(c: u8) -> bool {
    c.is_ascii_graphic()
        && !matches!(
            c,
            b'"' | b'#' | b'<' | b'>' | b'\'' | b'`' | b'{' | b'}' | b'\\' | b'^' | b'|'
        )
}

/// Whether `s` is taken by hand (`Ok(true)`), and then that the crate
/// gives the same parts and rebased URLs; `Err` says where not (the unit
/// tests and the `request` fuzz target).
pub fn same_as_crate(s: &str) -> Result<bool, String> {
    let Some((path_at, query_at)) = split(s) else {
        return Ok(false);
    };
    let r = RequestUrl::Plain {
        text: s,
        path_at,
        query_at,
    };
    let u = Url::parse(s).map_err(|e| format!("{s}: {e}"))?;
    let differ = |what: &str| Err(format!("{s}: {what} differs from the url crate's"));
    if u.as_str() != s {
        return differ("serialization");
    }
    if r.path() != u.path() || r.query() != u.query() || r.scheme() != u.scheme() {
        return differ("a part");
    }
    if r.origin() != u.origin().ascii_serialization() {
        return differ("origin");
    }
    let path = r.path();
    let tail = path
        .get(1..)
        .and_then(|p| p.find('/'))
        .and_then(|i| path.get(i + 1..));
    for p in [Some("/x"), None, tail] {
        let mut want = u.clone();
        if let Some(p) = p {
            want.set_path(p);
        }
        if r.rebased(p, None).as_deref() != Some(want.as_str()) {
            return differ("rebased URL");
        }
        for origin in ["https://origin.test", "http://127.0.0.1:8080"] {
            let o = Url::parse(origin).map_err(|e| e.to_string())?;
            let mut want = want.clone();
            let set = want.set_scheme(o.scheme()).is_ok()
                && want.set_host(o.host_str()).is_ok()
                && want.set_port(o.port()).is_ok();
            let got = r.rebased(p, Some(&o.origin().ascii_serialization()));
            if !set || got.as_deref() != Some(want.as_str()) {
                return differ("URL on ORIGIN");
            }
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agrees(s: &str) -> bool {
        same_as_crate(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_remembered_host_is_plain_only_for_its_scheme() {
        for _ in 0..2 {
            assert!(agrees("http://shop.test:443/a"));
            assert!(!agrees("https://shop.test:443/a"));
            assert!(agrees("https://shop.test:80/a"));
            assert!(!agrees("http://shop.test:80/a"));
        }
    }

    #[test]
    fn plain_urls_are_the_crates() {
        for s in [
            "https://shop.test/",
            "http://localhost:8787/p/1?a=1&b=%C3%A9",
            "http://127.0.0.1:8787/de-de/p/85123A?",
            "https://a-b.shop.test/x//y/.z/..a/%2F?q=/?&x=y",
            "https://shop.test/%E6%97%A5%E6%9C%AC",
        ] {
            assert!(agrees(s), "{s}");
        }
        for s in [
            "HTTPS://shop.test/",
            "https://Shop.test/",
            "https://shop.test:443/",
            "http://shop.test:80/",
            "http://shop.test:080/",
            "http://shop.test:/",
            "https://shop.test",
            "https://shop.test?x",
            "https://shop.test/a/../b",
            "https://shop.test/a/%2e%2E/b",
            "https://shop.test/a/./b",
            "https://shop.test/.%2e",
            "https://shop.test/a b",
            "https://shop.test/a#f",
            "https://shop.test/%zz",
            "https://shop.test/日本",
            "https://shop.test/a?'",
            "https://user:pw@shop.test/",
            "https://xn--bcher-kva.test/",
            "http://127.1/",
            "http://0x7f.0.0.1/",
            "http://1.2.3.04/",
            "http://shop.123/",
            "http://[::1]/",
            "https://shop..test/",
            "https://shop.test./",
            "https://shop.test\\a",
            "file:///etc/passwd",
        ] {
            assert!(split(s).is_none(), "{s}");
        }
    }

    /// Random URLs over an alphabet of every character that matters: where
    /// the split takes one, the crate agrees.
    #[test]
    fn random_urls_agree_with_the_crate() {
        const PARTS: &[&str] = &[
            "a", "Z", "0", "9", "-", ".", "..", "%2e", "%2E", "%41", "%", "/", "//", "?", "#", ":",
            "@", "\\", " ", "\"", "'", "<", ">", "`", "{", "}", "^", "|", "&", "=", "+", "~", "!",
            "$", "(", "*", ",", ";", "[", "]", "é", "\t", "xn--", "80", "443",
        ];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let mut plain = 0;
        for _ in 0..100_000 {
            let mut s = String::from(["http://", "https://"][next(2)]);
            s.push_str(["shop.test", "localhost", "127.0.0.1", "a"][next(4)]);
            s.push_str(["", ":8787", "/", "/", "/", "/p/"][next(6)]);
            for _ in 0..next(12) {
                s.push_str(PARTS[next(PARTS.len())]);
            }
            if agrees(&s) {
                plain += 1;
            }
        }
        assert!(plain > 10_000, "{plain}");
    }
}
