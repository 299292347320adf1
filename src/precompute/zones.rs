//! Country → the IANA time zone most of its shoppers live in, so a UTC
//! event log can be placed in the visitor's local day the way the worker
//! places a live visitor (it reads `request.cf.timezone`).

use crate::request::Geo;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use rustc_hash::FxHashMap;

/// ISO 3166-1 alpha-2 → zone, sorted by country. Single-zone countries are
/// checked against CLDR (Node's `Intl.Locale#timeZones`) in the tests.
pub const ZONES: &[(&str, &str)] = &[
    ("AE", "Asia/Dubai"),
    ("AR", "America/Argentina/Buenos_Aires"),
    ("AT", "Europe/Vienna"),
    ("AU", "Australia/Sydney"),
    ("BE", "Europe/Brussels"),
    ("BG", "Europe/Sofia"),
    ("BH", "Asia/Bahrain"),
    ("BR", "America/Sao_Paulo"),
    ("CA", "America/Toronto"),
    ("CH", "Europe/Zurich"),
    ("CL", "America/Santiago"),
    ("CN", "Asia/Shanghai"),
    ("CO", "America/Bogota"),
    ("CY", "Asia/Nicosia"),
    ("CZ", "Europe/Prague"),
    ("DE", "Europe/Berlin"),
    ("DK", "Europe/Copenhagen"),
    ("EE", "Europe/Tallinn"),
    ("EG", "Africa/Cairo"),
    ("ES", "Europe/Madrid"),
    ("FI", "Europe/Helsinki"),
    ("FR", "Europe/Paris"),
    ("GB", "Europe/London"),
    ("GG", "Europe/Guernsey"),
    ("GI", "Europe/Gibraltar"),
    ("GR", "Europe/Athens"),
    ("HK", "Asia/Hong_Kong"),
    ("HR", "Europe/Zagreb"),
    ("HU", "Europe/Budapest"),
    ("ID", "Asia/Jakarta"),
    ("IE", "Europe/Dublin"),
    ("IL", "Asia/Jerusalem"),
    ("IM", "Europe/Isle_of_Man"),
    ("IN", "Asia/Kolkata"),
    ("IS", "Atlantic/Reykjavik"),
    ("IT", "Europe/Rome"),
    ("JE", "Europe/Jersey"),
    ("JO", "Asia/Amman"),
    ("JP", "Asia/Tokyo"),
    ("KE", "Africa/Nairobi"),
    ("KR", "Asia/Seoul"),
    ("KW", "Asia/Kuwait"),
    ("LB", "Asia/Beirut"),
    ("LI", "Europe/Vaduz"),
    ("LT", "Europe/Vilnius"),
    ("LU", "Europe/Luxembourg"),
    ("LV", "Europe/Riga"),
    ("MA", "Africa/Casablanca"),
    ("MC", "Europe/Monaco"),
    ("MT", "Europe/Malta"),
    ("MX", "America/Mexico_City"),
    ("MY", "Asia/Kuala_Lumpur"),
    ("NG", "Africa/Lagos"),
    ("NL", "Europe/Amsterdam"),
    ("NO", "Europe/Oslo"),
    ("NZ", "Pacific/Auckland"),
    ("OM", "Asia/Muscat"),
    ("PE", "America/Lima"),
    ("PH", "Asia/Manila"),
    ("PL", "Europe/Warsaw"),
    ("PT", "Europe/Lisbon"),
    ("QA", "Asia/Qatar"),
    ("RO", "Europe/Bucharest"),
    ("RS", "Europe/Belgrade"),
    ("RU", "Europe/Moscow"),
    ("SA", "Asia/Riyadh"),
    ("SE", "Europe/Stockholm"),
    ("SG", "Asia/Singapore"),
    ("SI", "Europe/Ljubljana"),
    ("SK", "Europe/Bratislava"),
    ("TH", "Asia/Bangkok"),
    ("TR", "Europe/Istanbul"),
    ("TW", "Asia/Taipei"),
    ("UA", "Europe/Kyiv"),
    ("US", "America/New_York"),
    ("VN", "Asia/Ho_Chi_Minh"),
    ("ZA", "Africa/Johannesburg"),
];

/// Countries spanning several zones, where [`ZONES`] names the most
/// populous one: US Eastern, Sydney (NSW), Toronto (Ontario), São Paulo,
/// Mexico City, Moscow, Buenos Aires, Santiago, Jakarta (Java), Kuala
/// Lumpur (peninsula), Shanghai (China's one official zone), Auckland,
/// mainland Spain and Portugal, Nicosia, Berlin (Büsingen is one village),
/// Kyiv.
pub const MULTI_ZONE: &[&str] = &[
    "AR", "AU", "BR", "CA", "CL", "CN", "CY", "DE", "ES", "ID", "MX", "MY", "NZ", "PT", "RU", "UA",
    "US",
];

/// The main zone of a country, if known.
pub fn zone_of(country: &str) -> Option<&'static str> {
    ZONES
        .binary_search_by(|(c, _)| (*c).cmp(country))
        .ok()
        .map(|i| ZONES[i].1)
}

/// Whether the worker would flip the season for a visitor of `country`
/// whose latitude it does not know (the same list the worker uses).
pub fn southern(country: &str) -> bool {
    Geo {
        country: country.to_string(),
        ..Geo::default()
    }
    .southern()
}

/// Resolves zones once and answers UTC offsets.
#[derive(Default)]
pub struct ZoneCache {
    zones: FxHashMap<String, Option<TimeZone>>,
}

impl ZoneCache {
    /// UTC offset in minutes of `zone` at `utc_ms`; `None` for an unknown zone.
    pub fn offset_minutes(&mut self, zone: &str, utc_ms: i64) -> Option<i32> {
        if !self.zones.contains_key(zone) {
            self.zones
                .insert(zone.to_string(), TimeZone::get(zone).ok());
        }
        let tz = self.zones.get(zone)?.as_ref()?;
        let ts = Timestamp::from_millisecond(utc_ms).ok()?;
        Some(tz.to_offset(ts).seconds() / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_resolvable() {
        assert!(ZONES.windows(2).all(|w| w[0].0 < w[1].0));
        let mut cache = ZoneCache::default();
        for (c, z) in ZONES {
            assert!(cache.offset_minutes(z, 0).is_some(), "{c} {z}");
        }
        assert!(MULTI_ZONE.iter().all(|c| zone_of(c).is_some()));
        assert_eq!(zone_of("DE"), Some("Europe/Berlin"));
        assert_eq!(zone_of("XX"), None);
    }

    #[test]
    fn offsets_follow_dst() {
        let mut z = ZoneCache::default();
        let winter = crate::base::time::parse_rfc3339("2011-01-15T12:00:00Z").unwrap();
        let summer = crate::base::time::parse_rfc3339("2011-07-15T12:00:00Z").unwrap();
        assert_eq!(z.offset_minutes("Europe/Berlin", winter), Some(60));
        assert_eq!(z.offset_minutes("Europe/Berlin", summer), Some(120));
        assert_eq!(z.offset_minutes("Australia/Sydney", winter), Some(660));
        assert_eq!(z.offset_minutes("Mars/Olympus", winter), None);
        assert!(southern("AU") && southern("BR") && !southern("GB"));
    }
}
