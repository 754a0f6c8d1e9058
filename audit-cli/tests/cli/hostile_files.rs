//! Every file in a log directory, and every file an operator names, is hostile input: a FIFO or
//! a symbolic link to `/dev/zero` in place of the checkpoint (or any other file) must give every
//! subcommand a prompt, clear answer with the documented exit code, never a hang or a process
//! that eats memory. Each run is bounded by `timeout -s KILL`, so a hang shows as exit 137.
//! Also: `init` into a directory prepared by another user, and a report's service identity.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::support::{Fixture, Run, at, entries, new_log, written_log};

/// Seconds after which a run counts as hung.
const HANG_BOUND: &str = "20";

/// `audit <args...>` (with `{dir}` replaced), killed if it runs past [`HANG_BOUND`].
fn bounded(fixture: &Fixture, args: &[&str]) -> Run {
    let dir = fixture.dir.to_str().unwrap();
    let output = Command::new("timeout")
        .args(["-s", "KILL", HANG_BOUND, env!("CARGO_BIN_EXE_audit")])
        .args(args.iter().map(|a| a.replace("{dir}", dir)))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Run {
        code: output.status.code().unwrap_or(137),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}

/// Replaces the log's latest checkpoint with a FIFO or a symbolic link to `/dev/zero`.
fn plant_checkpoint(fixture: &Fixture, fifo: bool) {
    let path = fixture.dir.join("checkpoint");
    std::fs::remove_file(&path).unwrap();
    if fifo {
        mkfifo(&path);
    } else {
        std::os::unix::fs::symlink("/dev/zero", &path).unwrap();
    }
}

#[test]
fn a_fifo_or_dev_zero_checkpoint_never_hangs_a_subcommand() {
    for fifo in [true, false] {
        let what = if fifo { "FIFO" } else { "/dev/zero" };
        let fixture = written_log(6);
        plant_checkpoint(&fixture, fifo);
        let key = fixture.material_file.to_str().unwrap();
        let pubkey = fixture.public_key_file.to_str().unwrap();
        let events = fixture.path("events.jsonl");
        std::fs::write(
            &events,
            "{\"kind\":\"task.canceled\",\"event\":{\"actor\":{\"user_id\":\"bot\",\"ip\":null,\
             \"auth_method\":\"internal\",\"session_id\":null},\"task_id\":\"t-1\",\
             \"reason\":\"drained\"}}\n",
        )
        .unwrap();
        // The checkpoint is evidence: verify and report find the log at fault (exit 1).
        let run = bounded(&fixture, &["verify", "{dir}", "--verification-key", key]);
        let run = run.expect(1);
        assert!(run.stdout.contains("checkpoint is refused"), "{what}: {}", run.stdout);
        bounded(&fixture, &["verify", "{dir}", "--json"]).expect(1);
        bounded(&fixture, &["report", "{dir}", "--framework", "soc2", "--verification-key", key])
            .expect(1);
        // Commands that read the checkpoint stop with a clear error (exit 3).
        for args in [
            &["checkpoint", "{dir}"][..],
            &["prove", "{dir}", "--seq", "3"][..],
            &["consistency", "{dir}", "--old", "{dir}/checkpoint", "--public-key", pubkey][..],
        ] {
            let run = bounded(&fixture, args);
            assert!(
                matches!(run.code, 2 | 3) && run.stderr.contains("refusing"),
                "{what} {args:?}: exit {} {}",
                run.code,
                run.stderr
            );
        }
        // Commands that do not need it still work.
        bounded(&fixture, &["query", "{dir}", "--limit", "1"]).expect(0);
        bounded(&fixture, &["tail", "{dir}", "-n", "1"]).expect(0);
        bounded(&fixture, &["export", "{dir}", "--format", "jsonl"]).expect(0);
        // The writer reads the signed checkpoints in the directory before it recovers anything
        // (it never cuts below one), so it refuses a hostile one with a clear error.
        let run = bounded(&fixture, &["emit", "{dir}", events.to_str().unwrap()]).expect(3);
        let expected = if fifo { "it is a FIFO" } else { "it is a symbolic link" };
        assert!(run.stderr.contains(expected), "{what}: {}", run.stderr);
    }
}

#[test]
fn a_fifo_or_dev_zero_in_place_of_log_meta_or_a_segment_never_hangs_a_subcommand() {
    for target in ["log.meta", "segment"] {
        for fifo in [true, false] {
            let fixture = written_log(6);
            let path = if target == "segment" {
                crate::support::segments(&fixture.dir).pop().unwrap()
            } else {
                fixture.dir.join(target)
            };
            // A proof reads only the segment of its record: prove one in the replaced segment.
            let seq = match target {
                "segment" => {
                    let name = path.file_name().unwrap().to_str().unwrap();
                    name["seg-".len()..name.len() - ".log".len()].parse::<u64>().unwrap()
                }
                _ => 1,
            }
            .to_string();
            std::fs::remove_file(&path).unwrap();
            if fifo {
                mkfifo(&path);
            } else {
                std::os::unix::fs::symlink("/dev/zero", &path).unwrap();
            }
            let key = fixture.material_file.to_str().unwrap();
            let run = bounded(&fixture, &["verify", "{dir}", "--verification-key", key]).expect(1);
            assert!(run.stdout.contains("refused"), "{target} {fifo}: {}", run.stdout);
            for args in [
                &["query", "{dir}"][..],
                &["tail", "{dir}"][..],
                &["export", "{dir}", "--format", "csv"][..],
                &["prove", "{dir}", "--seq", &seq][..],
            ] {
                let run = bounded(&fixture, args);
                assert!(
                    run.code == 3 && run.stderr.contains("refusing"),
                    "{target} {fifo} {args:?}: exit {} {}",
                    run.code,
                    run.stderr
                );
            }
            if target == "segment" {
                // A record in an intact segment is still proven, from the tiles, and the proof
                // is checked against the signed checkpoint before it is printed.
                let run = bounded(&fixture, &["prove", "{dir}", "--seq", "1"]).expect(0);
                assert!(run.stdout.contains("\"leaf_index\": 1"), "{}", run.stdout);
            }
        }
    }
}

#[test]
fn operator_files_that_are_fifos_or_devices_are_usage_errors() {
    let fixture = written_log(3);
    let fifo = fixture.path("fifo");
    mkfifo(&fifo);
    let fifo = fifo.to_str().unwrap();
    for bad in [fifo, "/dev/zero"] {
        for args in [
            &["verify", "{dir}", "--verification-key", bad][..],
            &["verify", "{dir}", "--trusted-checkpoint", bad][..],
            &["report", "{dir}", "--framework", "gdpr", "--verification-key", bad][..],
            &["verify-proof", bad, "--public-key", fixture.public_key_file.to_str().unwrap()][..],
            &["consistency", "{dir}", "--old", bad][..],
        ] {
            let run = bounded(&fixture, args);
            assert!(
                run.code == 2 && run.stderr.contains("not a regular file"),
                "{args:?}: exit {} {}",
                run.code,
                run.stderr
            );
        }
    }
    // A symbolic link the operator chose to a real material file is followed.
    let link = fixture.path("material-link");
    std::os::unix::fs::symlink(&fixture.material_file, &link).unwrap();
    bounded(&fixture, &["verify", "{dir}", "--verification-key", link.to_str().unwrap()]).expect(0);
    // An oversized material file is refused before it is read.
    let big = fixture.path("big.verifier");
    std::fs::File::create(&big).unwrap().set_len(1 << 30).unwrap();
    let run = bounded(&fixture, &["verify", "{dir}", "--verification-key", big.to_str().unwrap()]);
    assert!(run.code == 2 && run.stderr.contains("larger than"), "{}", run.stderr);
}

#[test]
fn init_refuses_an_empty_directory_owned_by_another_user() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("planted");
    std::fs::create_dir(&dir).unwrap();
    let status = Command::new("chown").arg("65534").arg(&dir).status().unwrap();
    assert!(status.success(), "the test runs as root, as CI does");
    let run = crate::support::audit(&["init", dir.to_str().unwrap(), "--service-id", "svc"]);
    let run = run.expect(2);
    assert!(run.stderr.contains("owned by another user"), "{}", run.stderr);
    assert!(std::fs::read_dir(&dir).unwrap().next().is_none(), "nothing was written");
}

