//! The per-request `Context`: who and where the visitor is, on what device,
//! at what local time. Built from `request.cf`, a few headers and the clock;
//! every field has a defined default.

use crate::base::ids::{valid_country, valid_timezone};
use crate::base::recent::Recent;
use crate::request::clock::LocalTime;
use crate::request::device::{self, Device};
use crate::request::preview::Overrides;
use serde::Serialize;
use std::cell::RefCell;
use std::rc::Rc;

/// Geo facts from `request.cf`, validated.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Geo {
    /// ISO 3166-1 alpha-2, upper case; `XX` when unknown (Cloudflare's own value).
    pub country: String,
    pub region: Option<String>,
    pub region_code: Option<String>,
    /// IANA time zone; `None` means UTC.
    pub timezone: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub continent: Option<String>,
    pub is_eu: bool,
    /// Cloudflare Bot Management says this is a verified crawler.
    pub verified_bot: bool,
}

/// The fields of `request.cf` that [`Geo`] reads, a nested one by its
/// path: the entry sends only these, as `key:value` entries joined by tabs
/// ([`Geo::cf_line`]), not the ~40 fields the runtime has. A line parsed
/// by hand costs a request no JSON parser.
pub const CF_KEYS: [&str; 9] = [
    "country",
    "region",
    "regionCode",
    "timezone",
    "latitude",
    "longitude",
    "continent",
    "isEUCountry",
    "botManagement.verifiedBot",
];

pub const UNKNOWN_COUNTRY: &str = "XX";

/// Longer than any line of valid fields: a longer one is ignored whole.
const MAX_CF_LINE: usize = 4 << 10;
/// `cf` lines remembered (`Geo::remembered`), and the longest kept.
const MAX_PLACES: usize = 64;
const MAX_KEPT_LINE: usize = 256;

thread_local! {
    static PLACES: RefCell<Recent<(String, Rc<Geo>)>> = const { RefCell::new(Recent::new(MAX_PLACES)) };
}

impl Geo {
    /// Reads `request.cf` as the entry sends it (see [`CF_KEYS`]). Bad or
    /// missing fields fall back to defaults; unknown keys are ignored.
    pub fn from_cf(line: Option<&str>) -> Geo {
        let mut g = Geo {
            country: UNKNOWN_COUNTRY.to_string(),
            ..Geo::default()
        };
        let coord = |v: &str, max: f64| {
            let f = v.trim().parse::<f64>().ok()?;
            (f.is_finite() && f.abs() <= max).then_some(f)
        };
        let line = line.filter(|l| l.len() <= MAX_CF_LINE).unwrap_or("");
        for (k, v) in line.split('\t').filter_map(|e| e.split_once(':')) {
            match k {
                "country" if valid_country(v) => g.country = v.to_string(),
                "region" if valid_label(v) => g.region = Some(v.to_string()),
                "regionCode" if valid_label(v) && v.len() <= 8 => {
                    g.region_code = Some(v.to_string());
                }
                "timezone" if valid_timezone(v) => g.timezone = Some(v.to_string()),
                "latitude" => g.latitude = coord(v, 90.0),
                "longitude" => g.longitude = coord(v, 180.0),
                "continent" if v.len() == 2 && v.bytes().all(|b| b.is_ascii_uppercase()) => {
                    g.continent = Some(v.to_string());
                }
                // The runtime says "1"/"0"; a boolean reads as "true".
                "isEUCountry" => g.is_eu = v == "1" || v == "true",
                "botManagement.verifiedBot" => g.verified_bot = v == "true",
                _ => {}
            }
        }
        g
    }

    /// [`Geo::from_cf`], shared by the requests with the same line (one per
    /// place and network, seen again and again): parsing it, floats
    /// included, was a tenth of a request's code run.
    pub fn remembered(line: Option<&str>) -> Rc<Geo> {
        let line = line.unwrap_or("");
        let found = PLACES.with_borrow(|p| p.find(|(l, _)| l == line).map(|(_, g)| Rc::clone(g)));
        found.unwrap_or_else(|| {
            let g = Rc::new(Geo::from_cf(Some(line)));
            if line.len() <= MAX_KEPT_LINE {
                PLACES.with_borrow_mut(|p| p.push((line.to_string(), Rc::clone(&g))));
            }
            g
        })
    }

