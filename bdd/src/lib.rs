//! Support code for the cucumber attack scenarios in `tests/attacks.rs`: the catalogue of hostile
//! strings the injection scenarios send, and a scan for things that look like memory addresses.
//!
//! The scenarios themselves (feature files under `features/`, step definitions under
//! `tests/steps/`) drive the real crates and the real `audit` binary; nothing here stands in for
//! any of them. This crate is a test suite: it is never a dependency of another crate, and its
//! library has no dependencies at all, so a change to a crate under attack can never be hidden
//! by a change to this code.

mod hostile;
mod pointer;

pub use hostile::{HOSTILE_PAYLOADS, HostilePayload, hostile_payload};
pub use pointer::find_pointer_like;
