//! `audit tail`: the last records, and `-f` following a log that a writer is appending to.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use audit_events::{AuditEvent, EventKind};

use crate::support::{at, entries, entry, new_log, written_log};

#[test]
fn tail_prints_the_last_n_records() {
    let fixture = written_log(4);
    let run = fixture.audit(&["tail", "{dir}", "-n", "3"]).expect(0);
    let lines = run.lines();
    assert_eq!(lines.len(), 3, "{}", run.stdout);
    // A clean close ends with log_closed and its seal.
    assert!(lines[1].contains("  system.log_closed  "), "{}", lines[1]);
    assert!(lines[2].contains("  system.seal  "), "{}", lines[2]);
    let all = fixture.audit(&["export", "{dir}"]).expect(0).lines().len();
    let run = fixture.audit(&["tail", "{dir}", "-n", "100000"]).expect(0);
    assert_eq!(run.lines().len(), all);
    assert!(run.lines()[0].contains("#0  system.log_created"), "{}", run.lines()[0]);
    assert_eq!(fixture.audit(&["tail", "{dir}"]).expect(0).lines().len(), 10);
}

/// The follower never exits by itself: it is killed however the test ends.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn tail_follow_prints_records_appended_by_a_running_writer() {
    let (fixture, mut writer) = new_log();
    writer.append_batch(&entries(3, at(1)), at(1)).unwrap();
    let mut child = Killed(
        Command::new(env!("CARGO_BIN_EXE_audit"))
            .args(["tail", fixture.dir.to_str().unwrap(), "-n", "1", "-f"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let (lines_tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if lines_tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let wait = Duration::from_secs(20);
    let first = lines.recv_timeout(wait).expect("the last record is printed first");
    assert!(first.contains("#3  token.created"), "{first}");

    let mut event = EventKind::TaskCanceled.example();
    if let AuditEvent::TaskCanceled { reason, .. } = &mut event {
        *reason = "follow-marker".to_owned();
    }
    writer.append_batch(&[entry(event, at(2), 77)], at(2)).unwrap();
    let next = lines.recv_timeout(wait).expect("the appended record is followed");
    assert!(next.contains("#4  task.canceled") && next.contains("follow-marker"), "{next}");
}