    /// The line the entry sends for `request.cf` (`worker/entry.mjs`
    /// `cfLine`), from `field`: the text of the field at a path of
    /// [`CF_KEYS`] if it is a string, number or boolean. A field with a
    /// control character is left out.
    pub fn cf_line_from(field: impl Fn(&str) -> Option<String>) -> String {
        let mut out = String::new();
        for key in CF_KEYS {
            let Some(text) = field(key).filter(|t| !t.chars().any(|c| c.is_ascii_control())) else {
                continue;
            };
            if !out.is_empty() {
                out.push('\t');
            }
            out.push_str(key);
            out.push(':');
            out.push_str(&text);
        }
        out
    }

    /// [`Geo::cf_line_from`] for callers that hold `request.cf` as JSON
    /// (the simulator, tests).
    pub fn cf_line(cf: &serde_json::Value) -> String {
        Geo::cf_line_from(
            |path| match path.split('.').try_fold(cf, |v, k| v.get(k))? {
                serde_json::Value::String(s) => Some(s.clone()),
                v @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_)) => {
                    Some(v.to_string())
                }
                _ => None,
            },
        )
    }

    /// Whether the visitor is south of the equator (latitude, else country).
    pub fn southern(&self) -> bool {
        match self.latitude {
            Some(lat) => lat < 0.0,
            None => SOUTHERN.contains(&self.country.as_str()),
        }
    }
}

/// Countries wholly or mostly south of the equator.
const SOUTHERN: &[&str] = &[
    "AR", "AU", "BO", "BR", "BW", "CL", "FJ", "LS", "MG", "MU", "MW", "MZ", "NA", "NZ", "PE", "PY",
    "SZ", "TZ", "UY", "ZA", "ZM", "ZW", "AO", "ID", "PG", "NC", "PF", "RE", "SB", "TO", "VU", "WS",
];

/// EU member states (for a previewed country, where `cf` has no flag).
const EU: &[&str] = &[
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV",
    "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
];

fn valid_label(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && !s.chars().any(char::is_control)
}

/// The request headers the context reads.
#[derive(Debug, Default, Clone, Copy)]
pub struct Head<'a> {
    pub user_agent: Option<&'a str>,
    pub ch_ua_mobile: Option<&'a str>,
    pub accept_language: Option<&'a str>,
    pub cookie: Option<&'a str>,
    pub path: &'a str,
}

const MAX_ACCEPT_LANGUAGE: usize = 512;
const MAX_COOKIE: usize = 8 << 10;

/// Everything known about one request before any decision.
#[derive(Debug, Clone, Serialize)]
pub struct Context {
    #[serde(flatten)]
    pub geo: Rc<Geo>,
    pub device: Device,
    pub time: LocalTime,
    /// Raw `Accept-Language`, bounded; empty when absent.
    pub accept_language: String,
    /// Raw `Cookie` header, bounded; read with [`Context::cookie`].
    #[serde(skip)]
    cookies: String,
    /// Where each `name=value` pair of `cookies` is, found once: a request
    /// looks up several cookies, and a shop's Cookie header can be long.
    #[serde(skip)]
    pairs: Vec<CookiePair>,
    pub path: String,
}

/// Byte ranges in [`Context::cookies`] (at most `MAX_COOKIE` long): the
/// name and the value, each trimmed as [`Context::cookie`] reads them.
#[derive(Debug, Clone, Copy)]
struct CookiePair {
    name: (u16, u16),
    value: (u16, u16),
}

/// The pairs of a Cookie header in order: `;`-separated, split at the
/// first `=` (a piece without one is skipped), the name trimmed, the
/// value trimmed and unquoted.
fn cookie_pairs(cookies: &str) -> Vec<CookiePair> {
    let at = |part: &str| -> Option<(u16, u16)> {
        let start = (part.as_ptr() as usize).checked_sub(cookies.as_ptr() as usize)?;
        Some((
            u16::try_from(start).ok()?,
            u16::try_from(start + part.len()).ok()?,
        ))
    };
    cookies
        .split(';')
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            Some(CookiePair {
                name: at(k.trim())?,
                value: at(v.trim().trim_matches('"'))?,
            })
        })
        .collect()
}

/// Resolves the UTC offset in minutes of an IANA zone at an instant.
pub type TzOffset<'a> = &'a dyn Fn(&str, i64) -> Option<i32>;

