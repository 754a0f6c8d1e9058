//! Fixtures: real logs written through `audit_store::LogWriter` with a controlled clock, the
//! verifier material and public key in files, and a runner for the real `audit` binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use audit_events::{AuditEvent, Entry, EventKind, Timestamp};
use audit_store::{LogWriter, VerifierMaterial};

pub(crate) use audit_testkit::fixture::{
    T0, at, config, copy_log, entries, entries_from, entry, segments,
};

/// Text that tries every trick: ANSI clear screen and colour, OSC title, CR/LF line forging,
/// NUL, DEL, C1 CSI, bidi override, zero-width space, line separator, tag characters, BOM.
pub(crate) const HOSTILE: &str = "mal\u{1b}[2J\u{1b}[31mlory\u{1b}]0;pwned\u{7}\r\n\
     2026-11-22T00:00:00Z FAKE auth.success\u{0}\u{7f}\u{9b}6n\u{202e}gnp.exe\u{200b}\u{2028}\
     \u{e0041}\u{e0042}\u{feff}end";

/// Events whose text fields hold [`HOSTILE`], stored raw (the store keeps what it is given),
/// so only the command's output escaping stands between them and the terminal.
pub(crate) fn hostile_entries(time: Timestamp) -> Vec<Entry> {
    let mut failure = EventKind::AuthFailure.example();
    if let AuditEvent::AuthFailure { attempted_user, reason, .. } = &mut failure {
        *attempted_user = Some(HOSTILE.to_owned());
        *reason = format!("{HOSTILE} again");
    }
    let mut traversal = EventKind::PathTraversalAttempt.example();
    if let AuditEvent::PathTraversalAttempt { actor, attempted_path, .. } = &mut traversal {
        actor.user_id = format!("=HYPERLINK(\"http://x\") {HOSTILE}");
        *attempted_path = format!("../../{HOSTILE}");
    }
    let mut erasure = EventKind::GdprRightToErasure.example();
    if let AuditEvent::GdprRightToErasure { customer_id, data_types_deleted, .. } = &mut erasure {
        *customer_id = format!("<script>alert(1)</script>{HOSTILE}");
        data_types_deleted.push(format!("[x](http://evil) | {HOSTILE}"));
    }
    vec![entry(failure, time, 900), entry(traversal, time, 901), entry(erasure, time, 902)]
}

/// A log directory with its verifier material and public key written to files beside it.
pub(crate) struct Fixture {
    pub(crate) tmp: tempfile::TempDir,
    pub(crate) dir: PathBuf,
    pub(crate) material: VerifierMaterial,
    pub(crate) material_file: PathBuf,
    pub(crate) public_key_file: PathBuf,
}

impl Fixture {
    pub(crate) fn open(&self, now: Timestamp) -> LogWriter {
        LogWriter::open(&self.dir, config(), now).unwrap()
    }

    /// A file in the fixture's temporary directory (outside the log).
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// `audit <args...>` with the log directory's path substituted for `{dir}`.
    pub(crate) fn audit(&self, args: &[&str]) -> Run {
        let dir = self.dir.to_str().unwrap();
        let args: Vec<String> = args.iter().map(|a| a.replace("{dir}", dir)).collect();
        audit(&args.iter().map(String::as_str).collect::<Vec<_>>())
    }
}

/// A new log at T0, still open.
pub(crate) fn new_log() -> (Fixture, LogWriter) {
    new_log_at(T0)
}

/// A new log created at `time`, still open.
pub(crate) fn new_log_at(time: Timestamp) -> (Fixture, LogWriter) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let (writer, material) = LogWriter::create(&dir, config(), time).unwrap();
    let material_file = tmp.path().join("log.verifier");
    std::fs::write(&material_file, material.to_text().as_bytes()).unwrap();
    let public_key_file = tmp.path().join("log.pub");
    std::fs::write(&public_key_file, format!("{}\n", material.public_key)).unwrap();
    (Fixture { tmp, dir, material, material_file, public_key_file }, writer)
}

/// A closed log over several epochs and segments: batches of 7 events at 20-second steps,
/// cycling through the catalogue (70 events hold every kind twice).
pub(crate) fn written_log(batches: i64) -> Fixture {
    let (fixture, mut writer) = new_log();
    for b in 0..batches {
        let start = usize::try_from(b).unwrap() * 7;
        writer.append_batch(&entries_from(start, 7, at(20 * b + 1)), at(20 * b + 1)).unwrap();
    }
    writer.close(at(20 * batches + 1)).unwrap();
    fixture
}

/// A closed log holding the hostile events among ordinary ones.
pub(crate) fn hostile_log() -> Fixture {
    let (fixture, mut writer) = new_log();
    writer.append_batch(&entries(5, at(1)), at(1)).unwrap();
    writer.append_batch(&hostile_entries(at(2)), at(2)).unwrap();
    writer.append_batch(&entries(5, at(3)), at(3)).unwrap();
    writer.close(at(4)).unwrap();
    fixture
}

pub(crate) fn file_name(path: &Path) -> String {
    path.file_name().unwrap().to_str().unwrap().to_owned()
}

/// What one run of the binary did.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    /// Asserts the exit code, showing everything on failure.
    #[track_caller]
    pub(crate) fn expect(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    pub(crate) fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }
}

fn finish(output: Output) -> Run {
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

/// The binary under test: the `audit` this package builds, or the one the environment
/// variable `AUDIT_BIN` names (to run the same attacks against another build).
fn binary() -> std::ffi::OsString {
    std::env::var_os("AUDIT_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_audit").into())
}

/// Runs the real binary, in the UTC zone (local dates and times are read in TZ).
pub(crate) fn audit(args: &[&str]) -> Run {
    audit_in_zone("UTC", args)
}

/// Runs the real binary with `TZ` set to `zone`.
pub(crate) fn audit_in_zone(zone: &str, args: &[&str]) -> Run {
    finish(Command::new(binary()).args(args).env("TZ", zone).stdin(Stdio::null()).output().unwrap())
}

/// Runs the real binary with `input` on standard input.
pub(crate) fn audit_with_input(args: &[&str], input: &[u8]) -> Run {
    use std::io::Write as _;
    let mut child = Command::new(binary())
        .args(args)
        .env("TZ", "UTC")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A command that fails before reading its input closes the pipe: that is its answer.
    if let Err(e) = child.stdin.take().unwrap().write_all(input) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    finish(child.wait_with_output().unwrap())
}

/// Asserts that output holds no character a terminal or viewer could act on (line feeds
/// separate lines and are the only control allowed).
#[track_caller]
pub(crate) fn assert_inert(what: &str, text: &str) {
    for (i, c) in text.chars().enumerate() {
        assert!(
            c == '\n' || !input_validation::is_dangerous(c),
            "{what}: raw U+{:04X} at char {i} in:\n{text}",
            u32::from(c)
        );
    }
}

/// The keys of a text line's `key=value` pairs as a quote-aware reader finds them: a value in
/// double quotes runs to the next double quote.
pub(crate) fn keys_outside_quotes(line: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut quoted = false;
    let mut word = String::new();
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            _ if quoted => {}
            ' ' => word.clear(),
            '=' => keys.push(std::mem::take(&mut word)),
            c => word.push(c),
        }
    }
    keys
}
