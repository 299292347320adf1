//! Whether a response body goes through the rewriter or passes untouched,
//! and how headers change when it is rewritten.

use crate::rewrite::charset;

/// Why a response passes through unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    Method,
    Status,
    NotHtml,
    Range,
    NoTransform,
    ContentEncoding,
    ExcludedPath,
    Charset,
    Config,
}

impl Skip {
    pub fn as_str(self) -> &'static str {
        match self {
            Skip::Method => "method",
            Skip::Status => "status",
            Skip::NotHtml => "not_html",
            Skip::Range => "range",
            Skip::NoTransform => "no_transform",
            Skip::ContentEncoding => "content_encoding",
            Skip::ExcludedPath => "excluded_path",
            Skip::Charset => "charset",
            Skip::Config => "config",
        }
    }
}

/// The parts of the request and the origin response that decide.
#[derive(Debug, Default, Clone, Copy)]
pub struct Exchange<'a> {
    pub method: &'a str,
    pub status: u16,
    pub content_type: Option<&'a str>,
    pub content_encoding: Option<&'a str>,
    pub content_range: Option<&'a str>,
    pub cache_control: Option<&'a str>,
}

/// `Ok` when the body should be rewritten.
pub fn check(x: &Exchange) -> Result<(), Skip> {
    if x.method != "GET" {
        return Err(Skip::Method);
    }
    // 200 and 203 carry a full representation; everything else (3xx, 304,
    // 206, errors) passes byte-identical.
    if !matches!(x.status, 200 | 203) {
        return Err(Skip::Status);
    }
    if x.content_range.is_some() {
        return Err(Skip::Range);
    }
    if !x.content_type.is_some_and(charset::is_html) {
        return Err(Skip::NotHtml);
    }
    if x.cache_control.is_some_and(|cc| {
        cc.split(',')
            .any(|d| d.trim().eq_ignore_ascii_case("no-transform"))
    }) {
        return Err(Skip::NoTransform);
    }
    // The runtime decodes these on fetch; anything else reaches us encoded.
    let decodable = |e: &str| {
        e.split(',').map(str::trim).all(|c| {
            c.is_empty()
                || ["gzip", "x-gzip", "br", "identity"]
                    .iter()
                    .any(|k| c.eq_ignore_ascii_case(k))
        })
    };
    if !x.content_encoding.is_none_or(decodable) {
        return Err(Skip::ContentEncoding);
    }
    Ok(())
}

/// Whether `path` falls under one of the excluded prefixes, by whole path
/// segments: `/cart` excludes `/cart` and `/cart/x`, not `/cartoon`.
pub fn excluded(path: &str, prefixes: &[String]) -> bool {
    prefixes.iter().any(|p| {
        path.strip_prefix(p.as_str()).is_some_and(|rest| {
            p.ends_with('/') || rest.is_empty() || rest.starts_with(['/', '?', '#'])
        })
    })
}

/// Cache headers meant only for CDNs and shared caches: removed from a
/// response tailored to one visitor (`Cache-Control` becomes `private`).
pub const CDN_CACHE_HEADERS: [&str; 3] = [
    "cdn-cache-control",
    "cloudflare-cdn-cache-control",
    "surrogate-control",
];

/// Directives kept from the origin's `Cache-Control`, besides those that
/// forbid storing (always kept).
const MAX_DIRECTIVES: usize = 32;

/// `Cache-Control` for a response tailored to one visitor: `private`, and
/// without the directives meant for shared caches; the browser's `max-age`,
/// `no-cache`, `must-revalidate` ... are kept. However long the origin's
/// header, `no-store` and `no-cache` are never lost.
pub fn privatize(cache_control: Option<&str>) -> String {
    let mut out = String::from("private");
    let mut kept = 0;
    for d in cache_control.unwrap_or("").split(',').map(str::trim) {
        let name = d
            .split('=')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if d.is_empty()
            || matches!(
                name.as_str(),
                "public" | "private" | "s-maxage" | "proxy-revalidate"
            )
        {
            continue;
        }
        let forbids = matches!(name.as_str(), "no-store" | "no-cache");
        if !forbids {
            if kept == MAX_DIRECTIVES {
                continue;
            }
            kept += 1;
        }
        out.push_str(", ");
        out.push_str(d);
    }
    out
}

