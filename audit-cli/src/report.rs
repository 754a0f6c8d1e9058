//! `audit report`: a report for one compliance framework, from one verification run and one
//! streaming pass over the log.
//!
//! Every framework gets its own sections ([`frameworks`]), built from what one pass gathers
//! ([`Report`]): populations an auditor samples from (sign-ins, access decisions, tokens,
//! permission changes, changes), security events and the action recorded with them, data
//! subject requests and how long each took, access to personal data by processor, privileged
//! activity, the clock as the records show it, the integrity evidence and the retention
//! policy. `docs/COMPLIANCE.md` says which control each section serves and what the log
//! cannot show.
//!
//! The report is evidence itself. It names the signed checkpoint it was computed from and
//! counts only the records that checkpoint covers; it states the query; its last line carries
//! the SHA-256 of every byte before that line; `--sign` writes a signed note over the whole
//! file's SHA-256 beside it ([`sign`]). Integrity is PASS only when the verifier material
//! authenticated every record; anything less is NOT PROVEN, and a failure is FAIL. Retention
//! is the organisation's policy, with its source, and is judged only once the log is old
//! enough for the policy to have been tested. Lists are bounded ([`MAX_LISTED`]); totals are
//! exact, and `--populations` writes the complete populations as CSV.
//!
//! Exit status: 0 when the report was written, verification found no failure and the log was
//! read to the end; 1 when the report was written but verification failed, the log could not be
//! read to the end, or the verdict is weaker than `--require-key` or `--require-anchor` demand.

mod doc;
pub(crate) mod frameworks;
mod html;
pub(crate) mod json;
pub(crate) mod markdown;
mod populations;
mod pseudo;
pub(crate) mod sign;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::Context as _;
use audit_chain::open_checkpoint;
use audit_events::{AuditEvent, Body, Category, Record, Severity, SystemRecord, Timestamp, to_hex};
use audit_store::{LogReader, Verdict};
use input_validation::truncate_escaped;

use crate::Ctx;
use crate::cli::{Framework, ReportArgs, ReportFormat};
use crate::error::ExitStatus;
use crate::keyfile::TrustAnchor;
use crate::output::details_with;
use crate::time::parse_range;
use crate::verify::{exit_status, failure_place, load_anchor, options, run_verify, summary};

pub(crate) use populations::Populations;
pub(crate) use pseudo::Pseudonymiser;

/// Longest list of incidents, requests, drops... shown; totals still count everything.
pub(crate) const MAX_LISTED: usize = 500;
/// Distinct keys (actor and address pairs, processors, actors) counted separately; more are
/// pooled as `(other)`.
const MAX_KEYS: usize = 1000;
/// Data subject requests tracked for pairing with their fulfilment; more are counted only.
const MAX_OPEN_REQUESTS: usize = 100_000;
/// Longest `details` text shown for one listed record, in bytes.
const MAX_DETAILS_BYTES: usize = 300;
pub(crate) const DAY_NANOS: i64 = 86_400 * 1_000_000_000;

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
    /// Subject from the log, or its keyed digest when pseudonymising (renderers make it safe).
    pub(crate) subject: String,
    /// Display-safe `key=value` fields, cut to [`MAX_DETAILS_BYTES`].
    pub(crate) details: String,
    /// The action the service recorded with a security event (`action_taken`), if any.
    pub(crate) action: Option<String>,
}

/// How many records of one key (an actor and address, a processor), and the first and last.
#[derive(Default)]
pub(crate) struct Tally {
    pub(crate) count: u64,
    pub(crate) first_seq: u64,
    pub(crate) last_seq: u64,
}

impl Tally {
    fn add(&mut self, seq: u64) {
        if self.count == 0 {
            self.first_seq = seq;
        }
        self.count += 1;
        self.last_seq = seq;
    }
}

/// A retention purge on record.
pub(crate) struct Purge {
    pub(crate) seq: u64,
    pub(crate) time: Timestamp,
    pub(crate) first_seq: u64,
    pub(crate) last_seq: u64,
    pub(crate) retention_days: u32,
    pub(crate) cutoff: Timestamp,
}

