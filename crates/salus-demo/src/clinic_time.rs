//! Clinic-local times, without a clock or a time-zone database: the generator only needs whole
//! minutes on a day in one fixed offset, which keeps every timestamp exact and portable.

use std::fmt;

use salus_fhir::date::Date;

/// The clinic's UTC offset written on every time: the demo practice is in one US time zone and
/// a fixed offset keeps output independent of daylight-saving rules.
pub const CLINIC_OFFSET: &str = "-05:00";

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
