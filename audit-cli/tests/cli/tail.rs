//! `audit tail`: the last records, and `-f` following a log that a writer is appending to.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

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
    let (_child, lines) = follow(&fixture.dir, &["-n", "1"]);
    let wait = Duration::from_secs(20);
    let (first, _) = lines.recv_timeout(wait).expect("the last record is printed first");
    assert!(first.contains("#3  token.created"), "{first}");

    let mut event = EventKind::TaskCanceled.example();
    if let AuditEvent::TaskCanceled { reason, .. } = &mut event {
        *reason = "follow-marker".to_owned();
    }
    writer.append_batch(&[entry(event, at(2), 77)], at(2)).unwrap();
    let (next, _) = lines.recv_timeout(wait).expect("the appended record is followed");
    assert!(next.contains("#4  task.canceled") && next.contains("follow-marker"), "{next}");
}

/// Starts `audit tail DIR -f` with `args` and a thread that passes each stdout line, with the
/// instant it arrived, to the returned channel.
fn follow(dir: &std::path::Path, args: &[&str]) -> (Killed, mpsc::Receiver<(String, Instant)>) {
    let mut child = Killed(
        Command::new(env!("CARGO_BIN_EXE_audit"))
            .args(["tail", dir.to_str().unwrap(), "-f"])
            .args(args)
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
            if lines_tx.send((line.unwrap(), Instant::now())).is_err() {
                break;
            }
        }
    });
    (child, lines)
}

/// The acceptance bound of issue 16: each record reaches `tail -f --format jsonl` within 100 ms
/// of its batch becoming durable (`append_batch` returned). The test appends one batch, waits
/// for its line, then appends the next, so a poller would see every batch one full interval
/// late; the median of 20 latencies is held to the bound, which tolerates a busy machine
/// delaying some of them.
#[test]
fn tail_follow_jsonl_prints_each_batch_within_100_ms_of_it_becoming_durable() {
    let (fixture, mut writer) = new_log();
    writer.append_batch(&entries(2, at(1)), at(1)).unwrap();
    let (_child, lines) = follow(&fixture.dir, &["-n", "1", "--format", "jsonl"]);
    let wait = Duration::from_secs(20);
    // The watch is set before the first read: once the last record is shown, it is in place.
    let (first, _) = lines.recv_timeout(wait).expect("the last record is printed first");
    let first: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert_eq!(first["seq"], 2, "{first}");

    let mut latencies = Vec::new();
    let mut next_seq = 3u64;
    for i in 0..20u64 {
        let time = at(2 + i64::try_from(i).unwrap());
        if i == 10 {
            // A new segment: the follower must pick it up from the directory watch.
            writer.rotate(time).unwrap();
        }
        let mut event = EventKind::TaskCanceled.example();
        if let AuditEvent::TaskCanceled { reason, .. } = &mut event {
            *reason = format!("batch {i}");
        }
        writer.append_batch(&[entry(event, time, 100 + i)], time).unwrap();
        let durable = Instant::now();
        loop {
            let (line, arrived) =
                lines.recv_timeout(wait).expect("the appended record is followed");
            let value: serde_json::Value = serde_json::from_str(&line).unwrap();
            assert_eq!(value["seq"], next_seq, "{line}");
            assert!(value["hash"].is_string() && value["prev_hash"].is_string(), "{line}");
            next_seq += 1;
            if value["kind"] == "task.canceled" {
                assert_eq!(value["event"]["reason"], format!("batch {i}"), "{line}");
                latencies.push(arrived.saturating_duration_since(durable));
                break;
            }
        }
    }
    assert!(crate::support::segments(&fixture.dir).len() >= 2);
    latencies.sort();
    let median = latencies[latencies.len() / 2];
    assert!(
        median < Duration::from_millis(100),
        "median latency {median:?} (all, sorted: {latencies:?})"
    );
}

#[test]
fn tail_follow_refuses_a_json_array_and_tail_prints_every_record_format() {
    let fixture = written_log(2);
    let run = fixture.audit(&["tail", "{dir}", "-f", "--format", "json"]).expect(2);
    assert!(run.stderr.contains("--format jsonl"), "{}", run.stderr);
    let run = fixture.audit(&["tail", "{dir}", "-n", "3", "--format", "json"]).expect(0);
    let array: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(array.as_array().unwrap().len(), 3);
    let run = fixture.audit(&["tail", "{dir}", "-n", "3", "--format", "csv"]).expect(0);
    assert_eq!(run.lines().len(), 4, "{}", run.stdout);
    assert!(run.lines()[0].starts_with("seq,time,"), "{}", run.stdout);
}