/// An events-dropped record in the period.
pub(crate) struct Dropped {
    pub(crate) seq: u64,
    pub(crate) time: Timestamp,
    pub(crate) total: u64,
    /// Refusals per kind (dotted name, count).
    pub(crate) by_kind: Vec<(String, u64)>,
}

/// A data subject access request and the export that answered it, if one did.
pub(crate) struct Request {
    pub(crate) seq: u64,
    pub(crate) time: Timestamp,
    pub(crate) subject: String,
    pub(crate) fulfilled: Option<(u64, Timestamp)>,
}

/// Access to personal data by one processor (`provider_id`).
#[derive(Default)]
pub(crate) struct ProcessorUse {
    pub(crate) tally: Tally,
    pub(crate) subjects: BTreeSet<String>,
}

/// The latest signed checkpoint, and what checked its signature.
pub(crate) struct CheckpointInfo {
    pub(crate) origin: String,
    pub(crate) size: u64,
    pub(crate) root: String,
    /// Whether a key given by the operator verified the signature.
    pub(crate) authenticated: bool,
    pub(crate) signature: String,
}

/// The retention policy the report judges against, and where it comes from.
pub(crate) struct Policy {
    pub(crate) days: u32,
    pub(crate) source: &'static str,
}

/// What the records say about the clock that stamped them.
#[derive(Default)]
pub(crate) struct Clock {
    /// Records stamped earlier than the record before them.
    pub(crate) steps_back: u64,
    pub(crate) first_step_back: Option<u64>,
    pub(crate) largest_step_back_nanos: i64,
    previous: Option<Timestamp>,
}

/// Everything the report says, gathered before the sections are built.
pub(crate) struct Report {
    pub(crate) framework: Framework,
    pub(crate) generated_at: Timestamp,
    pub(crate) dir: String,
    pub(crate) log_id: String,
    pub(crate) service_id: String,
    pub(crate) since: Option<Timestamp>,
    pub(crate) until: Option<Timestamp>,
    /// The command line that produced the report, as far as it changes the content.
    pub(crate) command: String,
    pub(crate) checkpoint: Result<CheckpointInfo, String>,
    /// Records read after the checkpoint's tree size (not counted).
    pub(crate) after_checkpoint: u64,
    pub(crate) pseudonymised: bool,
    pub(crate) populations_dir: Option<String>,
    /// When the log was created, and whether the verifier material says so.
    pub(crate) created_at: (Timestamp, bool),
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
    pub(crate) seals: u64,
    pub(crate) seals_authenticated: bool,
    pub(crate) checkpoints_compared: u64,
    pub(crate) proven: Option<(u64, Timestamp, String)>,
    /// Counts per category, in `Category::ALL` order.
    pub(crate) categories: [u64; 8],
    pub(crate) kinds: BTreeMap<&'static str, u64>,
    /// Security events (the security category) and failed seal verifications (vram).
    pub(crate) incidents: Vec<Item>,
    pub(crate) incidents_total: u64,
    pub(crate) seal_failures: u64,
    pub(crate) auth_failures: BTreeMap<(String, String), Tally>,
    pub(crate) auth_failures_total: u64,
    pub(crate) sign_ins: u64,
    pub(crate) access: Vec<Item>,
    pub(crate) access_total: u64,
    pub(crate) denials: u64,
    pub(crate) tokens: Vec<Item>,
    pub(crate) tokens_total: u64,
    pub(crate) permission_changes: Vec<Item>,
    pub(crate) permission_changes_total: u64,
    pub(crate) changes: Vec<Item>,
    pub(crate) changes_total: u64,
    /// Actors of privileged activity (permission, token, pool and node changes).
    pub(crate) privileged: BTreeMap<String, u64>,
    /// Compliance events and data deletions (the demo's summary).
    pub(crate) gdpr_total: u64,
    pub(crate) requests: Vec<Request>,
    pub(crate) requests_total: u64,
    /// Open requests per subject, indices into `requests`.
    open_requests: BTreeMap<String, Vec<usize>>,
    pub(crate) exports: Vec<Item>,
    pub(crate) exports_total: u64,
    pub(crate) erasures: Vec<Item>,
    pub(crate) erasures_total: u64,
    pub(crate) processors: BTreeMap<String, ProcessorUse>,
    pub(crate) personal_data_access: u64,
    pub(crate) clock: Clock,
    pub(crate) policy: Option<Policy>,
    /// Oldest record present per category (the whole log), in `Category::ALL` order.
    pub(crate) oldest_by_category: [Option<(u64, Timestamp)>; 8],
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
    pseudo: Option<Pseudonymiser>,
}

