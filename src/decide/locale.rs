//! Locale negotiation: URL prefix → cookie → `Accept-Language` → the
//! country's default → the site default. Only configured locales come out.

/// Where the negotiated locale came from (shown in preview).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(test, derive(serde::Deserialize))]
#[serde(rename_all = "snake_case")]
pub enum Source {
    UrlPrefix,
    Cookie,
    AcceptLanguage,
    Country,
    SiteDefault,
}

/// The inputs of negotiation for one request.
#[derive(Debug, Clone, Copy)]
pub struct Ask<'a> {
    /// Locale named by the URL prefix, if the shop uses prefixes.
    pub prefix: Option<&'a str>,
    pub cookie: Option<&'a str>,
    pub accept_language: &'a str,
    pub country: &'a str,
    /// Crawlers get the URL's locale only: no cookie, header or geo.
    pub crawler: bool,
}

/// The negotiated locale: an entry of `available`, and why.
pub fn negotiate<'a>(
    ask: &Ask,
    available: &'a [String],
    country_default: Option<&'a str>,
    site_default: &'a str,
) -> (&'a str, Source) {
    if let Some(l) = ask.prefix.and_then(|p| find(available, p)) {
        return (l, Source::UrlPrefix);
    }
    if ask.crawler {
        return (site_default, Source::SiteDefault);
    }
    if let Some(l) = ask.cookie.and_then(|c| find(available, c.trim())) {
        return (l, Source::Cookie);
    }
    if let Some(l) = from_accept_language(ask.accept_language, available, ask.country) {
        return (l, Source::AcceptLanguage);
    }
    if let Some(l) = country_default
        .and_then(|c| find(available, c))
        .or_else(|| by_region(available, ask.country))
    {
        return (l, Source::Country);
    }
    (site_default, Source::SiteDefault)
}

fn find<'a>(available: &'a [String], tag: &str) -> Option<&'a str> {
    available
        .iter()
        .find(|a| a.eq_ignore_ascii_case(tag))
        .map(String::as_str)
}

/// The first available locale whose region is the visitor's country.
fn by_region<'a>(available: &'a [String], country: &str) -> Option<&'a str> {
    available
        .iter()
        .find(|a| {
            a.rsplit('-')
                .next()
                .is_some_and(|r| r.len() == 2 && r.eq_ignore_ascii_case(country))
                && a.contains('-')
        })
        .map(String::as_str)
}

const MAX_RANGES: usize = 32;

/// One language range of `Accept-Language` with its quality (0-1000).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range<'a> {
    pub tag: &'a str,
    pub q: u16,
}

/// Parses `Accept-Language` into ranges, best first (stable for equal q).
/// Malformed entries are skipped; at most 32 ranges are read.
pub fn parse_accept_language(header: &str) -> Vec<Range<'_>> {
    let mut out: Vec<Range> = Vec::new();
    for item in split_outside_quotes(header).take(MAX_RANGES) {
        let mut params = item.split(';');
        let tag = params.next().unwrap_or("").trim();
        let valid = tag == "*"
            || (!tag.is_empty()
                && tag.len() <= 35
                && tag.split('-').all(|p| {
                    (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric())
                }));
        if !valid {
            continue;
        }
        let mut q = 1000;
        for p in params {
            if let Some((k, v)) = p.split_once('=') {
                if k.trim().eq_ignore_ascii_case("q") {
                    q = parse_q(v.trim()).unwrap_or(0);
                }
            }
        }
        out.push(Range { tag, q });
    }
    // Quality first; at equal quality a specific range beats `*`.
    out.sort_by(|a, b| b.q.cmp(&a.q).then((a.tag == "*").cmp(&(b.tag == "*"))));
    out
}

fn split_outside_quotes(s: &str) -> impl Iterator<Item = &str> {
    let mut start = 0;
    let mut quoted = false;
    let mut parts = Vec::new();
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                parts.push(s.get(start..i).unwrap_or(""));
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(s.get(start..).unwrap_or(""));
    parts.into_iter().map(str::trim).filter(|p| !p.is_empty())
}

