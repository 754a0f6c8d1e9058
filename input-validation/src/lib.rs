//! Validators for untrusted input, reversible escaping of hostile text for the audit log, and safe
//! display of log content on a terminal.
//!
//! This crate depends on no other workspace crate.
