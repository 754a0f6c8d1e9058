//! Timings of the calls on the logging hot path: `escape_for_log` on clean and hostile text,
//! `unescape_log`, and `validate_identifier`.
//!
//! Each measurement warms up, sizes a batch to take about a millisecond, times 51 batches and
//! reports the median per call. Output lines follow the `BENCH {...}` format that
//! `cargo xtask bench` collects. An optional argument keeps only names containing it.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::borrow::Cow;
use std::hint::black_box;
use std::time::{Duration, Instant};

use input_validation::{MAX_IDENTIFIER_BYTES, escape_for_log, unescape_log, validate_identifier};

const SAMPLES: usize = 51;
const BATCH_TIME: Duration = Duration::from_millis(1);

/// Median nanoseconds per call of `f`.
fn measure(mut f: impl FnMut()) -> f64 {
    let warm_up = Instant::now();
    let mut batch = 0u64;
    while warm_up.elapsed() < BATCH_TIME * 20 {
        f();
        batch += 1;
    }
    let batch = (batch / 20).max(1);
    let mut samples: Vec<f64> = (0..SAMPLES)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..batch {
                f();
            }
            start.elapsed().as_secs_f64() * 1e9 / batch as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[SAMPLES / 2]
}

fn report(filter: Option<&str>, name: &str, target: &str, f: impl FnMut()) {
    if filter.is_some_and(|wanted| !name.contains(wanted)) {
        return;
    }
    let ns = measure(f);
    println!(
        r#"BENCH {{"crate":"input-validation","name":"{name}","value":{ns:.1},"unit":"ns/op","target":"{target}"}}"#
    );
}

/// Clean log text of exactly `len` bytes.
fn clean(len: usize) -> String {
    "pool gpu-worker-7 accepted job 4711 for tenant acme; ".chars().cycle().take(len).collect()
}

/// 1 KiB of text in which every kind of dangerous character occurs, some in ANSI sequences.
fn hostile() -> String {
    let piece = "user\u{1b}[31mred\u{1b}[0m\r\nFAKE\u{202E}txt\u{200B}\\\u{E0041}\0\u{9b}2J ";
    let mut s: String = piece.chars().cycle().take(1024).collect();
    while s.len() > 1024 {
        s.pop();
    }
    s
}

fn main() {
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let filter = filter.as_deref();

    let clean_64 = clean(64);
    let clean_1k = clean(1024);
    let hostile_1k = hostile();
    assert_eq!((clean_64.len(), clean_1k.len()), (64, 1024));
    // "No allocation" is what the target promises: clean text must come back borrowed.
    assert!(matches!(escape_for_log(&clean_64), Cow::Borrowed(_)));
    assert!(matches!(escape_for_log(&clean_1k), Cow::Borrowed(_)));
    let escaped_hostile = escape_for_log(&hostile_1k).into_owned();
    assert_eq!(unescape_log(&escaped_hostile).unwrap(), hostile_1k);

    report(filter, "escape_for_log clean 64 B", "no allocation, < 100 ns", || {
        black_box(escape_for_log(black_box(&clean_64)));
    });
    report(filter, "escape_for_log clean 1 KiB", "no allocation", || {
        black_box(escape_for_log(black_box(&clean_1k)));
    });
    report(filter, "escape_for_log hostile 1 KiB", "", || {
        black_box(escape_for_log(black_box(&hostile_1k)));
    });
    report(filter, "unescape_log hostile 1 KiB (escaped)", "", || {
        black_box(unescape_log(black_box(&escaped_hostile)).ok());
    });
    report(filter, "validate_identifier 23 B", "", || {
        black_box(
            validate_identifier(black_box("pool-gpu-worker-07.east"), MAX_IDENTIFIER_BYTES).ok(),
        );
    });
}
