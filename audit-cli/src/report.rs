//! `audit report`: a compliance report for a period, from one streaming pass over the log and
//! one verification run.
//!
//! The report states the period asked for and what was actually found in it, the integrity
//! status (and what it was checked with), counts per category and kind, security incidents
//! with sequence numbers, authentication failures by actor and address, GDPR requests and
//! erasures, retention status against the framework's period, and every drop, restart and
//! crash recovery on record. Lists are bounded ([`MAX_LISTED`]); the totals are always exact.
//!
//! The Integrity section carries the verdict of `audit verify` (PASS only when every record
//! present is authenticated with the verifier material) and the sentence saying what was proven.
//!
//! Exit status: 0 when the report was written, verification found no failure and the log was
//! read to the end; 1 when the report was written but verification failed, the log could not be
//! read to the end, or the verdict is weaker than `--require-key` or `--require-anchor` demand.

mod html;
mod markdown;

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context as _;
use audit_events::{AuditEvent, Body, Category, Record, Severity, SystemRecord, Timestamp};
use audit_store::{LogReader, RetentionPolicy, Verdict};
use input_validation::truncate_escaped;
use serde_json::{Value, json};

use crate::Ctx;
use crate::cli::{Framework, ReportArgs, ReportFormat};
use crate::error::ExitStatus;
use crate::keyfile::TrustAnchor;
use crate::output::{details, json_pretty};
use crate::time::parse_time;
use crate::verify::{exit_status, failure_place, load_anchor, options, run_verify, summary};

/// Longest list of incidents, requests, drops... shown; totals still count everything.
pub(crate) const MAX_LISTED: usize = 500;
/// Distinct (actor, address) pairs counted separately; more are pooled as `(other)`.
const MAX_AUTH_PAIRS: usize = 1000;
/// Longest `details` text shown for one listed record, in bytes.
const MAX_DETAILS_BYTES: usize = 300;
const DAY_NANOS: i64 = 86_400 * 1_000_000_000;

/// The event categories (every category but `system`), in chart and table order.
pub(crate) const EVENT_CATEGORIES: [Category; 7] = [
    Category::Authentication,
    Category::Authorization,
    Category::Resource,
    Category::Vram,
    Category::Security,
    Category::DataAccess,
    Category::Compliance,
];

/// One listed record.
pub(crate) struct Item {
    pub(crate) seq: u64,
    pub(crate) time: Timestamp,
    pub(crate) kind: &'static str,
    pub(crate) severity: Severity,
    /// Raw subject from the log (renderers make it safe).
    pub(crate) subject: String,
    /// Display-safe `key=value` fields, cut to [`MAX_DETAILS_BYTES`].
    pub(crate) details: String,
}

/// Failed sign-ins of one actor from one address.
#[derive(Default)]
pub(crate) struct AuthFailures {
    pub(crate) count: u64,
    pub(crate) first_seq: u64,
    pub(crate) last_seq: u64,
}

/// A retention purge on record.
pub(crate) struct Purge {
    pub(crate) seq: u64,
    pub(crate) time: Timestamp,
    pub(crate) first_seq: u64,
    pub(crate) last_seq: u64,
    pub(crate) retention_days: u32,
}

/// An events-dropped record in the period.
pub(crate) struct Dropped {
    pub(crate) seq: u64,
    pub(crate) time: Timestamp,
    pub(crate) total: u64,
    /// Refusals per kind (dotted name, count).
    pub(crate) by_kind: Vec<(String, u64)>,
}