/// `q` as thousandths; `None` when malformed (RFC 9110: 0-1, ≤ 3 decimals).
fn parse_q(v: &str) -> Option<u16> {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // The digits padded to three, by hand (`format!` is cold code here).
    let f = (0..3).fold(0u16, |acc, i| {
        acc * 10 + frac.as_bytes().get(i).map_or(0, |b| u16::from(b - b'0'))
    });
    match int {
        "0" => Some(f),
        "1" if f == 0 => Some(1000),
        _ => None,
    }
}

/// The best available locale for an `Accept-Language` header: ranges in
/// quality order; per range an exact match, then RFC 4647 lookup (the range
/// truncated: `de-AT` → `de`), then an available regional variant of the
/// range's language (`de` → `de-DE`, preferring the visitor's country).
/// `*` and no match mean "no preference" (`None`); `q=0` excludes a locale.
pub fn from_accept_language<'a>(
    header: &str,
    available: &'a [String],
    country: &str,
) -> Option<&'a str> {
    let ranges = parse_accept_language(header);
    let excluded = |tag: &str| {
        ranges.iter().any(|r| {
            r.q == 0 && r.tag != "*" && (tag.eq_ignore_ascii_case(r.tag) || has_prefix(tag, r.tag))
        })
    };
    for r in ranges.iter().filter(|r| r.q > 0) {
        if r.tag == "*" {
            return None;
        }
        let mut range = r.tag;
        loop {
            if let Some(l) = find(available, range).filter(|l| !excluded(l)) {
                return Some(l);
            }
            match range.rsplit_once('-') {
                Some((head, _)) => range = head,
                None => break,
            }
        }
        let lang = r.tag.split('-').next().unwrap_or("");
        let variants = || {
            available
                .iter()
                .filter(|a| has_prefix(a, lang) && !excluded(a))
        };
        let regional = variants().find(|a| {
            a.rsplit('-')
                .next()
                .is_some_and(|x| x.eq_ignore_ascii_case(country))
        });
        if let Some(l) = regional.or_else(|| variants().next()) {
            return Some(l);
        }
    }
    None
}

/// Whether `tag` starts with the whole subtags of `prefix` (`en-US` has `en`).
fn has_prefix(tag: &str, prefix: &str) -> bool {
    tag.as_bytes().get(prefix.len()) == Some(&b'-')
        && tag
            .get(..prefix.len())
            .is_some_and(|h| h.eq_ignore_ascii_case(prefix))
}

/// The locale named by the first path segment (`/de-de/p/1` → `de-de`), if
/// it is an available locale, and the path without it.
pub fn split_prefix<'p>(path: &'p str, available: &[String]) -> Option<(&'p str, &'p str)> {
    let rest = path.strip_prefix('/')?;
    let (seg, tail) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    find(available, seg).map(|_| (seg, tail))
}

/// The URL path prefix of a locale: lower case (`de-DE` → `/de-de`).
pub fn prefix_of(locale: &str) -> String {
    crate::base::text::concat(&["/", &locale.to_ascii_lowercase()])
}

/// Right-to-left scripts (by language subtag, or an explicit script subtag).
pub fn is_rtl(locale: &str) -> bool {
    const RTL_SCRIPTS: [&str; 6] = ["arab", "hebr", "thaa", "syrc", "nkoo", "adlm"];
    const RTL_LANGS: [&str; 14] = [
        "ar", "he", "iw", "fa", "ur", "ps", "sd", "ug", "yi", "dv", "ckb", "ku-arab", "syr", "ks",
    ];
    let mut parts = locale.split('-');
    let lang = parts.next().unwrap_or("").to_ascii_lowercase();
    if let Some(script) = locale.split('-').skip(1).find(|p| p.len() == 4) {
        return RTL_SCRIPTS.contains(&script.to_ascii_lowercase().as_str());
    }
    RTL_LANGS.contains(&lang.as_str())
}