impl Context {
    /// `geo` is shared (`Geo::remembered`); a preview's overrides and a
    /// time zone the clock does not know change a copy.
    pub fn new(
        geo: impl Into<Rc<Geo>>,
        head: &Head,
        now_ms: i64,
        ov: &Overrides,
        tz: TzOffset,
    ) -> Context {
        let mut geo = geo.into();
        if let Some(c) = &ov.country {
            if *c != geo.country {
                // A previewed country must not inherit the real visitor's place.
                geo = Rc::new(Geo {
                    is_eu: EU.contains(&c.as_str()),
                    country: c.clone(),
                    ..Geo::default()
                });
            }
        }
        if ov.region.is_some() {
            let g = Rc::make_mut(&mut geo);
            g.region.clone_from(&ov.region);
            g.region_code = None;
        }
        if ov.timezone.is_some() {
            Rc::make_mut(&mut geo).timezone.clone_from(&ov.timezone);
        }
        if ov.latitude.is_some() {
            Rc::make_mut(&mut geo).latitude = ov.latitude;
        }
        let now = ov.now_ms.unwrap_or(now_ms);
        let offset = match &geo.timezone {
            Some(z) => match tz(z, now) {
                Some(o) if o.abs() <= 18 * 60 => o,
                _ => {
                    Rc::make_mut(&mut geo).timezone = None;
                    0
                }
            },
            None => 0,
        };
        let time = LocalTime::at(now, offset, &geo.country, geo.southern());
        let device = ov
            .device
            .unwrap_or_else(|| device::classify(head.user_agent, head.ch_ua_mobile));
        let cookies = bounded(head.cookie, MAX_COOKIE);
        Context {
            time,
            device,
            accept_language: bounded(head.accept_language, MAX_ACCEPT_LANGUAGE),
            pairs: cookie_pairs(&cookies),
            cookies,
            path: bounded(Some(head.path), 2048),
            geo,
        }
    }

    /// The value of cookie `name`, if present (first wins).
    pub fn cookie(&self, name: &str) -> Option<&str> {
        let part = |(a, b): (u16, u16)| self.cookies.get(usize::from(a)..usize::from(b));
        self.pairs
            .iter()
            .find(|p| part(p.name) == Some(name))
            .and_then(|p| part(p.value))
    }

    /// A crawler: by its User-Agent, or a bot Cloudflare verified.
    pub fn crawler(&self) -> bool {
        self.device == Device::Bot || self.geo.verified_bot
    }

    /// The time zone name in effect (`UTC` when unknown).
    pub fn timezone(&self) -> &str {
        self.geo.timezone.as_deref().unwrap_or("UTC")
    }
}

/// Copies at most `max` bytes (cut at a char boundary); longer input is
/// dropped to its prefix rather than rejected, since these are hints.
fn bounded(s: Option<&str>, max: usize) -> String {
    let s = s.unwrap_or("");
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("").to_string()
}

