//! The cucumber attack suite: runs every feature under `bdd/features` against the real crates.

fn main() {}