/// Fallback chain of a locale for dictionaries: `de-AT` → `de-AT`, `de`.
pub fn fallbacks(locale: &str) -> impl Iterator<Item = &str> {
    let mut next = Some(locale);
    std::iter::from_fn(move || {
        let cur = next?;
        next = cur.rsplit_once('-').map(|(head, _)| head);
        Some(cur)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q_values_as_thousandths() {
        let cases = [
            ("1", Some(1000)),
            ("1.000", Some(1000)),
            ("0.9", Some(900)),
            ("0.05", Some(50)),
            ("0.123", Some(123)),
            ("0", Some(0)),
            ("0.", Some(0)),
            ("1.5", None),
            ("0.1234", None),
            ("0.-1", None),
            (".5", None),
            ("2", None),
            ("a", None),
        ];
        for (q, want) in cases {
            assert_eq!(parse_q(q), want, "{q}");
        }
    }

    fn langs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn best(header: &str, available: &[&str]) -> Option<String> {
        from_accept_language(header, &langs(available), "XX").map(str::to_string)
    }

    /// Cases of jshttp/negotiator's language suite (test/language.js),
    /// adapted: one best match; `*` or no match means "no preference" (the
    /// caller then uses the country default) instead of the first offered.
    #[test]
    fn negotiator_suite_adapted() {
        let cases: &[(&str, &[&str], Option<&str>)] = &[
            ("", &["en"], None),
            ("*", &["es", "en"], None),
            ("*, en", &["es", "en"], Some("en")),
            ("*, en;q=0", &["es", "en"], None),
            ("*;q=0.8, en, es", &["en", "nl"], Some("en")),
            ("*;q=0.8, en, es", &["ro", "nl"], None),
            ("en", &["en"], Some("en")),
            ("en", &["es", "en"], Some("en")),
            ("en", &["en-US"], Some("en-US")),
            ("en", &["en-US", "en"], Some("en")),
            ("en", &["en", "en-US"], Some("en")),
            ("en;q=0", &["es", "en"], None),
            ("en;q=0.8, es", &["en"], Some("en")),
            ("en;q=0.8, es", &["en", "es"], Some("es")),
            ("en;q=0.9, es;q=0.8, en;q=0.7", &["es"], Some("es")),
            ("en;q=0.9, es;q=0.8, en;q=0.7", &["en", "es"], Some("en")),
            ("en;q=0.9, es;q=0.8, en;q=0.7", &["es", "en"], Some("en")),
            ("en-US, en;q=0.8", &["en", "en-US"], Some("en-US")),
            ("en-US, en;q=0.8", &["en-GB", "en-US"], Some("en-US")),
            ("en-US, en;q=0.8", &["en-GB", "es"], Some("en-GB")),
            ("en-US, en;q=0.8", &["en-us", "EN"], Some("en-us")),
            ("en-US, en-GB", &["en-US", "en-GB"], Some("en-US")),
            ("en-US, en-GB", &["en-GB", "en-US"], Some("en-US")),
            ("en-US;q=0.8, es", &["es", "en-US"], Some("es")),
            ("en-US;q=0.8, es", &["en-US", "es"], Some("es")),
            ("en-US;q=0.8, es", &["en-US", "en"], Some("en-US")),
            (
                "en-US;foo=bar;q=1, en-GB;q=1",
                &["en-GB", "en-US"],
                Some("en-US"),
            ),
            (
                "en-US;foo=\"bar,baz\", en-GB",
                &["en-GB", "en-US"],
                Some("en-US"),
            ),
            (
                "nl;q=0.5, fr, de, en, it, es, pt, no, se, fi, ro",
                &["nl", "fr"],
                Some("fr"),
            ),
        ];
        for (header, available, want) in cases {
            assert_eq!(
                best(header, available).as_deref(),
                *want,
                "{header:?} {available:?}"
            );
        }
    }

    #[test]
    fn lookup_and_regional_variants() {
        let shop = [
            "en-GB", "de-DE", "de-CH", "fr-FR", "fr-CH", "ja-JP", "ar-AE",
        ];
        // de-AT → de → a German variant (no de-AT offered).
        assert_eq!(
            best("de-AT,de;q=0.9,en;q=0.5", &shop).as_deref(),
            Some("de-DE")
        );
        // A Swiss visitor asking for "fr" gets the Swiss variant.
        assert_eq!(
            from_accept_language("fr", &langs(&shop), "CH"),
            Some("fr-CH")
        );
        assert_eq!(best("ja", &shop).as_deref(), Some("ja-JP"));
        assert_eq!(best("pt-BR, pt;q=0.9", &shop), None);
        // Malformed input is ignored, not fatal.
        assert_eq!(
            best("de;q=2, <x>, en;q=abc, ja;q=0.5", &shop).as_deref(),
            Some("ja-JP")
        );
        let huge = "xx,".repeat(10_000) + "de";
        assert_eq!(best(&huge, &shop), None, "only the first 32 ranges count");
    }

    #[test]
    fn negotiation_order() {
        let available = langs(&["en-GB", "de-DE", "fr-FR", "ja-JP"]);
        let ask = Ask {
            prefix: None,
            cookie: None,
            accept_language: "",
            country: "DE",
            crawler: false,
        };
        let n = |a: Ask| negotiate(&a, &available, None, "en-GB");
        assert_eq!(
            n(Ask {
                prefix: Some("fr-fr"),
                cookie: Some("ja-JP"),
                accept_language: "de",
                ..ask
            }),
            ("fr-FR", Source::UrlPrefix)
        );
        assert_eq!(
            n(Ask {
                cookie: Some("ja-JP"),
                accept_language: "de",
                ..ask
            }),
            ("ja-JP", Source::Cookie)
        );
        assert_eq!(
            n(Ask {
                cookie: Some("xx-YY"),
                accept_language: "fr",
                ..ask
            }),
            ("fr-FR", Source::AcceptLanguage)
        );
        assert_eq!(
            n(Ask {
                accept_language: "pt",
                ..ask
            }),
            ("de-DE", Source::Country)
        );
        assert_eq!(
            n(Ask {
                country: "BR",
                ..ask
            }),
            ("en-GB", Source::SiteDefault)
        );
        assert_eq!(
            negotiate(
                &Ask {
                    country: "AT",
                    ..ask
                },
                &available,
                Some("de-DE"),
                "en-GB"
            ),
            ("de-DE", Source::Country)
        );
        // Crawlers: the URL's locale, else the site default; never cookie, header or geo.
        let bot = Ask {
            cookie: Some("ja-JP"),
            accept_language: "fr",
            crawler: true,
            ..ask
        };
        assert_eq!(n(bot), ("en-GB", Source::SiteDefault));
        assert_eq!(
            n(Ask {
                prefix: Some("de-de"),
                ..bot
            }),
            ("de-DE", Source::UrlPrefix)
        );
    }

    #[test]
    fn prefixes_rtl_fallbacks() {
        let available = langs(&["en-GB", "de-DE"]);
        assert_eq!(
            split_prefix("/de-de/p/1", &available),
            Some(("de-de", "/p/1"))
        );
        assert_eq!(split_prefix("/de-de", &available), Some(("de-de", "/")));
        assert_eq!(split_prefix("/p/1", &available), None);
        assert_eq!(prefix_of("de-DE"), "/de-de");
        for rtl in ["ar", "ar-AE", "he-IL", "fa-IR", "ur-PK", "az-Arab"] {
            assert!(is_rtl(rtl), "{rtl}");
        }
        for ltr in ["en-GB", "de", "ja-JP", "az-Latn", "ku"] {
            assert!(!is_rtl(ltr), "{ltr}");
        }
        assert_eq!(
            fallbacks("zh-Hant-TW").collect::<Vec<_>>(),
            ["zh-Hant-TW", "zh-Hant", "zh"]
        );
    }
}
