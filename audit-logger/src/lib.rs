//! The non-blocking audit logger facade that services call.
//!
//! Depends on `audit-store`, `audit-events` and `input-validation` only.
