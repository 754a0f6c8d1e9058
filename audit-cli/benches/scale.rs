//! Scale benchmark: `cargo xtask bench --scale [SIZES]` (not part of CI or of the plain
//! `cargo xtask bench`: it writes gigabytes). For each size (default 10^6, 10^7 and 10^8
//! records) it writes a log through the real store in durable batches, then measures the
//! `audit` binary as a user runs it: open (recovery) time, `prove`, `query` and `verify`, each
//! as a child process whose peak memory (`wait4` resource usage) and bytes read
//! (`/proc/<pid>/io`, read while the exited child is still a zombie) are recorded. Writes a
//! Markdown table to `<target>/bench/scale.md` and prints `BENCH` lines.
//!
//! A size whose log would not fit in the free space of the file system (estimated from the
//! bytes per record of the previous size, and a margin) is skipped, and the table says so.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use audit_events::{AuditEvent, AuditId, Body, Entry, EventKind, EventRecord, Timestamp};
use audit_store::{LogConfig, LogWriter};

/// 2026-11-22T00:00:00Z.
const T0: i64 = 1_795_305_600_000_000_000;
/// Records per durable batch (one `fdatasync` each).
const BATCH: u64 = 1_000;
/// Record times advance by this much (1 000 records per second).
const STEP_NS: i64 = 1_000_000;

fn entry(i: u64) -> Entry {
    let kind = EventKind::ALL[usize::try_from(i).unwrap() % EventKind::ALL.len()];
    let mut id = [0u8; 16];
    id[8..].copy_from_slice(&i.to_be_bytes());
    let mut event = kind.example();
    if let AuditEvent::AuthFailure { attempted_user, .. } = &mut event {
        *attempted_user = Some(format!("user-{:03}", i % 97));
    }
    Entry::new(time_of(i), AuditId(id), Body::Event(EventRecord::new(event)))
}

fn time_of(i: u64) -> Timestamp {
    Timestamp(T0 + i64::try_from(i).unwrap() * STEP_NS)
}

fn config() -> LogConfig {
    LogConfig::new("scale")
}

/// Writes `records` events in durable batches; returns the append rate (records/s).
fn write_log(dir: &Path, records: u64) -> (f64, audit_store::VerifierMaterial) {
    let (mut writer, material) = LogWriter::create(dir, config(), Timestamp(T0)).unwrap();
    let start = Instant::now();
    let mut next = 0;
    let mut entries = Vec::with_capacity(usize::try_from(BATCH).unwrap());
    while next < records {
        let end = (next + BATCH).min(records);
        entries.clear();
        entries.extend((next..end).map(entry));
        writer.append_batch(&entries, time_of(end - 1)).unwrap();
        next = end;
        if next % (records / 10).max(1) == 0 {
            println!(
                "  {next} records, {:.0} records/s",
                next as f64 / start.elapsed().as_secs_f64()
            );
        }
    }
    let rate = records as f64 / start.elapsed().as_secs_f64();
    writer.close(time_of(records)).unwrap();
    (rate, material)
}

/// Bytes of all files in `dir`.
fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().metadata().unwrap().len()).sum()
}

/// Free bytes on the file system holding `dir`.
fn free_bytes(dir: &Path) -> u64 {
    let stat = rustix::fs::statvfs(dir).unwrap();
    stat.f_bavail * stat.f_frsize
}

/// What one run of the `audit` binary cost.
struct Run {
    wall: Duration,
    /// Bytes the process read through read calls (`rchar`).
    rchar: u64,
    /// Bytes the process caused to be fetched from storage (`read_bytes`).
    read_bytes: u64,
}

fn audit() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_audit"));
    command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    command
}

/// Runs `audit ARGS` with output discarded and measures its time and reads. Panics unless it
/// exits 0.
fn run_audit(args: &[&str]) -> Run {
    let start = Instant::now();
    let mut child = audit().args(args).spawn().unwrap();
    let pid = rustix::process::Pid::from_child(&child);
    // Wait for the exit but leave the child a zombie, so its /proc/<pid>/io can still be read.
    rustix::process::waitid(
        rustix::process::WaitId::Pid(pid),
        rustix::process::WaitIdOptions::EXITED | rustix::process::WaitIdOptions::NOWAIT,
    )
    .unwrap();
    let wall = start.elapsed();
    let io = std::fs::read_to_string(format!("/proc/{}/io", child.id())).unwrap_or_default();
    let field = |name: &str| {
        io.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse::<u64>().ok()))
            .unwrap_or(0)
    };
    let status = child.wait().unwrap();
    assert!(status.success(), "audit {args:?}: {status}");
    Run { wall, rchar: field("rchar:"), read_bytes: field("read_bytes:") }
}

