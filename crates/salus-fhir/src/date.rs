//! The FHIR `date` value: a calendar day, without time of day or time zone.
//!
//! An own type rather than `time::Date` (in the workspace for the engine's instants), `chrono` or
//! `jiff`: the operations Salus needs (reading FHIR partial dates and dateTime prefixes, month
//! arithmetic that stays inside the target month, completed years of age, staying within FHIR's
//! year range) are not in those crates and would be written here anyway, and the part they would
//! supply, day numbers, is the short public-domain algorithm of H. Hinnant
//! (<https://howardhinnant.github.io/date_algorithms.html>). A dependency in the pure core for
//! that is not worth it.

use std::fmt;

/// A day of the proleptic Gregorian calendar in the years 0001 to 9999, the range of FHIR's
/// `date` (so every value prints as a valid FHIR date).
///
/// Ordered chronologically. Arithmetic saturates at [`Date::MIN`] and [`Date::MAX`] instead of
/// failing: no real clinical interval reaches either end, and an error there would burden every
/// caller with a case that real data cannot produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    // Private so that every value is a real day; the field order is the chronological order the
    // derived `Ord` relies on.
    year: i32,
    month: u8,
    day: u8,
}

/// The text given to [`Date::parse`] is not a full date naming a real day.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid date {0:?}: expected YYYY-MM-DD naming a real day")]
pub struct InvalidDate(pub String);

const MIN_YEAR: i32 = 1;
const MAX_YEAR: i32 = 9999;
const MIN_DAYS: i64 = days_from_civil(MIN_YEAR, 1, 1);
const MAX_DAYS: i64 = days_from_civil(MAX_YEAR, 12, 31);

impl Date {
    /// 0001-01-01, the earliest FHIR date.
    pub const MIN: Date = Date {
        year: MIN_YEAR,
        month: 1,
        day: 1,
    };
    /// 9999-12-31, the latest FHIR date.
    pub const MAX: Date = Date {
        year: MAX_YEAR,
        month: 12,
        day: 31,
    };

    /// The date with these parts, or `None` if they name no real day between 0001 and 9999.
    /// `const` so that tests and tables can hold dates as constants.
    pub const fn new(year: i32, month: u32, day: u32) -> Option<Date> {
        if !matches!(year, MIN_YEAR..=MAX_YEAR)
            || !matches!(month, 1..=12)
            || day == 0
            || day > days_in_month(year, month)
        {
            return None;
        }
        Some(Date {
            year,
            month: month as u8,
            day: day as u8,
        })
    }

    /// Reads a full date, exactly `YYYY-MM-DD`: for input that must name one day (a command-line
    /// or query parameter, an as-of date).
    pub fn parse(text: &str) -> Result<Date, InvalidDate> {
        let date = if text.len() == 10 {
            parse_prefix(text.as_bytes())
        } else {
            None
        };
        date.ok_or_else(|| InvalidDate(text.to_string()))
    }

    /// Reads the date part of a FHIR `date`, `dateTime` or `instant` (the time part is not
    /// checked; surrounding whitespace is ignored). A partial date is taken at its first day
    /// (`2019` is 2019-01-01, `2019-05` is 2019-05-01), which is how a look-back treats an
    /// imprecise record: as early as it could have been. `None` if the text does not start with a
    /// date or the date names no real day.
    pub fn parse_fhir(text: &str) -> Option<Date> {
        parse_prefix(text.trim().as_bytes())
    }

    pub fn year(self) -> i32 {
        self.year
    }

    /// 1 (January) to 12.
    pub fn month(self) -> u32 {
        u32::from(self.month)
    }

    /// 1 to 31.
    pub fn day(self) -> u32 {
        u32::from(self.day)
    }

    /// Days since 1970-01-01 (negative before it).
    pub fn to_days(self) -> i64 {
        days_from_civil(self.year, self.month(), self.day())
    }

    /// The date `days` after 1970-01-01 (before it when negative), saturating at the ends of the
    /// range.
    pub fn from_days(days: i64) -> Date {
        let (year, month, day) = civil_from_days(days.clamp(MIN_DAYS, MAX_DAYS));
        Date { year, month, day }
    }

    /// The date `days` later (earlier when negative).
    pub fn add_days(self, days: i64) -> Date {
        Date::from_days(self.to_days().saturating_add(days))
    }

    /// Days from `earlier` to `self` (negative when `earlier` is later).
    pub fn days_since(self, earlier: Date) -> i64 {
        self.to_days() - earlier.to_days()
    }

