//! The sections of each framework's report, built from what one pass gathered. Every control a
//! section cites is listed in docs/COMPLIANCE.md with the wording it relies on and a link to
//! its source; every section also says what the log cannot show, and who must supply it.

use audit_events::{Category, Timestamp};
use audit_store::Verdict;

use super::doc::{Block, Cell, Doc, Section, Table, Tone};
use super::{DAY_NANOS, Item, Report, one_month_after};
use crate::cli::Framework;

/// The report for the framework the report was asked for.
pub(crate) fn build(r: &Report) -> Doc {
    let sections = match r.framework {
        Framework::Soc2 => vec![
            integrity(r),
            sign_ins(r, "cc6-sign-ins", &["CC6.1"]),
            access_decisions(r),
            credentials(r),
            permission_changes(r, "cc6-permission-changes", &["CC6.3"]),
            security_events(r, "cc7-security-events", &["CC7.2", "CC7.3"], false),
            changes(r),
            continuity(r),
            retention(r, "retention", &[]),
        ],
        Framework::Gdpr => vec![
            integrity(r),
            requests(r),
            erasures(r),
            processors(r),
            security_events(r, "art33-incidents", &["Art. 33(1)"], true),
            retention(r, "retention", &["Art. 5(1)(e)"]),
            continuity(r),
        ],
        Framework::Iso27001 => vec![
            logging(r),
            monitoring(r),
            clock(r, "a817-clock", &["A.8.17"]),
            evidence(r),
            retention(r, "a533-records", &["A.5.33"]),
            continuity(r),
        ],
        Framework::Hipaa => vec![
            integrity(r),
            hipaa_recorded(r),
            sign_ins(r, "hipaa-sign-ins", &["164.312(b)"]),
            processors(r),
            security_events(r, "hipaa-examine", &["164.312(b)"], false),
            continuity(r),
            retention(r, "retention", &[]),
        ],
        Framework::PciDss => vec![
            integrity(r),
            pci_events(r),
            pci_details(),
            sign_ins(r, "pci-10-2-1-4", &["10.2.1.4"]),
            permission_changes(r, "pci-10-2-1-5", &["10.2.1.5"]),
            clock(r, "pci-10-6", &["10.6"]),
            retention(r, "pci-10-5-1", &["10.5.1"]),
            continuity(r),
        ],
    };
    Doc {
        title: format!("{} audit log report", r.framework_name()),
        scope: scope(r.framework).to_owned(),
        facts: facts(r),
        sections,
    }
}

/// What the report is evidence for.
fn scope(framework: Framework) -> &'static str {
    match framework {
        Framework::Soc2 => {
            "Populations and events from one audit log for testing the Trust Services Criteria \
             on logical access (CC6.1, CC6.2, CC6.3), security events and their evaluation \
             (CC7.2, CC7.3) and changes (CC8.1). It shows what the log recorded; whether the \
             controls operated as designed is for the auditor to judge, with evidence the log \
             does not hold (listed in each section)."
        }
        Framework::Gdpr => {
            "Records of one audit log on data subject requests and the time taken to answer them \
             (Art. 12(3), Art. 15), erasures (Art. 17), processing of personal data by \
             processors (Art. 28(3)(h)) and security incidents (Art. 33(1)). The GDPR sets no \
             retention period for audit logs; the retention shown is the organisation's own \
             policy."
        }
        Framework::Iso27001 => {
            "Evidence from one audit log for the ISO/IEC 27001:2022 Annex A controls on logging \
             (A.8.15), monitoring activities (A.8.16), clock synchronization (A.8.17), \
             collection of evidence (A.5.28) and protection of records (A.5.33)."
        }
        Framework::Hipaa => {
            "Evidence from one audit log for the audit controls standard of the HIPAA Security \
             Rule (45 CFR 164.312(b)): the activity this log records, and what it can be \
             examined for. Whether the systems it covers contain or use electronic protected \
             health information is for the covered entity to establish."
        }
        Framework::PciDss => {
            "Evidence from one audit log for PCI DSS v4.0 requirement 10: which of the events \
             of 10.2.1 the log records (and which it does not), the details of 10.2.2, time \
             (10.6) and the retention of 10.5.1 compared with the organisation's policy."
        }
    }
}

fn own(text: impl Into<String>) -> Cell {
    Cell::Own(text.into())
}