impl Report {
    pub(crate) fn framework_name(&self) -> &'static str {
        match self.framework {
            Framework::Soc2 => "SOC 2",
            Framework::Gdpr => "GDPR",
            Framework::Iso27001 => "ISO/IEC 27001:2022",
            Framework::Hipaa => "HIPAA Security Rule",
            Framework::PciDss => "PCI DSS v4.0",
        }
    }

    /// Whether verification found no failure and the log was read to the end (the verdict says
    /// what was authenticated).
    pub(crate) fn passed(&self) -> bool {
        self.intact && self.read_error.is_none()
    }

    /// Age of the log at the time of the report, in whole days.
    pub(crate) fn age_days(&self) -> i64 {
        self.generated_at.0.saturating_sub(self.created_at.0.0) / DAY_NANOS
    }

    /// A subject identifier as the report shows it: raw, or its keyed digest.
    fn who(&self, raw: &str) -> String {
        match &self.pseudo {
            Some(p) => p.digest(raw),
            None => raw.to_owned(),
        }
    }
}

/// The period a report covers, and when it is made.
#[derive(Clone, Copy)]
pub(crate) struct Period {
    pub(crate) since: Option<Timestamp>,
    pub(crate) until: Option<Timestamp>,
    pub(crate) now: Timestamp,
}

