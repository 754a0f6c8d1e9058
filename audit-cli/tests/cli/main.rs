//! audit-cli integration tests, one binary: every subcommand run as the real `audit` process
//! on real logs (written through `audit_store::LogWriter`), every exit code, tampered logs and
//! hostile text.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod demo;
mod emit;
mod export;
mod fleet;
mod format_1;
mod formats;
mod hostile;
mod hostile_files;
mod init;
mod kinds;
mod legal_hold;
mod manual;
mod proofs;
mod query;
mod report;
mod report_browser;
mod support;
mod tail;
mod usage;
mod verdicts;
mod verify;
