//! Field bounds and the procedure that applies them.
//!
//! An event over a bound is never dropped: fields are cut (at a boundary chosen by the caller, so
//! an escape sequence is never split) and the record lists every field that was cut.

/// Largest free-text field, in UTF-8 bytes (after escaping).
pub const MAX_TEXT_BYTES: usize = 1024;
/// Largest identifier field, in UTF-8 bytes (after escaping).
pub const MAX_IDENTIFIER_BYTES: usize = 256;
/// Most items in a list field.
pub const MAX_LIST_ITEMS: usize = 64;
/// Largest encoded event (the whole record body), in bytes.
pub const MAX_EVENT_BYTES: usize = 16 * 1024;
/// Largest service id, in UTF-8 bytes.
pub const MAX_SERVICE_ID_BYTES: usize = 128;

/// Cuts `s` to at most `max_bytes` bytes at the last UTF-8 character boundary; the default `cut`
/// for [`crate::AuditEvent::apply_bounds`] when the text holds no escape sequences.
pub fn cut_at_char_boundary(s: &str, max_bytes: usize) -> usize {
    if s.len() <= max_bytes {
        return s.len();
    }
    let mut end = max_bytes;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    end
}

impl crate::AuditEvent {
    /// Applies the field bounds, in order: each text field to its class's byte bound, each list
    /// to [`MAX_LIST_ITEMS`], then, while the encoded event is over [`MAX_EVENT_BYTES`], every
    /// text field to a cap that halves each round. `cut(text, max_bytes)` returns where to cut
    /// (at most `max_bytes`); pass an escape-aware cut for escaped text.
    ///
    /// Returns the paths of every field or list that was cut, each once, in visiting order.
    /// Errors only if the event cannot be brought under the bound (not possible with the
    /// catalogue's fields, checked by a test).
    pub fn apply_bounds(
        &mut self,
        cut: &dyn Fn(&str, usize) -> usize,
    ) -> Result<Vec<String>, crate::EventError> {
        let mut truncated: Vec<String> = Vec::new();
        let note = |truncated: &mut Vec<String>, path: String| {
            if !truncated.contains(&path) {
                truncated.push(path);
            }
        };
        self.for_each_text_mut(&mut |path, class, text| {
            cut_field(text, class.max_bytes(), cut, &mut || note(&mut truncated, path.to_string()));
        });
        for path in self.bound_lists(MAX_LIST_ITEMS) {
            note(&mut truncated, path);
        }
        let mut cap = MAX_TEXT_BYTES;
        while encoded_len(self) > MAX_EVENT_BYTES {
            if cap == 0 {
                return Err(crate::EventError::TooLarge { limit: MAX_EVENT_BYTES });
            }
            cap /= 2;
            self.for_each_text_mut(&mut |path, _, text| {
                cut_field(text, cap, cut, &mut || note(&mut truncated, path.to_string()));
            });
        }
        Ok(truncated)
    }
}

fn cut_field(
    text: &mut String,
    max: usize,
    cut: &dyn Fn(&str, usize) -> usize,
    on_cut: &mut dyn FnMut(),
) {
    if text.len() > max {
        // Never trust the callback to stay in range or on a boundary.
        let mut end = cut(text, max).min(max);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        on_cut();
    }
}

/// The encoded size of an event, without allocating.
pub(crate) fn encoded_len(event: &crate::AuditEvent) -> usize {
    postcard::serialize_with_flavor(event, postcard::ser_flavors::Size::default())
        .unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_never_split_a_character() {
        assert_eq!(cut_at_char_boundary("abc", 10), 3);
        assert_eq!(cut_at_char_boundary("abc", 2), 2);
        // 'é' is two bytes: a cut at 2 would split it.
        assert_eq!(cut_at_char_boundary("aé", 2), 1);
        assert_eq!(cut_at_char_boundary("€", 2), 0);
        assert_eq!(cut_at_char_boundary("", 0), 0);
    }
}