/// Tests of the later stages: the context of `cf` (JSON, as the runtime
/// gives it) and `head`, at time 0, without overrides or a time zone.
#[cfg(test)]
impl Context {
    pub(crate) fn of_test(cf: &str, head: &Head) -> Context {
        let cf = serde_json::from_str(cf).expect("cf JSON");
        Context::new(
            Geo::from_cf(Some(&Geo::cf_line(&cf))),
            head,
            0,
            &Overrides::default(),
            &|_, _| None,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::time::parse_rfc3339;
    use crate::request::clock::{Daypart, Season};

    const CF_DE: &str = r#"{"country":"DE","region":"Berlin","regionCode":"BE","timezone":"Europe/Berlin",
        "latitude":"52.52000","longitude":"13.40500","continent":"EU","isEUCountry":"1","colo":"FRA",
        "botManagement":{"verifiedBot":false,"score":99}}"#;

    /// `request.cf` as the entry sends it.
    fn line(json: &str) -> String {
        Geo::cf_line(&serde_json::from_str(json).unwrap())
    }

    #[test]
    fn a_remembered_place_is_the_parsed_one_and_never_changed() {
        let de = line(CF_DE);
        let a = Geo::remembered(Some(&de));
        assert_eq!(*a, Geo::from_cf(Some(&de)));
        assert!(Rc::ptr_eq(&a, &Geo::remembered(Some(&de))));
        assert_eq!(*Geo::remembered(None), Geo::from_cf(None));
        assert_eq!(Geo::remembered(Some("country:FR")).country, "FR");
        // A line too long to keep is parsed each time.
        let long = format!("{de}\tregion:{}", "x".repeat(MAX_KEPT_LINE));
        assert!(!Rc::ptr_eq(
            &Geo::remembered(Some(&long)),
            &Geo::remembered(Some(&long))
        ));
        // A preview's overrides and an unknown zone change the request's copy only.
        let ov = Overrides {
            region: Some("Bayern".into()),
            latitude: Some(-10.0),
            ..Overrides::default()
        };
        let c = Context::new(Rc::clone(&a), &Head::default(), 0, &ov, &|_, _| None);
        assert_eq!(
            (
                c.geo.region.as_deref(),
                c.geo.latitude,
                c.geo.timezone.as_deref()
            ),
            (Some("Bayern"), Some(-10.0), None)
        );
        assert_eq!(*Geo::remembered(Some(&de)), Geo::from_cf(Some(&de)));
    }

    #[test]
    fn the_line_has_the_fields_geo_reads_and_no_others() {
        let bot = r#"{"country":"US","colo":"SJC","asn":15169,"tlsVersion":"TLSv1.3",
            "botManagement":{"verifiedBot":true,"score":1,"ja3Hash":"x"},"isEUCountry":false}"#;
        assert_eq!(
            line(bot),
            "country:US\tisEUCountry:false\tbotManagement.verifiedBot:true"
        );
        assert_eq!(
            line(CF_DE),
            "country:DE\tregion:Berlin\tregionCode:BE\ttimezone:Europe/Berlin\t\
             latitude:52.52000\tlongitude:13.40500\tcontinent:EU\tisEUCountry:1\t\
             botManagement.verifiedBot:false"
        );
        // Numbers as JS prints them; objects, nulls and control characters left out.
        assert_eq!(
            line(
                r#"{"latitude":-33.9,"region":"a\nb","city":"x","timezone":null,"country":{"a":1}}"#
            ),
            "latitude:-33.9"
        );
        assert!(Geo::from_cf(Some(&line(bot))).verified_bot);
        assert!(!Geo::from_cf(Some(&line(bot))).is_eu);
        assert!(Geo::from_cf(Some(&line(CF_DE))).is_eu);
        assert!(Geo::from_cf(Some("isEUCountry:true")).is_eu);
    }

    fn fixed_tz(zone: &str, _at: i64) -> Option<i32> {
        match zone {
            "Europe/Berlin" => Some(60),
            "Asia/Tokyo" => Some(540),
            "Australia/Sydney" => Some(660),
            _ => None,
        }
    }

    fn ctx(cf: Option<&str>, head: Head, ov: &Overrides) -> Context {
        let now = parse_rfc3339("2026-12-24T18:30:00Z").unwrap();
        Context::new(
            Geo::from_cf(cf.map(line).as_deref()),
            &head,
            now,
            ov,
            &fixed_tz,
        )
    }

    #[test]
    fn reads_cf() {
        let g = Geo::from_cf(Some(&line(CF_DE)));
        assert_eq!(g.country, "DE");
        assert_eq!(g.region.as_deref(), Some("Berlin"));
        assert_eq!(g.region_code.as_deref(), Some("BE"));
        assert_eq!(g.timezone.as_deref(), Some("Europe/Berlin"));
        assert_eq!(g.latitude, Some(52.52));
        assert_eq!(g.continent.as_deref(), Some("EU"));
        assert!(g.is_eu && !g.verified_bot && !g.southern());
    }

    #[test]
    fn missing_or_bad_cf_gives_defaults() {
        let long = format!("country:DE\tregion:{}", "x".repeat(5000));
        let bad = [
            None,
            Some(""),
            Some("not a line"),
            Some("\t:\t::"),
            Some(&*long),
        ];
        for cf in bad {
            let g = Geo::from_cf(cf);
            assert_eq!(
                g,
                Geo {
                    country: "XX".into(),
                    ..Geo::default()
                },
                "{cf:?}"
            );
        }
        let g = Geo::from_cf(Some(&line(
            r#"{"country":"<script>","timezone":"../../etc","latitude":"999","longitude":"nan","continent":"Europe","isEUCountry":"0"}"#,
        )));
        assert_eq!(g.country, "XX");
        assert_eq!(
            (g.timezone, g.latitude, g.longitude, g.continent),
            (None, None, None, None)
        );
        assert!(!g.is_eu);
    }

