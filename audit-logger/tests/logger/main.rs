//! Integration tests of the audit logger over the in-memory sink: concurrency, restarts,
//! floods, writer failures, hostile text, flush and batching, seals and shutdown.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod batching;
mod flood;
mod hostile;
mod lifecycle;
mod local;
mod operator_events;
mod poison;
mod producers;
mod restart;
mod support;
