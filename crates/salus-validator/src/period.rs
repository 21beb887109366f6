//! per-1 (`start.hasValue().not() or end.hasValue().not() or (start <= end)`) without the
//! FHIRPath engine, for the Period that nearly every clinical resource has (Encounter.period,
//! Claim.billablePeriod, ...), when both ends are full date-times with seconds and a time zone,
//! as exporters write them. Both values then have the engine's precision of seconds and an
//! offset, so the engine compares the instants in UTC, fractions of a second included; so does
//! this. Any other form (a date, a time without seconds or zone, a missing end) goes to the
//! engine. A test compares each decision with the engine (`invariants::cross_check`).

use crate::primitives::days_in_month;
use serde_json::{Map, Value};

pub const PER_1: &str = "start.hasValue().not() or end.hasValue().not() or (start <= end)";

/// per-1 on a Period object, when both ends are date-times of the full form.
pub fn start_not_after_end(period: &Map<String, Value>) -> Option<bool> {
    let (mut start, mut end) = (None, None);
    for (key, value) in period {
        match key.as_str() {
            "start" => start = value.as_str(),
            "end" => end = value.as_str(),
            _ => {}
        }
    }
    Some(instant(start?)? <= instant(end?)?)
}

/// `YYYY-MM-DDThh:mm:ss[.f{1,9}](Z|+hh:mm|-hh:mm)` as (seconds, nanoseconds) since the epoch
/// in UTC; `None` for any other form (those the engine compares by its own rules).
fn instant(s: &str) -> Option<(i64, u32)> {
    let b = s.as_bytes();
    let num = |at: usize, n: usize| -> Option<u32> {
        let part = b.get(at..at + n)?;
        part.iter().all(u8::is_ascii_digit).then(|| part.iter().fold(0, |acc, c| acc * 10 + u32::from(c - b'0')))
    };
    let punctuation = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if !punctuation.iter().all(|&(at, c)| b.get(at) == Some(&c)) {
        return None;
    }
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if year == 0 || !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut at = 19;
    let mut nanos = 0;
    if b.get(at) == Some(&b'.') {
        let n = b[at + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if !(1..=9).contains(&n) {
            return None;
        }
        nanos = num(at + 1, n)? * 10u32.pow(9 - n as u32);
        at += 1 + n;
    }
    let offset_minutes = match &b[at..] {
        b"Z" => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (h, m) = (num(at + 1, 2)?, num(at + 4, 2)?);
            if h > 14 || m > 59 {
                return None;
            }
            let minutes = i64::from(h * 60 + m);
            if *sign == b'-' { -minutes } else { minutes }
        }
        _ => return None,
    };
    let days = days_from_civil(i64::from(year), month, day);
    let local = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    Some((local - offset_minutes * 60, nanos))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn per_1(start: &str, end: &str) -> Option<bool> {
        let period = json!({"start": start, "end": end});
        period.as_object().and_then(start_not_after_end)
    }

    #[test]
    fn instants_are_compared_in_utc() {
        assert_eq!(per_1("2020-01-01T10:00:00Z", "2020-01-01T10:00:00Z"), Some(true));
        assert_eq!(per_1("2020-01-01T10:00:01Z", "2020-01-01T10:00:00Z"), Some(false));
        // 10:00 at +02:00 is 08:00 UTC, before 09:00 UTC.
        assert_eq!(per_1("2020-01-01T10:00:00+02:00", "2020-01-01T09:00:00Z"), Some(true));
        assert_eq!(per_1("2020-01-01T00:30:00-05:00", "2020-01-01T05:00:00Z"), Some(false));
        assert_eq!(per_1("2019-12-31T23:59:59.999-01:00", "2020-01-01T00:59:59.998Z"), Some(false));
        assert_eq!(per_1("2020-02-29T12:00:00.5Z", "2020-02-29T12:00:00.50Z"), Some(true));
        assert_eq!(per_1("2020-02-29T12:00:00.000000001Z", "2020-02-29T12:00:00Z"), Some(false));
    }

    #[test]
    fn other_forms_are_left_to_the_engine() {
        for (start, end) in [
            ("2020-01-01", "2020-01-02"),
            ("2020-01-01T10:00Z", "2020-01-01T11:00:00Z"),
            ("2020-01-01T10:00:00", "2020-01-01T11:00:00Z"),
            ("2019-02-29T10:00:00Z", "2020-01-01T11:00:00Z"),
            ("2020-01-01T10:00:60Z", "2020-01-01T11:00:00Z"),
            ("2020-01-01T10:00:00.Z", "2020-01-01T11:00:00Z"),
            ("2020-01-01T10:00:00.1234567890Z", "2020-01-01T11:00:00Z"),
            ("2020-01-01T10:00:00+15:00", "2020-01-01T11:00:00Z"),
            ("0000-01-01T10:00:00Z", "2020-01-01T11:00:00Z"),
            ("2020-01-01T10:00:00Z ", "2020-01-01T11:00:00Z"),
        ] {
            assert_eq!(per_1(start, end), None, "{start} {end}");
        }
        assert_eq!(json!({"start": "2020-01-01T10:00:00Z"}).as_object().and_then(start_not_after_end), None);
    }

    #[test]
    fn days_are_counted_from_the_epoch() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
    }
}
