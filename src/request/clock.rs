//! Local time of the visitor: daypart, weekday/weekend, season.

use crate::base::time::civil_from_days;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Daypart {
    Night,
    Morning,
    Afternoon,
    Evening,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DayKind {
    Weekday,
    Weekend,
}

/// Meteorological season (whole months), flipped south of the equator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Season {
    Winter,
    Spring,
    Summer,
    Autumn,
}

impl Daypart {
    /// night 22-05, morning 05-12, afternoon 12-17, evening 17-22.
    pub fn of_hour(hour: u8) -> Daypart {
        match hour {
            5..=11 => Daypart::Morning,
            12..=16 => Daypart::Afternoon,
            17..=21 => Daypart::Evening,
            _ => Daypart::Night,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Daypart::Night => "night",
            Daypart::Morning => "morning",
            Daypart::Afternoon => "afternoon",
            Daypart::Evening => "evening",
        }
    }
}

impl DayKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DayKind::Weekday => "weekday",
            DayKind::Weekend => "weekend",
        }
    }
}

impl Season {
    pub fn of_month(month: u8, southern: bool) -> Season {
        let north = match month {
            3..=5 => Season::Spring,
            6..=8 => Season::Summer,
            9..=11 => Season::Autumn,
            _ => Season::Winter,
        };
        if !southern {
            return north;
        }
        match north {
            Season::Winter => Season::Summer,
            Season::Spring => Season::Autumn,
            Season::Summer => Season::Winter,
            Season::Autumn => Season::Spring,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Season::Winter => "winter",
            Season::Spring => "spring",
            Season::Summer => "summer",
            Season::Autumn => "autumn",
        }
    }
}

const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Wall-clock time at the visitor and what it means for the shop.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LocalTime {
    /// The instant, as RFC 3339 in the visitor's offset.
    pub local: String,
    pub utc_offset_minutes: i32,
    #[serde(skip)]
    pub month: u8,
    #[serde(skip)]
    pub hour: u8,
    pub weekday: &'static str,
    pub daypart: Daypart,
    pub day_kind: DayKind,
    pub season: Season,
}

impl LocalTime {
    /// `2026-12-24T19:30:00+01:00`, by hand for the usual years (`format!` is
    /// the larger code to run cold in Wasm, on every request).
    fn iso_local(y: i64, [m, d, hour, minute, second]: [u8; 5], sign: char, offset: u32) -> String {
        let Ok(year @ 0..=9999) = u64::try_from(y) else {
            return format!(
                "{y:04}-{m:02}-{d:02}T{hour:02}:{minute:02}:{second:02}{sign}{:02}:{:02}",
                offset / 60,
                offset % 60
            );
        };
        use crate::base::text::push_padded;
        let mut s = String::with_capacity(25);
        push_padded(&mut s, year, 4);
        for (sep, n) in [
            ('-', m),
            ('-', d),
            ('T', hour),
            (':', minute),
            (':', second),
        ] {
            s.push(sep);
            push_padded(&mut s, u64::from(n), 2);
        }
        s.push(sign);
        push_padded(&mut s, u64::from(offset / 60), 2);
        s.push(':');
        push_padded(&mut s, u64::from(offset % 60), 2);
        s
    }

    /// `utc_ms` since the Unix epoch, `offset` minutes east of UTC.
    pub fn at(utc_ms: i64, offset: i32, country: &str, southern: bool) -> LocalTime {
        let local_s = utc_ms.div_euclid(1000) + i64::from(offset) * 60;
        let days = local_s.div_euclid(86_400);
        let secs = local_s.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        let hour = (secs / 3600) as u8;
        let minute = (secs % 3600 / 60) as u8;
        let second = (secs % 60) as u8;
        // 1970-01-01 was a Thursday; index 0 = Monday.
        let wd = (days + 3).rem_euclid(7) as usize;
        let sign = if offset < 0 { '-' } else { '+' };
        let local = Self::iso_local(y, [m, d, hour, minute, second], sign, offset.unsigned_abs());
        LocalTime {
            local,
            utc_offset_minutes: offset,
            month: m,
            hour,
            weekday: WEEKDAYS.get(wd).copied().unwrap_or("mon"),
            daypart: Daypart::of_hour(hour),
            day_kind: if weekend_days(country).contains(&(wd as u8 + 1)) {
                DayKind::Weekend
            } else {
                DayKind::Weekday
            },
            season: Season::of_month(m, southern),
        }
    }
}

/// ISO weekdays (1 = Monday) of the weekend, from CLDR weekData.
fn weekend_days(country: &str) -> &'static [u8] {
    match country {
        "IR" => &[5],
        "IN" | "UG" => &[7],
        "AF" => &[4, 5],
        "BH" | "DZ" | "EG" | "IL" | "IQ" | "JO" | "KW" | "LY" | "OM" | "QA" | "SA" | "SD"
        | "SY" | "YD" | "YE" => &[5, 6],
        _ => &[6, 7],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::time::parse_rfc3339;

    #[test]
    fn local_time_fields() {
        let t0 = parse_rfc3339("2026-12-24T18:30:00Z").unwrap();
        // Berlin in winter: +01:00 -> 19:30 Thursday evening.
        let be = LocalTime::at(t0, 60, "DE", false);
        assert_eq!(be.local, "2026-12-24T19:30:00+01:00");
        assert_eq!(
            (be.weekday, be.daypart, be.day_kind),
            ("thu", Daypart::Evening, DayKind::Weekday)
        );
        assert_eq!(be.season, Season::Winter);
        // Sydney (+11:00): 05:30 Friday morning, summer in December.
        let sy = LocalTime::at(t0, 660, "AU", true);
        assert_eq!(sy.local, "2026-12-25T05:30:00+11:00");
        assert_eq!(
            (sy.weekday, sy.daypart, sy.season),
            ("fri", Daypart::Morning, Season::Summer)
        );
        // New York (-05:00): 13:30 Thursday afternoon.
        let ny = LocalTime::at(t0, -300, "US", false);
        assert_eq!((ny.hour, ny.daypart), (13, Daypart::Afternoon));
        // Friday is weekend in Saudi Arabia, not in Germany.
        let fri = parse_rfc3339("2026-11-20T12:00:00Z").unwrap();
        assert_eq!(
            LocalTime::at(fri, 180, "SA", false).day_kind,
            DayKind::Weekend
        );
        assert_eq!(
            LocalTime::at(fri, 60, "DE", false).day_kind,
            DayKind::Weekday
        );
        // Before the epoch still works.
        assert_eq!(
            LocalTime::at(-1000, 0, "GB", false).local,
            "1969-12-31T23:59:59+00:00"
        );
    }

    #[test]
    fn dayparts_and_seasons() {
        let parts: Vec<_> = (0..24).map(|h| Daypart::of_hour(h).as_str()).collect();
        assert_eq!(parts[4], "night");
        assert_eq!(parts[5], "morning");
        assert_eq!(parts[12], "afternoon");
        assert_eq!(parts[17], "evening");
        assert_eq!(parts[22], "night");
        assert_eq!(Season::of_month(3, false), Season::Spring);
        assert_eq!(Season::of_month(3, true), Season::Autumn);
        assert_eq!(Season::of_month(12, true), Season::Summer);
        assert_eq!(Season::of_month(9, false), Season::Autumn);
    }
}
