//! Test tooling for the workspace's tests, benchmarks and bdd scenarios; a dev-dependency only
//! (`publish = false`), never a dependency of a production crate (`cargo xtask layering`).
//!
//! - [`fixture`]: the one log fixture (clock, configuration, entries of every kind).
//! - [`FaultyIo`]: a disk that fails syncs, fills up or tears a write on command.
//! - [`CrashIo`]: the crash images a power cut may leave at each durability point.
//! - [`forge`]: what an intruder who has read FORMAT.md writes into a log directory.
//! - [`trace::Capture`]: a `tracing` subscriber that keeps every event, for the operator events.
//! - [`tamper`]: rewriting a whole log with recomputed hashes (in `audit-store` behind its
//!   `test-support` feature, since it needs the store's internals).
//! - [`MemorySink`]: an in-memory log for the logger (in `audit-logger` behind its
//!   `test-support` feature, since it plugs into the writer's sink seam).
//!
//! Helpers panic on a failed step: they exist to make tests fail, and a panic names the step.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod crash;
mod faulty;
pub mod fixture;
pub mod forge;
pub mod trace;

pub use audit_logger::testing::{AppendHold, MemorySink};
pub use audit_store::tamper;
pub use crash::CrashIo;
pub use faulty::FaultyIo;
