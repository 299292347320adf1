//! Preview mode: a shop's developer pins the context with headers (read
//! here) and reads back every decision in `x-borderless-context` (`page`).

use crate::base::ids::{valid_country, valid_timezone};
use crate::base::time::parse_rfc3339;
use crate::request::device::Device;

pub const TOKEN_HEADER: &str = "x-borderless-preview";
pub const REPORT_HEADER: &str = "x-borderless-context";
/// Override headers, in the order they are reported.
pub const OVERRIDE_HEADERS: [&str; 6] = [
    "x-borderless-country",
    "x-borderless-region",
    "x-borderless-timezone",
    "x-borderless-latitude",
    "x-borderless-device",
    "x-borderless-now",
];

/// Whether this request may use preview: `PREVIEW = "on"`, or the request's
/// token equals the `PREVIEW_TOKEN` secret (compared in constant time).
pub fn enabled(preview_var: Option<&str>, secret: Option<&str>, token: Option<&str>) -> bool {
    if preview_var.is_some_and(|v| v.eq_ignore_ascii_case("on")) {
        return true;
    }
    match (secret, token) {
        (Some(s), Some(t)) if s.len() >= 16 => constant_time_eq(s.as_bytes(), t.trim().as_bytes()),
        _ => false,
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Context overrides read from preview headers; invalid ones are ignored
/// and listed.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Overrides {
    pub country: Option<String>,
    pub region: Option<String>,
    pub timezone: Option<String>,
    pub latitude: Option<f64>,
    pub device: Option<Device>,
    pub now_ms: Option<i64>,
    pub ignored: Vec<&'static str>,
}

impl Overrides {
    /// `get` returns a request header by (lower-case) name.
    pub fn from_headers(get: impl Fn(&str) -> Option<String>) -> Overrides {
        let mut ov = Overrides::default();
        for name in OVERRIDE_HEADERS {
            let Some(raw) = get(name) else { continue };
            let v = raw.trim();
            let ok = v.len() <= 64
                && match name {
                    "x-borderless-country" => {
                        let c = v.to_ascii_uppercase();
                        valid_country(&c).then(|| ov.country = Some(c)).is_some()
                    }
                    "x-borderless-region" => (!v.is_empty() && !v.chars().any(char::is_control))
                        .then(|| ov.region = Some(v.to_string()))
                        .is_some(),
                    "x-borderless-timezone" => valid_timezone(v)
                        .then(|| ov.timezone = Some(v.to_string()))
                        .is_some(),
                    "x-borderless-latitude" => v
                        .parse::<f64>()
                        .ok()
                        .filter(|l| l.is_finite() && l.abs() <= 90.0)
                        .map(|l| ov.latitude = Some(l))
                        .is_some(),
                    "x-borderless-device" => {
                        Device::parse(v).map(|d| ov.device = Some(d)).is_some()
                    }
                    _ => parse_rfc3339(v).map(|t| ov.now_ms = Some(t)).is_some(),
                };
            if !ok {
                ov.ignored.push(name);
            }
        }
        ov
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |n| {
            pairs
                .iter()
                .find(|(k, _)| *k == n)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn gate() {
        assert!(enabled(Some("on"), None, None));
        assert!(!enabled(Some("off"), None, None));
        assert!(!enabled(None, None, Some("x")));
        let secret = "s3cret-token-0123456789";
        assert!(enabled(None, Some(secret), Some(secret)));
        assert!(!enabled(
            None,
            Some(secret),
            Some("s3cret-token-0123456780")
        ));
        assert!(!enabled(None, Some(secret), None));
        // A short secret is refused: it would be guessable.
        assert!(!enabled(None, Some("short"), Some("short")));
    }

    #[test]
    fn parses_valid_and_lists_invalid() {
        let ov = Overrides::from_headers(headers(&[
            ("x-borderless-country", "jp"),
            ("x-borderless-timezone", "Asia/Tokyo"),
            ("x-borderless-latitude", "35.6"),
            ("x-borderless-device", "mobile"),
            ("x-borderless-now", "2026-12-24T08:00:00+09:00"),
        ]));
        assert_eq!(ov.country.as_deref(), Some("JP"));
        assert_eq!(ov.timezone.as_deref(), Some("Asia/Tokyo"));
        assert_eq!(ov.latitude, Some(35.6));
        assert_eq!(ov.device, Some(Device::Mobile));
        assert_eq!(ov.now_ms, parse_rfc3339("2026-12-23T23:00:00Z"));
        assert!(ov.ignored.is_empty());

        let bad = Overrides::from_headers(headers(&[
            ("x-borderless-country", "Germany"),
            ("x-borderless-timezone", "../etc/passwd"),
            ("x-borderless-latitude", "91"),
            ("x-borderless-device", "toaster"),
            ("x-borderless-now", "yesterday"),
            ("x-borderless-region", "\u{7}"),
        ]));
        assert_eq!(
            bad,
            Overrides {
                ignored: OVERRIDE_HEADERS.to_vec(),
                ..Overrides::default()
            }
        );
    }
}
