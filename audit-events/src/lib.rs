//! The audit event catalogue and the record envelope.
//!
//! This crate depends on no other workspace crate.