/// Everything the report says, gathered before rendering.
pub(crate) struct Report {
    pub(crate) framework: Framework,
    pub(crate) generated_at: Timestamp,
    pub(crate) dir: String,
    pub(crate) log_id: String,
    pub(crate) service_id: String,
    pub(crate) since: Option<Timestamp>,
    pub(crate) until: Option<Timestamp>,
    /// Records (events and system records) in the period.
    pub(crate) records: u64,
    pub(crate) events: u64,
    pub(crate) first: Option<(u64, Timestamp)>,
    pub(crate) last: Option<(u64, Timestamp)>,
    pub(crate) intact: bool,
    pub(crate) verdict: Verdict,
    /// What was and was not proven, one sentence (after the verdict word).
    pub(crate) conclusion: String,
    pub(crate) checked_with: &'static str,
    pub(crate) integrity_summary: String,
    pub(crate) integrity_failure: Option<String>,
    pub(crate) integrity_warnings: Vec<String>,
    /// Counts per category, in `Category::ALL` order.
    pub(crate) categories: [u64; 8],
    pub(crate) kinds: BTreeMap<&'static str, u64>,
    pub(crate) incidents: Vec<Item>,
    pub(crate) incidents_total: u64,
    pub(crate) auth_failures: BTreeMap<(String, String), AuthFailures>,
    pub(crate) auth_failures_total: u64,
    pub(crate) gdpr: Vec<Item>,
    pub(crate) gdpr_total: u64,
    pub(crate) required_days: u32,
    pub(crate) oldest: Option<(u64, Timestamp)>,
    pub(crate) purges: Vec<Purge>,
    /// Events-dropped records in the period.
    pub(crate) drops: Vec<Dropped>,
    pub(crate) dropped_total: u64,
    /// Crash recoveries in the period: seq, time, segment, bytes discarded.
    pub(crate) recoveries: Vec<(u64, Timestamp, String, u64)>,
    /// Writer restarts in the period: seq, time, whether the previous close was clean.
    pub(crate) restarts: Vec<(u64, Timestamp, bool)>,
    /// Events per UTC day and event category.
    pub(crate) per_day: BTreeMap<i64, [u64; 7]>,
    /// Why the log could not be read to the end, if it could not.
    pub(crate) read_error: Option<String>,
}

impl Report {
    pub(crate) fn framework_name(&self) -> &'static str {
        match self.framework {
            Framework::Soc2 => "SOC 2",
            Framework::Gdpr => "GDPR",
            Framework::Iso27001 => "ISO/IEC 27001",
        }
    }

    /// What the framework asks of an audit trail, in one sentence with its references.
    pub(crate) fn framework_scope(&self) -> &'static str {
        match self.framework {
            Framework::Soc2 => {
                "Evidence for the Trust Services Criteria on logical access (CC6.1) and on \
                 monitoring and evaluating security events (CC7.2, CC7.3)."
            }
            Framework::Gdpr => {
                "Evidence for accountability (Art. 5(2)), data subject access and erasure \
                 requests (Art. 15, Art. 17) and security of processing (Art. 32)."
            }
            Framework::Iso27001 => {
                "Evidence for the Annex A controls on logging (A.8.15), monitoring activities \
                 (A.8.16) and protection of records (A.5.33)."
            }
        }
    }

    /// Whether every purge kept records at least as long as the framework requires.
    pub(crate) fn retention_ok(&self) -> bool {
        self.purges.iter().all(|p| p.retention_days >= self.required_days)
    }

    /// Whether verification found no failure and the log was read to the end (the verdict says
    /// what was authenticated).
    pub(crate) fn passed(&self) -> bool {
        self.intact && self.read_error.is_none()
    }

    /// The retention status in one sentence.
    pub(crate) fn retention_status(&self) -> String {
        let required = self.required_days;
        if let Some(bad) = self.purges.iter().find(|p| p.retention_days < required) {
            return format!(
                "VIOLATION: the purge at seq {} removed records {}..{} under a {}-day retention; \
                 {} requires {required} days",
                bad.seq,
                bad.first_seq,
                bad.last_seq,
                bad.retention_days,
                self.framework_name()
            );
        }
        let oldest = match self.oldest {
            Some((seq, time)) => {
                let age = (self.generated_at.0.saturating_sub(time.0)) / DAY_NANOS;
                format!("the oldest record present is seq {seq} of {time} ({age} days old)")
            }
            None => "the log holds no records".to_owned(),
        };
        let removed = match self.purges.last() {
            Some(p) => format!(
                "records up to seq {} were removed under a {}-day retention",
                p.last_seq, p.retention_days
            ),
            None => "nothing has been removed".to_owned(),
        };
        format!(
            "compliant: {removed}; {oldest}; {} requires keeping records {required} days",
            self.framework_name()
        )
    }
}