pub(crate) fn run(args: &ReportArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<ExitStatus> {
    let (since, until) =
        parse_range(args.since.as_deref(), args.until.as_deref(), ctx.now, &ctx.zone)?;
    let anchor = load_anchor(args.verification_key.as_deref(), args.require, "--verification-key")?;
    for (flag, path) in [("--output", &args.output), ("--populations", &args.populations)] {
        if let Some(path) = path {
            refuse_inside_log(&args.dir, path, flag)?;
        }
    }
    let signer = args.sign.as_deref().map(sign::load_signer).transpose()?;
    let pseudo = args.pseudonymise.as_deref().map(Pseudonymiser::load).transpose()?;
    let mut populations = args.populations.as_deref().map(Populations::create).transpose()?;
    let period = Period { since, until, now: ctx.now };
    let mut report = collect_with(
        &args.dir,
        args.framework,
        period,
        anchor.as_ref(),
        pseudo,
        populations.as_mut(),
        ctx.err_is_terminal,
    )?;
    if let Some(p) = populations {
        report.populations_dir = Some(p.finish()?);
    }
    report.command = command_line(args);
    let doc = frameworks::build(&report);
    let text = match args.format {
        ReportFormat::Md => sign::with_digest_line(markdown::render(&doc), args.format),
        ReportFormat::Html => sign::with_digest_line(html::render(&doc), args.format),
        ReportFormat::Json => sign::with_digest_line(json::render(&doc, &report), args.format),
    };
    match &args.output {
        Some(path) => {
            std::fs::write(path, text.as_bytes())
                .with_context(|| format!("writing {}", path.display()))?;
            if let Some(signer) = &signer {
                let sig = sign::sign_report(path, text.as_bytes(), signer)?;
                writeln!(
                    ctx.err,
                    "audit: signed {} with key {}; check it with `audit report-check {} \
                     --public-key FILE` (FILE holds {})",
                    sig.display(),
                    signer.name(),
                    path.display(),
                    signer.verifier_key()
                )?;
            }
        }
        None => ctx.out.write_all(text.as_bytes())?,
    }
    if !report.passed() {
        return Ok(ExitStatus::Finding);
    }
    exit_status(report.verdict, args.require, ctx.err)
}

/// Reading commands never write into the log directory: a report, its signature or its
/// populations there would be taken for part of the log.
fn refuse_inside_log(dir: &Path, path: &Path, flag: &str) -> anyhow::Result<()> {
    let Ok(log) = dir.canonicalize() else { return Ok(()) };
    let mut ancestor = Some(path);
    while let Some(p) = ancestor {
        if let Ok(real) = p.canonicalize() {
            if real.starts_with(&log) {
                return Err(crate::error::usage(format!(
                    "{flag} {}: refusing to write into the log directory {}",
                    path.display(),
                    dir.display()
                )));
            }
            return Ok(());
        }
        ancestor = p.parent().filter(|p| !p.as_os_str().is_empty());
    }
    Ok(())
}

/// The options that decide what the report says, as a command line.
fn command_line(args: &ReportArgs) -> String {
    let framework = match args.framework {
        Framework::Soc2 => "soc2",
        Framework::Gdpr => "gdpr",
        Framework::Iso27001 => "iso27001",
        Framework::Hipaa => "hipaa",
        Framework::PciDss => "pci-dss",
    };
    let mut line = format!("audit report {} --framework {framework}", args.dir.display());
    for (flag, value) in [("--since", &args.since), ("--until", &args.until)] {
        if let Some(v) = value {
            line.push_str(&format!(" {flag} {v}"));
        }
    }
    if let Some(key) = &args.verification_key {
        line.push_str(&format!(" --verification-key {}", key.display()));
    }
    if args.pseudonymise.is_some() {
        line.push_str(" --pseudonymise KEYFILE");
    }
    line
}

/// What a report says about integrity, as verification found it.
pub(crate) struct Integrity {
    pub(crate) intact: bool,
    pub(crate) verdict: Verdict,
    pub(crate) conclusion: String,
    pub(crate) checked_with: &'static str,
    pub(crate) summary: String,
    pub(crate) failure: Option<String>,
    pub(crate) warnings: Vec<String>,
    pub(crate) seals: u64,
    pub(crate) seals_authenticated: bool,
    pub(crate) checkpoints_compared: u64,
    pub(crate) proven: Option<(u64, Timestamp, String)>,
}

impl Report {
    /// A report with nothing counted yet; [`Report::add`] each record in order.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn blank(
        framework: Framework,
        period: &Period,
        dir: String,
        log_id: String,
        service_id: String,
        checkpoint: Result<CheckpointInfo, String>,
        created_at: (Timestamp, bool),
        pseudo: Option<Pseudonymiser>,
        integrity: Integrity,
        policy: Option<Policy>,
    ) -> Self {
        Self {
            framework,
            generated_at: period.now,
            dir,
            log_id,
            service_id,
            since: period.since,
            until: period.until,
            command: String::new(),
            checkpoint,
            after_checkpoint: 0,
            pseudonymised: pseudo.is_some(),
            populations_dir: None,
            created_at,
            records: 0,
            events: 0,
            first: None,
            last: None,
            intact: integrity.intact,
            verdict: integrity.verdict,
            conclusion: integrity.conclusion,
            checked_with: integrity.checked_with,
            integrity_summary: integrity.summary,
            integrity_failure: integrity.failure,
            integrity_warnings: integrity.warnings,
            seals: integrity.seals,
            seals_authenticated: integrity.seals_authenticated,
            checkpoints_compared: integrity.checkpoints_compared,
            proven: integrity.proven,
            categories: [0; 8],
            kinds: BTreeMap::new(),
            incidents: Vec::new(),
            incidents_total: 0,
            seal_failures: 0,
            auth_failures: BTreeMap::new(),
            auth_failures_total: 0,
            sign_ins: 0,
            access: Vec::new(),
            access_total: 0,
            denials: 0,
            tokens: Vec::new(),
            tokens_total: 0,
            permission_changes: Vec::new(),
            permission_changes_total: 0,
            changes: Vec::new(),
            changes_total: 0,
            privileged: BTreeMap::new(),
            gdpr_total: 0,
            requests: Vec::new(),
            requests_total: 0,
            open_requests: BTreeMap::new(),
            exports: Vec::new(),
            exports_total: 0,
            erasures: Vec::new(),
            erasures_total: 0,
            processors: BTreeMap::new(),
            personal_data_access: 0,
            clock: Clock::default(),
            policy,
            oldest_by_category: [None; 8],
            oldest: None,
            purges: Vec::new(),
            drops: Vec::new(),
            dropped_total: 0,
            recoveries: Vec::new(),
            restarts: Vec::new(),
            per_day: BTreeMap::new(),
            read_error: None,
            pseudo,
        }
    }
}

