//! Times given on the command line, as journalctl reads them, parsed with `jiff`.
//!
//! Every form is resolved against a `now` and a time zone the caller passes in (the local zone,
//! or UTC with `--utc`), so tests are deterministic:
//! - `now`, `today`, `yesterday`, `tomorrow` (the last three at the start of that day in the
//!   zone);
//! - an age counted back from now: `-1h`, `1h`, `1h ago`, `1 hour ago`, `2 days ago`,
//!   `1h30m`, `-2w`; `+1h` counts forward. Units: `s` `sec` `second(s)`, `m` `min`
//!   `minute(s)`, `h` `hour(s)`, `d` `day(s)`, `w` `week(s)`, `M` `month(s)`, `y` `year(s)`
//!   (`m` is minutes, `M` months). Days, weeks, months and years are calendar units in the zone;
//! - a date or a date and time in the zone: `2026-12-01` (its start), `2026-12-01 21:38`,
//!   `2026-12-01 21:38:05`, `2026-12-01T21:38`; a time alone (`21:38`) is today's; any of these
//!   followed by ` UTC` is read in UTC;
//! - RFC 3339 with an offset: `2026-12-01T21:38:00Z`, `2026-12-01T21:38:00+01:00`.

use audit_events::Timestamp;
use jiff::civil::{DateTime, Time};
use jiff::tz::TimeZone;
use jiff::{Span, Zoned};

use crate::error::UsageError;

/// The forms, for error messages.
const FORMS: &str = "use now, today, yesterday, tomorrow; an age such as -1h, 30m, \"1 hour \
                     ago\", \"2 days ago\", 1y, 1M (months), 2w; a local date or time such as \
                     2026-12-01, \"2026-12-01 21:38\", 21:38 (in the local zone; in UTC with \
                     --utc or a trailing \" UTC\"); or RFC 3339 with an offset (2026-12-01T21:38:00Z)";

/// Parses a time argument (see the module docs): relative forms are counted from `now`, local
/// dates and times are read in `zone`.
///
/// ```
/// use audit_cli::parse_time;
/// use audit_events::Timestamp;
/// use jiff::tz::TimeZone;
///
/// let now = Timestamp::parse_rfc3339("2026-11-22T10:30:00Z").unwrap();
/// let utc = TimeZone::UTC;
/// assert_eq!(parse_time("-1h", now, &utc).unwrap().to_rfc3339(), "2026-11-22T09:30:00Z");
/// assert_eq!(parse_time("1 hour ago", now, &utc).unwrap().to_rfc3339(), "2026-11-22T09:30:00Z");
/// assert_eq!(parse_time("yesterday", now, &utc).unwrap().to_rfc3339(), "2026-11-21T00:00:00Z");
/// let paris = TimeZone::posix("CET-1CEST,M3.5.0,M10.5.0/3").unwrap();
/// assert_eq!(
///     parse_time("2026-12-01 21:38", now, &paris).unwrap().to_rfc3339(),
///     "2026-12-01T20:38:00Z"
/// );
/// ```
pub fn parse_time(text: &str, now: Timestamp, zone: &TimeZone) -> Result<Timestamp, anyhow::Error> {
    parse(text.trim(), now, zone).ok_or_else(|| {
        anyhow::Error::new(UsageError(format!(
            "`{}` is not a time: {FORMS}",
            input_validation::display_safe(text)
        )))
    })
}

/// `--since` and `--until` together; a range that holds no instant is a usage error.
pub(crate) fn parse_range(
    since: Option<&str>,
    until: Option<&str>,
    now: Timestamp,
    zone: &TimeZone,
) -> anyhow::Result<(Option<Timestamp>, Option<Timestamp>)> {
    let since = since.map(|t| parse_time(t, now, zone)).transpose()?;
    let until = until.map(|t| parse_time(t, now, zone)).transpose()?;
    if let (Some(s), Some(u)) = (since, until)
        && s >= u
    {
        return Err(anyhow::Error::new(UsageError(format!(
            "--since ({s}) is not before --until ({u}): the range holds no time"
        ))));
    }
    Ok((since, until))
}

