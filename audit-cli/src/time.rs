//! Times given on the command line: RFC 3339, a UTC date, or a relative form.
//!
//! Relative forms count back from now: `30s`, `15m`, `1h`, `7d`, `2w` mean that long ago;
//! `now`; `today` and `yesterday` are the starts of those UTC days. A bare date
//! (`2026-11-22`) is the start of that UTC day. Every form is resolved against a `now` the
//! caller passes in, so tests are deterministic.

use audit_events::Timestamp;

use crate::error::UsageError;

const SECOND: i64 = 1_000_000_000;
const DAY: i64 = 86_400 * SECOND;

/// Parses a time argument (see the module docs), relative forms counted back from `now`.
///
/// ```
/// use audit_cli::parse_time;
/// use audit_events::Timestamp;
///
/// let now = Timestamp::parse_rfc3339("2026-11-22T10:30:00Z").unwrap();
/// assert_eq!(parse_time("1h", now).unwrap().to_rfc3339(), "2026-11-22T09:30:00Z");
/// assert_eq!(parse_time("yesterday", now).unwrap().to_rfc3339(), "2026-11-21T00:00:00Z");
/// assert_eq!(parse_time("2026-11-01", now).unwrap().to_rfc3339(), "2026-11-01T00:00:00Z");
/// ```
pub fn parse_time(text: &str, now: Timestamp) -> Result<Timestamp, anyhow::Error> {
    parse(text, now).ok_or_else(|| {
        anyhow::Error::new(UsageError(format!(
            "`{}` is not a time: use RFC 3339 (2026-11-22T09:00:00Z), a UTC date (2026-11-22), \
             now, today, yesterday, or an age such as 30m, 1h, 7d, 2w",
            input_validation::display_safe(text)
        )))
    })
}

fn parse(text: &str, now: Timestamp) -> Option<Timestamp> {
    let today = now.utc_day().checked_mul(DAY)?;
    match text {
        "now" => return Some(now),
        "today" => return Some(Timestamp(today)),
        "yesterday" => return today.checked_sub(DAY).map(Timestamp),
        _ => {}
    }
    if let Some(ago) = relative(text) {
        return now.0.checked_sub(ago).map(Timestamp);
    }
    if is_date(text) {
        return Timestamp::parse_rfc3339(&format!("{text}T00:00:00Z")).ok();
    }
    Timestamp::parse_rfc3339(text).ok()
}

/// `<digits><unit>` in nanoseconds.
fn relative(text: &str) -> Option<i64> {
    let unit_at = text.find(|c: char| !c.is_ascii_digit())?;
    let (digits, unit) = text.split_at(unit_at);
    if digits.is_empty() || digits.len() > 12 {
        return None;
    }
    let n: i64 = digits.parse().ok()?;
    let scale = match unit {
        "s" => SECOND,
        "m" | "min" => 60 * SECOND,
        "h" => 3600 * SECOND,
        "d" => DAY,
        "w" => 7 * DAY,
        _ => return None,
    };
    n.checked_mul(scale)
}

fn is_date(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        Timestamp::parse_rfc3339("2026-11-22T10:30:00.5Z").unwrap()
    }

    fn at(text: &str) -> String {
        parse_time(text, now()).unwrap().to_rfc3339()
    }

    #[test]
    fn every_form_resolves_against_now() {
        assert_eq!(at("now"), "2026-11-22T10:30:00.5Z");
        assert_eq!(at("today"), "2026-11-22T00:00:00Z");
        assert_eq!(at("yesterday"), "2026-11-21T00:00:00Z");
        assert_eq!(at("30s"), "2026-11-22T10:29:30.5Z");
        assert_eq!(at("30m"), "2026-11-22T10:00:00.5Z");
        assert_eq!(at("1h"), "2026-11-22T09:30:00.5Z");
        assert_eq!(at("7d"), "2026-11-15T10:30:00.5Z");
        assert_eq!(at("2w"), "2026-11-08T10:30:00.5Z");
        assert_eq!(at("2026-01-02"), "2026-01-02T00:00:00Z");
        assert_eq!(at("2026-11-22T11:00:00+01:00"), "2026-11-22T10:00:00Z");
    }

    #[test]
    fn nonsense_is_a_usage_error_that_names_no_raw_control() {
        for bad in ["", "h", "1y", "-1h", "tomorrow", "2026-13-40", "99999999999999d", "\u{1b}[2J"]
        {
            let e = parse_time(bad, now()).unwrap_err();
            assert!(e.is::<UsageError>(), "{bad:?}");
            assert!(!e.to_string().contains('\u{1b}'));
        }
    }
}
