//! Calendar dates for clinical intervals. Only civil dates matter here (a screening due on a day,
//! an age in years), so no time zones and no external date crate.

use std::fmt;

/// A proleptic Gregorian calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

impl Date {
    /// A valid date, or `None`.
    pub fn new(year: i32, month: u32, day: u32) -> Option<Date> {
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        Some(Date { year, month, day })
    }

    /// Reads the date part of a FHIR `date`, `dateTime` or `instant`. Partial dates are taken at
    /// their first day (`2019` is 2019-01-01, `2019-05` is 2019-05-01), which is how a look-back
    /// treats an imprecise record: as early as it could have been.
    pub fn parse_fhir(s: &str) -> Option<Date> {
        let s = s.trim();
        let b = s.as_bytes();
        let digits = |r: std::ops::Range<usize>| -> Option<u32> {
            let part = b.get(r)?;
            if part.iter().all(u8::is_ascii_digit) { std::str::from_utf8(part).ok()?.parse().ok() } else { None }
        };
        let year = digits(0..4)? as i32;
        let month = match b.get(4) {
            None => 1,
            Some(b'-') => digits(5..7)?,
            Some(_) => return None,
        };
        let day = match b.get(7) {
            None if b.len() <= 7 => 1,
            Some(b'-') => digits(8..10)?,
            _ => return None,
        };
        if b.len() > 10 && b[10] != b'T' {
            return None;
        }
        Date::new(year, month, day)
    }

    /// Days since 1970-01-01 (negative before).
    pub fn to_days(self) -> i64 {
        // Howard Hinnant's days_from_civil algorithm.
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = if y >= 0 { y } else { y - 399 } / 400;
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    pub fn from_days(z: i64) -> Date {
        let z = z + 719_468;
        let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Date { year, month, day }
    }

    pub fn add_days(self, days: i64) -> Date {
        Date::from_days(self.to_days() + days)
    }

    /// Adds calendar months; a day past the end of the target month is clamped (Jan 31 + 1 month
    /// is Feb 28/29), so intervals never overshoot into the next month.
    pub fn add_months(self, months: i32) -> Date {
        let total = self.year * 12 + (self.month as i32 - 1) + months;
        let year = total.div_euclid(12);
        let month = (total.rem_euclid(12) + 1) as u32;
        let day = self.day.min(days_in_month(year, month));
        Date { year, month, day }
    }

    pub fn add_years(self, years: i32) -> Date {
        self.add_months(years * 12)
    }

    /// Completed years of age on `on` for someone born on `self`.
    pub fn age_on(self, on: Date) -> i32 {
        let mut age = on.year - self.year;
        if (on.month, on.day) < (self.month, self.day) {
            age -= 1;
        }
        age
    }
}

/// Serialised as a FHIR `date` string.
impl serde::Serialize for Date {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fhir_dates_of_every_precision() {
        assert_eq!(Date::parse_fhir("2019-05-17"), Date::new(2019, 5, 17));
        assert_eq!(Date::parse_fhir("2019-05-17T10:00:00-04:00"), Date::new(2019, 5, 17));
        assert_eq!(Date::parse_fhir("2019-05"), Date::new(2019, 5, 1));
        assert_eq!(Date::parse_fhir("2019"), Date::new(2019, 1, 1));
        assert_eq!(Date::parse_fhir("2019-02-30"), None);
        assert_eq!(Date::parse_fhir("garbage"), None);
        assert_eq!(Date::parse_fhir(""), None);
        assert_eq!(Date::parse_fhir("2019é"), None);
    }

    #[test]
    fn day_arithmetic_round_trips() {
        for d in [Date { year: 1970, month: 1, day: 1 }, Date { year: 2000, month: 2, day: 29 }, Date { year: 1899, month: 12, day: 31 }] {
            assert_eq!(Date::from_days(d.to_days()), d);
        }
        assert_eq!(Date { year: 1970, month: 1, day: 1 }.to_days(), 0);
    }

    #[test]
    fn months_clamp_and_ages_count_birthdays() {
        assert_eq!(Date { year: 2020, month: 1, day: 31 }.add_months(1), Date { year: 2020, month: 2, day: 29 });
        assert_eq!(Date { year: 2020, month: 11, day: 15 }.add_months(3), Date { year: 2021, month: 2, day: 15 });
        let born = Date { year: 1970, month: 6, day: 15 };
        assert_eq!(born.age_on(Date { year: 2020, month: 6, day: 14 }), 49);
        assert_eq!(born.age_on(Date { year: 2020, month: 6, day: 15 }), 50);
    }
}