/// Verifies the log and reads it once, gathering everything a report says.
pub(crate) fn collect(
    dir: &Path,
    framework: Framework,
    period: Period,
    anchor: Option<&TrustAnchor>,
    progress: bool,
) -> anyhow::Result<Report> {
    collect_with(dir, framework, period, anchor, None, None, progress)
}

/// [`collect`], pseudonymising subject identifiers and writing the populations when asked.
pub(crate) fn collect_with(
    dir: &Path,
    framework: Framework,
    period: Period,
    anchor: Option<&TrustAnchor>,
    pseudo: Option<Pseudonymiser>,
    mut populations: Option<&mut Populations>,
    progress: bool,
) -> anyhow::Result<Report> {
    let reader = LogReader::open(dir).with_context(|| format!("opening {}", dir.display()))?;
    let checkpoint = checkpoint_info(dir, anchor);
    let verify_options = options(anchor, &[], None)?;
    let verified = run_verify(dir, &verify_options, progress)?;
    let material = match anchor {
        Some(TrustAnchor::Material(m)) => Some(m),
        _ => None,
    };
    let created_at = material.map_or((reader.meta().created_at, false), |m| (m.created_at, true));
    let integrity = Integrity {
        intact: verified.is_intact(),
        verdict: verified.verdict(),
        conclusion: verified.conclusion().1,
        checked_with: anchor.map_or(
            "no verification key: seals were checked for consistency only, so a rewrite of the \
             whole log would not be detected",
            TrustAnchor::describe,
        ),
        summary: summary(&verified),
        failure: verified.failure.as_ref().map(|f| format!("{}: {}", failure_place(f), f.reason)),
        warnings: verified.warnings.clone(),
        seals: verified.seals,
        seals_authenticated: verified.seals_authenticated,
        checkpoints_compared: verified.checkpoints,
        proven: verified.proven.as_ref().map(|p| (p.through_seq, p.at, p.by.clone())),
    };
    let policy = material.map(|m| Policy {
        days: m.min_retention_days,
        source: "the verifier material kept off the host (min-retention-days: the retention \
                 the log was created with)",
    });
    let mut report = Report::blank(
        framework,
        &period,
        dir.display().to_string(),
        reader.meta().log_id.to_string(),
        crate::keyfile::service_identity(anchor, reader.meta()),
        checkpoint,
        created_at,
        pseudo,
        integrity,
        policy,
    );
    let limit = report.checkpoint.as_ref().ok().map(|c| c.size);
    for stored in reader.records() {
        let record = match stored.and_then(|s| s.decode()) {
            Ok(record) => record,
            Err(e) => {
                report.read_error = Some(e.to_string());
                break;
            }
        };
        if limit.is_some_and(|size| record.seq >= size) {
            report.after_checkpoint += 1;
            continue;
        }
        report.add(&record, populations.as_deref_mut())?;
    }
    if report.policy.is_none()
        && let Some(p) = report.purges.last()
    {
        report.policy = Some(Policy {
            days: p.retention_days,
            source: "the latest retention_purge record (the writer's configuration when it \
                     purged; not authenticated without the verifier material)",
        });
    }
    Ok(report)
}