/// The `ETag` of a rewritten variant: weak, naming the variant and the
/// origin's own tag (`W/"bl.<variant>.<origin>"`).
pub fn variant_etag(variant: &str, origin_etag: &str) -> Option<String> {
    let inner = origin_etag
        .trim()
        .trim_start_matches("W/")
        .trim_matches('"');
    (!inner.is_empty() && !inner.contains('"'))
        .then(|| crate::base::text::concat(&["W/\"bl.", variant, ".", inner, "\""]))
}

/// `If-None-Match` towards the origin: our variant tags become the origin's
/// tag when they name the current variant and are dropped otherwise (the
/// visitor's cached copy is another language or currency). `None` = drop the
/// header; the flag says whether any tag of another variant was seen.
pub fn forward_if_none_match(value: &str, variant: &str) -> (Option<String>, bool) {
    let mut out = Vec::new();
    let mut stale = false;
    for tag in value
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .take(32)
    {
        let inner = tag.trim_start_matches("W/").trim_matches('"');
        match inner.strip_prefix("bl.").and_then(|r| r.split_once('.')) {
            Some((v, origin)) if v == variant => out.push(format!("\"{origin}\"")),
            Some(_) => stale = true,
            None => out.push(tag.to_string()),
        }
    }
    ((!out.is_empty()).then(|| out.join(", ")), stale)
}

/// `Vary` of a rewritten response: the origin's plus what the page now
/// depends on in the browser's cache.
pub fn vary(origin: Option<&str>) -> String {
    let mut v: Vec<&str> = origin
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .collect();
    for add in ["Cookie", "Accept-Language"] {
        if !v.iter().any(|x| x.eq_ignore_ascii_case(add) || *x == "*") {
            v.push(add);
        }
    }
    v.join(", ")
}