pub(crate) fn run(args: &ReportArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<ExitStatus> {
    let since = args.since.as_deref().map(|t| parse_time(t, ctx.now)).transpose()?;
    let until = args.until.as_deref().map(|t| parse_time(t, ctx.now)).transpose()?;
    let anchor = load_anchor(args.verification_key.as_deref(), args.require, "--verification-key")?;
    let period = Period { since, until, now: ctx.now };
    let report = collect(&args.dir, args.framework, period, anchor.as_ref(), ctx.err_is_terminal)?;
    let text = match args.format {
        ReportFormat::Md => markdown::render(&report),
        ReportFormat::Html => html::render(&report),
        ReportFormat::Json => json_pretty(&to_json(&report)) + "\n",
    };
    ctx.out.write_all(text.as_bytes())?;
    if !report.passed() {
        return Ok(ExitStatus::Finding);
    }
    exit_status(report.verdict, args.require, ctx.err)
}

/// The period a report covers, and when it is made.
#[derive(Clone, Copy)]
pub(crate) struct Period {
    pub(crate) since: Option<Timestamp>,
    pub(crate) until: Option<Timestamp>,
    pub(crate) now: Timestamp,
}

/// Verifies the log and reads it once, gathering everything a report says.
pub(crate) fn collect(
    dir: &Path,
    framework: Framework,
    period: Period,
    anchor: Option<&TrustAnchor>,
    progress: bool,
) -> anyhow::Result<Report> {
    let reader = LogReader::open(dir).with_context(|| format!("opening {}", dir.display()))?;
    let verify_options = options(anchor, &[], None)?;
    let verified = run_verify(dir, &verify_options, progress)?;
    let policy = match framework {
        Framework::Soc2 => RetentionPolicy::soc2(),
        Framework::Gdpr => RetentionPolicy::gdpr(),
        Framework::Iso27001 => RetentionPolicy::iso27001(),
    };
    let mut report = Report {
        framework,
        generated_at: period.now,
        dir: dir.display().to_string(),
        log_id: reader.meta().log_id.to_string(),
        service_id: crate::keyfile::service_identity(anchor, reader.meta()),
        since: period.since,
        until: period.until,
        records: 0,
        events: 0,
        first: None,
        last: None,
        intact: verified.is_intact(),
        verdict: verified.verdict(),
        conclusion: verified.conclusion().1,
        checked_with: anchor.map_or(
            "no verification key: seals were checked for consistency only, so a rewrite of the \
             whole log would not be detected",
            TrustAnchor::describe,
        ),
        integrity_summary: summary(&verified),
        integrity_failure: verified
            .failure
            .as_ref()
            .map(|f| format!("{}: {}", failure_place(f), f.reason)),
        integrity_warnings: verified.warnings.clone(),
        categories: [0; 8],
        kinds: BTreeMap::new(),
        incidents: Vec::new(),
        incidents_total: 0,
        auth_failures: BTreeMap::new(),
        auth_failures_total: 0,
        gdpr: Vec::new(),
        gdpr_total: 0,
        required_days: policy.days,
        oldest: None,
        purges: Vec::new(),
        drops: Vec::new(),
        dropped_total: 0,
        recoveries: Vec::new(),
        restarts: Vec::new(),
        per_day: BTreeMap::new(),
        read_error: None,
    };
    for stored in reader.records() {
        let record = match stored.and_then(|s| s.decode()) {
            Ok(record) => record,
            Err(e) => {
                report.read_error = Some(e.to_string());
                break;
            }
        };
        report.add(&record);
    }
    Ok(report)
}

impl Report {
    fn in_period(&self, time: Timestamp) -> bool {
        self.since.is_none_or(|s| time >= s) && self.until.is_none_or(|u| time < u)
    }

    fn item(record: &Record) -> Item {
        let details = details(record);
        let mut shown = truncate_escaped(&details, MAX_DETAILS_BYTES).to_owned();
        if shown.len() < details.len() {
            shown.push_str(" ...");
        }
        Item {
            seq: record.seq,
            time: record.time,
            kind: record.kind().as_str(),
            severity: record.severity(),
            subject: record.event().and_then(|e| e.subject_id()).unwrap_or("-").to_owned(),
            details: shown,
        }
    }

    /// Counts one record (the whole log is read; only the period is counted, except for
    /// retention, which concerns the whole log).
    fn add(&mut self, record: &Record) {
        if self.oldest.is_none() {
            self.oldest = Some((record.seq, record.time));
        }
        if let Body::System(SystemRecord::RetentionPurge {
            first_seq,
            last_seq,
            retention_days,
            ..
        }) = &record.body
            && self.purges.len() < MAX_LISTED
        {
            self.purges.push(Purge {
                seq: record.seq,
                time: record.time,
                first_seq: *first_seq,
                last_seq: *last_seq,
                retention_days: *retention_days,
            });
        }
        if !self.in_period(record.time) {
            return;
        }
        self.records += 1;
        if self.first.is_none() {
            self.first = Some((record.seq, record.time));
        }
        self.last = Some((record.seq, record.time));
        let kind = record.kind();
        let category = kind.category();
        if let Some(i) = Category::ALL.iter().position(|c| *c == category) {
            self.categories[i] += 1;
        }
        *self.kinds.entry(kind.as_str()).or_default() += 1;
        match &record.body {
            Body::Event(e) => self.add_event(record, &e.event, category),
            Body::System(system) => self.add_system(record, system),
        }
    }

    fn add_event(&mut self, record: &Record, event: &AuditEvent, category: Category) {
        self.events += 1;
        if let Some(i) = EVENT_CATEGORIES.iter().position(|c| *c == category) {
            self.per_day.entry(record.time.utc_day()).or_default()[i] += 1;
        }
        if category == Category::Security
            || matches!(event, AuditEvent::SealVerificationFailed { .. })
        {
            self.incidents_total += 1;
            if self.incidents.len() < MAX_LISTED {
                self.incidents.push(Self::item(record));
            }
        }
        if matches!(category, Category::Compliance)
            || matches!(event, AuditEvent::DataDeleted { .. })
        {
            self.gdpr_total += 1;
            if self.gdpr.len() < MAX_LISTED {
                self.gdpr.push(Self::item(record));
            }
        }
        let failed_sign_in = match event {
            AuditEvent::AuthFailure { attempted_user, ip, .. } => {
                Some((attempted_user.clone().unwrap_or_else(|| "-".to_owned()), ip.to_string()))
            }
            AuditEvent::InvalidTokenUsed { ip, token_fingerprint, .. } => {
                Some((format!("token:{token_fingerprint}"), ip.to_string()))
            }
            _ => None,
        };
        if let Some(mut key) = failed_sign_in {
            self.auth_failures_total += 1;
            if !self.auth_failures.contains_key(&key) && self.auth_failures.len() >= MAX_AUTH_PAIRS
            {
                key = ("(other)".to_owned(), "(other)".to_owned());
            }
            let entry = self.auth_failures.entry(key).or_default();
            if entry.count == 0 {
                entry.first_seq = record.seq;
            }
            entry.count += 1;
            entry.last_seq = record.seq;
        }
    }

    fn add_system(&mut self, record: &Record, system: &SystemRecord) {
        match system {
            SystemRecord::EventsDropped { total, by_kind, .. } => {
                self.dropped_total = self.dropped_total.saturating_add(*total);
                if self.drops.len() < MAX_LISTED {
                    let by_kind =
                        by_kind.iter().map(|k| (k.kind.as_str().to_owned(), k.count)).collect();
                    self.drops.push(Dropped {
                        seq: record.seq,
                        time: record.time,
                        total: *total,
                        by_kind,
                    });
                }
            }
            SystemRecord::CrashRecovery { segment, bytes_discarded, .. }
                if self.recoveries.len() < MAX_LISTED =>
            {
                self.recoveries.push((record.seq, record.time, segment.clone(), *bytes_discarded));
            }
            SystemRecord::LogResumed { previous_clean, .. } if self.restarts.len() < MAX_LISTED => {
                self.restarts.push((record.seq, record.time, *previous_clean));
            }
            _ => {}
        }
    }
}

/// The start of a UTC day as a date (`2026-11-22`).
pub(crate) fn day_label(day: i64) -> String {
    let text = Timestamp(day.saturating_mul(DAY_NANOS)).to_string();
    text.get(..10).unwrap_or(&text).to_owned()
}

fn item_json(item: &Item) -> Value {
    json!({
        "seq": item.seq,
        "time": item.time.to_string(),
        "kind": item.kind,
        "severity": item.severity.as_str(),
        "subject": item.subject,
        "details": item.details,
    })
}

fn to_json(r: &Report) -> Value {
    let categories: serde_json::Map<String, Value> = Category::ALL
        .iter()
        .zip(r.categories)
        .map(|(c, n)| (c.as_str().to_owned(), json!(n)))
        .collect();
    let per_day: Vec<Value> = r
        .per_day
        .iter()
        .map(|(day, counts)| {
            let by: serde_json::Map<String, Value> = EVENT_CATEGORIES
                .iter()
                .zip(counts)
                .map(|(c, n)| (c.as_str().to_owned(), json!(n)))
                .collect();
            json!({ "date": day_label(*day), "events": by })
        })
        .collect();
    json!({
        "framework": r.framework_name(),
        "scope": r.framework_scope(),
        "generated_at": r.generated_at.to_string(),
        "log": { "dir": r.dir, "log_id": r.log_id, "service_id": r.service_id },
        "period": {
            "since": r.since.map(|t| t.to_string()),
            "until": r.until.map(|t| t.to_string()),
            "records": r.records,
            "events": r.events,
            "first": r.first.map(|(seq, t)| json!({ "seq": seq, "time": t.to_string() })),
            "last": r.last.map(|(seq, t)| json!({ "seq": seq, "time": t.to_string() })),
        },
        "integrity": {
            "verdict": r.verdict.word(),
            "authenticated": r.verdict.is_authenticated(),
            "conclusion": r.conclusion,
            "intact": r.intact,
            "checked_with": r.checked_with,
            "summary": r.integrity_summary,
            "failure": r.integrity_failure,
            "warnings": r.integrity_warnings,
            "read_error": r.read_error,
        },
        "categories": categories,
        "kinds": r.kinds,
        "security_incidents": {
            "total": r.incidents_total,
            "listed": r.incidents.iter().map(item_json).collect::<Vec<_>>(),
        },
        "authentication_failures": {
            "total": r.auth_failures_total,
            "by_actor_and_ip": r.auth_failures.iter().map(|((actor, ip), f)| json!({
                "actor": actor, "ip": ip, "count": f.count,
                "first_seq": f.first_seq, "last_seq": f.last_seq,
            })).collect::<Vec<_>>(),
        },
        "gdpr": {
            "total": r.gdpr_total,
            "listed": r.gdpr.iter().map(item_json).collect::<Vec<_>>(),
        },
        "retention": {
            "required_days": r.required_days,
            "compliant": r.retention_ok(),
            "status": r.retention_status(),
            "oldest": r.oldest.map(|(seq, t)| json!({ "seq": seq, "time": t.to_string() })),
            "purges": r.purges.iter().map(|p| json!({
                "seq": p.seq, "time": p.time.to_string(), "first_seq": p.first_seq,
                "last_seq": p.last_seq, "retention_days": p.retention_days,
            })).collect::<Vec<_>>(),
        },
        "dropped_events": {
            "total": r.dropped_total,
            "records": r.drops.iter().map(|d| json!({
                "seq": d.seq, "time": d.time.to_string(), "total": d.total,
                "by_kind": d.by_kind.iter().map(|(k, n)| json!({ "kind": k, "count": n })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        },
        "recoveries": r.recoveries.iter().map(|(seq, t, segment, bytes)| json!({
            "seq": seq, "time": t.to_string(), "segment": segment, "bytes_discarded": bytes,
        })).collect::<Vec<_>>(),
        "restarts": r.restarts.iter().map(|(seq, t, clean)| json!({
            "seq": seq, "time": t.to_string(), "previous_clean": clean,
        })).collect::<Vec<_>>(),
        "events_per_day": per_day,
    })
}