fn facts(r: &Report) -> Vec<(&'static str, Cell)> {
    let period = format!(
        "{} to {}",
        r.since.map_or_else(|| "start of log".to_owned(), |t| t.to_string()),
        r.until.map_or_else(|| "end of log".to_owned(), |t| t.to_string())
    );
    let found = match (r.first, r.last) {
        (Some((fs, ft)), Some((ls, lt))) => format!(
            "{} records ({} events), seq {fs} at {ft} to seq {ls} at {lt}",
            r.records, r.events
        ),
        _ => "no records".to_owned(),
    };
    let (checkpoint, query) = match &r.checkpoint {
        Ok(c) => (
            format!(
                "origin {}, tree size {}, root {}; signature {}",
                c.origin, c.size, c.root, c.signature
            ),
            format!(
                "records with seq below {} (the checkpoint's tree size) whose time is in the \
                 period requested; {} records written after the checkpoint are not counted",
                c.size, r.after_checkpoint
            ),
        ),
        Err(e) => (
            format!(
                "none usable ({e}); the report counts every record present, which no checkpoint fixes"
            ),
            "every record present whose time is in the period requested".to_owned(),
        ),
    };
    let mut facts = vec![
        ("Log directory", Cell::Log(r.dir.clone())),
        ("Log id", Cell::Log(r.log_id.clone())),
        ("Service", Cell::Log(r.service_id.clone())),
        ("Generated", own(r.generated_at.to_string())),
        ("Period requested", own(period)),
        ("Found in period", own(found)),
        ("Signed checkpoint", Cell::Log(checkpoint)),
        ("Query", own(query)),
        ("Command", Cell::Log(r.command.clone())),
        (
            "Subject identifiers",
            own(if r.pseudonymised {
                "pseudonymised: user ids, customer ids, requesters, addresses and sessions are \
                 shown as keyed digests (ps-...); the key holder can match them, no one else can"
            } else {
                "shown as recorded"
            }),
        ),
    ];
    if let Some(dir) = &r.populations_dir {
        facts.push(("Populations (CSV)", Cell::Log(dir.clone())));
    }
    facts
}

/// The listed records, with the action recorded with them when action is set.
fn items(items: &[Item], total: u64, action: bool, empty: &'static str) -> Table {
    let columns: &[&str] = if action {
        &["seq", "time", "kind", "severity", "subject", "action recorded", "details"]
    } else {
        &["seq", "time", "kind", "severity", "subject", "details"]
    };
    let mut table = Table::new(columns, empty);
    for i in items {
        let mut row = vec![
            Cell::Num(i.seq),
            own(i.time.to_string()),
            own(i.kind),
            own(i.severity.to_string()),
            Cell::Log(i.subject.clone()),
        ];
        if action {
            row.push(
                i.action.as_ref().map_or_else(|| own("none recorded"), |a| Cell::Log(a.clone())),
            );
        }
        row.push(Cell::Log(i.details.clone()));
        table.push(row);
    }
    table.total = total;
    table
}

fn counts(rows: &[(&str, u64)]) -> Table {
    let mut table = Table::new(&["what", "records"], "None in this period.");
    for (what, n) in rows {
        table.push(vec![own(*what), Cell::Num(*n)]);
    }
    table
}

fn kind_count(r: &Report, kind: &str) -> u64 {
    r.kinds.get(kind).copied().unwrap_or(0)
}

fn population_note(r: &Report, name: &str) -> String {
    match &r.populations_dir {
        Some(_) => {
            format!("The complete population is in {name}.csv in the populations directory.")
        }
        None => format!(
            "The complete population, for sampling, is written as {name}.csv by --populations DIR."
        ),
    }
}

/// The integrity verdict, in the report's words: PASS only when authenticated.
fn integrity(r: &Report) -> Section {
    let mut s = Section::new("integrity", "Integrity of this evidence", &[]);
    integrity_blocks(r, &mut s);
    s
}

fn integrity_blocks(r: &Report, s: &mut Section) {
    let (word, tone, text) = match r.verdict {
        Verdict::Pass if r.passed() => {
            ("PASS".to_owned(), Tone::Good, format!("{} (verify's verdict: PASS).", r.conclusion))
        }
        Verdict::Fail => ("FAIL".to_owned(), Tone::Bad, format!("{}.", r.conclusion)),
        _ if !r.passed() => (
            "FAIL".to_owned(),
            Tone::Bad,
            "the log could not be read to the end; the counts stop there.".to_owned(),
        ),
        other => (
            "NOT PROVEN".to_owned(),
            Tone::Unproven,
            format!(
                "verify's verdict is {}: {}. Nothing in this report is proven beyond that.",
                other.word(),
                r.conclusion
            ),
        ),
    };
    s.status(&word, tone, text);
    s.para(format!("Checked with: {}.", r.checked_with));
    s.para(r.integrity_summary.clone());
    if let Some(failure) = &r.integrity_failure {
        s.para(format!("First failure: {failure}"));
    }
    if let Some(error) = &r.read_error {
        s.para(format!("The log could not be read to the end; counts stop there: {error}"));
    }
    for w in &r.integrity_warnings {
        s.para(format!("Warning: {w}"));
    }
}

