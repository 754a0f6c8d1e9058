//! Numeric ranges, NaN included.

use std::fmt::{self, Display, Write as _};

use crate::error::ValidationError;
use crate::escape::escape_for_log;
use crate::truncate::truncate_escaped;

/// How much of a rendered value an error keeps, in bytes after escaping.
const MAX_RENDERED_BYTES: usize = 64;

/// Returns `value` if `min <= value <= max` (both bounds inclusive).
///
/// A value, `min` or `max` that is not ordered against itself (NaN for floats) is rejected:
/// every comparison with NaN is false, so without this check NaN would pass as "not below min
/// and not above max". `min > max` is rejected as a caller error rather than read as an empty
/// range.
///
/// ```
/// use input_validation::validate_range;
///
/// assert_eq!(validate_range(0.5, 0.0, 1.0), Ok(0.5));
/// assert!(validate_range(f64::NAN, 0.0, 1.0).is_err());
/// assert!(validate_range(1, 0, 1).is_ok());
/// ```
///
/// # Errors
///
/// [`NotANumber`](ValidationError::NotANumber) (checked for `value`, then `min`, then `max`),
/// [`InvertedRange`](ValidationError::InvertedRange), [`OutOfRange`](ValidationError::OutOfRange).
/// The numbers are rendered with `Display`, escaped and cut to 64 bytes, so a `T` whose `Display`
/// writes text cannot put raw characters into the message.
pub fn validate_range<T: PartialOrd + Copy + Display>(
    value: T,
    min: T,
    max: T,
) -> Result<T, ValidationError> {
    for (operand, x) in [("value", value), ("min", min), ("max", max)] {
        if x.partial_cmp(&x).is_none() {
            return Err(ValidationError::NotANumber { operand });
        }
    }
    if min > max {
        return Err(ValidationError::InvertedRange { min: render(min), max: render(max) });
    }
    if value < min || value > max {
        return Err(ValidationError::OutOfRange {
            value: render(value),
            min: render(min),
            max: render(max),
        });
    }
    Ok(value)
}

/// Renders with `Display`, stopping early on long output, then escapes and bounds the text.
fn render<T: Display>(x: T) -> String {
    let mut out = Bounded(String::new());
    // `Bounded` reports an error once full: that ends the formatting early, and the text written
    // so far is what we want. (`to_string` would panic on that error, hence the adapter.)
    let _ = write!(out, "{x}");
    truncate_escaped(&escape_for_log(&out.0), MAX_RENDERED_BYTES).to_owned()
}

/// A `fmt::Write` that holds at most `MAX_RENDERED_BYTES` bytes of input.
struct Bounded(String);

impl fmt::Write for Bounded {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = MAX_RENDERED_BYTES.saturating_sub(self.0.len());
        let part = crate::truncate::truncate_to_bytes(s, room);
        self.0.push_str(part);
        if part.len() < s.len() { Err(fmt::Error) } else { Ok(()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_inclusive() {
        assert_eq!(validate_range(0, 0, 10), Ok(0));
        assert_eq!(validate_range(10, 0, 10), Ok(10));
        assert_eq!(validate_range(5u8, 5, 5), Ok(5));
        assert_eq!(validate_range(-0.0, 0.0, 1.0), Ok(-0.0));
        assert_eq!(
            validate_range(11, 0, 10),
            Err(ValidationError::OutOfRange {
                value: "11".into(),
                min: "0".into(),
                max: "10".into()
            })
        );
        assert_eq!(
            validate_range(-1i64, 0, 10),
            Err(ValidationError::OutOfRange {
                value: "-1".into(),
                min: "0".into(),
                max: "10".into()
            })
        );
    }

    #[test]
    fn nan_is_rejected_in_every_position() {
        let nan = f64::NAN;
        assert_eq!(
            validate_range(nan, 0.0, 1.0),
            Err(ValidationError::NotANumber { operand: "value" })
        );
        assert_eq!(
            validate_range(0.5, nan, 1.0),
            Err(ValidationError::NotANumber { operand: "min" })
        );
        assert_eq!(
            validate_range(0.5, 0.0, nan),
            Err(ValidationError::NotANumber { operand: "max" })
        );
        assert_eq!(
            validate_range(f32::NAN, f32::MIN, f32::MAX),
            Err(ValidationError::NotANumber { operand: "value" })
        );
    }

    #[test]
    fn infinities_are_ordinary_values() {
        assert_eq!(validate_range(f64::INFINITY, 0.0, f64::INFINITY), Ok(f64::INFINITY));
        assert!(validate_range(f64::INFINITY, 0.0, f64::MAX).is_err());
    }

    #[test]
    fn inverted_ranges_are_a_caller_error() {
        assert_eq!(
            validate_range(5, 10, 0),
            Err(ValidationError::InvertedRange { min: "10".into(), max: "0".into() })
        );
    }

    #[test]
    fn rendered_values_are_escaped_and_bounded() {
        let error = validate_range("z\u{1b}[2J", "a", "m").unwrap_err();
        assert_eq!(
            error,
            ValidationError::OutOfRange {
                value: r"z\x1b[2J".into(),
                min: "a".into(),
                max: "m".into()
            }
        );
        let long = "z".repeat(10_000);
        match validate_range(long.as_str(), "a", "m") {
            Err(ValidationError::OutOfRange { value, .. }) => {
                assert_eq!(value.len(), MAX_RENDERED_BYTES)
            }
            other => panic!("{other:?}"),
        }
    }
}
