//! Every file in a log directory is hostile input. An intruder who can write the directory puts
//! a FIFO, a symbolic link (to `/dev/zero`, or to a real file elsewhere), a directory or a huge
//! sparse file where a file of the log belongs, and every operation must answer promptly with a
//! clear refusal: never hang, never read without bound, never follow the link. Each operation
//! runs in a thread and the test waits on a channel with a bound, so a hang fails the test
//! instead of hanging the suite.
//!
//! Also: a log directory prepared or changed by another user, and a `log.meta` whose
//! self-description was edited.

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use audit_events::{EventKind, RecordKind};
use audit_store::{
    FailureKind, LogMeta, LogReader, LogWriter, Query, StoreError, VerifyOptions,
    latest_checkpoint, query, verify,
};

use crate::support::{Fixture, at, config, segments, written_log};

/// How long an operation may take before it counts as hung.
const HANG_BOUND: Duration = Duration::from_secs(20);

/// Runs `op` in a thread and returns its answer, failing the test if none comes in time.
fn promptly<T: Send + 'static>(what: &str, op: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(op());
    });
    rx.recv_timeout(HANG_BOUND).unwrap_or_else(|_| panic!("{what}: no answer: it hangs"))
}

/// What an intruder puts in place of a file.
#[derive(Clone, Copy, Debug)]
enum Hazard {
    Fifo,
    DevZero,
    /// A symbolic link to a copy of the real file kept elsewhere (the content is right, the
    /// place is not).
    LinkElsewhere,
    Directory,
    /// A sparse file of 64 MiB (larger than any file of its kind may be).
    Oversize,
}

const HAZARDS: [Hazard; 5] =
    [Hazard::Fifo, Hazard::DevZero, Hazard::LinkElsewhere, Hazard::Directory, Hazard::Oversize];

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}

/// Replaces `path` with the hazard; `elsewhere` is a directory outside the log.
fn plant(path: &Path, hazard: Hazard, elsewhere: &Path) {
    let name = path.file_name().unwrap();
    if path.exists() {
        std::fs::copy(path, elsewhere.join(name)).unwrap();
        std::fs::remove_file(path).unwrap();
    } else {
        std::fs::write(elsewhere.join(name), b"").unwrap();
    }
    match hazard {
        Hazard::Fifo => mkfifo(path),
        Hazard::DevZero => std::os::unix::fs::symlink("/dev/zero", path).unwrap(),
        Hazard::LinkElsewhere => std::os::unix::fs::symlink(elsewhere.join(name), path).unwrap(),
        Hazard::Directory => std::fs::create_dir(path).unwrap(),
        Hazard::Oversize => {
            let file = std::fs::File::create(path).unwrap();
            file.set_len(64 << 20).unwrap();
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
    }
}

/// Whether an error is the clear refusal of a hostile file.
fn is_refusal(e: &StoreError) -> bool {
    e.to_string().starts_with("refusing ")
}

/// The outcome of verifying with the material: `Err` text, or the failure (`None` = PASS).
fn verify_outcome(
    dir: PathBuf,
    options: VerifyOptions,
) -> Result<Option<(FailureKind, String)>, String> {
    promptly("verify", move || verify(&dir, &options))
        .map(|r| r.failure.map(|f| (f.kind, f.reason)))
        .map_err(|e| e.to_string())
}

fn writer_open(dir: PathBuf) -> Result<(), StoreError> {
    promptly("LogWriter::open", move || LogWriter::open(&dir, config(), at(100_000)).map(drop))
}

fn read_all(dir: PathBuf) -> Result<usize, StoreError> {
    promptly("LogReader", move || {
        let reader = LogReader::open(&dir)?;
        let mut n = 0;
        for record in reader.records() {
            record?;
            n += 1;
        }
        Ok(n)
    })
}

fn query_all(dir: PathBuf) -> Result<usize, StoreError> {
    promptly("query", move || query(&dir, &Query::default()).map(|hits| hits.len()))
}

/// The kept checkpoint files of a log, in name order.
fn kept_checkpoints(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "note"))
        .collect();
    found.sort();
    found
}

fn fixture() -> (Fixture, tempfile::TempDir) {
    (written_log(12), tempfile::tempdir().unwrap())
}

