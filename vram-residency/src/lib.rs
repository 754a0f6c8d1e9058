//! Sealing model shards in GPU memory and auditing every VRAM operation.
//!
//! Depends on `audit-logger`, `audit-events` and `input-validation` only.
