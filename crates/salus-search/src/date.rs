//! FHIR dates as instant ranges. A stored `2019` is not January 1st: it is every millisecond of
//! 2019, so it is indexed as `[2019-01-01T00:00:00.000, 2019-12-31T23:59:59.999]` and search
//! prefixes compare ranges, as the specification's precision rules require. Values without a
//! timezone are read as UTC (the server's zone), which keeps indexing deterministic.

/// Smallest and largest instants we index (milliseconds since the epoch): open ends of a Period.
pub const MIN_MS: i64 = -62_135_596_800_000; // 0001-01-01T00:00:00Z
pub const MAX_MS: i64 = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z

/// An inclusive range of instants, in milliseconds since the Unix epoch, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DateRange {
    pub low: i64,
    pub high: i64,
}

/// Parses `YYYY`, `YYYY-MM`, `YYYY-MM-DD`, `YYYY-MM-DDThh:mm[:ss[.fff]][Z|±hh:mm]` into the
/// range it covers. `None` for anything else (a malformed value indexes nothing).
pub fn parse_range(text: &str) -> Option<DateRange> {
    let text = text.trim();
    let (date, time) = match text.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (text, None),
    };
    let mut parts = date.split('-');
    let year: i64 = digits(parts.next()?, 4)?;
    let month = match parts.next() {
        Some(m) => Some(digits(m, 2)?),
        None => None,
    };
    let day = match parts.next() {
        Some(d) => Some(digits(d, 2)?),
        None => None,
    };
    if parts.next().is_some() || year < 1 {
        return None;
    }
    if let Some(m) = month
        && !(1..=12).contains(&m) {
            return None;
        }
    let Some(time) = time else {
        return Some(match (month, day) {
            (None, _) => span(days_from_civil(year, 1, 1), days_from_civil(year + 1, 1, 1)),
            (Some(m), None) => {
                let (ny, nm) = if m == 12 { (year + 1, 1) } else { (year, m + 1) };
                span(days_from_civil(year, m, 1), days_from_civil(ny, nm, 1))
            }
            (Some(m), Some(d)) => {
                if d < 1 || d > days_in_month(year, m) {
                    return None;
                }
                let start = days_from_civil(year, m, d);
                span(start, start + 1)
            }
        });
    };
    let (month, day) = (month?, day?);
    if day < 1 || day > days_in_month(year, month) {
        return None;
    }
    // Split the zone off the clock time.
    let (clock, offset_min) = if let Some(c) = time.strip_suffix('Z') {
        (c, 0)
    } else if let Some(i) = time.rfind(['+', '-']) {
        let (c, z) = time.split_at(i);
        let sign = if z.starts_with('-') { -1 } else { 1 };
        let (h, m) = z[1..].split_once(':')?;
        (c, sign * (digits(h, 2)? * 60 + digits(m, 2)?))
    } else {
        (time, 0)
    };
    let mut hms = clock.split(':');
    let hour: i64 = digits(hms.next()?, 2)?;
    let minute: i64 = digits(hms.next()?, 2)?;
    let (second, millis, width) = match hms.next() {
        None => (0, 0, 60_000),
        Some(s) => {
            let (whole, frac) = match s.split_once('.') {
                Some((w, f)) => (w, Some(f)),
                None => (s, None),
            };
            let sec: i64 = digits(whole, 2)?;
            match frac {
                None => (sec, 0, 1000),
                Some(f) if !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()) => {
                    let ms: String = f.chars().chain("000".chars()).take(3).collect();
                    (sec, ms.parse().ok()?, 1)
                }
                Some(_) => return None,
            }
        }
    };
    if hms.next().is_some() || hour > 24 || minute > 59 || second > 60 {
        return None;
    }
    let day_ms = days_from_civil(year, month, day) * 86_400_000;
    let low = day_ms + ((hour * 60 + minute) * 60 + second) * 1000 + millis - offset_min * 60_000;
    Some(DateRange { low, high: low + width - 1 })
}

fn span(start_day: i64, end_day: i64) -> DateRange {
    DateRange { low: start_day * 86_400_000, high: end_day * 86_400_000 - 1 }
}

fn digits(s: &str, n: usize) -> Option<i64> {
    (s.len() == n && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok()).flatten()
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> (i64, i64) {
        let d = parse_range(s).unwrap_or(DateRange { low: 0, high: 0 });
        (d.low, d.high)
    }

    #[test]
    fn a_year_covers_the_whole_year() {
        let y = parse_range("2019").expect("year");
        assert_eq!(y.low, parse_range("2019-01-01").expect("d").low);
        assert_eq!(y.high + 1, parse_range("2020-01-01").expect("d").low);
    }

    #[test]
    fn months_and_days_respect_the_calendar() {
        let feb = parse_range("2020-02").expect("month");
        assert_eq!(feb.high - feb.low + 1, 29 * 86_400_000);
        assert!(parse_range("2019-02-29").is_none());
        assert_eq!(r("1970-01-01"), (0, 86_399_999));
    }

    #[test]
    fn date_times_carry_their_zone_and_precision() {
        assert_eq!(r("1970-01-01T01:00:00+01:00"), (0, 999));
        assert_eq!(r("1970-01-01T00:00:00.5Z"), (500, 500));
        assert_eq!(r("1970-01-01T00:01Z"), (60_000, 119_999));
    }

    #[test]
    fn garbage_is_not_a_date() {
        for s in ["", "20", "2019-13", "2019-01-01T", "2019-01-01T25:00", "abcd", "2019-01-01T10:00:00.Z", "٢٠١٩"] {
            assert!(parse_range(s).is_none(), "{s}");
        }
    }
}