#[test]
fn a_hostile_log_meta_is_refused_by_every_reader_and_the_writer() {
    for hazard in HAZARDS {
        let (f, elsewhere) = fixture();
        plant(&f.dir.join("log.meta"), hazard, elsewhere.path());
        let dir = f.dir.clone();
        let meta = promptly("LogMeta::read", move || LogMeta::read(&dir));
        assert!(meta.as_ref().is_err_and(is_refusal), "{hazard:?}: LogMeta::read {meta:?}");
        match verify_outcome(f.dir.clone(), f.options()) {
            Ok(Some((FailureKind::Identity, reason))) => {
                assert!(reason.contains("log.meta is refused"), "{hazard:?}: {reason}");
            }
            other => panic!("{hazard:?}: verify {other:?}"),
        }
        let opened = writer_open(f.dir.clone());
        assert!(opened.as_ref().is_err_and(is_refusal), "{hazard:?}: open {opened:?}");
        let read = read_all(f.dir.clone());
        assert!(read.as_ref().is_err_and(is_refusal), "{hazard:?}: reader {read:?}");
        let found = query_all(f.dir.clone());
        assert!(found.as_ref().is_err_and(is_refusal), "{hazard:?}: query {found:?}");
    }
}

#[test]
fn hostile_key_files_stop_the_writer_with_a_refusal() {
    for key in ["seal.key", "signing.key"] {
        for hazard in HAZARDS {
            let (f, elsewhere) = fixture();
            plant(&f.dir.join(key), hazard, elsewhere.path());
            let opened = writer_open(f.dir.clone());
            assert!(opened.as_ref().is_err_and(is_refusal), "{key} {hazard:?}: {opened:?}");
            // With the verifier material, verification reads seal.key (how far the writer got
            // is part of the evidence) and refuses a hostile one; it never needs signing.key.
            let outcome = verify_outcome(f.dir.clone(), f.options());
            if key == "seal.key" {
                assert!(
                    matches!(&outcome, Ok(Some((FailureKind::Identity, reason))) if reason.contains("refusing")),
                    "{key} {hazard:?}: {outcome:?}"
                );
            } else {
                assert_eq!(outcome, Ok(None), "{key} {hazard:?}");
            }
        }
    }
}

#[test]
fn a_hostile_checkpoint_is_a_failure_of_the_log_and_an_error_elsewhere() {
    for kept in [false, true] {
        for hazard in HAZARDS {
            let (f, elsewhere) = fixture();
            let path = if kept {
                kept_checkpoints(&f.dir).pop().unwrap()
            } else {
                f.dir.join("checkpoint")
            };
            plant(&path, hazard, elsewhere.path());
            match verify_outcome(f.dir.clone(), f.options()) {
                Ok(Some((FailureKind::Checkpoint, reason))) => {
                    assert!(reason.contains("refused"), "{hazard:?}: {reason}");
                }
                other => panic!("kept {kept} {hazard:?}: verify {other:?}"),
            }
            if !kept {
                let dir = f.dir.clone();
                let latest = promptly("latest_checkpoint", move || latest_checkpoint(&dir));
                assert!(latest.as_ref().is_err_and(is_refusal), "{hazard:?}: {latest:?}");
            }
            // Writing a new checkpoint replaces the file; the writer must not hang on it.
            let _ = writer_open(f.dir.clone());
        }
    }
}

#[test]
fn a_hostile_segment_fails_verification_and_stops_readers_and_the_writer() {
    for hazard in [Hazard::Fifo, Hazard::DevZero, Hazard::LinkElsewhere, Hazard::Directory] {
        let (f, elsewhere) = fixture();
        let last = segments(&f.dir).pop().unwrap();
        plant(&last, hazard, elsewhere.path());
        match verify_outcome(f.dir.clone(), f.options()) {
            Ok(Some((FailureKind::Header, reason))) => {
                assert!(reason.contains("refused"), "{hazard:?}: {reason}");
            }
            other => panic!("{hazard:?}: verify {other:?}"),
        }
        let read = read_all(f.dir.clone());
        assert!(read.as_ref().is_err_and(is_refusal), "{hazard:?}: reader {read:?}");
        let found = query_all(f.dir.clone());
        assert!(found.as_ref().is_err_and(is_refusal), "{hazard:?}: query {found:?}");
        let opened = writer_open(f.dir.clone());
        assert!(opened.as_ref().is_err_and(is_refusal), "{hazard:?}: open {opened:?}");
    }
}

