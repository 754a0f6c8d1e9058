//! The world every scenario runs in, the helpers the step modules share (a real logger over a
//! temporary log directory, the verifier material kept outside it, runs of the real `audit`
//! binary and checks on what it prints), the steps common to several features, and one step
//! module per feature.

pub(crate) mod cli;
mod crash;
mod flood;
mod forward;
mod hostile;
mod index;
mod injection;
mod recovery_laundering;
mod retention_forgery;
mod sealed_past;
mod secrets;
mod tamper;
mod traversal;
mod verdicts;
mod vram;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use audit_events::{AuditEvent, Body, Record, SystemRecord};
use audit_logger::{AuditConfig, AuditLogger, LoggerStats, ShutdownReport};
use audit_store::{LogReader, StoredRecord, VerifierMaterial};
use audit_testkit::FaultyIo;
use audit_testkit::tamper as store_tamper;
use cucumber::{World, given, then, when};
use input_validation::{display_safe, is_dangerous};

use cli::CliRun;

/// The service id every log of the suite is written for.
pub(crate) const SERVICE_ID: &str = "svc-bdd-1";

/// State of one scenario. Each scenario gets a fresh world, with its own temporary directory:
/// the log lives in `log/` inside it, and the verifier material, which a real deployment keeps
/// off the host, in a file beside it.
#[derive(Debug, World)]
#[world(init = Self::new)]
pub(crate) struct AttackWorld {
    tmp: tempfile::TempDir,
    /// The log directory.
    pub(crate) log: PathBuf,
    /// The verifier material of the log, once it exists.
    pub(crate) material: Option<VerifierMaterial>,
    /// The running logger, shared with a VRAM manager where a scenario has one.
    pub(crate) logger: Option<Arc<AuditLogger>>,
    /// The fault-injection seam the logger writes through, where a scenario installed one.
    pub(crate) io: Option<FaultyIo>,
    /// The logger's counters, read just before it was shut down.
    pub(crate) stats: Option<LoggerStats>,
    /// Where the verifier must say the tampering starts.
    pub(crate) expected: Option<Expected>,
    /// A copy of a signed checkpoint kept off the host.
    pub(crate) held_checkpoint: Option<PathBuf>,
    /// Options the operator adds to every `audit verify` of the scenario.
    pub(crate) verify_extra: Vec<OsString>,
    /// The last bounded run of `hostile_files.feature`.
    pub(crate) hostile_run: Option<CliRun>,
    pub(crate) injection: injection::State,
    pub(crate) tamper: tamper::State,
    pub(crate) traversal: traversal::State,
    pub(crate) flood: flood::State,
    pub(crate) secrets: secrets::State,
    pub(crate) vram: vram::State,
    pub(crate) crash: crash::State,
    pub(crate) forward: forward::State,
    pub(crate) retention: retention_forgery::State,
    pub(crate) recovery: recovery_laundering::State,
    pub(crate) sealed: sealed_past::State,
}

impl AttackWorld {
    fn new() -> Self {
        let tmp = tempfile::tempdir().expect("a temporary directory");
        let log = tmp.path().join("log");
        Self {
            tmp,
            log,
            material: None,
            logger: None,
            io: None,
            stats: None,
            expected: None,
            held_checkpoint: None,
            verify_extra: Vec::new(),
            hostile_run: None,
            injection: injection::State::default(),
            tamper: tamper::State::default(),
            traversal: traversal::State::default(),
            flood: flood::State::default(),
            secrets: secrets::State::default(),
            vram: vram::State::default(),
            crash: crash::State::default(),
            forward: forward::State::default(),
            retention: retention_forgery::State::default(),
            recovery: recovery_laundering::State::default(),
            sealed: sealed_past::State::default(),
        }
    }

    /// The scenario's temporary directory (the log is `log/` inside it).
    pub(crate) fn tmp(&self) -> &Path {
        self.tmp.path()
    }

    /// Where the verifier material is kept: outside the log directory, as it would be kept
    /// off the host.
    pub(crate) fn material_file(&self) -> PathBuf {
        self.tmp().join("material.verifier")
    }

    /// The configuration of a logger writing this scenario's log.
    pub(crate) fn config(&self) -> AuditConfig {
        AuditConfig::local(SERVICE_ID, &self.log)
    }

