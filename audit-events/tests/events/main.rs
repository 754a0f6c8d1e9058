//! The audit-events integration tests, one binary: encoding, visitor and bounds, JSON, properties.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod encoding;
mod json;
mod properties;
mod support;
mod visitor;