    #[test]
    fn context_from_cf_and_headers() {
        let head = Head {
            user_agent: Some(
                "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) Mobile/15E148",
            ),
            accept_language: Some("de-DE,de;q=0.9,en;q=0.8"),
            cookie: Some("a=1; borderless_locale=de-DE; b=\"x\""),
            path: "/p/85123A",
            ..Head::default()
        };
        let c = ctx(Some(CF_DE), head, &Overrides::default());
        assert_eq!(c.device, Device::Mobile);
        assert_eq!(c.time.local, "2026-12-24T19:30:00+01:00");
        assert_eq!(
            (c.time.daypart, c.time.season),
            (Daypart::Evening, Season::Winter)
        );
        assert_eq!(c.cookie("borderless_locale"), Some("de-DE"));
        assert_eq!(c.cookie("b"), Some("x"));
        assert_eq!(c.cookie("missing"), None);
        assert_eq!(c.accept_language, "de-DE,de;q=0.9,en;q=0.8");
        let json = serde_json::to_string(&c).unwrap();
        assert!(
            json.contains(r#""country":"DE""#) && json.contains(r#""daypart":"evening""#),
            "{json}"
        );
    }

    #[test]
    fn cookie_lookups_read_as_a_scan_of_the_header_would() {
        // The header scanned anew for each name, as cookies were read
        // before they were found once per request.
        let scan = |h: &str, name: &str| -> Option<String> {
            h.split(';').find_map(|pair| {
                let (k, v) = pair.split_once('=')?;
                (k.trim() == name).then(|| v.trim().trim_matches('"').to_string())
            })
        };
        let headers = [
            "a=1; b=2",
            " a = \"q\" ;b=x=y; a=second",
            "noeq; =empty; c=; d=\"\"; e=  ",
            "ä=ü; long=\u{1F600}; ;; ;x=1",
            "",
        ];
        for h in headers {
            let head = Head {
                cookie: Some(h),
                path: "/",
                ..Head::default()
            };
            let c = ctx(None, head, &Overrides::default());
            for name in ["a", "b", "c", "d", "e", "", "ä", "long", "x", "noeq", "zz"] {
                assert_eq!(
                    c.cookie(name).map(str::to_string),
                    scan(h, name),
                    "{h:?} {name:?}"
                );
            }
        }
    }

    #[test]
    fn no_cf_means_utc_unknown_country_desktop_default() {
        let c = ctx(
            None,
            Head {
                user_agent: Some("Mozilla/5.0 (X11; Linux x86_64)"),
                path: "/",
                ..Head::default()
            },
            &Overrides::default(),
        );
        assert_eq!(c.geo.country, "XX");
        assert_eq!(c.timezone(), "UTC");
        assert_eq!(c.time.utc_offset_minutes, 0);
        assert_eq!(c.device, Device::Desktop);
    }

    #[test]
    fn unknown_zone_falls_back_to_utc() {
        let c = ctx(
            Some(r#"{"country":"DE","timezone":"Mars/Olympus"}"#),
            Head::default(),
            &Overrides::default(),
        );
        assert_eq!((c.timezone(), c.time.utc_offset_minutes), ("UTC", 0));
    }

    #[test]
    fn overrides_replace_the_place() {
        let ov = Overrides {
            country: Some("AU".into()),
            timezone: Some("Australia/Sydney".into()),
            device: Some(Device::Tablet),
            ..Overrides::default()
        };
        let c = ctx(Some(CF_DE), Head::default(), &ov);
        assert_eq!(c.geo.country, "AU");
        assert_eq!(
            c.geo.region, None,
            "real region must not leak into the previewed country"
        );
        assert!(!c.geo.is_eu);
        assert_eq!(c.device, Device::Tablet);
        assert_eq!(c.time.season, Season::Summer);
        assert_eq!(c.time.local, "2026-12-25T05:30:00+11:00");
        let fr = ctx(
            Some(CF_DE),
            Head::default(),
            &Overrides {
                country: Some("FR".into()),
                ..Overrides::default()
            },
        );
        assert!(fr.geo.is_eu);
    }

    #[test]
    fn inputs_are_bounded() {
        let big = "x=".to_string() + &"y".repeat(100_000);
        let al = "de,".repeat(10_000);
        let c = ctx(
            None,
            Head {
                cookie: Some(&big),
                accept_language: Some(&al),
                path: "/",
                ..Head::default()
            },
            &Overrides::default(),
        );
        assert!(c.cookies.len() <= MAX_COOKIE && c.accept_language.len() <= MAX_ACCEPT_LANGUAGE);
    }
}