    /// Starts a logger with `config` (through the fault seam if the scenario installed one),
    /// and keeps the verifier material of a new log in the material file.
    pub(crate) fn start_logger(&mut self, config: AuditConfig) {
        let mut logger = match &self.io {
            Some(io) => AuditLogger::with_io(config, Arc::new(io.clone())),
            None => AuditLogger::new(config),
        }
        .unwrap_or_else(|e| panic!("the logger did not start: {e}"));
        if let Some(material) = logger.take_verifier_material() {
            self.keep_material(material);
        }
        self.logger = Some(Arc::new(logger));
    }

    /// Writes the verifier material to the material file and keeps it.
    pub(crate) fn keep_material(&mut self, material: VerifierMaterial) {
        std::fs::write(self.material_file(), material.to_text().as_bytes()).unwrap();
        self.material = Some(material);
    }

    /// The running logger.
    pub(crate) fn logger(&self) -> &AuditLogger {
        self.logger.as_deref().expect("no logger is running")
    }

    /// Emits one event, which must be accepted.
    pub(crate) fn emit(&self, event: AuditEvent) {
        let kind = event.kind();
        self.logger().emit(event).unwrap_or_else(|e| panic!("{kind} refused: {e}"));
    }

    /// Reads the logger's counters, then shuts it down (drain, seal, close); the shutdown
    /// must succeed and finish in time.
    pub(crate) fn close_logger(&mut self) {
        let report = self.try_close_logger().expect("the logger did not shut down cleanly");
        assert!(report.finished_in_time, "the writer did not finish in time");
    }

    /// [`Self::close_logger`], returning the shutdown's result whatever it is.
    pub(crate) fn try_close_logger(&mut self) -> Result<ShutdownReport, audit_logger::AuditError> {
        let logger = self.logger.take().expect("no logger is running");
        self.stats = Some(logger.stats());
        let logger = Arc::into_inner(logger).expect("the logger is still shared");
        logger.shutdown()
    }

    /// Every record of the log, decoded, in order (read through the store, chain-checked).
    pub(crate) fn records(&self) -> Vec<Record> {
        store_tamper::read_records(&self.log).expect("the log reads back")
    }

    /// Every record of the log as stored: segment, offset, bytes, chain hashes.
    pub(crate) fn stored(&self) -> Vec<StoredRecord> {
        LogReader::open(&self.log)
            .expect("the log opens")
            .records()
            .collect::<Result<_, _>>()
            .expect("the log reads back")
    }

    /// Runs `audit` with `args`.
    pub(crate) fn audit<I, S>(&self, args: I) -> CliRun
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        cli::audit(args.into_iter().map(Into::into).collect::<Vec<OsString>>())
    }

    /// `audit verify <dir> --verification-key <material>`, plus the options the operator
    /// added for the scenario and `extra`.
    pub(crate) fn audit_verify(&self, dir: &Path, extra: &[OsString]) -> CliRun {
        let mut args: Vec<OsString> =
            vec!["verify".into(), dir.into(), "--verification-key".into()];
        args.push(self.material_file().into());
        args.extend(self.verify_extra.iter().cloned());
        args.extend_from_slice(extra);
        self.audit(args)
    }

    /// Sum of the totals of every events-dropped record in the log.
    pub(crate) fn recorded_drops(&self) -> u64 {
        self.records()
            .iter()
            .map(|r| match &r.body {
                Body::System(SystemRecord::EventsDropped { total, .. }) => *total,
                _ => 0,
            })
            .sum()
    }
}

/// Where verification must say the tampering starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Expected {
    /// The segment file the report must name; `None` for a failure found at the end of the
    /// log, where the verifier names only the sequence number.
    pub(crate) segment: Option<String>,
    /// The sequence number the report must name.
    pub(crate) seq: SeqExpect,
}

/// The sequence number verification must name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SeqExpect {
    /// Exactly this one.
    Exact(u64),
    /// One at or before this one: a seal covers every record since the previous seal, so when
    /// every hash was recomputed the verifier can name only the first record the broken seal
    /// covers.
    AtMost(u64),
}

/// The first failure as `audit verify` prints it:
/// `FAIL <segment> offset <n> seq <n> (<kind>): <reason>` or `FAIL log seq <n> (<kind>): ...`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Finding {
    /// The segment file named, if any.
    pub(crate) segment: Option<String>,
    /// The sequence number named, if any.
    pub(crate) seq: Option<u64>,
    /// The failure kind (`chain`, `seal`, `checkpoint`...).
    pub(crate) kind: String,
    /// The whole line.
    pub(crate) line: String,
}

