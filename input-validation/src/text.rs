//! Free text: prompts, and the strict sanitiser for text that must hold no dangerous character.

use std::fmt;

use crate::dangerous::is_dangerous;
use crate::error::ValidationError;
use crate::newtype::{show_text, validated_text};

validated_text! {
    /// Text that contains no dangerous character ([`is_dangerous`]).
    SanitizedString
}
show_text!(SanitizedString);

validated_text! {
    /// A validated prompt. Its text is reachable through `Deref`, [`as_str`](Self::as_str) and
    /// [`into_inner`](Self::into_inner) only: `Debug` and `Display` show its length, never its
    /// content, because prompt text must not reach logs or error reports.
    Prompt
}

impl fmt::Debug for Prompt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Prompt").field("len_bytes", &self.0.len()).finish_non_exhaustive()
    }
}

impl fmt::Display for Prompt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<prompt of {} bytes>", self.0.len())
    }
}

/// Accepts text only if it contains no dangerous character at all (not even tab or newline).
///
/// This is the strict counterpart of [`escape_for_log`](crate::escape_for_log): use it where
/// hostile text must be refused rather than recorded. It does not limit length; apply the
/// field's own bound. The empty string is accepted. The backslash is not dangerous and is
/// accepted.
///
/// # Errors
///
/// [`DangerousCharacter`](ValidationError::DangerousCharacter) for the first one found.
pub fn sanitize_string(s: &str) -> Result<SanitizedString, ValidationError> {
    match s.char_indices().find(|&(_, c)| is_dangerous(c)) {
        Some((position, c)) => {
            Err(ValidationError::DangerousCharacter { code_point: c.into(), position })
        }
        None => Ok(SanitizedString(s.to_owned())),
    }
}

/// Validates a prompt for a model: non-empty, at most `max_len` bytes
/// ([`MAX_PROMPT_BYTES`](crate::MAX_PROMPT_BYTES) is the usual limit), and free of every
/// dangerous character except tab, line feed and carriage return, which prompts use for layout.
///
/// NUL, ESC and the other controls, bidi controls, zero-width and tag characters are rejected:
/// invisible characters are how hidden instructions get smuggled into a prompt (tag characters
/// spell ASCII that no reviewer sees). Note that this also rejects the zero width joiner used
/// in some emoji sequences and scripts.
///
/// # Errors
///
/// [`Empty`](ValidationError::Empty), [`TooLong`](ValidationError::TooLong),
/// [`DangerousCharacter`](ValidationError::DangerousCharacter). The error never contains the
/// prompt's text.
pub fn validate_prompt(s: &str, max_len: usize) -> Result<Prompt, ValidationError> {
    if s.is_empty() {
        return Err(ValidationError::Empty);
    }
    if s.len() > max_len {
        return Err(ValidationError::TooLong { len: s.len(), max: max_len });
    }
    let layout = |c: char| matches!(c, '\t' | '\n' | '\r');
    match s.char_indices().find(|&(_, c)| is_dangerous(c) && !layout(c)) {
        Some((position, c)) => {
            Err(ValidationError::DangerousCharacter { code_point: c.into(), position })
        }
        None => Ok(Prompt(s.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MAX_PROMPT_BYTES;

    #[test]
    fn sanitize_accepts_clean_text_and_rejects_each_dangerous_kind() {
        for s in ["", "plain", "caf\u{e9} \u{4e2d}\u{6587}", r"back\slash", "\u{1F600}"] {
            assert_eq!(sanitize_string(s).map(SanitizedString::into_inner).as_deref(), Ok(s));
        }
        for c in ['\0', '\t', '\n', '\r', '\u{1b}', '\u{7f}', '\u{9b}', '\u{61c}', '\u{200d}']
            .into_iter()
            .chain(['\u{200e}', '\u{2028}', '\u{202e}', '\u{2060}', '\u{2069}', '\u{feff}'])
            .chain(['\u{fff9}', '\u{e0001}', '\u{e007f}'])
        {
            assert_eq!(
                sanitize_string(&format!("ab{c}")),
                Err(ValidationError::DangerousCharacter { code_point: c.into(), position: 2 })
            );
        }
    }

    #[test]
    fn prompts_keep_layout_characters_and_refuse_hidden_ones() {
        let text = "Summarise:\n\tline one\r\nline two \u{4e2d}\u{6587}";
        assert_eq!(validate_prompt(text, MAX_PROMPT_BYTES).unwrap().as_str(), text);
        for c in
            ['\0', '\u{1b}', '\u{7}', '\u{85}', '\u{202e}', '\u{2066}', '\u{200b}', '\u{e0049}']
        {
            assert_eq!(
                validate_prompt(&format!("hi{c}"), MAX_PROMPT_BYTES),
                Err(ValidationError::DangerousCharacter { code_point: c.into(), position: 2 })
            );
        }
    }

    #[test]
    fn prompt_length_is_in_bytes() {
        assert_eq!(validate_prompt("", 10), Err(ValidationError::Empty));
        assert!(validate_prompt("\u{e9}\u{e9}", 4).is_ok());
        assert_eq!(
            validate_prompt("\u{e9}\u{e9}\u{e9}", 4),
            Err(ValidationError::TooLong { len: 6, max: 4 })
        );
    }

    #[test]
    fn a_prompt_never_prints_its_text() {
        let prompt = validate_prompt("secret plan", 100).unwrap();
        assert_eq!(format!("{prompt:?}"), "Prompt { len_bytes: 11, .. }");
        assert_eq!(prompt.to_string(), "<prompt of 11 bytes>");
        assert_eq!(&*prompt, "secret plan");
    }
}