#[test]
fn a_hostile_index_is_ignored_and_searches_still_find_every_record() {
    let (f, _) = fixture();
    let honest = query_all(f.dir.clone()).unwrap();
    for hazard in HAZARDS {
        let (f, elsewhere) = fixture();
        let first = segments(&f.dir).remove(0);
        let index = first.with_extension("idx");
        assert!(index.exists(), "the closed segment has an index");
        if matches!(hazard, Hazard::Oversize) {
            // Past any index of a 4 KiB segment: 3 GiB, sparse.
            std::fs::OpenOptions::new().write(true).open(&index).unwrap().set_len(3 << 30).unwrap();
        } else {
            plant(&index, hazard, elsewhere.path());
        }
        assert_eq!(query_all(f.dir.clone()).unwrap(), honest, "{hazard:?}");
        let dir = f.dir.clone();
        let by_kind = promptly("query by kind", move || {
            query(
                &dir,
                &Query {
                    kinds: vec![RecordKind::Event(EventKind::AuthFailure)],
                    ..Query::default()
                },
            )
            .map(|h| h.len())
        });
        assert!(by_kind.is_ok_and(|n| n > 0), "{hazard:?}");
        // The index is derived data, but one that does not match the chain could hide records
        // from searches: verification reports it (the records themselves are intact).
        let outcome = verify_outcome(f.dir.clone(), f.options());
        assert!(matches!(&outcome, Ok(Some((FailureKind::Index, _)))), "{hazard:?}: {outcome:?}");
    }
}

#[test]
fn a_hostile_lock_file_never_hangs_the_writer() {
    for hazard in [Hazard::Fifo, Hazard::DevZero, Hazard::LinkElsewhere, Hazard::Directory] {
        let (f, elsewhere) = fixture();
        plant(&f.dir.join("lock"), hazard, elsewhere.path());
        let opened = writer_open(f.dir.clone());
        assert!(opened.as_ref().is_err_and(is_refusal), "{hazard:?}: {opened:?}");
    }
}

/// Gives `path` to `uid` (tests run as root, as CI does: root can give files away).
fn chown(path: &Path, uid: u32) {
    let status =
        std::process::Command::new("chown").arg("-h").arg(uid.to_string()).arg(path).status();
    assert!(status.unwrap().success(), "chown {} (the test needs root)", path.display());
}

/// A user id other than this process's (nobody).
fn foreign_uid() -> u32 {
    65534
}

#[test]
fn create_refuses_an_empty_directory_owned_by_another_user_or_open_to_others() {
    let tmp = tempfile::tempdir().unwrap();
    let foreign = tmp.path().join("foreign");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::set_permissions(&foreign, std::fs::Permissions::from_mode(0o700)).unwrap();
    chown(&foreign, foreign_uid());
    let err = LogWriter::create(&foreign, config(), at(0)).unwrap_err();
    assert!(err.to_string().contains("owned by another user"), "{err}");

    let open = tmp.path().join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let err = LogWriter::create(&open, config(), at(0)).unwrap_err();
    assert!(err.to_string().contains("grants access"), "{err}");

    // An empty directory of this user with mode 0700, and a missing one, are accepted.
    let mine = tmp.path().join("mine");
    std::fs::create_dir(&mine).unwrap();
    std::fs::set_permissions(&mine, std::fs::Permissions::from_mode(0o700)).unwrap();
    LogWriter::create(&mine, config(), at(0)).unwrap();
    let missing = tmp.path().join("missing");
    LogWriter::create(&missing, config(), at(0)).unwrap();
    assert_eq!(std::fs::metadata(&missing).unwrap().mode() & 0o777, 0o700);
}