/// The latest checkpoint in the log directory, its signature checked with the key given, or
/// only with the key in `log.meta` when none was given.
fn checkpoint_info(dir: &Path, anchor: Option<&TrustAnchor>) -> Result<CheckpointInfo, String> {
    let (note, checkpoint) = audit_store::latest_checkpoint(dir).map_err(|e| e.to_string())?;
    let (authenticated, signature) = match anchor {
        Some(anchor) => {
            let verifier = anchor.note_verifier().map_err(|e| format!("{e:#}"))?;
            open_checkpoint(&note, &verifier).map_err(|e| {
                format!("the checkpoint's signature does not verify with the key given: {e}")
            })?;
            (true, format!("verified with the key given ({})", verifier.name()))
        }
        None => (
            false,
            "checked only with the key in log.meta, which anyone who can write the log \
             directory can replace: not proven"
                .to_owned(),
        ),
    };
    Ok(CheckpointInfo {
        origin: checkpoint.origin,
        size: checkpoint.size,
        root: to_hex(&checkpoint.root),
        authenticated,
        signature,
    })
}

/// Identifier fields a pseudonymised report replaces by keyed digests, wherever they appear.
pub(crate) const SUBJECT_FIELDS: [&str; 7] =
    ["user_id", "attempted_user", "customer_id", "requester", "subject", "ip", "session_id"];

impl Report {
    fn in_period(&self, time: Timestamp) -> bool {
        self.since.is_none_or(|s| time >= s) && self.until.is_none_or(|u| time < u)
    }

    fn item(&self, record: &Record) -> Item {
        let details = match &self.pseudo {
            Some(p) => details_with(record, &|v| p.edit(v)),
            None => details_with(record, &|_| {}),
        };
        let mut shown = truncate_escaped(&details, MAX_DETAILS_BYTES).to_owned();
        if shown.len() < details.len() {
            shown.push_str(" ...");
        }
        let action = match record.event() {
            Some(
                AuditEvent::PolicyViolation { action_taken, .. }
                | AuditEvent::IntegrityViolation { action_taken, .. }
                | AuditEvent::MalformedModelRejected { action_taken, .. }
                | AuditEvent::ResourceLimitViolation { action_taken, .. },
            ) => Some(action_taken.clone()),
            _ => None,
        };
        Item {
            seq: record.seq,
            time: record.time,
            kind: record.kind().as_str(),
            severity: record.severity(),
            subject: record
                .event()
                .and_then(|e| e.subject_id())
                .map_or("-".to_owned(), |s| self.who(s)),
            details: shown,
            action,
        }
    }

    /// Lists one record (bounded) and counts it, and writes it to its population file.
    fn list(
        &mut self,
        record: &Record,
        which: fn(&mut Self) -> (&mut Vec<Item>, &mut u64),
        population: Option<(&mut Populations, &'static str)>,
    ) -> anyhow::Result<()> {
        let item = self.item(record);
        if let Some((p, name)) = population {
            p.write(name, &item)?;
        }
        let (list, total) = which(self);
        *total += 1;
        if list.len() < MAX_LISTED {
            list.push(item);
        }
        Ok(())
    }

    /// Counts one record (the whole log is read; only the period is counted, except for
    /// retention, which concerns the whole log).
    pub(crate) fn add(
        &mut self,
        record: &Record,
        populations: Option<&mut Populations>,
    ) -> anyhow::Result<()> {
        if self.oldest.is_none() {
            self.oldest = Some((record.seq, record.time));
        }
        let kind = record.kind();
        let category = kind.category();
        let index = Category::ALL.iter().position(|c| *c == category);
        if let Some(i) = index
            && self.oldest_by_category[i].is_none()
        {
            self.oldest_by_category[i] = Some((record.seq, record.time));
        }
        if let Some(previous) = self.clock.previous
            && record.time < previous
        {
            self.clock.steps_back += 1;
            self.clock.first_step_back.get_or_insert(record.seq);
            self.clock.largest_step_back_nanos =
                self.clock.largest_step_back_nanos.max(previous.0.saturating_sub(record.time.0));
        }
        self.clock.previous = Some(record.time);
        if let Body::System(SystemRecord::RetentionPurge {
            first_seq,
            last_seq,
            retention_days,
            cutoff,
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
                cutoff: *cutoff,
            });
        }
        if !self.in_period(record.time) {
            return Ok(());
        }
        self.records += 1;
        if self.first.is_none() {
            self.first = Some((record.seq, record.time));
        }
        self.last = Some((record.seq, record.time));
        if let Some(i) = index {
            self.categories[i] += 1;
        }
        *self.kinds.entry(kind.as_str()).or_default() += 1;
        match &record.body {
            Body::Event(e) => self.add_event(record, &e.event, category, populations),
            Body::System(system) => {
                self.add_system(record, system);
                Ok(())
            }
        }
    }

