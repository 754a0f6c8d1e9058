//! Benchmarks of `audit-chain` for `cargo xtask bench`: leaf hashing, tree appends, proof
//! generation and verification at 10^6 and 10^8 leaves (in memory), seals and checkpoint
//! signatures. Set `AUDIT_BENCH_SMALL=1` to skip the 10^8-leaf tree (it needs about 6.4 GB).
//!
//! Each measurement prints one `BENCH {json}` line on standard output.

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::cast_possible_truncation)]

use std::hint::black_box;
use std::time::Instant;

use audit_chain::{
    Checkpoint, CompactTree, Hash, LeafHashes, MemoryTree, NoteSigner, SealInput, SealKey,
    consistency_proof, inclusion_proof, leaf_hash, open_checkpoint, sign_checkpoint,
    verify_consistency, verify_inclusion,
};

fn report(name: &str, value: f64, unit: &str) {
    println!(
        "BENCH {{\"crate\":\"audit-chain\",\"name\":\"{name}\",\"value\":{value:.3},\"unit\":\"{unit}\",\"target\":\"\"}}"
    );
}

/// Median nanoseconds per call of `f` over `samples` batches of `batch` calls, after one
/// warm-up batch. `f` gets a running counter to vary its input.
fn ns_per_op(samples: usize, batch: u64, mut f: impl FnMut(u64)) -> f64 {
    let mut counter = 0u64;
    for _ in 0..batch {
        f(counter);
        counter += 1;
    }
    let mut times: Vec<f64> = (0..samples)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..batch {
                f(counter);
                counter += 1;
            }
            start.elapsed().as_nanos() as f64 / batch as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// A deterministic pseudo-random sequence (xorshift64*), for proof indices.
fn mix(mut x: u64) -> u64 {
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    x.wrapping_mul(0x2545_f491_4f6c_dd1d)
}

fn bench_hashing() {
    let records: Vec<[u8; 256]> = (0..1024u32)
        .map(|i| {
            let mut r = [0u8; 256];
            for (j, b) in r.iter_mut().enumerate() {
                *b = (i as usize * 31 + j) as u8;
            }
            r
        })
        .collect();
    let ns = ns_per_op(15, 100_000, |i| {
        black_box(leaf_hash(black_box(&records[(i % 1024) as usize])));
    });
    report("leaf_hash_256B_records", 1e9 / ns, "hashes/s");

    let leaves: Vec<Hash> = (0..1_000_000u64).map(|i| leaf_hash(&i.to_be_bytes())).collect();
    let mut times = Vec::new();
    for _ in 0..7 {
        let mut tree = CompactTree::new();
        let start = Instant::now();
        for leaf in &leaves {
            tree.push(*leaf);
        }
        black_box(tree.root());
        times.push(start.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    report("compact_tree_append", leaves.len() as f64 / times[times.len() / 2], "appends/s");
    let mut tree = CompactTree::new();
    for leaf in &leaves {
        tree.push(*leaf);
    }
    let ns = ns_per_op(15, 100_000, |_| {
        black_box(black_box(&tree).root());
    });
    report("compact_tree_root_1e6", ns / 1e3, "us");
}

fn bench_proofs(size: u64, label: &str) {
    let start = Instant::now();
    let mut tree = MemoryTree::with_capacity(size);
    for i in 0..size {
        tree.push(leaf_hash(&i.to_be_bytes()));
    }
    let root = tree.root();
    report(&format!("memory_tree_build_{label}"), start.elapsed().as_secs_f64(), "s");

    let ns = ns_per_op(15, 20_000, |i| {
        black_box(inclusion_proof(&tree, mix(i + 1) % size, size).unwrap());
    });
    report(&format!("inclusion_proof_generate_{label}"), ns / 1e3, "us");
    let proofs: Vec<_> = (0..1024u64)
        .map(|i| {
            let index = mix(i + 7) % size;
            (tree.leaf_hash(index).unwrap(), inclusion_proof(&tree, index, size).unwrap())
        })
        .collect();
    let ns = ns_per_op(15, 20_000, |i| {
        let (leaf, proof) = &proofs[(i % 1024) as usize];
        verify_inclusion(leaf, proof, &root).unwrap();
    });
    report(&format!("inclusion_proof_verify_{label}"), ns / 1e3, "us");
    let longest = proofs.iter().map(|(_, p)| p.path.len()).max().unwrap_or(0);
    report(&format!("inclusion_proof_max_bytes_{label}"), (32 * longest) as f64, "bytes");

    let ns = ns_per_op(15, 20_000, |i| {
        black_box(consistency_proof(&tree, 1 + mix(i + 3) % (size - 1), size).unwrap());
    });
    report(&format!("consistency_proof_generate_{label}"), ns / 1e3, "us");
    let proofs: Vec<_> = (0..256u64)
        .map(|i| {
            let old = 1 + mix(i + 11) % (size - 1);
            let old_root = audit_chain::root_at(&tree, old).unwrap();
            (old_root, consistency_proof(&tree, old, size).unwrap())
        })
        .collect();
    let ns = ns_per_op(15, 20_000, |i| {
        let (old_root, proof) = &proofs[(i % 256) as usize];
        verify_consistency(proof, old_root, &root).unwrap();
    });
    report(&format!("consistency_proof_verify_{label}"), ns / 1e3, "us");
    let longest = proofs.iter().map(|(_, p)| p.path.len()).max().unwrap_or(0);
    report(&format!("consistency_proof_max_bytes_{label}"), (32 * longest) as f64, "bytes");
}

fn bench_seals() {
    let initial = SealKey::from_initial([7; 32]);
    let key = initial.seek(1_000_000).unwrap();
    let input = SealInput {
        epoch: 1_000_000,
        tree_size: 123_456,
        root: [1; 32],
        last_chain: [2; 32],
        time_ns: 1_700_000_000_000_000_000,
    };
    let ns = ns_per_op(15, 50_000, |_| {
        black_box(key.seal(black_box(&input)).unwrap());
    });
    report("seal", ns / 1e3, "us");
    let tag = key.seal(&input).unwrap();
    let ns = ns_per_op(15, 50_000, |_| {
        key.verify(black_box(&input), black_box(&tag)).unwrap();
    });
    report("seal_verify", ns / 1e3, "us");
    let mut evolving = initial.seek(0).unwrap();
    let ns = ns_per_op(15, 50_000, |_| {
        evolving.evolve().unwrap();
    });
    report("seal_key_evolve", ns / 1e3, "us");
    let ns = ns_per_op(15, 2_000, |i| {
        black_box(initial.seek(mix(i + 1) % (1 << 40)).unwrap());
    });
    report("seal_key_seek_from_initial", ns / 1e3, "us");
}

fn bench_checkpoints() {
    let signer = NoteSigner::from_seed("audit.example/log", [3; 32]).unwrap();
    let verifier = signer.verifier();
    let cp = Checkpoint {
        origin: "audit.example/log".to_owned(),
        size: 123_456_789,
        root: leaf_hash(b"root"),
        extensions: Vec::new(),
    };
    let ns = ns_per_op(15, 2_000, |_| {
        black_box(sign_checkpoint(black_box(&cp), &signer).unwrap());
    });
    report("checkpoint_sign", ns / 1e3, "us");
    let note = sign_checkpoint(&cp, &signer).unwrap();
    let ns = ns_per_op(15, 2_000, |_| {
        black_box(open_checkpoint(black_box(&note), &verifier).unwrap());
    });
    report("checkpoint_open_verify", ns / 1e3, "us");
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported by this harness.
    bench_hashing();
    bench_seals();
    bench_checkpoints();
    bench_proofs(1_000_000, "1e6");
    if std::env::var_os("AUDIT_BENCH_SMALL").is_none_or(|v| v.is_empty() || v == "0") {
        bench_proofs(100_000_000, "1e8");
    }
}
