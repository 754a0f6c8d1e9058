//! Field visitors: reach every text field and every list of an event without a hand-written list
//! of fields that could fall out of date.
//!
//! The event catalogue macro calls [`Visit`] on every field of every variant, so a new field is
//! visited as soon as it exists; the type decides what is inside.

use std::fmt;
use std::net::IpAddr;

use crate::ids::Timestamp;
use crate::secrets::{Digest, PromptDigest, TokenFingerprint};
use crate::types::{Actor, AuthMethod, FieldChange, Outcome, Resource, RiskScore, Severity};

/// Which bound applies to a text field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextClass {
    /// An identifier: a field whose name ends in `_id`, or `model_ref`, `attempted_user`,
    /// `requester`, `subject`. Bound: [`crate::MAX_IDENTIFIER_BYTES`].
    Identifier,
    /// Free text (reasons, paths, details...). Bound: [`crate::MAX_TEXT_BYTES`].
    Text,
}

impl TextClass {
    /// The class of a field, from its name.
    pub fn of_field(name: &str) -> Self {
        let identifier = name.ends_with("_id")
            || matches!(name, "model_ref" | "attempted_user" | "requester" | "subject");
        if identifier { Self::Identifier } else { Self::Text }
    }

    /// The byte bound for this class.
    pub const fn max_bytes(self) -> usize {
        match self {
            Self::Identifier => crate::bounds::MAX_IDENTIFIER_BYTES,
            Self::Text => crate::bounds::MAX_TEXT_BYTES,
        }
    }
}

/// One step of a field path: a field name and, for list items, the item's index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Step {
    name: &'static str,
    index: Option<usize>,
}

/// Where a field sits in an event, e.g. `actor.user_id`, `changes[2].old`, `scope[0]`.
///
/// Lives on the stack (no allocation while visiting); render it with `to_string()` only when a
/// field actually changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldPath {
    steps: [Step; Self::MAX_DEPTH],
    len: usize,
}

impl FieldPath {
    /// Deeper than any field of the catalogue (the deepest today is 2).
    const MAX_DEPTH: usize = 4;

    /// A top-level field.
    pub const fn root(name: &'static str) -> Self {
        let empty = Step { name: "", index: None };
        let mut steps = [empty; Self::MAX_DEPTH];
        steps[0].name = name;
        Self { steps, len: 1 }
    }

    /// A field of the struct at this path.
    #[must_use]
    pub const fn field(mut self, name: &'static str) -> Self {
        if self.len < Self::MAX_DEPTH {
            self.steps[self.len] = Step { name, index: None };
            self.len += 1;
        }
        self
    }

    /// Item `index` of the list at this path.
    #[must_use]
    pub const fn item(mut self, index: usize) -> Self {
        if self.len > 0 {
            self.steps[self.len - 1].index = Some(index);
        }
        self
    }

    /// The name of the innermost field.
    pub const fn leaf_name(&self) -> &'static str {
        if self.len == 0 { "" } else { self.steps[self.len - 1].name }
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.steps[..self.len].iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            f.write_str(step.name)?;
            if let Some(index) = step.index {
                write!(f, "[{index}]")?;
            }
        }
        Ok(())
    }
}

/// The callback type for text fields: path, class, and the text to read or rewrite.
pub type TextVisitor<'a> = dyn FnMut(&FieldPath, TextClass, &mut String) + 'a;

/// Implemented by every type that can appear in an event field.
pub(crate) trait Visit {
    /// Calls `f` on every text field inside `self`.
    fn visit_text(&mut self, _path: FieldPath, _f: &mut TextVisitor<'_>) {}
    /// Cuts every list inside `self` to `max_items`, reporting each list that was cut.
    fn bound_lists(&mut self, _path: FieldPath, _max_items: usize, _cut: &mut Vec<String>) {}
}

impl Visit for String {
    fn visit_text(&mut self, path: FieldPath, f: &mut TextVisitor<'_>) {
        f(&path, TextClass::of_field(path.leaf_name()), self);
    }
}

impl<T: Visit> Visit for Option<T> {
    fn visit_text(&mut self, path: FieldPath, f: &mut TextVisitor<'_>) {
        if let Some(inner) = self {
            inner.visit_text(path, f);
        }
    }
    fn bound_lists(&mut self, path: FieldPath, max_items: usize, cut: &mut Vec<String>) {
        if let Some(inner) = self {
            inner.bound_lists(path, max_items, cut);
        }
    }
}

impl<T: Visit> Visit for Vec<T> {
    fn visit_text(&mut self, path: FieldPath, f: &mut TextVisitor<'_>) {
        for (i, item) in self.iter_mut().enumerate() {
            item.visit_text(path.item(i), f);
        }
    }
    fn bound_lists(&mut self, path: FieldPath, max_items: usize, cut: &mut Vec<String>) {
        if self.len() > max_items {
            self.truncate(max_items);
            cut.push(path.to_string());
        }
        for (i, item) in self.iter_mut().enumerate() {
            item.bound_lists(path.item(i), max_items, cut);
        }
    }
}

impl Visit for Actor {
    fn visit_text(&mut self, path: FieldPath, f: &mut TextVisitor<'_>) {
        self.user_id.visit_text(path.field("user_id"), f);
        self.session_id.visit_text(path.field("session_id"), f);
    }
}

impl Visit for Resource {
    fn visit_text(&mut self, path: FieldPath, f: &mut TextVisitor<'_>) {
        self.resource_type.visit_text(path.field("resource_type"), f);
        self.resource_id.visit_text(path.field("resource_id"), f);
        self.parent_id.visit_text(path.field("parent_id"), f);
    }
}

impl Visit for Outcome {
    fn visit_text(&mut self, path: FieldPath, f: &mut TextVisitor<'_>) {
        match self {
            Outcome::Success => {}
            Outcome::Failure { reason } => reason.visit_text(path.field("reason"), f),
            Outcome::PartialSuccess { details } => details.visit_text(path.field("details"), f),
        }
    }
}

impl Visit for FieldChange {
    fn visit_text(&mut self, path: FieldPath, f: &mut TextVisitor<'_>) {
        self.field.visit_text(path.field("field"), f);
        self.old.visit_text(path.field("old"), f);
        self.new.visit_text(path.field("new"), f);
    }
}

/// Types with no text and no list inside.
macro_rules! no_text {
    ($($ty:ty),*) => { $(impl Visit for $ty {})* };
}
no_text!(
    u32,
    u64,
    IpAddr,
    Timestamp,
    Digest,
    TokenFingerprint,
    PromptDigest,
    Severity,
    AuthMethod,
    RiskScore
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_render_like_field_access() {
        assert_eq!(FieldPath::root("reason").to_string(), "reason");
        assert_eq!(FieldPath::root("actor").field("user_id").to_string(), "actor.user_id");
        assert_eq!(FieldPath::root("changes").item(2).field("old").to_string(), "changes[2].old");
        assert_eq!(FieldPath::root("scope").item(0).to_string(), "scope[0]");
    }

    #[test]
    fn classes_follow_field_names() {
        assert_eq!(TextClass::of_field("pool_id"), TextClass::Identifier);
        assert_eq!(TextClass::of_field("model_ref"), TextClass::Identifier);
        assert_eq!(TextClass::of_field("reason"), TextClass::Text);
        assert_eq!(TextClass::of_field("path"), TextClass::Text);
    }
}
