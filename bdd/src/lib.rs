//! Support code for the cucumber attack scenarios in `tests/attacks.rs`.
