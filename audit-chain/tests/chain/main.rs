//! Integration tests of `audit-chain` through its public interface: known-answer vectors vendored
//! in `testdata/vectors/` and property tests with pinned case counts.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

mod cosignature_vectors;
mod merkle_props;
mod merkle_vectors;
mod note_props;
mod note_vectors;
mod seal_props;

use serde_json::Value;

/// Reads a JSON vector file from `testdata/vectors/` at the repository root.
fn vectors(file: &str) -> Value {
    let path = format!("{}/../testdata/vectors/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn unhex(s: &str) -> Vec<u8> {
    base16ct::mixed::decode_vec(s).unwrap()
}

fn unhex32(s: &str) -> [u8; 32] {
    unhex(s).try_into().unwrap()
}

fn hex(bytes: &[u8]) -> String {
    base16ct::lower::encode_string(bytes)
}
