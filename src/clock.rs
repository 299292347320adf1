//! Local time of the visitor: daypart, weekday/weekend, season.

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
        ["night", "morning", "afternoon", "evening"][self as usize]
    }
}

impl DayKind {
    pub fn as_str(self) -> &'static str {
        ["weekday", "weekend"][self as usize]
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
        ["winter", "spring", "summer", "autumn"][self as usize]
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
        let local = format!(
            "{y:04}-{m:02}-{d:02}T{hour:02}:{minute:02}:{second:02}{sign}{:02}:{:02}",
            offset.unsigned_abs() / 60,
            offset.unsigned_abs() % 60
        );
        LocalTime {
            local,
            utc_offset_minutes: offset,
            month: m,
            hour,
            weekday: WEEKDAYS[wd],
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

/// Parses an RFC 3339 timestamp (`2026-12-24T18:30:00Z`, offsets and
/// fractions allowed) into milliseconds since the Unix epoch.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20
        || b.len() > 40
        || b[4] != b'-'
        || b[7] != b'-'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let d = b.get(r)?;
        d.iter().try_fold(0i64, |acc, c| {
            c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
        })
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60
    {
        return None;
    }
    let mut i = 19;
    let mut ms = 0;
    if b[i] == b'.' {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
        let digits = &s[start..i.min(start + 3)];
        ms = digits.parse::<i64>().ok()? * 10i64.pow(3 - digits.len() as u32);
    }
    let offset_min = match b.get(i..)? {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let oh = num(i + 1..i + 3)?;
            let om = num(i + 4..i + 6)?;
            let _ = (h1, h2, m1, m2);
            if oh > 23 || om > 59 {
                return None;
            }
            let o = oh * 60 + om;
            if *sign == b'-' {
                -o
            } else {
                o
            }
        }
        _ => return None,
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec.min(59);
    Some((secs - offset_min * 60) * 1000 + ms)
}

/// Milliseconds since the epoch of a UTC wall-clock time (no validation).
pub fn civil_to_ms(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64) -> i64 {
    (days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s) * 1000
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's days_from_civil / civil_from_days.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u8, u8) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc3339() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("2026-11-22T03:00:00Z"),
            Some(1_795_316_400_000)
        );
        assert_eq!(
            parse_rfc3339("2026-11-22T04:00:00+01:00"),
            Some(1_795_316_400_000)
        );
        assert_eq!(
            parse_rfc3339("2026-11-21T22:00:00.250-05:00"),
            Some(1_795_316_400_250)
        );
        assert_eq!(
            parse_rfc3339("2024-02-29T12:00:00Z"),
            Some(1_709_208_000_000)
        );
        for bad in [
            "",
            "2026-11-22",
            "2026-11-22T03:00:00",
            "2026-13-01T00:00:00Z",
            "2025-02-29T00:00:00Z",
            "2026-11-22T24:00:00Z",
            "2026-11-22T03:00:00+25:00",
            "2026-11-22T03:00:00.Z",
            "2026-11-22T03:00:00Zjunk",
            "２026-11-22T03:00:00Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

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

    #[test]
    fn civil_round_trip() {
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, i64::from(m), i64::from(d)), days);
        }
    }
}
