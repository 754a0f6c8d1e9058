//! The cucumber attack suite: runs every feature under `bdd/features` against the real crates
//! and the real `audit` binary. An undefined or skipped step fails the run, as does any failed
//! step; each scenario works in its own temporary directory, so scenarios may run concurrently.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr
)]

mod steps;

use cucumber::World as _;

use steps::AttackWorld;

fn main() {
    steps::cli::build_audit_binary();
    let features = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("features");
    futures::executor::block_on(
        AttackWorld::cucumber()
            .fail_on_skipped()
            .max_concurrent_scenarios(4)
            .run_and_exit(features),
    );
}
