//! Text from the command line or the evidence, made safe to print.
//!
//! A path or an S3 key is chosen by whoever named the file; printed raw, an
//! escape sequence in it can recolour, move the cursor, retitle or clear a
//! terminal, and a bidirectional override can make a name read differently
//! from what it is ("Trojan Source"). [`escape_control`] spells such
//! characters out so the reader sees what is there.

use std::borrow::Cow;
use std::fmt::Write as _;

/// `s` with every character that controls a terminal or the text's
/// direction written as a Rust-style escape, `\u{1b}`; `s` itself (no
/// copy) when it holds none.
///
/// Escaped: the C0 controls U+0000–U+001F (tab and newline too: the result
/// is one line), DEL U+007F, the C1 controls U+0080–U+009F, the bidi
/// embeddings and overrides U+202A–U+202E, the bidi isolates U+2066–U+2069,
/// the bidi marks U+061C, U+200E, U+200F, and the line and paragraph
/// separators U+2028, U+2029. Everything else, backslashes included, is
/// kept as it is.
#[must_use]
pub fn escape_control(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_control) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_control(c) {
            // Writing to a String cannot fail.
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Whether [`escape_control`] escapes `c`.
fn is_control(c: char) -> bool {
    matches!(
        c,
        '\u{0}'..='\u{1f}'
            | '\u{7f}'..='\u{9f}'
            | '\u{61c}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        for s in [
            "",
            "report.json",
            "/tmp/a b/c\\d",
            "Zürich/日本/😀",
            "~!@#$%^&*()",
        ] {
            assert!(matches!(escape_control(s), Cow::Borrowed(t) if t == s));
        }
    }

    #[test]
    fn terminal_controls_are_spelled_out() {
        assert_eq!(escape_control("a\u{1b}[31mred"), "a\\u{1b}[31mred");
        assert_eq!(escape_control("\0\t\n\r"), "\\u{0}\\u{9}\\u{a}\\u{d}");
        assert_eq!(escape_control("x\u{7f}y"), "x\\u{7f}y");
        // C1: CSI and OSC as single characters.
        assert_eq!(escape_control("\u{9b}2J\u{9d}"), "\\u{9b}2J\\u{9d}");
        assert_eq!(escape_control("\u{80}\u{9f}"), "\\u{80}\\u{9f}");
    }

    #[test]
    fn bidi_overrides_and_isolates_are_spelled_out() {
        assert_eq!(
            escape_control("evil\u{202e}txt.exe"),
            "evil\\u{202e}txt.exe"
        );
        for c in ('\u{202a}'..='\u{202e}').chain('\u{2066}'..='\u{2069}') {
            let escaped = escape_control(&c.to_string()).into_owned();
            assert_eq!(escaped, format!("\\u{{{:x}}}", u32::from(c)));
        }
        assert_eq!(
            escape_control("\u{200e}\u{200f}\u{61c}")
                .matches("\\u{")
                .count(),
            3
        );
    }

    #[test]
    fn neighbours_of_escaped_ranges_are_kept() {
        for c in [
            ' ', '~', '\u{a0}', '\u{2029}', '\u{202f}', '\u{2065}', '\u{206a}',
        ] {
            let s = c.to_string();
            let kept = escape_control(&s) == s.as_str();
            assert_eq!(kept, c != '\u{2029}', "{:x}", u32::from(c));
        }
    }
}