/// Finds the failure line in `audit verify` text output.
pub(crate) fn finding(run: &CliRun) -> Option<Finding> {
    run.stdout.lines().find_map(|line| {
        let rest = line.strip_prefix("FAIL ")?;
        let (head, _reason) = rest.split_once("): ")?;
        let (place, kind) = head.rsplit_once(" (")?;
        let words: Vec<&str> = place.split(' ').collect();
        let segment = words.first().filter(|w| w.starts_with("seg-")).map(|w| (*w).to_owned());
        let seq = words.windows(2).find(|w| w[0] == "seq").and_then(|w| w[1].parse::<u64>().ok());
        Some(Finding { segment, seq, kind: kind.to_owned(), line: line.to_owned() })
    })
}

/// Asserts that `run` is an `audit verify` that found tampering of one of `kinds`, where
/// `expected` says.
pub(crate) fn assert_tamper_found(run: &CliRun, kinds: &[&str], expected: &Expected) {
    assert_eq!(run.code, 1, "{}: expected exit 1\n{}", run.command, run.all_output());
    let found = finding(run)
        .unwrap_or_else(|| panic!("{}: no failure line\n{}", run.command, run.all_output()));
    assert!(kinds.contains(&found.kind.as_str()), "expected {kinds:?}, got: {}", found.line);
    match &expected.segment {
        Some(segment) => {
            assert_eq!(found.segment.as_ref(), Some(segment), "wrong segment: {}", found.line);
        }
        None => assert!(found.line.starts_with("FAIL log "), "{}", found.line),
    }
    let seq = found.seq.unwrap_or_else(|| panic!("no sequence number named: {}", found.line));
    match expected.seq {
        SeqExpect::Exact(want) => assert_eq!(seq, want, "wrong sequence number: {}", found.line),
        SeqExpect::AtMost(bound) => {
            assert!(seq <= bound, "names seq {seq}, after {bound}: {}", found.line);
        }
    }
    assert!(
        run.stdout.contains("FAIL: the log was altered, or records are missing"),
        "{}",
        run.stdout
    );
}

/// The name of the last segment file of a log: where a failure at the end of the log is named.
pub(crate) fn last_segment(log: &Path) -> String {
    let mut segments = segments_of(log);
    segments.sort();
    name_of(segments.last().unwrap())
}

/// The verdict word `audit verify` printed on its last line (`PASS`, `PARTIAL`, `ANCHORED`,
/// `CHAINED` or `FAIL`).
pub(crate) fn verdict_of(run: &CliRun) -> &str {
    run.stdout.lines().last().and_then(|l| l.split_once(": ")).map_or("", |(word, _)| word)
}

/// Asserts that `run` is an `audit verify` with the verifier material that found no failure:
/// PASS (every record authenticated) or PARTIAL (the records after the last seal, which a
/// writer that stopped without closing leaves, chained but not proven).
pub(crate) fn assert_intact(run: &CliRun) {
    assert_eq!(run.code, 0, "{}: expected exit 0\n{}", run.command, run.all_output());
    let verdict = verdict_of(run);
    assert!(verdict == "PASS" || verdict == "PARTIAL", "{}", run.stdout);
    if verdict == "PASS" {
        assert!(run.stdout.contains("\nPASS: the log is intact: record"), "{}", run.stdout);
    }
}

/// Asserts that `run` is an `audit verify` without the verifier material that found no
/// failure, and that it does not claim what it cannot know: CHAINED, and no PASS anywhere.
pub(crate) fn assert_chained(run: &CliRun) {
    assert_eq!(run.code, 0, "{}: expected exit 0\n{}", run.command, run.all_output());
    assert_eq!(verdict_of(run), "CHAINED", "{}", run.stdout);
    assert!(!run.stdout.contains("PASS"), "{}", run.stdout);
}

/// Every raw dangerous character in `text`, ignoring the line feeds that end lines: any
/// character `input_validation::is_dangerous` names, which includes ESC, CR, LF inside a line,
/// NUL, C1 controls, bidi controls, zero-width and tag characters and U+2028/2029.
pub(crate) fn raw_dangerous(text: &str) -> Vec<String> {
    text.split('\n')
        .flat_map(str::chars)
        .filter(|&c| is_dangerous(c))
        .map(|c| format!("U+{:04X}", u32::from(c)))
        .collect()
}

