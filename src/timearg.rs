//! Times typed on the command line (`--start-time`, `--end-time`).
//!
//! People who used `aws cloudtrail validate-logs` type what its parser
//! (python `dateutil`) took, and what the AWS documentation shows:
//! `2015-01-08T05:21:42Z`, `20160129T19:00:00Z`, a bare date. [`parse_time`]
//! accepts those ISO 8601 spellings: extended or basic date and time, a `T`
//! or spaces between them, and a zone that is converted (not replaced, as
//! `validate-logs` does) to UTC; no zone means UTC.

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::Offset;

/// Examples of the accepted forms, for help and error messages.
pub const ACCEPTED: &str = "2026-03-01, 2026-03-01T10:00:00Z, 2026-03-01T10:00:00+02:00, 2026-03-01 10:00, 20260301T100000Z";

/// Why a command-line time was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// The text is not in any accepted form.
    #[error("not a time; accepted: {ACCEPTED}")]
    Unrecognised,
    /// The form is right, a field is not (month 13, 25 o'clock, offset +30:00).
    #[error("no such time ({reason}); accepted: {ACCEPTED}")]
    OutOfRange {
        /// Which field is out of range.
        reason: String,
    },
}

/// Parses a time as typed on the command line.
///
/// Accepted, with surrounding spaces ignored:
/// - a date: `2026-03-01`, `2026/03/01` (one-digit month and day allowed
///   in both) or `20260301`; alone it means midnight;
/// - then optionally `T`, `t` or spaces and a time: `10`, `10:00`,
///   `10:00:00`, `1000` or `100000`, seconds optionally with a fraction
///   (`.5`, `,5`, up to nanoseconds); a leap second `:60` is read as `:59`;
/// - then optionally (after optional spaces) a zone: `Z`, `UTC` or `GMT`
///   (any case), or an offset `+02`, `+0200`, `+02:00`, `-05:30`.
///
/// Without a zone the time is UTC. An offset is converted:
/// `2026-03-01T10:00:00+02:00` is `2026-03-01T08:00:00Z`.
///
/// # Errors
/// [`TimeError::Unrecognised`] for any other text, [`TimeError::OutOfRange`]
/// when a field is out of range (`2026-02-30`).
pub fn parse_time(text: &str) -> Result<Timestamp, TimeError> {
    let mut cursor = Cursor(text.trim().as_bytes());
    let (year, month, day) = cursor.date().ok_or(TimeError::Unrecognised)?;
    let (hour, minute, second, nanos) = cursor.time().ok_or(TimeError::Unrecognised)?;
    let offset_seconds = cursor.zone().ok_or(TimeError::Unrecognised)?;
    if !cursor.0.is_empty() {
        return Err(TimeError::Unrecognised);
    }
    let out_of_range = |e: jiff::Error| TimeError::OutOfRange {
        reason: e.to_string(),
    };
    let datetime = DateTime::new(year, month, day, hour, minute, second.min(59), nanos)
        .map_err(out_of_range)?;
    let offset = Offset::from_seconds(offset_seconds).map_err(out_of_range)?;
    offset.to_timestamp(datetime).map_err(out_of_range)
}

