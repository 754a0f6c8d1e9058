//! Integrity primitives over bytes: the RFC 9162 Merkle tree, the per-record chain hash,
//! forward-secure seal keys and signed checkpoints.
//!
//! This crate knows nothing about events or files and depends on no other workspace crate.