/// Asserts that output meant for people holds no raw dangerous character.
pub(crate) fn assert_no_raw_dangerous(what: &str, text: &str) {
    // Failure messages show the text made display-safe: a raw escape sequence would act on
    // the terminal of whoever reads the test output.
    let found = raw_dangerous(text);
    assert!(found.is_empty(), "{what} holds raw {found:?}:\n{}", display_safe(text));
    for c in ['\u{1b}', '\r', '\0'] {
        assert!(!text.contains(c), "{what} holds raw U+{:04X}", u32::from(c));
    }
}

/// The files of a directory, sorted by name.
pub(crate) fn files_of(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// The segment files of a log, in order.
pub(crate) fn segments_of(dir: &Path) -> Vec<PathBuf> {
    files_of(dir)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("seg-") && n.ends_with(".log"))
        })
        .collect()
}

/// The file name of a path, as text.
pub(crate) fn name_of(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

#[given("a new audit log written by the real logger")]
fn a_new_log(world: &mut AttackWorld) {
    let config = world.config();
    world.start_logger(config);
}

#[then("`audit verify` with the verifier material reports the log intact")]
fn verify_intact(world: &mut AttackWorld) {
    let run = world.audit_verify(&world.log, &[]);
    assert_intact(&run);
}

#[then(
    expr = "`audit verify` with the verifier material exits 1 with a {string} failure where the tampering starts"
)]
fn verify_finds_tampering(world: &mut AttackWorld, kind: String) {
    let expected = world.expected.clone().expect("the scenario did not say where it tampered");
    let run = world.audit_verify(&world.log, &[]);
    let kinds: Vec<&str> = kind.split(" or ").collect();
    assert_tamper_found(&run, &kinds, &expected);
}

/// "Intact" here is what the records say of each other: without the material nothing is
/// authenticated, and the verdict must say so (CHAINED, never PASS).
#[then("`audit verify` without the verifier material reports the log intact")]
fn verify_without_material_intact(world: &mut AttackWorld) {
    let log = world.log.clone();
    let run = world.audit(["verify".into(), log.into_os_string()]);
    assert_chained(&run);
}

#[when("the operator verifies against the checkpoint kept off the host")]
fn use_held_checkpoint(world: &mut AttackWorld) {
    let held = world.held_checkpoint.clone().expect("no checkpoint was kept off the host");
    world.verify_extra.push("--trusted-checkpoint".into());
    world.verify_extra.push(held.into());
}

#[when(expr = "the operator allows a retention of {int} day(s)")]
fn allow_retention(world: &mut AttackWorld, days: u32) {
    world.verify_extra.push("--min-retention-days".into());
    world.verify_extra.push(days.to_string().into());
}

/// Logs written through the store's own writer with explicit timestamps, for attacks that need
/// many seal epochs or days of records (the logger stamps events with the wall clock).
pub(crate) mod store_log {
    use std::path::Path;

    use audit_events::{Entry, Timestamp};
    use audit_store::LogConfig;

    use super::SERVICE_ID;

    /// 2026-01-01T00:00:00Z: every such log starts here.
    pub(crate) const T0: Timestamp = Timestamp(1_767_225_600_000_000_000);
    /// Nanoseconds in a second.
    const SECOND: i64 = 1_000_000_000;

    /// `seconds` after [`T0`].
    pub(crate) fn at(seconds: i64) -> Timestamp {
        Timestamp(T0.0 + seconds * SECOND)
    }

    /// One-minute epochs, 4 KiB segments (so a few batches make several), no daily rotation.
    pub(crate) fn config() -> LogConfig {
        let mut config = audit_testkit::fixture::log_config(SERVICE_ID);
        config.max_segment_bytes = 4096;
        config.rotate_daily = false;
        config
    }

    /// `count` example events cycling through every kind, all at `time` (which also salts the
    /// audit ids, so batches at different times have distinct ids).
    pub(crate) fn entries(count: usize, time: Timestamp) -> Vec<Entry> {
        let salt = u64::from_be_bytes(time.0.to_be_bytes());
        audit_testkit::fixture::salted_entries(salt, 0, count, time)
    }

    /// Copies the files of a log directory to `to` (created).
    pub(crate) fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_file() {
                std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
            }
        }
    }
}

#[then(
    expr = "`audit verify` with the verifier material exits 1 with a {string} failure at the end of the log"
)]
fn verify_fails_at_end(world: &mut AttackWorld, kind: String) {
    let size = u64::try_from(world.records().len()).unwrap();
    let expected =
        Expected { segment: Some(last_segment(&world.log)), seq: SeqExpect::Exact(size) };
    let run = world.audit_verify(&world.log, &[]);
    assert_tamper_found(&run, &[kind.as_str()], &expected);
}