    /// Calendar months later (earlier when negative). A day past the end of the target month
    /// becomes its last day (Jan 31 + 1 month is Feb 28 or 29), so an interval never overshoots
    /// into the month after.
    pub fn add_months(self, months: i32) -> Date {
        self.add_months_wide(i64::from(months))
    }

    /// The same day `years` later (earlier when negative); 29 February becomes the 28th in a
    /// common year.
    pub fn add_years(self, years: i32) -> Date {
        self.add_months_wide(i64::from(years) * 12)
    }

    // i64 so that `add_years` cannot overflow on the way to saturating.
    fn add_months_wide(self, months: i64) -> Date {
        let index = (i64::from(self.year) * 12 + i64::from(self.month) - 1).saturating_add(months);
        let year = index.div_euclid(12);
        if year < i64::from(MIN_YEAR) {
            return Date::MIN;
        }
        if year > i64::from(MAX_YEAR) {
            return Date::MAX;
        }
        // In range by the checks above and the remainder.
        let (year, month) = (year as i32, (index.rem_euclid(12) + 1) as u32);
        Date {
            year,
            month: month as u8,
            day: self.day.min(days_in_month(year, month) as u8),
        }
    }

    /// Completed years of age on `on` for someone born on `self` (negative before the birth).
    /// Someone born on 29 February completes a year on 1 March in common years.
    pub fn age_on(self, on: Date) -> i32 {
        let years = on.year - self.year;
        if (on.month, on.day) < (self.month, self.day) {
            years - 1
        } else {
            years
        }
    }
}