    fn add_event(
        &mut self,
        record: &Record,
        event: &AuditEvent,
        category: Category,
        mut populations: Option<&mut Populations>,
    ) -> anyhow::Result<()> {
        self.events += 1;
        if let Some(i) = EVENT_CATEGORIES.iter().position(|c| *c == category) {
            self.per_day.entry(record.time.utc_day()).or_default()[i] += 1;
        }
        macro_rules! pop {
            ($name:expr) => {
                populations.as_deref_mut().map(|p| (p, $name))
            };
        }
        let is_seal_failure = matches!(event, AuditEvent::SealVerificationFailed { .. });
        if category == Category::Security || is_seal_failure {
            if is_seal_failure {
                self.seal_failures += 1;
            }
            self.list(
                record,
                |r| (&mut r.incidents, &mut r.incidents_total),
                pop!("security-events"),
            )?;
        }
        if matches!(category, Category::Compliance)
            || matches!(event, AuditEvent::DataDeleted { .. })
        {
            self.gdpr_total += 1;
        }
        match event {
            AuditEvent::AuthSuccess { .. } | AuditEvent::AuthFailure { .. } => {
                if matches!(event, AuditEvent::AuthSuccess { .. }) {
                    self.sign_ins += 1;
                }
                if let Some((p, name)) = pop!("sign-ins") {
                    p.write(name, &self.item(record))?;
                }
            }
            AuditEvent::AuthorizationGranted { .. } | AuditEvent::AuthorizationDenied { .. } => {
                if matches!(event, AuditEvent::AuthorizationDenied { .. }) {
                    self.denials += 1;
                }
                self.list(
                    record,
                    |r| (&mut r.access, &mut r.access_total),
                    pop!("access-decisions"),
                )?;
            }
            AuditEvent::TokenCreated { .. } | AuditEvent::TokenRevoked { .. } => {
                self.list(record, |r| (&mut r.tokens, &mut r.tokens_total), pop!("tokens"))?;
            }
            AuditEvent::PermissionChanged { .. } => {
                self.list(
                    record,
                    |r| (&mut r.permission_changes, &mut r.permission_changes_total),
                    pop!("permission-changes"),
                )?;
            }
            AuditEvent::PoolCreated { .. }
            | AuditEvent::PoolDeleted { .. }
            | AuditEvent::PoolModified { .. }
            | AuditEvent::NodeRegistered { .. }
            | AuditEvent::NodeDeregistered { .. } => {
                self.list(record, |r| (&mut r.changes, &mut r.changes_total), pop!("changes"))?;
            }
            AuditEvent::GdprDataAccessRequest { customer_id, .. } => {
                if let Some((p, name)) = pop!("data-subject-requests") {
                    p.write(name, &self.item(record))?;
                }
                self.add_request(record, customer_id);
            }
            AuditEvent::GdprDataExport { customer_id, .. } => {
                self.fulfil(record, customer_id);
                self.list(
                    record,
                    |r| (&mut r.exports, &mut r.exports_total),
                    pop!("data-subject-requests"),
                )?;
            }
            AuditEvent::GdprRightToErasure { .. } | AuditEvent::DataDeleted { .. } => {
                self.list(record, |r| (&mut r.erasures, &mut r.erasures_total), pop!("erasures"))?;
            }
            AuditEvent::InferenceExecuted { customer_id, provider_id, .. }
            | AuditEvent::ModelAccessed { customer_id, provider_id, .. } => {
                self.personal_data_access += 1;
                if let Some((p, name)) = pop!("personal-data-access") {
                    p.write(name, &self.item(record))?;
                }
                let processor = provider_id.clone().unwrap_or_default();
                let subject = self.who(customer_id);
                let key = if self.processors.contains_key(&processor)
                    || self.processors.len() < MAX_KEYS
                {
                    processor
                } else {
                    "(other)".to_owned()
                };
                let entry = self.processors.entry(key).or_default();
                entry.tally.add(record.seq);
                if entry.subjects.len() < MAX_KEYS {
                    entry.subjects.insert(subject);
                }
            }
            _ => {}
        }
        if matches!(
            event,
            AuditEvent::PermissionChanged { .. }
                | AuditEvent::TokenCreated { .. }
                | AuditEvent::TokenRevoked { .. }
                | AuditEvent::PoolCreated { .. }
                | AuditEvent::PoolDeleted { .. }
                | AuditEvent::PoolModified { .. }
                | AuditEvent::NodeRegistered { .. }
                | AuditEvent::NodeDeregistered { .. }
        ) && let Some(actor) = event.actor()
        {
            let who = self.who(&actor.user_id);
            let key = if self.privileged.contains_key(&who) || self.privileged.len() < MAX_KEYS {
                who
            } else {
                "(other)".to_owned()
            };
            *self.privileged.entry(key).or_default() += 1;
        }
        let failed_sign_in = match event {
            AuditEvent::AuthFailure { attempted_user, ip, .. } => Some((
                attempted_user.as_deref().map_or_else(|| "-".to_owned(), |u| self.who(u)),
                self.who(&ip.to_string()),
            )),
            AuditEvent::InvalidTokenUsed { ip, token_fingerprint, .. } => {
                Some((format!("token:{token_fingerprint}"), self.who(&ip.to_string())))
            }
            _ => None,
        };
        if let Some(mut key) = failed_sign_in {
            self.auth_failures_total += 1;
            if !self.auth_failures.contains_key(&key) && self.auth_failures.len() >= MAX_KEYS {
                key = ("(other)".to_owned(), "(other)".to_owned());
            }
            self.auth_failures.entry(key).or_default().add(record.seq);
        }
        Ok(())
    }

