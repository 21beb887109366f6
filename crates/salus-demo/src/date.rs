//! Calendar dates and clinic times without a clock or a date crate.
//!
//! The generator only needs proleptic Gregorian days, whole minutes and a fixed clinic offset, so
//! a day number (days since 1970-01-01) is enough and keeps every computation exact and portable.
//! The conversions are the well-known civil-from-days algorithm (public domain, H. Hinnant).

use std::fmt;

use crate::DemoError;

/// A calendar date (proleptic Gregorian), stored as days since 1970-01-01.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(i64);

/// The clinic's UTC offset written on every time: the demo practice is in one US time zone and
/// a fixed offset keeps output independent of daylight-saving rules.
pub const CLINIC_OFFSET: &str = "-05:00";

impl Date {
    /// A date from its parts; errors if the parts do not name a real day.
    pub fn new(year: i32, month: u32, day: u32) -> Result<Date, DemoError> {
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return Err(DemoError::InvalidDate(format!(
                "{year:04}-{month:02}-{day:02}"
            )));
        }
        Ok(Date(days_from_civil(year, month, day)))
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Result<Date, DemoError> {
        let bad = || DemoError::InvalidDate(text.to_string());
        let mut parts = text.split('-');
        let (Some(y), Some(m), Some(d), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        if y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return Err(bad());
        }
        let year = y.parse::<i32>().map_err(|_| bad())?;
        let month = m.parse::<u32>().map_err(|_| bad())?;
        let day = d.parse::<u32>().map_err(|_| bad())?;
        Date::new(year, month, day)
    }

    pub(crate) fn from_days(days: i64) -> Date {
        Date(days)
    }

    /// Days since 1970-01-01.
    pub fn days(self) -> i64 {
        self.0
    }

    pub fn year(self) -> i32 {
        civil_from_days(self.0).0
    }

    pub fn month(self) -> u32 {
        civil_from_days(self.0).1
    }

    pub fn day(self) -> u32 {
        civil_from_days(self.0).2
    }

    /// The date `days` later (earlier when negative).
    pub fn add_days(self, days: i64) -> Date {
        Date(self.0 + days)
    }

    /// Whole years from `birth` to `self` (the age on that day).
    pub fn years_since(self, birth: Date) -> i64 {
        let (y1, m1, d1) = civil_from_days(birth.0);
        let (y2, m2, d2) = civil_from_days(self.0);
        let mut years = i64::from(y2 - y1);
        if (m2, d2) < (m1, d1) {
            years -= 1;
        }
        years
    }

    /// The same month and day `years` later (29 February falls back to the 28th).
    pub(crate) fn add_years(self, years: i32) -> Date {
        let (y, m, d) = civil_from_days(self.0);
        let year = y + years;
        let day = d.min(days_in_month(year, m));
        Date(days_from_civil(year, m, day))
    }

    /// Months added by calendar, clamping the day to the target month's length.
    pub(crate) fn add_months(self, months: i32) -> Date {
        let (y, m, d) = civil_from_days(self.0);
        let total = y * 12 + (m as i32 - 1) + months;
        let year = total.div_euclid(12);
        let month = (total.rem_euclid(12) + 1) as u32;
        Date(days_from_civil(
            year,
            month,
            d.min(days_in_month(year, month)),
        ))
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = civil_from_days(self.0);
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

/// A clinic-local time: a date and minutes after midnight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct DateTime {
    pub date: Date,
    pub minute: u32,
}

impl DateTime {
    pub(crate) fn at(date: Date, minute: u32) -> DateTime {
        DateTime {
            date,
            minute: minute.min(24 * 60 - 1),
        }
    }

    /// Minutes later, staying on the same day (clamped to 23:59) so nothing crosses `as_of`.
    pub(crate) fn plus_minutes(self, minutes: u32) -> DateTime {
        DateTime::at(self.date, self.minute + minutes)
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}T{:02}:{:02}:00{}",
            self.date,
            self.minute / 60,
            self.minute % 60,
            CLINIC_OFFSET
        )
    }
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_bad_dates() {
        for text in ["1970-01-01", "2000-02-29", "2024-12-31", "1929-07-15"] {
            assert_eq!(
                Date::parse(text).map(|d| d.to_string()).ok().as_deref(),
                Some(text)
            );
        }
        assert_eq!(Date::parse("1970-01-01").map(Date::days).ok(), Some(0));
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "24-01-01",
            "2024-1-01",
            "x",
            "2024-01-01-01",
        ] {
            assert!(Date::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn calendar_arithmetic() {
        let d = Date::parse("2024-01-31").unwrap_or(Date(0));
        assert_eq!(d.add_months(1).to_string(), "2024-02-29");
        assert_eq!(d.add_years(1).to_string(), "2025-01-31");
        let birth = Date::parse("2000-06-15").unwrap_or(Date(0));
        assert_eq!(
            Date::parse("2025-06-14").map(|t| t.years_since(birth)).ok(),
            Some(24)
        );
        assert_eq!(
            Date::parse("2025-06-15").map(|t| t.years_since(birth)).ok(),
            Some(25)
        );
    }
}
