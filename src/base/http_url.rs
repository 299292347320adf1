//! The request URL and `ORIGIN`, split by hand. The runtime hands the
//! request URL over serialized (WHATWG: lower-case scheme and host, ASCII,
//! a path from `/`, no default port), so splitting is all the worker needs;
//! a general parser (the `url` crate, with its host rules) was ~25 KB gzip
//! of the Wasm.

/// An absolute `http(s)` URL, borrowed in parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpUrl<'a> {
    scheme: &'static str,
    /// `host[:port]`.
    authority: &'a str,
    path: &'a str,
    /// From `?` or `#` to the end, as it came.
    tail: &'a str,
    query: Option<&'a str>,
}

impl<'a> HttpUrl<'a> {
    pub fn parse(s: &'a str) -> Result<Self, String> {
        let (scheme, rest) = split_scheme(s)?;
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, rest) = rest.split_at(end);
        check_authority(authority)?;
        let end = rest.find(['?', '#']).unwrap_or(rest.len());
        let (path, tail) = rest.split_at(end);
        if path.bytes().any(|b| b <= b' ' || b >= 0x7f) {
            return Err("the path is not encoded".into());
        }
        let query = tail
            .strip_prefix('?')
            .map(|q| q.split_once('#').map_or(q, |(q, _)| q));
        let path = if path.is_empty() { "/" } else { path };
        Ok(HttpUrl {
            scheme,
            authority,
            path,
            tail,
            query,
        })
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> &'static str {
        self.scheme
    }

    pub fn path(&self) -> &'a str {
        self.path
    }

    /// Without the `?`; `None` when there is none.
    pub fn query(&self) -> Option<&'a str> {
        self.query
    }

    /// `scheme://host[:port]`.
    pub fn origin(&self) -> String {
        format!("{}://{}", self.scheme, self.authority)
    }

    /// This URL at `origin` (else its own) with `path` (an encoded path
    /// from `/`, else its own); query and fragment kept.
    pub fn with(&self, origin: Option<&Origin>, path: Option<&str>) -> String {
        let (scheme, authority) = match origin {
            Some(o) => (o.scheme, o.authority.as_str()),
            None => (self.scheme, self.authority),
        };
        let path = path.unwrap_or(self.path);
        format!("{scheme}://{authority}{path}{}", self.tail)
    }
}

/// `ORIGIN`: scheme, host and port (lower case, the scheme's default port
/// dropped); a path after them is ignored. ASCII hosts only (IDNA in
/// Punycode form).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    scheme: &'static str,
    authority: String,
}

impl Origin {
    pub fn parse(s: &str) -> Result<Self, String> {
        let (scheme, rest) = split_scheme(s.trim())?;
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = rest.get(..end).unwrap_or(rest);
        check_authority(authority)?;
        let lower = authority.to_ascii_lowercase();
        // The port after the host (an IPv6 host has colons of its own).
        let (host, port) = match lower.rsplit_once(':') {
            Some((h, p)) if !p.contains(']') => (h, p),
            _ => (lower.as_str(), ""),
        };
        if host.is_empty() {
            return Err(format!("host {authority}"));
        }
        let port = match port {
            "" => None,
            p => Some(p.parse::<u16>().map_err(|_| format!("port {p}"))?),
        };
        let default = if scheme == "https" { 443 } else { 80 };
        let authority = match port.filter(|&p| p != default) {
            Some(p) => format!("{host}:{p}"),
            None => host.to_string(),
        };
        Ok(Origin { scheme, authority })
    }
}

fn split_scheme(s: &str) -> Result<(&'static str, &str), String> {
    let (scheme, rest) = s.split_once("://").ok_or("not an absolute URL")?;
    let scheme = if scheme.eq_ignore_ascii_case("https") {
        "https"
    } else if scheme.eq_ignore_ascii_case("http") {
        "http"
    } else {
        return Err(format!("scheme {scheme}"));
    };
    Ok((scheme, rest))
}

/// A host name, IPv4 or bracketed IPv6 address, and an optional port:
/// ASCII, no user info.
fn check_authority(a: &str) -> Result<(), String> {
    let ok = |b: u8| b.is_ascii_alphanumeric() || b"-._:[]".contains(&b);
    if a.is_empty() || a.starts_with(':') || !a.bytes().all(ok) {
        return Err(format!("host {a}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_urls_split() {
        let u = HttpUrl::parse("https://shop.test:8443/de-de/p/1?a=1&b=%20#top").unwrap();
        assert_eq!(
            (u.scheme(), u.path(), u.query()),
            ("https", "/de-de/p/1", Some("a=1&b=%20"))
        );
        assert_eq!(u.origin(), "https://shop.test:8443");
        assert_eq!(
            u.with(None, None),
            "https://shop.test:8443/de-de/p/1?a=1&b=%20#top"
        );
        assert_eq!(
            u.with(None, Some("/p/1")),
            "https://shop.test:8443/p/1?a=1&b=%20#top"
        );
        let u = HttpUrl::parse("http://127.0.0.1:8787").unwrap();
        assert_eq!((u.path(), u.query()), ("/", None));
        assert_eq!(u.with(None, None), "http://127.0.0.1:8787/");
        let u = HttpUrl::parse("http://[::1]/x#a?b").unwrap();
        assert_eq!((u.path(), u.query()), ("/x", None));
        let u = HttpUrl::parse("https://s.test/?").unwrap();
        assert_eq!(u.query(), Some(""));
        for bad in [
            "/relative",
            "ftp://s.test/",
            "https:///x",
            "https://u:p@s.test/",
            "https://bücher.test/",
            "https://s.test/a b",
            "https://s.test/ü",
            "https://:80/",
        ] {
            assert!(HttpUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn origins() {
        let req = HttpUrl::parse("https://shop.test/de/p?q=1").unwrap();
        for (o, want) in [
            ("http://127.0.0.1:8790", "http://127.0.0.1:8790/p?q=1"),
            (
                "HTTPS://Shop.Example:443/ignored",
                "https://shop.example/p?q=1",
            ),
            ("http://x.test:80", "http://x.test/p?q=1"),
            ("https://x.test:", "https://x.test/p?q=1"),
            ("http://[::1]:9000", "http://[::1]:9000/p?q=1"),
            ("http://[::1]", "http://[::1]/p?q=1"),
            ("http://x.test:0080", "http://x.test/p?q=1"),
        ] {
            let o = Origin::parse(o).unwrap();
            assert_eq!(req.with(Some(&o), Some("/p")), want);
        }
        for bad in [
            "shop.test",
            "localhost:8790",
            "https://x.test:99999",
            "https://x.test:8a",
            "https://bücher.test",
        ] {
            assert!(Origin::parse(bad).is_err(), "{bad}");
        }
    }
}