fn parse(text: &str, now: Timestamp, zone: &TimeZone) -> Option<Timestamp> {
    // `2026-12-01 21:38 UTC`, as journalctl takes it: the local forms, read in UTC.
    let utc = TimeZone::UTC;
    let (text, zone) = match text.strip_suffix(" UTC") {
        Some(rest) => (rest.trim_end(), &utc),
        None => (text, zone),
    };
    let now_zoned =
        jiff::Timestamp::from_nanosecond(i128::from(now.0)).ok()?.to_zoned(zone.clone());
    let day_start = |days: i64| -> Option<Timestamp> {
        let start = now_zoned.start_of_day().ok()?;
        let day = start.checked_add(Span::new().try_days(days).ok()?).ok()?.start_of_day().ok()?;
        to_timestamp(&day)
    };
    match text {
        "now" => return Some(now),
        "today" => return day_start(0),
        "yesterday" => return day_start(-1),
        "tomorrow" => return day_start(1),
        _ => {}
    }
    if let Some(span) = relative(text) {
        return to_timestamp(&now_zoned.checked_add(span).ok()?);
    }
    // An offset (Z, +01:00) makes it an instant; without one it is a wall-clock time in `zone`.
    if let Ok(instant) = text.parse::<jiff::Timestamp>() {
        return from_jiff(instant);
    }
    if let Ok(date) = text.parse::<jiff::civil::Date>()
        && text.len() == 10
    {
        return to_timestamp(&date.to_zoned(zone.clone()).ok()?);
    }
    if let Ok(datetime) = text.parse::<DateTime>() {
        return to_timestamp(&datetime.to_zoned(zone.clone()).ok()?);
    }
    if let Ok(time) = text.parse::<Time>()
        && text.len() >= 5
        && text.as_bytes().get(2) == Some(&b':')
    {
        return to_timestamp(&now_zoned.date().to_datetime(time).to_zoned(zone.clone()).ok()?);
    }
    None
}

fn to_timestamp(zoned: &Zoned) -> Option<Timestamp> {
    from_jiff(zoned.timestamp())
}

fn from_jiff(instant: jiff::Timestamp) -> Option<Timestamp> {
    i64::try_from(instant.as_nanosecond()).ok().map(Timestamp)
}