/// A strong `ETag` no longer names the rewritten bytes; weaken it.
pub fn weaken_etag(etag: &str) -> Option<String> {
    let t = etag.trim();
    (t.starts_with('"') && t.len() >= 2).then(|| crate::base::text::concat(&["W/", t]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok_html() -> Exchange<'static> {
        Exchange {
            method: "GET",
            status: 200,
            content_type: Some("text/html; charset=utf-8"),
            ..Exchange::default()
        }
    }

    #[test]
    fn rewrites_plain_html_get() {
        assert_eq!(check(&ok_html()), Ok(()));
        assert_eq!(
            check(&Exchange {
                content_encoding: Some("gzip"),
                ..ok_html()
            }),
            Ok(())
        );
        assert_eq!(
            check(&Exchange {
                cache_control: Some("public, max-age=60"),
                ..ok_html()
            }),
            Ok(())
        );
    }

    #[test]
    fn passes_everything_else() {
        let cases = [
            (
                Exchange {
                    method: "HEAD",
                    ..ok_html()
                },
                Skip::Method,
            ),
            (
                Exchange {
                    method: "POST",
                    ..ok_html()
                },
                Skip::Method,
            ),
            (
                Exchange {
                    status: 304,
                    ..ok_html()
                },
                Skip::Status,
            ),
            (
                Exchange {
                    status: 301,
                    ..ok_html()
                },
                Skip::Status,
            ),
            (
                Exchange {
                    status: 206,
                    ..ok_html()
                },
                Skip::Status,
            ),
            (
                Exchange {
                    status: 500,
                    ..ok_html()
                },
                Skip::Status,
            ),
            (
                Exchange {
                    status: 404,
                    ..ok_html()
                },
                Skip::Status,
            ),
            (
                Exchange {
                    content_range: Some("bytes 0-9/100"),
                    ..ok_html()
                },
                Skip::Range,
            ),
            (
                Exchange {
                    content_type: Some("application/json"),
                    ..ok_html()
                },
                Skip::NotHtml,
            ),
            (
                Exchange {
                    content_type: None,
                    ..ok_html()
                },
                Skip::NotHtml,
            ),
            (
                Exchange {
                    cache_control: Some("max-age=0, No-Transform"),
                    ..ok_html()
                },
                Skip::NoTransform,
            ),
            (
                Exchange {
                    content_encoding: Some("zstd"),
                    ..ok_html()
                },
                Skip::ContentEncoding,
            ),
            (
                Exchange {
                    content_encoding: Some("gzip, compress"),
                    ..ok_html()
                },
                Skip::ContentEncoding,
            ),
        ];
        for (x, want) in cases {
            assert_eq!(check(&x), Err(want), "{x:?}");
        }
    }

    #[test]
    fn private_cache_control() {
        assert_eq!(privatize(None), "private");
        assert_eq!(privatize(Some("public, max-age=60")), "private, max-age=60");
        assert_eq!(
            privatize(Some("max-age=60, s-maxage=3600, stale-while-revalidate=30")),
            "private, max-age=60, stale-while-revalidate=30"
        );
        assert_eq!(
            privatize(Some("no-cache, private, must-revalidate")),
            "private, no-cache, must-revalidate"
        );
        assert_eq!(privatize(Some("no-store")), "private, no-store");
        // Finding 5: a long header never loses its tail's no-store.
        let long = format!("{}public, no-store", "x-a=1, ".repeat(40));
        let p = privatize(Some(&long));
        assert!(
            p.starts_with("private, x-a=1") && p.ends_with(", no-store"),
            "{p}"
        );
        assert!(!p.contains("public"), "{p}");
    }

    #[test]
    fn variant_validators() {
        let de = crate::plan::variant_tag(&["b1", "de-DE", "EUR"]);
        let ja = crate::plan::variant_tag(&["b1", "ja-JP", "JPY"]);
        assert_ne!(de, ja);
        assert_eq!(de.len(), 16);
        let tag = variant_etag(&de, "\"v1-abc\"").unwrap();
        assert_eq!(tag, format!("W/\"bl.{de}.v1-abc\""));
        assert_eq!(
            variant_etag(&de, "W/\"x\"").unwrap(),
            format!("W/\"bl.{de}.x\"")
        );
        // Same variant: the origin sees its own tag and may answer 304.
        assert_eq!(
            forward_if_none_match(&tag, &de),
            (Some("\"v1-abc\"".to_string()), false)
        );
        // Another variant (the visitor switched language): no validator, a full page.
        assert_eq!(forward_if_none_match(&tag, &ja), (None, true));
        // Foreign tags (assets the worker passes through) are kept.
        assert_eq!(
            forward_if_none_match("\"img-1\", W/\"img-2\"", &de),
            (Some("\"img-1\", W/\"img-2\"".to_string()), false)
        );
        assert_eq!(vary(None), "Cookie, Accept-Language");
        assert_eq!(
            vary(Some("Accept-Encoding, cookie")),
            "Accept-Encoding, cookie, Accept-Language"
        );
    }

    #[test]
    fn paths_and_etags() {
        let ex = vec!["/api/".to_string(), "/checkout".to_string()];
        assert!(excluded("/api/cart", &ex));
        assert!(excluded("/checkout/pay", &ex));
        assert!(!excluded("/p/123", &ex));
        assert!(excluded("/checkout", &ex));
        assert!(!excluded("/checkoutx", &ex));
        assert!(!excluded("/api", &ex), "the prefix /api/ needs the slash");
        assert_eq!(weaken_etag("\"abc\"").as_deref(), Some("W/\"abc\""));
        assert_eq!(weaken_etag("W/\"abc\""), None);
    }
}