#[test]
fn a_report_shows_the_authenticated_service_and_labels_a_claimed_one() {
    let (fixture, mut writer) = new_log();
    writer.append_batch(&entries(5, at(1)), at(1)).unwrap();
    writer.close(at(2)).unwrap();
    let key = fixture.material_file.to_str().unwrap();
    let run =
        bounded(&fixture, &["report", "{dir}", "--framework", "soc2", "--verification-key", key]);
    let run = run.expect(0);
    assert!(run.stdout.contains("| Service | svc-test |"), "{}", run.stdout);
    let run = bounded(&fixture, &["report", "{dir}", "--framework", "soc2"]);
    assert!(
        run.stdout.contains("svc-test (claimed by log.meta, not authenticated)"),
        "{}",
        run.stdout
    );

    // An intruder renames the service in log.meta, keeping it self-consistent.
    let meta = fixture.dir.join("log.meta");
    let text = std::fs::read_to_string(&meta).unwrap().replace("svc-test", "payments-prod");
    std::fs::write(&meta, text).unwrap();
    let run = bounded(&fixture, &["verify", "{dir}", "--verification-key", key]).expect(1);
    assert!(run.stdout.contains("identity"), "{}", run.stdout);
    let run =
        bounded(&fixture, &["report", "{dir}", "--framework", "soc2", "--verification-key", key]);
    let run = run.expect(1);
    assert!(run.stdout.contains("| Service | svc-test |"), "{}", run.stdout);
    assert!(!run.stdout.contains("| Service | payments-prod |"), "{}", run.stdout);
}