/// The unread rest of the text.
struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.0.first().copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        match self.0.split_first() {
            Some((&b, rest)) if b == byte => {
                self.0 = rest;
                true
            }
            _ => false,
        }
    }

    fn skip_spaces(&mut self) -> bool {
        let before = self.0.len();
        while self.eat(b' ') {}
        self.0.len() < before
    }

    fn digit_count(&self) -> usize {
        self.0.iter().take_while(|b| b.is_ascii_digit()).count()
    }

    /// Exactly `n` digits, as a number.
    fn number(&mut self, n: usize) -> Option<i32> {
        if self.digit_count() < n {
            return None;
        }
        let (digits, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        digits.iter().try_fold(0i32, |acc, d| {
            acc.checked_mul(10)?.checked_add(i32::from(d - b'0'))
        })
    }

    /// One or two digits (a month or day written `3` or `03`).
    fn short_number(&mut self) -> Option<i8> {
        match self.digit_count() {
            1 => narrow(self.number(1)?),
            2 => narrow(self.number(2)?),
            _ => None,
        }
    }

    /// `YYYY-M-D`, `YYYY/M/D` (one or two digits each) or `YYYYMMDD`.
    fn date(&mut self) -> Option<(i16, i8, i8)> {
        let year = i16::try_from(self.number(4)?).ok()?;
        for separator in [b'-', b'/'] {
            if self.eat(separator) {
                let month = self.short_number()?;
                if !self.eat(separator) {
                    return None;
                }
                return Some((year, month, self.short_number()?));
            }
        }
        Some((year, narrow(self.number(2)?)?, narrow(self.number(2)?)?))
    }

    /// The optional time after the date: `(hour, minute, second, nanoseconds)`.
    fn time(&mut self) -> Option<(i8, i8, i8, i32)> {
        let t = self.eat(b'T') || self.eat(b't');
        let spaced = !t && self.skip_spaces();
        if !self.peek().is_some_and(|b| b.is_ascii_digit()) {
            // `T` needs a time; spaces may lead to a zone instead.
            return (!t).then_some((0, 0, 0, 0));
        }
        if !t && !spaced {
            return None;
        }
        let hour = narrow(self.number(2)?)?;
        let extended = self.peek() == Some(b':');
        let field = |cursor: &mut Self| -> Option<Option<i8>> {
            if extended {
                if !cursor.eat(b':') {
                    return Some(None);
                }
            } else if cursor.digit_count() == 0 {
                return Some(None);
            }
            Some(Some(narrow(cursor.number(2)?)?))
        };
        let Some(minute) = field(self)? else {
            return Some((hour, 0, 0, 0));
        };
        let Some(second) = field(self)? else {
            return Some((hour, minute, 0, 0));
        };
        let nanos = if self.eat(b'.') || self.eat(b',') {
            self.fraction()?
        } else {
            0
        };
        Some((hour, minute, second, nanos))
    }

    /// 1 to 9 digits after the decimal mark, as nanoseconds.
    fn fraction(&mut self) -> Option<i32> {
        let n = self.digit_count();
        if !(1..=9).contains(&n) {
            return None;
        }
        let value = self.number(n)?;
        let scale = 10i32.checked_pow(u32::try_from(9 - n).ok()?)?;
        value.checked_mul(scale)
    }

    /// The optional zone, as seconds east of UTC (0 when absent).
    fn zone(&mut self) -> Option<i32> {
        self.skip_spaces();
        let Some(first) = self.peek() else {
            return Some(0);
        };
        if first.eq_ignore_ascii_case(&b'z') {
            self.0 = self.0.get(1..)?;
            return Some(0);
        }
        for name in [&b"UTC"[..], b"GMT"] {
            if self
                .0
                .get(..3)
                .is_some_and(|head| head.eq_ignore_ascii_case(name))
            {
                self.0 = self.0.get(3..)?;
                return Some(0);
            }
        }
        let sign = match first {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        self.0 = self.0.get(1..)?;
        let hours = self.number(2)?;
        let colon = self.eat(b':');
        let minutes = if colon || self.digit_count() > 0 {
            self.number(2)?
        } else {
            0
        };
        Some(sign * (hours * 3600 + minutes * 60))
    }
}

fn narrow(value: i32) -> Option<i8> {
    i8::try_from(value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> String {
        parse_time(text)
            .unwrap_or_else(|e| panic!("{text:?}: {e}"))
            .to_string()
    }

    #[test]
    fn every_accepted_form() {
        for (text, expected) in [
            ("2026-03-01", "2026-03-01T00:00:00Z"),
            ("2026/03/01", "2026-03-01T00:00:00Z"),
            ("2026-3-1", "2026-03-01T00:00:00Z"),
            ("20260301", "2026-03-01T00:00:00Z"),
            ("2026-03-01T10", "2026-03-01T10:00:00Z"),
            ("2026-03-01T10:00", "2026-03-01T10:00:00Z"),
            ("2026-03-01T10:00:00", "2026-03-01T10:00:00Z"),
            ("2026-03-01 10:00", "2026-03-01T10:00:00Z"),
            ("2026-03-01 10:00:00", "2026-03-01T10:00:00Z"),
            ("2026-03-01  10:00:00", "2026-03-01T10:00:00Z"),
            ("2026-03-01T10:00:00Z", "2026-03-01T10:00:00Z"),
            ("2026-03-01t10:00:00z", "2026-03-01T10:00:00Z"),
            ("2026-03-01T10:00:00.250Z", "2026-03-01T10:00:00.25Z"),
            ("2026-03-01T10:00:00,5Z", "2026-03-01T10:00:00.5Z"),
            (
                "2026-03-01T10:00:00.123456789Z",
                "2026-03-01T10:00:00.123456789Z",
            ),
            ("2026-03-01T10:00:00+02:00", "2026-03-01T08:00:00Z"),
            ("2026-03-01T10:00:00-05:30", "2026-03-01T15:30:00Z"),
            ("2026-03-01T10:00:00+0200", "2026-03-01T08:00:00Z"),
            ("2026-03-01T10:00:00+02", "2026-03-01T08:00:00Z"),
            ("2026-03-01T01:00:00+02:00", "2026-02-28T23:00:00Z"),
            ("2026-03-01 10:00:00 +02:00", "2026-03-01T08:00:00Z"),
            ("2026-03-01 10:00 UTC", "2026-03-01T10:00:00Z"),
            ("2026-03-01T10:00:00 gmt", "2026-03-01T10:00:00Z"),
            ("2026-03-01 UTC", "2026-03-01T00:00:00Z"),
            ("20260301T100000Z", "2026-03-01T10:00:00Z"),
            ("20260301T1000Z", "2026-03-01T10:00:00Z"),
            ("20260301T100000", "2026-03-01T10:00:00Z"),
            ("20260301T100000+0100", "2026-03-01T09:00:00Z"),
            // The AWS CLI documentation's own example.
            ("20160129T19:00:00Z", "2016-01-29T19:00:00Z"),
            ("2015-01-08T05:21:42Z", "2015-01-08T05:21:42Z"),
            ("2016-12-31T23:59:60Z", "2016-12-31T23:59:59Z"),
            ("  2026-03-01  ", "2026-03-01T00:00:00Z"),
        ] {
            assert_eq!(utc(text), expected, "{text:?}");
        }
    }

    #[test]
    fn other_text_is_refused_naming_the_accepted_forms() {
        for text in [
            "",
            "yesterday",
            "now",
            "1772359200",
            "2026",
            "2026-03",
            "202603",
            "2026-03-01T",
            "2026-03-01T1",
            "2026-03-01T10:0",
            "2026-03-01T10:00:",
            "2026-03-01T10:00:00.",
            "2026-03-01T10:00:00.1234567890Z",
            "2026-03-01T10:00:00ZZ",
            "2026-03-01T10:00:00 Europe/Paris",
            "2026-03-01T10:00:00+2",
            "2026-03-01X10:00",
            "2026-03/01",
            "2026-003-01",
            "2026-03-01T10:0000",
            "March 1 2026",
            "２０２６-03-01",
            "2026-03-01\u{1b}[31m",
        ] {
            let err = parse_time(text).unwrap_err();
            assert_eq!(err, TimeError::Unrecognised, "{text:?}");
            assert!(err.to_string().contains(ACCEPTED), "{err}");
        }
    }

    #[test]
    fn out_of_range_fields_say_so() {
        for text in [
            "2026-13-01",
            "2026-02-30",
            "2026-03-01T25:00",
            "2026-03-01T24:00:00Z",
            "2026-03-01T10:61",
            "2026-03-01T10:00:00+26:00",
        ] {
            let err = parse_time(text).unwrap_err();
            assert!(
                matches!(err, TimeError::OutOfRange { .. }),
                "{text:?}: {err:?}"
            );
            assert!(err.to_string().contains(ACCEPTED), "{err}");
        }
    }
}
