//! Server time as FHIR instants. Versions get millisecond timestamps; parsing accepts every
//! precision a client may send in `_since`, `_at` or `If-Modified-Since`.

use time::format_description::well_known::{Rfc2822, Rfc3339};
use time::{Date, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

pub fn now_ms() -> i64 {
    let now = OffsetDateTime::now_utc();
    i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// `2026-11-23T14:50:05.123Z`: the form of `meta.lastUpdated`.
pub fn format_instant(ms: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// `Tue, 24 Nov 2026 08:00:00 GMT`: the form of the `Last-Modified` header.
pub fn format_http_date(ms: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    t.format(&Rfc2822).map(|s| s.replace("+0000", "GMT")).unwrap_or_default()
}

/// The earliest millisecond a FHIR `instant`, `dateTime` or `date` value denotes (`2026`,
/// `2026-11`, `2026-11-23`, `2026-11-23T14:50:05+01:00`). Times without a zone are UTC.
pub fn parse_fhir_instant(text: &str) -> Option<i64> {
    let to_ms = |t: OffsetDateTime| i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok();
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return to_ms(t);
    }
    let parts: Vec<&str> = text.splitn(3, '-').collect();
    let year: i32 = parts.first()?.parse().ok()?;
    if parts.first()?.len() != 4 || text.contains('T') {
        return None;
    }
    let month = match parts.get(1) {
        Some(m) if m.len() == 2 => m.parse::<u8>().ok()?,
        Some(_) => return None,
        None => 1,
    };
    let day = match parts.get(2) {
        Some(d) if d.len() == 2 => d.parse::<u8>().ok()?,
        Some(_) => return None,
        None => 1,
    };
    let date = Date::from_calendar_date(year, time::Month::try_from(month).ok()?, day).ok()?;
    to_ms(PrimitiveDateTime::new(date, Time::MIDNIGHT).assume_offset(UtcOffset::UTC))
}

/// An HTTP date (`If-Modified-Since`), to milliseconds.
pub fn parse_http_date(text: &str) -> Option<i64> {
    let normalised = text.trim().replace(" GMT", " +0000");
    let t = OffsetDateTime::parse(&normalised, &Rfc2822).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_format_with_milliseconds_in_utc() {
        assert_eq!(format_instant(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_instant(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }

    #[test]
    fn partial_dates_denote_their_first_millisecond() {
        assert_eq!(parse_fhir_instant("1970"), Some(0));
        assert_eq!(parse_fhir_instant("1970-01-02"), Some(86_400_000));
        assert_eq!(parse_fhir_instant("1970-01-01T00:00:01+00:00"), Some(1000));
        assert_eq!(parse_fhir_instant("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(parse_fhir_instant("yesterday"), None);
        assert_eq!(parse_fhir_instant("2026-13"), None);
    }

    #[test]
    fn http_dates_round_trip() {
        let ms = 1_700_000_000_000;
        assert_eq!(parse_http_date(&format_http_date(ms)), Some(ms));
        assert_eq!(parse_http_date("not a date"), None);
    }
}
