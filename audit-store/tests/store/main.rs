//! audit-store integration tests, one binary: lifecycle, tampering, crash recovery, query,
//! proofs, retention. Every log here is written through the real writer on a real filesystem.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod attack;
mod crash_images;
mod hostile_files;
mod index_forgery;
mod intruder;
mod lifecycle;
mod operator_events;
mod proofs;
mod query;
mod recovery;
mod resume;
mod retention;
mod support;
mod tamper_matrix;
mod tiles;