/// An age: `[-|+]<n><unit>[<n><unit>...][ ago]`, spaces allowed between numbers and units.
/// Without `+` it counts back from now.
fn relative(text: &str) -> Option<Span> {
    let (text, ago) = match text.strip_suffix(" ago") {
        Some(rest) => (rest.trim_end(), true),
        None => (text, false),
    };
    let (text, forward) = match (text.strip_prefix('-'), text.strip_prefix('+')) {
        (Some(rest), _) if !ago => (rest, false),
        (_, Some(rest)) if !ago => (rest, true),
        _ => (text, false),
    };
    let mut span = Span::new();
    let mut rest = text.trim_start();
    let mut parts = 0;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if digits == 0 || digits > 12 {
            return None;
        }
        let n: i64 = rest[..digits].parse().ok()?;
        rest = rest[digits..].trim_start();
        let letters = rest.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(rest.len());
        let n = if forward { n } else { -n };
        span = match &rest[..letters] {
            "s" | "sec" | "secs" | "second" | "seconds" => span.try_seconds(span.get_seconds() + n),
            "m" | "min" | "mins" | "minute" | "minutes" => span.try_minutes(span.get_minutes() + n),
            "h" | "hr" | "hour" | "hours" => span.try_hours(i64::from(span.get_hours()) + n),
            "d" | "day" | "days" => span.try_days(i64::from(span.get_days()) + n),
            "w" | "week" | "weeks" => span.try_weeks(i64::from(span.get_weeks()) + n),
            "M" | "month" | "months" => span.try_months(i64::from(span.get_months()) + n),
            "y" | "year" | "years" => span.try_years(i64::from(span.get_years()) + n),
            _ => return None,
        }
        .ok()?;
        rest = rest[letters..].trim_start();
        parts += 1;
    }
    (parts > 0).then_some(span)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        Timestamp::parse_rfc3339("2026-11-22T10:30:00.5Z").unwrap()
    }

    fn at_in(text: &str, zone: &TimeZone) -> String {
        parse_time(text, now(), zone).unwrap().to_rfc3339()
    }

    fn at(text: &str) -> String {
        at_in(text, &TimeZone::UTC)
    }

    /// Central European time, without depending on the machine's tz database.
    fn paris() -> TimeZone {
        TimeZone::posix("CET-1CEST,M3.5.0,M10.5.0/3").unwrap()
    }

    #[test]
    fn every_form_resolves_against_now() {
        assert_eq!(at("now"), "2026-11-22T10:30:00.5Z");
        assert_eq!(at("today"), "2026-11-22T00:00:00Z");
        assert_eq!(at("yesterday"), "2026-11-21T00:00:00Z");
        assert_eq!(at("tomorrow"), "2026-11-23T00:00:00Z");
        assert_eq!(at("30s"), "2026-11-22T10:29:30.5Z");
        assert_eq!(at("30m"), "2026-11-22T10:00:00.5Z");
        assert_eq!(at("1h"), "2026-11-22T09:30:00.5Z");
        assert_eq!(at("-1h"), "2026-11-22T09:30:00.5Z");
        assert_eq!(at("+1h"), "2026-11-22T11:30:00.5Z");
        assert_eq!(at("1 hour ago"), "2026-11-22T09:30:00.5Z");
        assert_eq!(at("1h ago"), "2026-11-22T09:30:00.5Z");
        assert_eq!(at("2 days ago"), "2026-11-20T10:30:00.5Z");
        assert_eq!(at("1h30m"), "2026-11-22T09:00:00.5Z");
        assert_eq!(at("1 hour 30 minutes ago"), "2026-11-22T09:00:00.5Z");
        assert_eq!(at("7d"), "2026-11-15T10:30:00.5Z");
        assert_eq!(at("2w"), "2026-11-08T10:30:00.5Z");
        assert_eq!(at("1M"), "2026-10-22T10:30:00.5Z");
        assert_eq!(at("1y"), "2025-11-22T10:30:00.5Z");
        assert_eq!(at("2026-01-02"), "2026-01-02T00:00:00Z");
        assert_eq!(at("2026-12-01 21:38"), "2026-12-01T21:38:00Z");
        assert_eq!(at("2026-12-01T21:38:05"), "2026-12-01T21:38:05Z");
        assert_eq!(at("08:15"), "2026-11-22T08:15:00Z");
        assert_eq!(at("2026-11-22T11:00:00+01:00"), "2026-11-22T10:00:00Z");
        assert_eq!(at("2026-11-22T11:00:00Z"), "2026-11-22T11:00:00Z");
    }

    #[test]
    fn local_forms_are_read_in_the_zone_given() {
        let zone = paris();
        assert_eq!(at_in("2026-12-01 21:38", &zone), "2026-12-01T20:38:00Z");
        assert_eq!(at_in("2026-12-01", &zone), "2026-11-30T23:00:00Z");
        // Summer time: two hours ahead of UTC.
        assert_eq!(at_in("2026-07-01 12:00", &zone), "2026-07-01T10:00:00Z");
        assert_eq!(at_in("today", &zone), "2026-11-21T23:00:00Z");
        assert_eq!(at_in("yesterday", &zone), "2026-11-20T23:00:00Z");
        // An explicit offset wins over the zone; an age does not depend on it.
        assert_eq!(at_in("2026-12-01T21:38:00Z", &zone), "2026-12-01T21:38:00Z");
        assert_eq!(at_in("1h", &zone), "2026-11-22T09:30:00.5Z");
        assert_eq!(at_in("2026-12-01 21:38 UTC", &zone), "2026-12-01T21:38:00Z");
        assert_eq!(at_in("today UTC", &zone), "2026-11-22T00:00:00Z");
        // A calendar day across the change to summer time is 23 hours.
        let after = Timestamp::parse_rfc3339("2026-03-29T12:00:00+02:00").unwrap();
        assert_eq!(parse_time("1d", after, &zone).unwrap().to_rfc3339(), "2026-03-28T11:00:00Z");
    }

    #[test]
    fn ranges_read_naturally() {
        let utc = TimeZone::UTC;
        let (s, u) = parse_range(Some("yesterday"), Some("today"), now(), &utc).unwrap();
        assert_eq!(u.unwrap().0 - s.unwrap().0, 86_400 * 1_000_000_000);
        let (s, u) =
            parse_range(Some("2026-12-01 08:00"), Some("2026-12-01 18:00"), now(), &utc).unwrap();
        assert_eq!(s.unwrap().to_rfc3339(), "2026-12-01T08:00:00Z");
        assert_eq!(u.unwrap().to_rfc3339(), "2026-12-01T18:00:00Z");
        let e = parse_range(Some("today"), Some("yesterday"), now(), &utc).unwrap_err();
        assert!(e.is::<UsageError>() && e.to_string().contains("not before"), "{e}");
    }

    #[test]
    fn nonsense_is_a_usage_error_that_lists_the_forms_and_names_no_raw_control() {
        for bad in [
            "",
            "h",
            "1x",
            "1 fortnight ago",
            "soon",
            "2026-13-40",
            "99999999999999d",
            "99999999y",
            "- 1h ago",
            "1h ago ago",
            "today UTC UTC",
            "\u{1b}[2J",
        ] {
            let e = parse_time(bad, now(), &TimeZone::UTC).unwrap_err();
            assert!(e.is::<UsageError>(), "{bad:?}");
            let text = e.to_string();
            assert!(!text.contains('\u{1b}'));
            assert!(text.contains("1 hour") && text.contains("--utc"), "{text}");
        }
    }
}