/// `YYYY`, `YYYY-MM` or `YYYY-MM-DD`, the last optionally followed by `T` and anything.
fn parse_prefix(b: &[u8]) -> Option<Date> {
    let number = |from: usize, len: usize| -> Option<u32> {
        let digits = b.get(from..from + len)?;
        digits.iter().try_fold(0u32, |n, d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let year = i32::try_from(number(0, 4)?).ok()?;
    // `number` fails unless the text is long enough, so each arm also fixes the length.
    let (month, day) = match (b.get(4), b.get(7)) {
        (None, _) => (1, 1),
        (Some(b'-'), None) => (number(5, 2)?, 1),
        (Some(b'-'), Some(b'-')) => (number(5, 2)?, number(8, 2)?),
        _ => return None,
    };
    if !matches!(b.get(10), None | Some(b'T')) {
        return None;
    }
    Date::new(year, month, day)
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

const fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

const fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

// Hinnant's days_from_civil: counts from 0000-03-01 so that the leap day ends each year.
const fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    let y = year as i64 - if month <= 2 { 1 } else { 0 };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

// Hinnant's civil_from_days; the casts hold because `days` is within MIN_DAYS..=MAX_DAYS.
fn civil_from_days(days: i64) -> (i32, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn ymd(year: i32, month: u32, day: u32) -> Date {
        Date::new(year, month, day).expect("a real day")
    }

    #[test]
    fn leap_years_follow_the_gregorian_rule() {
        assert_eq!(Date::new(2024, 2, 29), Some(ymd(2024, 2, 29)));
        assert_eq!(
            Date::new(2000, 2, 29),
            Some(ymd(2000, 2, 29)),
            "divisible by 400"
        );
        assert_eq!(Date::new(1900, 2, 29), None, "divisible by 100 only");
        assert_eq!(Date::new(2023, 2, 29), None);
        assert_eq!(ymd(2024, 2, 28).add_days(1), ymd(2024, 2, 29));
        assert_eq!(ymd(2100, 2, 28).add_days(1), ymd(2100, 3, 1));
        assert_eq!(ymd(2024, 1, 1).add_days(366), ymd(2025, 1, 1));
    }

    #[test]
    fn new_rejects_parts_that_name_no_day() {
        for (y, m, d) in [
            (2023, 2, 30),
            (2023, 4, 31),
            (2023, 13, 1),
            (2023, 0, 1),
            (2023, 1, 0),
            (2023, 1, 32),
            (0, 1, 1),
            (10_000, 1, 1),
            (-1, 1, 1),
        ] {
            assert_eq!(Date::new(y, m, d), None, "{y}-{m}-{d}");
        }
        assert_eq!(Date::new(1, 1, 1), Some(Date::MIN));
        assert_eq!(Date::new(9999, 12, 31), Some(Date::MAX));
    }

    #[test]
    fn parse_fhir_reads_a_partial_date_as_its_first_day() {
        assert_eq!(Date::parse_fhir("2019"), Some(ymd(2019, 1, 1)));
        assert_eq!(Date::parse_fhir("2019-05"), Some(ymd(2019, 5, 1)));
        assert_eq!(Date::parse_fhir("2019-05-17"), Some(ymd(2019, 5, 17)));
        assert_eq!(Date::parse_fhir(" 2019-05-17\n"), Some(ymd(2019, 5, 17)));
    }

    #[test]
    fn parse_fhir_reads_the_date_of_a_date_time() {
        assert_eq!(
            Date::parse_fhir("2019-05-17T10:00:00-04:00"),
            Some(ymd(2019, 5, 17))
        );
        assert_eq!(
            Date::parse_fhir("2019-05-17T23:59:59.999Z"),
            Some(ymd(2019, 5, 17))
        );
    }

    #[test]
    fn parse_fhir_rejects_what_is_not_a_real_date() {
        for bad in [
            "2023-02-30",
            "2019-02-29",
            "2019-13",
            "2019-00",
            "2019-05-00",
            "0000",
            "garbage",
            "",
            "2019é",
            "201",
            "2019-",
            "2019-5",
            "2019-05-",
            "2019-05-1",
            "2019-05X",
            "20190517",
            "2019-05-17X",
            "2019-05-17 10:00",
            "+2019",
            "２０１９",
        ] {
            assert_eq!(Date::parse_fhir(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn parse_accepts_only_a_full_date() {
        assert_eq!(Date::parse("2024-02-29"), Ok(ymd(2024, 2, 29)));
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "24-01-01",
            "2024-1-01",
            "2024-01",
            "2024",
            "x",
            "2024-01-01-01",
            "2024-01-01T00:00:00Z",
            " 2024-01-01",
            "+202-01-01",
        ] {
            assert_eq!(
                Date::parse(bad),
                Err(InvalidDate(bad.to_string())),
                "{bad:?}"
            );
        }
        assert_eq!(
            InvalidDate("2023-02-29".into()).to_string(),
            "invalid date \"2023-02-29\": expected YYYY-MM-DD naming a real day"
        );
    }

    #[test]
    fn display_pads_to_a_fhir_date_and_round_trips_through_parse() {
        for text in [
            "1970-01-01",
            "2000-02-29",
            "2024-12-31",
            "1929-07-15",
            "0001-01-01",
            "0099-10-05",
            "9999-12-31",
        ] {
            assert_eq!(
                Date::parse(text).map(|d| d.to_string()).as_deref(),
                Ok(text)
            );
        }
    }

    #[test]
    fn serializes_as_a_fhir_date_string() {
        assert_eq!(
            serde_json::to_value(ymd(2020, 1, 5)).ok(),
            Some(serde_json::json!("2020-01-05"))
        );
    }

    #[test]
    fn accessors_return_the_parts() {
        let d = ymd(2019, 5, 17);
        assert_eq!((d.year(), d.month(), d.day()), (2019, 5, 17));
    }

    #[test]
    fn dates_order_chronologically() {
        assert!(ymd(2019, 12, 31) < ymd(2020, 1, 1));
        assert!(ymd(2020, 1, 31) < ymd(2020, 2, 1));
        assert!(ymd(2020, 2, 1) < ymd(2020, 2, 2));
        assert!(Date::MIN < Date::MAX);
    }

    #[test]
    fn day_numbers_count_from_1970_and_agree_with_counting_days_one_by_one() {
        assert_eq!(ymd(1970, 1, 1).to_days(), 0);
        assert_eq!(ymd(2025, 6, 30).to_days(), 20_269);
        assert_eq!(ymd(1969, 12, 31).to_days(), -1);
        // Walks the whole range: each day number is the day after the previous one.
        let mut expected = Date::MIN;
        for n in MIN_DAYS..=MAX_DAYS {
            let d = Date::from_days(n);
            assert_eq!(d, expected, "day {n}");
            assert_eq!(d.to_days(), n);
            expected = if d.day() < days_in_month(d.year(), d.month()) {
                Date {
                    day: d.day + 1,
                    ..d
                }
            } else if d.month() < 12 {
                Date {
                    month: d.month + 1,
                    day: 1,
                    ..d
                }
            } else {
                Date {
                    year: d.year + 1,
                    month: 1,
                    day: 1,
                }
            };
        }
    }

    #[test]
    fn add_days_crosses_month_and_year_ends_both_ways() {
        assert_eq!(ymd(2019, 12, 31).add_days(1), ymd(2020, 1, 1));
        assert_eq!(ymd(2020, 3, 1).add_days(-1), ymd(2020, 2, 29));
        assert_eq!(ymd(2020, 1, 1).add_days(-365), ymd(2019, 1, 1));
        assert_eq!(ymd(2020, 1, 1).add_days(0), ymd(2020, 1, 1));
    }

    #[test]
    fn days_since_is_the_signed_difference_in_days() {
        assert_eq!(ymd(2020, 3, 1).days_since(ymd(2020, 2, 1)), 29);
        assert_eq!(ymd(2020, 2, 1).days_since(ymd(2020, 3, 1)), -29);
        assert_eq!(ymd(2025, 1, 1).days_since(ymd(2024, 1, 1)), 366);
        assert_eq!(Date::MAX.days_since(Date::MIN), MAX_DAYS - MIN_DAYS);
    }

    #[test]
    fn add_months_clamps_to_the_end_of_a_shorter_month() {
        assert_eq!(ymd(2020, 1, 31).add_months(1), ymd(2020, 2, 29));
        assert_eq!(ymd(2021, 1, 31).add_months(1), ymd(2021, 2, 28));
        assert_eq!(ymd(2021, 8, 31).add_months(1), ymd(2021, 9, 30));
        assert_eq!(ymd(2021, 3, 31).add_months(-1), ymd(2021, 2, 28));
    }

    #[test]
    fn add_months_carries_across_years_both_ways() {
        assert_eq!(ymd(2020, 11, 15).add_months(3), ymd(2021, 2, 15));
        assert_eq!(ymd(2020, 2, 15).add_months(-3), ymd(2019, 11, 15));
        assert_eq!(ymd(2020, 2, 15).add_months(-26), ymd(2017, 12, 15));
        assert_eq!(ymd(2020, 2, 15).add_months(120), ymd(2030, 2, 15));
    }

    #[test]
    fn add_years_turns_february_29_into_february_28_in_a_common_year() {
        assert_eq!(ymd(2024, 2, 29).add_years(1), ymd(2025, 2, 28));
        assert_eq!(ymd(2024, 2, 29).add_years(-1), ymd(2023, 2, 28));
        assert_eq!(ymd(2024, 2, 29).add_years(4), ymd(2028, 2, 29));
        assert_eq!(ymd(2024, 1, 31).add_years(1), ymd(2025, 1, 31));
    }

    #[test]
    fn age_on_the_day_before_the_birthday_has_not_yet_gained_the_year() {
        assert_eq!(ymd(1970, 6, 15).age_on(ymd(2020, 6, 14)), 49);
        assert_eq!(ymd(2000, 6, 15).age_on(ymd(2025, 6, 14)), 24);
    }

    #[test]
    fn age_on_the_birthday_counts_the_year() {
        assert_eq!(ymd(1970, 6, 15).age_on(ymd(2020, 6, 15)), 50);
        assert_eq!(ymd(2000, 6, 15).age_on(ymd(2025, 6, 15)), 25);
        assert_eq!(ymd(2000, 6, 15).age_on(ymd(2000, 6, 15)), 0);
    }

    #[test]
    fn age_of_someone_born_on_february_29_turns_on_march_1_in_a_common_year() {
        let born = ymd(2000, 2, 29);
        assert_eq!(born.age_on(ymd(2023, 2, 28)), 22);
        assert_eq!(born.age_on(ymd(2023, 3, 1)), 23);
        assert_eq!(born.age_on(ymd(2024, 2, 29)), 24);
    }

    #[test]
    fn age_before_the_birth_is_negative() {
        assert_eq!(ymd(2020, 6, 15).age_on(ymd(2020, 6, 14)), -1);
    }

    #[test]
    fn arithmetic_saturates_at_the_ends_of_the_fhir_range() {
        assert_eq!(Date::MAX.add_days(1), Date::MAX);
        assert_eq!(Date::MIN.add_days(-1), Date::MIN);
        assert_eq!(Date::MIN.add_days(i64::MAX), Date::MAX);
        assert_eq!(Date::MAX.add_days(i64::MIN), Date::MIN);
        assert_eq!(Date::from_days(i64::MAX), Date::MAX);
        assert_eq!(Date::from_days(i64::MIN), Date::MIN);
        assert_eq!(ymd(9999, 11, 30).add_months(2), Date::MAX);
        assert_eq!(ymd(1, 2, 1).add_months(-2), Date::MIN);
        assert_eq!(ymd(2020, 1, 1).add_months(i32::MAX), Date::MAX);
        assert_eq!(ymd(2020, 1, 1).add_years(i32::MIN), Date::MIN);
        assert_eq!(ymd(2020, 1, 1).add_years(i32::MAX), Date::MAX);
    }
}