/// Peak resident memory of `audit ARGS`, in bytes, as `/usr/bin/time` reports it.
fn peak_memory(args: &[&str], scratch: &Path) -> u64 {
    let out = scratch.join("time.out");
    let status = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&out)
        .arg(env!("CARGO_BIN_EXE_audit"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("/usr/bin/time (Debian package `time`) runs");
    assert!(status.success(), "audit {args:?}: {status}");
    let kib: u64 = std::fs::read_to_string(&out).unwrap().trim().parse().unwrap();
    kib * 1024
}

/// Wall time of `audit ARGS` held to the first core (`taskset -c 0`), if taskset is there.
fn one_core_wall(args: &[&str]) -> Option<Duration> {
    let start = Instant::now();
    let status = Command::new("taskset")
        .args(["-c", "0"])
        .arg(env!("CARGO_BIN_EXE_audit"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()?;
    assert!(status.success(), "audit {args:?}: {status}");
    Some(start.elapsed())
}

/// The median run (by wall time) of `runs` runs after one warm-up.
fn median(args: &[&str], runs: usize) -> Run {
    run_audit(args);
    let mut all: Vec<Run> = (0..runs).map(|_| run_audit(args)).collect();
    all.sort_by_key(|r| r.wall);
    all.swap_remove(runs / 2)
}

fn report(size: u64, name: &str, value: f64, unit: &str, target: &str) {
    println!(
        "BENCH {{\"crate\":\"audit-cli\",\"name\":\"scale 10^{}: {name}\",\"value\":{value:.3},\"unit\":\"{unit}\",\"target\":\"{target}\"}}",
        size.ilog10()
    );
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / 1_048_576.0)
}

/// One column of the table.
struct Column {
    size: u64,
    /// Bytes of the log directory.
    bytes: u64,
    cells: Vec<String>,
}

const ROWS: &[&str] = &[
    "durable append (batches of 1 000)",
    "bytes on disk per record",
    "open after a clean close, `LogWriter::open`",
    "open after a crash (recovery), `LogWriter::open`",
    "`audit prove --seq n/2`: time",
    "`audit prove`: bytes read (read calls / from storage)",
    "`audit query --actor X --limit 10`: time",
    "`audit query --actor X --limit 10`: peak memory",
    "`audit query --limit 10 --reverse`: time / peak memory",
    "`audit query --actor X` (every hit): peak memory",
    "`audit verify` with the verifier material",
    "`audit verify`, held to one core (`taskset -c 0`)",
    "`audit verify`: peak memory",
];

fn measure(root: &Path, size: u64) -> Column {
    let dir = root.join(format!("log-{size}"));
    let material_path = root.join(format!("log-{size}.material"));
    println!("scale: writing {size} records to {}", dir.display());
    let (append_rate, material) = write_log(&dir, size);
    std::fs::write(&material_path, material.to_text().as_bytes()).unwrap();
    report(size, "durable append", append_rate, "records/s", "within 10% of 10^6");
    let bytes = dir_bytes(&dir);
    let per_record = bytes as f64 / size as f64;
    report(size, "bytes on disk per record", per_record, "B", "");

    // Open after a clean close, and after a crash: each round reopens the closed log, appends
    // one batch and drops the writer without closing it (the batch is durable, the resume note
    // may be up to 1 MiB behind), then reopens and closes it.
    let (mut opens, mut crash_opens) = (Vec::new(), Vec::new());
    for k in 0..5 {
        let now = time_of(size + 2_000 * (k + 1));
        let start = Instant::now();
        let mut writer = LogWriter::open(&dir, config(), now).unwrap();
        opens.push(start.elapsed());
        let batch: Vec<Entry> = (size + BATCH * k..size + BATCH * (k + 1)).map(entry).collect();
        writer.append_batch(&batch, now).unwrap();
        drop(writer);
        let start = Instant::now();
        let writer = LogWriter::open(&dir, config(), now).unwrap();
        crash_opens.push(start.elapsed());
        writer.close(now).unwrap();
    }
    opens.sort();
    crash_opens.sort();
    let open = opens[opens.len() / 2];
    let crash_open = crash_opens[crash_opens.len() / 2];
    report(size, "open after a clean close", open.as_secs_f64() * 1e3, "ms", "< 100 ms");
    report(size, "open after a crash", crash_open.as_secs_f64() * 1e3, "ms", "< 100 ms");

    let d = dir.to_str().unwrap();
    let seq = (size / 2).to_string();
    let prove = median(&["prove", d, "--seq", &seq], 3);
    report(size, "audit prove", prove.wall.as_secs_f64() * 1e3, "ms", "< 10 ms");
    report(size, "audit prove bytes read", prove.rchar as f64, "B", "O(log n)");
    let actor_args = ["query", d, "--actor", "user-042", "--limit", "10"];
    let actor = median(&actor_args, 3);
    let actor_rss = peak_memory(&actor_args, root);
    report(size, "audit query --actor --limit 10", actor.wall.as_secs_f64() * 1e3, "ms", "");
    report(
        size,
        "audit query --actor --limit 10 peak memory",
        actor_rss as f64 / 1_048_576.0,
        "MiB",
        "< 64 MiB",
    );
    let newest_args = ["query", d, "--limit", "10", "--reverse"];
    let newest = median(&newest_args, 3);
    let newest_rss = peak_memory(&newest_args, root);
    report(
        size,
        "audit query --limit 10 --reverse peak memory",
        newest_rss as f64 / 1_048_576.0,
        "MiB",
        "< 64 MiB",
    );
    let every_rss = peak_memory(&["query", d, "--actor", "user-042"], root);
    report(
        size,
        "audit query --actor (every hit) peak memory",
        every_rss as f64 / 1_048_576.0,
        "MiB",
        "",
    );
    let key = material_path.to_str().unwrap();
    let verify_args = ["verify", d, "--verification-key", key];
    let verify = median(&verify_args, 1);
    let one_core = one_core_wall(&verify_args);
    let verify_rss = peak_memory(&verify_args, root);
    let records = size as f64;
    report(
        size,
        "audit verify",
        records / verify.wall.as_secs_f64(),
        "records/s",
        ">= 2M records/s",
    );

    let cells = vec![
        format!("{append_rate:.0} records/s"),
        format!("{per_record:.1} B"),
        format!("{:.1} ms", open.as_secs_f64() * 1e3),
        format!("{:.1} ms", crash_open.as_secs_f64() * 1e3),
        format!("{:.1} ms", prove.wall.as_secs_f64() * 1e3),
        format!("{} / {}", mib(prove.rchar), mib(prove.read_bytes)),
        format!("{:.1} ms", actor.wall.as_secs_f64() * 1e3),
        mib(actor_rss),
        format!("{:.1} ms / {}", newest.wall.as_secs_f64() * 1e3, mib(newest_rss)),
        mib(every_rss),
        format!("{:.0} records/s", records / verify.wall.as_secs_f64()),
        one_core.map_or_else(
            || "taskset not found".to_owned(),
            |t| format!("{:.0} records/s", records / t.as_secs_f64()),
        ),
        mib(verify_rss),
    ];
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_file(&material_path).unwrap();
    Column { size, bytes, cells }
}

/// `1e6`, `1000000`, `10^7`.
fn parse_size(text: &str) -> u64 {
    let text = text.trim();
    if let Some((m, e)) = text.split_once(['e', 'E']).or_else(|| {
        text.split_once("^").map(|(b, e)| {
            assert_eq!(b, "10", "sizes are 1eN, 10^N or plain numbers");
            ("1", e)
        })
    }) {
        let m: u64 = m.parse().unwrap();
        return m * 10u64.pow(e.parse().unwrap());
    }
    text.parse().unwrap()
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("{cpu}, {cores} cores")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(at) = args.iter().position(|a| a == "--scale") else {
        println!("scale benchmark skipped: run it with `cargo xtask bench --scale [SIZES]`");
        return;
    };
    let sizes: Vec<u64> = match args.get(at + 1).filter(|a| !a.starts_with("--")) {
        Some(list) => list.split(',').map(parse_size).collect(),
        None => vec![1_000_000, 10_000_000, 100_000_000],
    };
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap().to_owned();
    let root: PathBuf = target.join("bench").join("scale-logs");
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let mut columns = Vec::new();
    let mut skipped = Vec::new();
    let mut per_record: u64 = 400;
    for size in sizes {
        let need = size.saturating_mul(per_record) / 5 * 6;
        let free = free_bytes(&root);
        if need > free {
            println!(
                "scale: 10^{} records need about {}, {} free: skipped",
                size.ilog10(),
                mib(need),
                mib(free)
            );
            skipped.push(format!(
                "{size} records (about {} needed, {} free)",
                mib(need),
                mib(free)
            ));
            continue;
        }
        let column = measure(&root, size);
        per_record = column.bytes.div_ceil(size);
        columns.push(column);
    }
    let _ = std::fs::remove_dir_all(&root);
    let mut md = String::new();
    let _ = writeln!(md, "# Scale benchmark\n");
    let _ = writeln!(
        md,
        "- command: `cargo xtask bench --scale {}`",
        args.get(at + 1).map_or("", |s| s.as_str())
    );
    let _ = writeln!(md, "- machine: {}", machine());
    for s in &skipped {
        let _ = writeln!(md, "- not measured, not enough free disk: {s}");
    }
    let _ = write!(md, "\n| |");
    for c in &columns {
        let _ = write!(md, " 10^{} records |", c.size.ilog10());
    }
    let _ = write!(md, "\n|---|");
    for _ in &columns {
        let _ = write!(md, "---:|");
    }
    let _ = writeln!(md);
    for (r, row) in ROWS.iter().enumerate() {
        let _ = write!(md, "| {row} |");
        for c in &columns {
            let _ = write!(md, " {} |", c.cells[r]);
        }
        let _ = writeln!(md);
    }
    let out = target.join("bench").join("scale.md");
    std::fs::write(&out, &md).unwrap();
    println!("{md}");
    println!("wrote {}", out.display());
}
