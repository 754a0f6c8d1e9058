//! `audit legal-hold`: a hold placed and lifted through the real binary is in the chain, the
//! writer's retention honours it after a restart, and verify reports it.

use audit_events::Timestamp;
use audit_store::{LogConfig, LogWriter, VerifyOptions, verify};

use crate::support::{Fixture, entries};

const DAY: i64 = 86_400 * 1_000_000_000;

fn short_retention(service: &str) -> LogConfig {
    let mut config = crate::support::config();
    config.service_id = service.to_owned();
    config.retention.days = 1;
    config
}

#[test]
fn a_hold_placed_by_the_cli_stops_retention_until_it_is_lifted() {
    // Written three days ago, so that retention would remove the old segments.
    let start = Timestamp(Timestamp::now().0 - 3 * DAY);
    let (fixture, mut writer): (Fixture, LogWriter) = crate::support::new_log_at(start);
    for i in 0..6 {
        let t = Timestamp(start.0 + i * 1_000_000_000);
        writer.append_batch(&entries(20, t), t).unwrap();
    }
    writer.close(Timestamp(start.0 + 10_000_000_000)).unwrap();
    let service = fixture.material.origin.split('/').nth(1).unwrap().to_owned();

    let run = fixture.audit(&["legal-hold", "{dir}", "--set", "case 2026-17\x1b[2J"]).expect(0);
    assert!(run.stdout.contains("legal hold placed"), "{}", run.stdout);
    assert!(!run.stdout.contains('\x1b'), "the reason is shown escaped: {}", run.stdout);
    fixture.audit(&["legal-hold", "{dir}", "--set", "again"]).expect(0);
    fixture.audit(&["legal-hold", "{dir}"]).expect(2);

    let mut writer =
        LogWriter::open(&fixture.dir, short_retention(&service), Timestamp::now()).unwrap();
    assert!(writer.legal_hold().is_some_and(|r| r.starts_with("case 2026-17")));
    assert_eq!(writer.apply_retention(Timestamp::now()).unwrap(), None);
    writer.close(Timestamp::now()).unwrap();
    let options = VerifyOptions::with_material(fixture.material.clone());
    let report = verify(&fixture.dir, &options).unwrap();
    assert!(report.is_intact(), "{report:#?}");
    assert_eq!(report.legal_hold, Some(true));

    let run = fixture.audit(&["legal-hold", "{dir}", "--release", "case closed"]).expect(0);
    assert!(run.stdout.contains("legal hold lifted"), "{}", run.stdout);
    let mut writer =
        LogWriter::open(&fixture.dir, short_retention(&service), Timestamp::now()).unwrap();
    assert!(writer.apply_retention(Timestamp::now()).unwrap().is_some());
    writer.close(Timestamp::now()).unwrap();
    let mut options = options;
    options.min_retention_days = Some(1);
    let report = verify(&fixture.dir, &options).unwrap();
    assert!(report.is_intact(), "{report:#?}");
    assert_eq!(report.legal_hold, Some(false));
}