fn sign_ins(r: &Report, id: &'static str, controls: &'static [&'static str]) -> Section {
    let mut s = Section::new(id, "Sign-ins and failed access attempts", controls);
    s.table(counts(&[
        ("successful sign-ins (auth.success)", r.sign_ins),
        ("failed sign-ins (auth.failure)", kind_count(r, "auth.failure")),
        (
            "invalid tokens presented (security.invalid_token_used)",
            kind_count(r, "security.invalid_token_used"),
        ),
        ("access denied (authz.denied)", r.denials),
    ]));
    s.para(format!(
        "Failed sign-ins and invalid tokens by actor and address ({}):",
        r.auth_failures_total
    ));
    let mut t =
        Table::new(&["actor", "ip", "failures", "first seq", "last seq"], "None in this period.");
    for ((actor, ip), f) in &r.auth_failures {
        t.push(vec![
            Cell::Log(actor.clone()),
            Cell::Log(ip.clone()),
            Cell::Num(f.count),
            Cell::Num(f.first_seq),
            Cell::Num(f.last_seq),
        ]);
    }
    s.table(t);
    s.para(population_note(r, "sign-ins"));
    s.limits(&[
        "Sign-ins to systems that do not write to this log (identity provider, consoles, \
         databases): their own logs.",
        "Whether a failed attempt was investigated: the organisation's incident or ticket \
         records.",
    ]);
    s
}

fn access_decisions(r: &Report) -> Section {
    let mut s = Section::new("cc6-access", "Access decisions", &["CC6.1", "CC6.3"]);
    s.para(format!(
        "{} access decisions: {} granted (authz.granted), {} denied (authz.denied).",
        r.access_total,
        r.access_total.saturating_sub(r.denials),
        r.denials
    ));
    s.table(items(&r.access, r.access_total, false, "None in this period."));
    s.para(population_note(r, "access-decisions"));
    s.limits(&[
        "Whether each grant matched an approved role: the access policy and role assignments \
         (identity management system).",
    ]);
    s
}

fn credentials(r: &Report) -> Section {
    let mut s = Section::new("cc6-credentials", "Tokens issued and revoked", &["CC6.2"]);
    s.para(format!(
        "{} token events: {} issued (token.created), {} revoked (token.revoked).",
        r.tokens_total,
        kind_count(r, "token.created"),
        kind_count(r, "token.revoked")
    ));
    s.table(items(&r.tokens, r.tokens_total, false, "None in this period."));
    s.para(population_note(r, "tokens"));
    s.limits(&[
        "The registration and authorisation of each user before a credential was issued: the \
         access request and approval records.",
        "Credentials issued by systems that do not write to this log.",
    ]);
    s
}

fn permission_changes(r: &Report, id: &'static str, controls: &'static [&'static str]) -> Section {
    let mut s = Section::new(id, "Permission changes", controls);
    s.para(format!(
        "{} permission changes (authz.permission_changed), each with the permissions before and \
         after.",
        r.permission_changes_total
    ));
    s.table(items(
        &r.permission_changes,
        r.permission_changes_total,
        false,
        "None in this period.",
    ));
    s.para(population_note(r, "permission-changes"));
    s.limits(&["The approval of each change: the access request and approval records."]);
    s
}

fn security_events(
    r: &Report,
    id: &'static str,
    controls: &'static [&'static str],
    art33: bool,
) -> Section {
    let title = if art33 {
        "Security incidents and the 72 hours of Art. 33"
    } else {
        "Security events and the action recorded with them"
    };
    let mut s = Section::new(id, title, controls);
    let security =
        r.categories[Category::ALL.iter().position(|c| *c == Category::Security).unwrap_or(0)];
    s.para(format!(
        "{} records: {} events of the security category plus {} seal.verification_failed \
         events (category vram: a model shard that failed verification), listed here because \
         they show data that did not match its expected digest.",
        r.incidents_total, security, r.seal_failures
    ));
    s.blocks.push(Block::Chart(r.per_day.clone()));
    if art33 {
        let mut t = Table::new(
            &["seq", "time", "kind", "severity", "72 hours after the event", "details"],
            "None in this period.",
        );
        for i in &r.incidents {
            t.push(vec![
                Cell::Num(i.seq),
                own(i.time.to_string()),
                own(i.kind),
                own(i.severity.to_string()),
                own(Timestamp(i.time.0.saturating_add(3 * DAY_NANOS)).to_string()),
                Cell::Log(i.details.clone()),
            ]);
        }
        t.total = r.incidents_total;
        s.table(t);
        s.para(
            "Art. 33(1) counts 72 hours from when the controller became aware of a personal data \
             breach. The column shows the latest notification time if awareness came at the \
             time of the event; it is not a finding.",
        );
        s.limits(&[
            "Whether an event was a personal data breach, when the controller became aware of \
             it, and when (and whether) the supervisory authority was notified: the controller's \
             breach register. No event kind records a notification, so the time to \
             notification cannot be computed from this log.",
        ]);
    } else {
        s.table(items(&r.incidents, r.incidents_total, true, "None in this period."));
        s.para(format!(
            "The action column is the action_taken the service recorded with the event (policy, \
             integrity, model and resource-limit violations); other kinds record none. {}",
            population_note(r, "security-events")
        ));
        s.limits(&[
            "How each event was evaluated and whether it became an incident (CC7.3 evaluation, \
             incident tickets, post-incident reviews): the incident management records.",
            "Detection rules and alert routing: the monitoring system's configuration.",
        ]);
    }
    s
}

fn changes(r: &Report) -> Section {
    let mut s = Section::new("cc8-changes", "Changes to pools, nodes and models", &["CC8.1"]);
    s.para(format!(
        "{} change events: pools created {}, modified {}, deleted {}; nodes registered {}, \
         deregistered {}. Pool events name the model they serve (model_ref).",
        r.changes_total,
        kind_count(r, "pool.created"),
        kind_count(r, "pool.modified"),
        kind_count(r, "pool.deleted"),
        kind_count(r, "node.registered"),
        kind_count(r, "node.deregistered")
    ));
    s.table(items(&r.changes, r.changes_total, false, "None in this period."));
    s.para(population_note(r, "changes"));
    s.limits(&[
        "The authorisation, design, testing and approval of each change: the change tickets and \
         code review records; this log shows only that the change was made, by whom and when.",
        "Changes to software and configuration outside pools and nodes: the deployment system's \
         records.",
    ]);
    s
}

fn requests(r: &Report) -> Section {
    let mut s = Section::new(
        "art12-requests",
        "Data subject access requests and time to answer",
        &["Art. 12(3)", "Art. 15"],
    );
    let (mut on_time, mut late, mut open_ok, mut overdue) = (0u64, 0u64, 0u64, 0u64);
    let mut t = Table::new(
        &[
            "seq",
            "received",
            "subject",
            "answered by export",
            "days",
            "one month after receipt",
            "status",
        ],
        "None in this period.",
    );
    for q in &r.requests {
        let deadline = one_month_after(q.time);
        let (answered, days, status) = match q.fulfilled {
            Some((seq, at)) => {
                let days = (at.0 - q.time.0) / DAY_NANOS;
                let status = if at <= deadline {
                    on_time += 1;
                    "answered within one month"
                } else {
                    late += 1;
                    "answered after one month"
                };
                (format!("seq {seq} at {at}"), days.to_string(), status)
            }
            None => {
                let days = (r.generated_at.0 - q.time.0) / DAY_NANOS;
                let status = if r.generated_at <= deadline {
                    open_ok += 1;
                    "no export yet, within one month"
                } else {
                    overdue += 1;
                    "no export after one month"
                };
                ("-".to_owned(), days.to_string(), status)
            }
        };
        t.push(vec![
            Cell::Num(q.seq),
            own(q.time.to_string()),
            Cell::Log(q.subject.clone()),
            own(answered),
            own(days),
            own(deadline.to_string()),
            own(status),
        ]);
    }
    t.total = r.requests_total;
    let untracked = r.requests_total - r.requests.len() as u64;
    s.para(format!(
        "{} access requests (compliance.gdpr_data_access_request): {on_time} answered within one \
         month of receipt, {late} answered later, {open_ok} without an export so far but within \
         one month, {overdue} without an export after one month. A request counts as answered \
         by the first data export (compliance.gdpr_data_export) for the same subject at or \
         after it; {} exports in all.{}",
        r.requests_total,
        r.exports_total,
        if untracked > 0 {
            format!(
                " {untracked} requests after the first {} were counted, not paired.",
                r.requests.len()
            )
        } else {
            String::new()
        }
    ));
    s.table(t);
    s.para(
        "Art. 12(3) allows two further months where necessary, if the data subject is told \
         within the first month; the log does not record extensions, so a request answered \
         after one month is shown, not judged.",
    );
    s.para("Exports (Art. 15(3) copies or Art. 20 portability; the log does not say which):");
    s.table(items(&r.exports, r.exports_total, false, "None in this period."));
    s.para(population_note(r, "data-subject-requests"));
    s.limits(&[
        "Requests received by other channels (mail, support desk) and not logged; extensions and \
         their reasons; answers other than an export (a refusal, information only): the \
         controller's request register.",
        "Whether the requester's identity was verified: the request register.",
    ]);
    s
}

fn erasures(r: &Report) -> Section {
    let mut s = Section::new("art17-erasures", "Erasures", &["Art. 17"]);
    s.para(format!(
        "{} erasure records: {} completed erasure requests (compliance.gdpr_right_to_erasure, with \
         the completion time and the data types erased) and {} deletions of customer data \
         (data.deleted, with a reason).",
        r.erasures_total,
        kind_count(r, "compliance.gdpr_right_to_erasure"),
        kind_count(r, "data.deleted")
    ));
    s.table(items(&r.erasures, r.erasures_total, false, "None in this period."));
    s.para(population_note(r, "erasures"));
    s.limits(&[
        "When each erasure was requested: no event records an erasure request, so the time from \
         request to erasure cannot be computed here; the controller's request register must \
         supply it.",
        "Erasure from backups and from processors' systems: their own records.",
    ]);
    s
}

fn processors(r: &Report) -> Section {
    let (id, controls): (&'static str, &'static [&'static str]) = match r.framework {
        Framework::Hipaa => ("hipaa-data-access", &["164.312(b)"]),
        _ => ("art28-processors", &["Art. 28(3)(h)"]),
    };
    let mut s = Section::new(id, "Access to personal data by processor", controls);
    s.para(format!(
        "{} accesses to customer data (data.inference_executed, data.model_accessed), by the \
         processor (provider_id) the event names.",
        r.personal_data_access
    ));
    let mut t = Table::new(
        &[
            "processor",
            "accesses",
            "distinct subjects (counted up to 1000)",
            "first seq",
            "last seq",
        ],
        "None in this period.",
    );
    for (processor, u) in &r.processors {
        let name = if processor.is_empty() {
            own("(none named: processing by the service itself)")
        } else {
            Cell::Log(processor.clone())
        };
        t.push(vec![
            name,
            Cell::Num(u.tally.count),
            Cell::Num(u.subjects.len() as u64),
            Cell::Num(u.tally.first_seq),
            Cell::Num(u.tally.last_seq),
        ]);
    }
    s.table(t);
    s.para(population_note(r, "personal-data-access"));
    s.limits(&[
        "Which data is personal data or electronic protected health information, and the \
         contract or agreement with each processor: the record of processing activities and \
         the processor agreements.",
        "Access by processors that do not write to this log: their own audit records.",
    ]);
    s
}

fn continuity(r: &Report) -> Section {
    let mut s = Section::new(
        "continuity",
        "Completeness of the record: drops, restarts, recoveries",
        match r.framework {
            Framework::PciDss => &["10.2.1.6"],
            _ => &[],
        },
    );
    s.para(format!(
        "Events refused before they reached the log (events_dropped records): {}. Writer \
         starts: log created {}, resumed {}, closed cleanly {}. Crash recoveries: {}.",
        r.dropped_total,
        kind_count(r, "system.log_created"),
        r.restarts.len(),
        kind_count(r, "system.log_closed"),
        r.recoveries.len()
    ));
    let mut t = Table::new(&["seq", "time", "what"], "None in this period.");
    for d in &r.drops {
        let by: Vec<String> = d.by_kind.iter().map(|(k, n)| format!("{k} {n}")).collect();
        t.push(vec![
            Cell::Num(d.seq),
            own(d.time.to_string()),
            Cell::Log(format!("{} events dropped ({})", d.total, by.join(", "))),
        ]);
    }
    for (seq, time, clean) in &r.restarts {
        let how = if *clean { "after a clean close" } else { "after an unclean stop" };
        t.push(vec![
            Cell::Num(*seq),
            own(time.to_string()),
            own(format!("writer restarted {how}")),
        ]);
    }
    for (seq, time, segment, bytes) in &r.recoveries {
        t.push(vec![
            Cell::Num(*seq),
            own(time.to_string()),
            Cell::Log(format!("{bytes} torn bytes discarded from {segment}")),
        ]);
    }
    s.table(t);
    s.limits(&[
        "Events a service never sent (a service that was down or not configured to log): the \
         services' own health and configuration records.",
    ]);
    s
}

/// Retention as the organisation's policy, judged only when the log is old enough.
fn retention(r: &Report, id: &'static str, controls: &'static [&'static str]) -> Section {
    let title =
        if id == "a533-records" { "Protection of records and retention" } else { "Retention" };
    let mut s = Section::new(id, title, controls);
    let age = r.age_days();
    let created = format!(
        "The log was created at {} ({}), {age} days before this report.",
        r.created_at.0,
        if r.created_at.1 { "from the verifier material" } else { "as log.meta claims" }
    );
    let violation = r.policy.as_ref().and_then(|p| {
        r.purges.iter().find(|x| {
            x.retention_days < p.days
                || x.cutoff.0 > x.time.0.saturating_sub(i64::from(p.days).saturating_mul(DAY_NANOS))
        })
    });
    match (&r.policy, violation) {
        (Some(p), Some(bad)) => s.status(
            "VIOLATION",
            Tone::Bad,
            format!(
                "the purge at seq {} removed records {}..{} under a {}-day retention with cutoff \
                 {}; the organisation's policy is {} days, from {}.",
                bad.seq,
                bad.first_seq,
                bad.last_seq,
                bad.retention_days,
                bad.cutoff,
                p.days,
                p.source
            ),
        ),
        (None, _) => s.status(
            "NO POLICY GIVEN",
            Tone::Unproven,
            "no verifier material was given and no purge is on record, so the organisation's \
             retention policy is unknown to this report and nothing is judged.",
        ),
        (Some(p), None) if age < i64::from(p.days) => s.status(
            "NOT YET TESTABLE",
            Tone::Unproven,
            format!(
                "the organisation's policy keeps records {} ({}); the log is {age} days \
                 old, so no record has reached the end of its retention and whether records are \
                 kept as long as the policy says cannot be tested before {}.",
                days_text(p.days),
                p.source,
                Timestamp(
                    r.created_at.0.0.saturating_add(i64::from(p.days).saturating_mul(DAY_NANOS))
                )
            ),
        ),
        (Some(p), None) => s.status(
            "CONSISTENT WITH POLICY",
            Tone::Good,
            format!(
                "the organisation's policy keeps records {} ({}); the log is {age} days \
                 old, and every purge on record ({}) kept records at least that long.",
                days_text(p.days),
                p.source,
                r.purges.len()
            ),
        ),
    };
    s.para(created);
    let oldest = match r.oldest {
        Some((seq, t)) => format!(
            "The oldest record present is seq {seq} of {t} ({} days old).",
            (r.generated_at.0 - t.0) / DAY_NANOS
        ),
        None => "The log holds no records.".to_owned(),
    };
    s.para(oldest);
    let mut t = Table::new(
        &["seq", "time", "records removed", "retention applied (days)", "cutoff"],
        "No retention purge is on record: nothing has been removed.",
    );
    for p in &r.purges {
        t.push(vec![
            Cell::Num(p.seq),
            own(p.time.to_string()),
            own(format!("{}..{}", p.first_seq, p.last_seq)),
            Cell::Num(u64::from(p.retention_days)),
            own(p.cutoff.to_string()),
        ]);
    }
    s.table(t);
    if r.framework == Framework::Iso27001 {
        s.para(
            "Retention schedule by kind of record. The log applies one retention period to \
             whole sealed segments, so every kind has the same period; a schedule that keeps \
             some kinds longer must be met by exporting them before the purge.",
        );
        let days = r.policy.as_ref().map_or_else(|| "unknown".to_owned(), |p| p.days.to_string());
        let mut t = Table::new(
            &["category", "records in period", "oldest present", "retention (days)"],
            "None.",
        );
        for (i, c) in Category::ALL.iter().enumerate() {
            t.push(vec![
                own(c.as_str()),
                Cell::Num(r.categories[i]),
                own(r.oldest_by_category[i]
                    .map_or_else(|| "-".to_owned(), |(seq, time)| format!("seq {seq} of {time}"))),
                own(days.clone()),
            ]);
        }
        s.table(t);
        s.para(
            "Protection: records are chained, sealed and checkpointed (see Collection of \
             evidence); a purge leaves a retention_purge record that verification checks \
             against the verifier material's retention, and a legal hold stops purges.",
        );
    }
    match r.framework {
        Framework::Gdpr => {
            s.para(
                "The GDPR sets no retention period for audit logs. Art. 5(1)(e) asks that \
                 personal data be kept in a form which permits identification no longer than \
                 necessary for its purposes; the policy above is the organisation's decision.",
            );
        }
        Framework::PciDss => {
            let text = match &r.policy {
                Some(p) if p.days >= 365 => format!(
                    "Requirement 10.5.1 asks for audit log history of at least 12 months, the \
                     most recent three months immediately available. The organisation's policy \
                     ({} days) is at least 12 months.",
                    p.days
                ),
                Some(p) => format!(
                    "Requirement 10.5.1 asks for audit log history of at least 12 months, the \
                     most recent three months immediately available. The organisation's policy \
                     ({} days) is shorter than 12 months.",
                    p.days
                ),
                None => "Requirement 10.5.1 asks for audit log history of at least 12 months; \
                         the organisation's policy is unknown to this report."
                    .to_owned(),
            };
            s.para(text);
        }
        _ => {}
    }
    s.limits(&[
        "The retention schedule itself, its approval and the legal basis for each period: the \
         organisation's records management policy.",
        "Copies of the log kept elsewhere (backups, exports): their own retention records.",
    ]);
    s
}

/// A retention period in words; the largest value means no purge ever becomes due.
fn days_text(days: u32) -> String {
    if days == u32::MAX {
        "indefinitely (no purge ever becomes due)".to_owned()
    } else {
        format!("{days} days")
    }
}

fn clock(r: &Report, id: &'static str, controls: &'static [&'static str]) -> Section {
    let mut s = Section::new(id, "Clock source", controls);
    s.para(
        "Record times come from the clock of the host that wrote the log (UTC, nanoseconds). \
         The log does not record which time source that clock was synchronised to, nor its \
         offset; the log's order is its sequence numbers, which do not depend on the clock.",
    );
    let text = match r.clock.first_step_back {
        None => "No record is stamped earlier than the record before it.".to_owned(),
        Some(seq) => format!(
            "{} records are stamped earlier than the record before them (the first at seq \
             {seq}); the largest step back is {} ms. Steps back show a clock that was set back \
             or writers on clocks that disagree.",
            r.clock.steps_back,
            r.clock.largest_step_back_nanos / 1_000_000
        ),
    };
    s.para(text);
    s.limits(&[
        "The approved time source and the synchronisation status of each host: the hosts' time \
         service configuration and monitoring (for example chrony or ntpd logs).",
    ]);
    s
}

/// A.8.15: what is logged, how it is protected, privileged activity.
fn logging(r: &Report) -> Section {
    let mut s = Section::new(
        "a815-logging",
        "Logging: what is logged, protection, privileged activity",
        &["A.8.15"],
    );
    s.para(format!(
        "{} records in the period, {} of them events; by category and kind:",
        r.records, r.events
    ));
    let mut t = Table::new(&["category", "records"], "None.");
    for (c, n) in Category::ALL.iter().zip(r.categories) {
        t.push(vec![own(c.as_str()), Cell::Num(n)]);
    }
    s.table(t);
    s.table(kinds_table(r));
    s.para(
        "Protection: every record is hash-chained to the one before; seals (HMAC under a key \
         that evolves forward and is erased) and signed checkpoints fix the log's content; \
         verification with the verifier material kept off the host detects any change, removal \
         or reordering. The verdict of that check on this log:",
    );
    integrity_blocks(r, &mut s);
    s.para(format!(
        "Privileged activity (permission changes, token issue and revocation, pool and node \
         changes) by actor; {} permission changes, {} token events, {} pool and node changes:",
        r.permission_changes_total, r.tokens_total, r.changes_total
    ));
    let mut t = Table::new(&["actor", "privileged actions"], "None in this period.");
    for (actor, n) in &r.privileged {
        t.push(vec![Cell::Log(actor.clone()), Cell::Num(*n)]);
    }
    s.table(t);
    s.limits(&[
        "Which accounts are privileged (the log records actions, not roles): the identity \
         management system.",
        "Logs of systems that do not write to this log, and the review of logs: their owners' \
         records.",
    ]);
    s
}

fn kinds_table(r: &Report) -> Table {
    let mut t = Table::new(&["kind", "records"], "None in this period.");
    for (k, n) in &r.kinds {
        t.push(vec![own(*k), Cell::Num(*n)]);
    }
    t
}

/// A.8.16: activity over time, security events, failed access.
fn monitoring(r: &Report) -> Section {
    let mut s = security_events(r, "a816-monitoring", &["A.8.16"], false);
    s.title = "Monitoring activities: anomalies and security events".to_owned();
    s.para(format!(
        "Failed sign-ins and invalid tokens: {} ({} distinct actor and address pairs); access \
         denied: {}.",
        r.auth_failures_total,
        r.auth_failures.len(),
        r.denials
    ));
    s
}

/// A.5.28: the evidence this tool preserves.
fn evidence(r: &Report) -> Section {
    let mut s = Section::new(
        "a528-evidence",
        "Collection of evidence: chain, seals, checkpoints",
        &["A.5.28"],
    );
    integrity_blocks(r, &mut s);
    s.para(format!(
        "Seals checked: {} ({}). Checkpoints compared with the log: {}.",
        r.seals,
        if r.seals_authenticated {
            "MACs verified with the verifier material"
        } else {
            "consistency only: no verifier material given"
        },
        r.checkpoints_compared
    ));
    if let Some((seq, at, by)) = &r.proven {
        s.para(format!("Authenticated through seq {seq} (as of {at}) by {by}."));
    }
    match &r.checkpoint {
        Ok(c) => s.para(format!(
            "This report was computed from the signed checkpoint of origin {}, tree size {}, \
             root {}; its signature was {}. Any record it covers can be proven included with \
             audit prove DIR --seq N and checked offline with audit verify-proof; a later \
             log can be proven to extend it with audit consistency.",
            c.origin, c.size, c.root, c.signature
        )),
        Err(e) => s.para(format!("No signed checkpoint could be used: {e}")),
    };
    s.para(
        "The report itself carries the SHA-256 of its content on its last line and, when \
         written with --sign, a signature beside it (audit report-check).",
    );
    s.limits(&[
        "Chain of custody of copies handed to third parties, and the procedures for collecting \
         evidence: the organisation's incident and evidence procedures.",
    ]);
    s
}

fn hipaa_recorded(r: &Report) -> Section {
    let mut s = Section::new("hipaa-recorded", "Activity recorded", &["164.312(b)"]);
    s.para(format!(
        "The log records {} kinds of activity in this period ({} records); by kind:",
        r.kinds.len(),
        r.records
    ));
    s.table(kinds_table(r));
    s.limits(&[
        "Which systems contain or use electronic protected health information, and that each \
         writes to this log: the covered entity's risk analysis and system inventory.",
        "The examination of the records (who reviews them, how often): the covered entity's \
         procedures; this report is one input to that review.",
    ]);
    s
}

/// PCI DSS 10.2.1.x: which events the log records.
fn pci_events(r: &Report) -> Section {
    let mut s = Section::new(
        "pci-10-2-1",
        "Events recorded for 10.2.1",
        &["10.2.1.1", "10.2.1.2", "10.2.1.3", "10.2.1.4", "10.2.1.5", "10.2.1.6", "10.2.1.7"],
    );
    let sum = |kinds: &[&str]| kinds.iter().map(|k| kind_count(r, k)).sum::<u64>();
    let rows: [(&str, &str, String); 7] = [
        (
            "10.2.1.1 individual user access to cardholder data",
            "data.inference_executed, data.model_accessed (customer data; the log does not know \
             whether it is cardholder data)",
            sum(&["data.inference_executed", "data.model_accessed"]).to_string(),
        ),
        (
            "10.2.1.2 actions by individuals with administrative access",
            "authz.permission_changed, token.*, pool.*, node.* by actor (the log does not know \
             which accounts are administrative)",
            r.privileged.values().sum::<u64>().to_string(),
        ),
        (
            "10.2.1.3 access to audit logs",
            "not recorded: reading this log (verify, query, report) writes nothing to it",
            "-".to_owned(),
        ),
        (
            "10.2.1.4 invalid logical access attempts",
            "auth.failure, authz.denied, security.invalid_token_used",
            sum(&["auth.failure", "authz.denied", "security.invalid_token_used"]).to_string(),
        ),
        (
            "10.2.1.5 changes to identification and authentication credentials",
            "token.created, token.revoked, authz.permission_changed (account creation and \
             password changes are not recorded)",
            sum(&["token.created", "token.revoked", "authz.permission_changed"]).to_string(),
        ),
        (
            "10.2.1.6 initialization, starting, stopping or pausing of audit logs",
            "system.log_created, system.log_resumed, system.log_closed, system.events_dropped",
            sum(&[
                "system.log_created",
                "system.log_resumed",
                "system.log_closed",
                "system.events_dropped",
            ])
            .to_string(),
        ),
        (
            "10.2.1.7 creation and deletion of system-level objects",
            "pool.created, pool.deleted, node.registered, node.deregistered",
            sum(&["pool.created", "pool.deleted", "node.registered", "node.deregistered"])
                .to_string(),
        ),
    ];
    let mut t = Table::new(&["requirement", "events in this log", "records in period"], "None.");
    for (req, events, n) in rows {
        t.push(vec![own(req), own(events), own(n)]);
    }
    s.table(t);
    s.limits(&[
        "10.2.1.3: access to the audit logs must be logged by the operating system or the \
         storage holding the log directory.",
        "Which data is cardholder data and which accounts are administrative: the entity's \
         cardholder data flow and account inventory.",
    ]);
    s
}

fn pci_details() -> Section {
    let mut s = Section::new("pci-10-2-2", "Details recorded for each event (10.2.2)", &["10.2.2"]);
    let mut t = Table::new(&["detail", "where this log records it"], "None.");
    for (detail, place) in [
        (
            "user identification",
            "actor.user_id, attempted_user, customer_id (kinds without an actor name none)",
        ),
        ("type of event", "every record: its kind and category"),
        ("date and time", "every record: its time (UTC, nanoseconds)"),
        (
            "success or failure indication",
            "in the kind (auth.success / auth.failure, authz.granted / authz.denied) or the outcome field",
        ),
        (
            "origination of event",
            "actor.ip, ip, worker_id, node_id where the kind has one; the service id of the log",
        ),
        (
            "identity or name of affected data, system component, resource, or service",
            "resource, pool_id, node_id, task_id, shard_id, model_ref, customer_id where the kind has one",
        ),
    ] {
        t.push(vec![own(detail), own(place)]);
    }
    s.table(t);
    s.limits(&[
        "Events whose kind has no actor (task.completed, vram.*) carry no user identification.",
    ]);
    s
}