    /// A data subject access request: listed, and kept open until an export for the same
    /// subject answers it.
    fn add_request(&mut self, record: &Record, customer_id: &str) {
        self.requests_total += 1;
        if self.requests.len() >= MAX_OPEN_REQUESTS {
            return;
        }
        let subject = self.who(customer_id);
        self.requests.push(Request {
            seq: record.seq,
            time: record.time,
            subject,
            fulfilled: None,
        });
        self.open_requests.entry(customer_id.to_owned()).or_default().push(self.requests.len() - 1);
    }

    /// An export answers the oldest open request of the same subject.
    fn fulfil(&mut self, record: &Record, customer_id: &str) {
        let Some(open) = self.open_requests.get_mut(customer_id) else { return };
        if open.is_empty() {
            return;
        }
        let index = open.remove(0);
        if open.is_empty() {
            self.open_requests.remove(customer_id);
        }
        if let Some(request) = self.requests.get_mut(index) {
            request.fulfilled = Some((record.seq, record.time));
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

/// The same time one calendar month later (the last day of the month when the day does not
/// exist there: 31 January gives 28 or 29 February).
pub(crate) fn one_month_after(time: Timestamp) -> Timestamp {
    let day = time.0.div_euclid(DAY_NANOS);
    let rest = time.0.rem_euclid(DAY_NANOS);
    let (y, m, d) = civil_from_days(day);
    let (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    let d = d.min(days_in_month(y, m));
    Timestamp(days_from_civil(y, m, d).saturating_mul(DAY_NANOS).saturating_add(rest))
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 from a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        crate::time::parse_time(text, Timestamp(0), &jiff::tz::TimeZone::UTC).unwrap()
    }

    #[test]
    fn one_month_is_a_calendar_month() {
        assert_eq!(one_month_after(at("2026-01-15T10:00:00Z")), at("2026-02-15T10:00:00Z"));
        assert_eq!(one_month_after(at("2026-01-31T00:00:00Z")), at("2026-02-28T00:00:00Z"));
        assert_eq!(one_month_after(at("2028-01-31T00:00:00Z")), at("2028-02-29T00:00:00Z"));
        assert_eq!(one_month_after(at("2026-12-20T23:59:59Z")), at("2027-01-20T23:59:59Z"));
    }
}
