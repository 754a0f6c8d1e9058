//! The append-only segmented audit log on disk.
//!
//! Depends on `audit-events` and `audit-chain` only.