#[test]
fn the_writer_refuses_a_directory_others_can_change_and_readers_warn() {
    // Directory writable by others.
    let f = written_log(3);
    std::fs::set_permissions(&f.dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let err = writer_open(f.dir.clone()).unwrap_err();
    assert!(err.to_string().contains("writable by its group or other users"), "{err}");
    let report = verify(&f.dir, &f.options()).unwrap();
    assert!(report.is_intact());
    assert!(report.warnings.iter().any(|w| w.contains("mode 0777")), "{:?}", report.warnings);

    // A segment owned by someone else (the directory is the writer's own).
    let f = written_log(3);
    let first = segments(&f.dir).remove(0);
    chown(&first, foreign_uid());
    let err = writer_open(f.dir.clone()).unwrap_err();
    assert!(err.to_string().contains("owned by uid 65534"), "{err}");
    let report = verify(&f.dir, &f.options()).unwrap();
    assert!(
        report.warnings.iter().any(|w| w.contains("owned by uid 65534")),
        "{:?}",
        report.warnings
    );

    // A log.meta writable by others.
    let f = written_log(3);
    std::fs::set_permissions(f.dir.join("log.meta"), std::fs::Permissions::from_mode(0o666))
        .unwrap();
    let err = writer_open(f.dir.clone()).unwrap_err();
    assert!(err.to_string().contains("log.meta"), "{err}");

    // The whole directory owned by another user.
    let f = written_log(3);
    chown(&f.dir, foreign_uid());
    let err = writer_open(f.dir.clone()).unwrap_err();
    assert!(err.to_string().contains("owned by another user"), "{err}");
}

/// Rewrites one `key: value` line of `log.meta`.
fn edit_meta(dir: &Path, key: &str, value: &str) {
    let path = dir.join("log.meta");
    let text = std::fs::read_to_string(&path).unwrap();
    let edited: String = text
        .lines()
        .map(|line| match line.split_once(": ") {
            Some((k, _)) if k == key => format!("{k}: {value}\n"),
            _ => format!("{line}\n"),
        })
        .collect();
    assert_ne!(edited, text);
    std::fs::write(&path, edited).unwrap();
}

#[test]
fn an_edited_log_meta_fails_keyed_verification() {
    let f = written_log(3);
    let log_id = f.material.log_id.to_string();
    let edits = [
        ("service-id", "payments-prod".to_owned()),
        ("origin", format!("audit/payments-prod/{log_id}")),
        ("created-at", "2020-01-01T00:00:00Z".to_owned()),
        ("seal-epoch-ns", "1000000000".to_owned()),
        ("public-key", "audit/x/00+00000000+AAAA".to_owned()),
    ];
    for (key, value) in edits {
        let (_tmp, copy) = crate::support::copy_log(&f.dir);
        edit_meta(&copy, key, &value);
        let report = f.verify_dir(&copy);
        let failure = report.failure.unwrap_or_else(|| panic!("{key} edit passed"));
        assert_eq!(failure.kind, FailureKind::Identity, "{key}: {}", failure.reason);
    }
    // The forger keeps log.meta self-consistent: service-id and origin both changed.
    let (_tmp, copy) = crate::support::copy_log(&f.dir);
    edit_meta(&copy, "service-id", "payments-prod");
    edit_meta(&copy, "origin", &format!("audit/payments-prod/{log_id}"));
    let report = f.verify_dir(&copy);
    assert_eq!(report.failure.map(|f| f.kind), Some(FailureKind::Identity));
    // Without the material, a service-id that disagrees with the origin is still caught.
    let (_tmp, copy) = crate::support::copy_log(&f.dir);
    edit_meta(&copy, "service-id", "payments-prod");
    let report = verify(&copy, &VerifyOptions::default()).unwrap();
    assert_eq!(report.failure.map(|f| f.kind), Some(FailureKind::Identity));
}

#[test]
fn a_hostile_resume_note_or_temporary_note_never_hangs_stops_or_redirects_the_writer() {
    // The resume note is derived: a hostile one in its place is refused with the directory (a
    // link) or not used (the writer reads the whole last segment); a hostile `resume.tmp`
    // planted while the writer runs costs the next note at most, never a record, and nothing
    // is written through a link.
    let (f, _) = fixture();
    let (_copy, dir) = crate::support::copy_log(&f.dir);
    let size = LogWriter::open(&dir, config(), at(100_000)).unwrap().next_seq();
    for name in ["resume", "resume.tmp"] {
        for hazard in HAZARDS {
            let (f, elsewhere) = fixture();
            plant(&f.dir.join(name), hazard, elsewhere.path());
            let link = matches!(hazard, Hazard::DevZero | Hazard::LinkElsewhere);
            let dir = f.dir.clone();
            let opened = promptly("LogWriter::open", move || {
                let mut writer = LogWriter::open(&dir, config(), at(100_000))?;
                let size = writer.next_seq();
                writer.append_batch(&crate::support::entries(3, at(100_001)), at(100_001))?;
                writer.close(at(100_002))?;
                Ok::<_, StoreError>(size)
            });
            if link {
                assert!(opened.as_ref().is_err_and(is_refusal), "{name} {hazard:?}: {opened:?}");
                std::fs::remove_file(f.dir.join(name)).unwrap();
            } else {
                assert_eq!(opened.as_ref().ok(), Some(&size), "{name} {hazard:?}: {opened:?}");
                assert_eq!(
                    verify_outcome(f.dir.clone(), f.options()),
                    Ok(None),
                    "{name} {hazard:?}"
                );
            }
            // Planted while a writer runs, between two notes.
            let mut writer = f.open(at(200_000));
            let path = f.dir.join("resume.tmp");
            if path.is_dir() {
                std::fs::remove_dir(&path).unwrap();
            } else if path.symlink_metadata().is_ok() {
                std::fs::remove_file(&path).unwrap();
            }
            plant(&path, hazard, elsewhere.path());
            let before = std::fs::read(elsewhere.path().join("resume.tmp")).unwrap();
            writer.append_batch(&crate::support::entries(3, at(200_001)), at(200_001)).unwrap();
            writer.seal_if_due(at(200_000 + 3_600)).unwrap();
            assert!(writer.poisoned().is_none(), "{hazard:?}");
            let end = writer.next_seq();
            writer.close(at(200_000 + 3_601)).unwrap();
            let after = std::fs::read(elsewhere.path().join("resume.tmp")).unwrap();
            assert_eq!(before, after, "{hazard:?}: a note was written through the link");
            let _ = std::fs::remove_dir(&path).or_else(|_| std::fs::remove_file(&path));
            let reopened = f.open(at(300_000));
            assert!(reopened.next_seq() > end, "{hazard:?}");
            reopened.close(at(300_001)).unwrap();
            assert_eq!(verify_outcome(f.dir.clone(), f.options()), Ok(None), "{hazard:?}");
        }
    }
}

#[test]
fn a_segment_made_huge_and_sparse_is_failed_without_memory_or_time_in_proportion() {
    // An intruder extends a segment to the largest sparse file the file system allows (16 TiB
    // on ext4): no disk space is used, and a walk meets the zeros at once. Verification cuts
    // segments into chunks for its workers; it must not plan a chunk per 2 MiB of claimed length
    // before it walks.
    let (f, _) = fixture();
    let files = segments(&f.dir);
    let target = &files[files.len() / 2];
    let sparse = |target: &Path| {
        let file = std::fs::OpenOptions::new().write(true).open(target).unwrap();
        let mut len = 1u64 << 60;
        while file.set_len(len).is_err() {
            len /= 2;
        }
        len -= 1 << 20;
        file.set_len(len).unwrap();
        assert!(len >= 1 << 39, "the file system holds no sparse file of {len} bytes");
    };
    sparse(target);
    let outcome = verify_outcome(f.dir.clone(), f.options());
    assert!(matches!(&outcome, Ok(Some((FailureKind::Framing, _)))), "{outcome:?}");
    // The last segment: zeros there could be space a crash left, but not terabytes of it.
    let (f, _) = fixture();
    sparse(segments(&f.dir).last().unwrap());
    let outcome = verify_outcome(f.dir.clone(), f.options());
    assert!(matches!(&outcome, Ok(Some((FailureKind::Framing, _)))), "{outcome:?}");
    let opened = writer_open(f.dir.clone());
    assert!(matches!(opened, Err(StoreError::Damaged { .. })), "{opened:?}");
}
