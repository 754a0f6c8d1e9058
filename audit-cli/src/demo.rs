//! `audit demo`: the main job end to end. A simulated fleet writes a real log through
//! `audit-logger` for a few seconds (see `fleet.rs`), the logger shuts down cleanly, and the
//! log is verified with its verifier material, searched and summarised; then the command says
//! what to try next.
//!
//! The demo writes `<DIR>.verifier` beside the log, as `audit init` does, and needs a new or
//! empty directory. Seal epochs are one second and segments 32 KiB, so even a short run shows
//! several seals, checkpoints and segments.

mod fleet;

use std::io::Write as _;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::Context as _;
use audit_events::{Body, Category, EventKind, Severity};
use audit_logger::{AuditConfig, AuditLogger};
use audit_store::{LogReader, Query, VerifyOptions, query};
use input_validation::display_safe;

use crate::Ctx;
use crate::cli::{DemoArgs, Framework};
use crate::error::{ExitStatus, usage};
use crate::init::{create_material_file, default_material_path};
use crate::keyfile::TrustAnchor;
use crate::output::text_line;
use crate::report::{Period, collect};
use crate::verify::{run_verify, write_text};

use fleet::FleetSink;

/// The longest run `--seconds` allows.
const MAX_SECONDS: u64 = 600;

pub(crate) fn run(args: &DemoArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<ExitStatus> {
    if args.fleet {
        return crate::fleet::demo(&args.dir, ctx);
    }
    if args.seconds == 0 || args.seconds > MAX_SECONDS {
        return Err(usage(format!("--seconds must be 1 to {MAX_SECONDS}")));
    }
    let dir = &args.dir;
    if std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(usage(format!(
            "{} is not empty: the demo writes a new log and needs a new or empty directory",
            dir.display()
        )));
    }
    let material_path = default_material_path(dir)?;
    let mut material_file = create_material_file(&material_path)?;
    let mut config = AuditConfig::local("fleet-demo", dir);
    config.seal_epoch = Duration::from_secs(1);
    config.rotation.max_segment_bytes = 32 * 1024;
    let mut logger = match AuditLogger::new(config) {
        Ok(logger) => logger,
        Err(e) => {
            drop(material_file);
            let _ = std::fs::remove_file(&material_path);
            return Err(e).with_context(|| format!("creating the log in {}", dir.display()));
        }
    };
    let material = logger
        .take_verifier_material()
        .ok_or_else(|| anyhow::anyhow!("the logger opened an existing log instead of a new one"))?;
    material_file
        .write_all(material.to_text().as_bytes())
        .and_then(|()| material_file.sync_all())
        .with_context(|| format!("writing {}", material_path.display()))?;

    let shown_dir = display_safe(&dir.display().to_string()).into_owned();
    let shown_material = display_safe(&material_path.display().to_string()).into_owned();
    writeln!(
        ctx.out,
        "Simulating a GPU fleet for {} s: an orchestrator, a pool manager and two GPU workers on \
         the\nhost VRAM backend (their events name workers `...+host-test-backend`), a third \
         worker on an\nintegrated GPU that the VRAM-only policy refuses, and an attacker \
         probing the orchestrator.\n",
        args.seconds
    )?;
    ctx.out.flush()?;

    let logger = Arc::new(logger);
    let sink = Arc::new(FleetSink::new(Arc::clone(&logger)));
    let failures = simulate(&sink, Duration::from_secs(args.seconds))?;
    let topped_up: Vec<EventKind> =
        EventKind::ALL.iter().copied().filter(|k| !sink.seen().contains(k)).collect();
    for kind in &topped_up {
        sink.send(kind.example());
    }
    let refused = sink.refused();
    drop(sink);
    let logger = Arc::try_unwrap(logger)
        .map_err(|_| anyhow::anyhow!("a simulated service still holds the logger"))?;
    let shutdown = logger.shutdown().context("shutting the logger down")?;

    writeln!(
        ctx.out,
        "Wrote {} events of all {} kinds to {shown_dir}; {} refused; the logger shut down {}.",
        shutdown.events_written,
        EventKind::ALL.len(),
        refused,
        if shutdown.finished_in_time { "cleanly" } else { "late (the log was not closed)" }
    )?;
    if !topped_up.is_empty() {
        let names: Vec<&str> = topped_up.iter().map(|k| k.as_str()).collect();
        writeln!(
            ctx.out,
            "Kinds the run was too short to produce, added from the catalogue: {}.",
            names.join(", ")
        )?;
    }
    for failure in failures {
        writeln!(ctx.out, "A simulated service failed: {}", display_safe(&failure))?;
    }
    writeln!(
        ctx.out,
        "Verifier material (initial seal key, public key): {shown_material}; in real use it \
         leaves the host.\n"
    )?;

    let anchor = TrustAnchor::Material(material.clone());
    let options = VerifyOptions::with_material(material);
    let verified = run_verify(dir, &options, ctx.err_is_terminal)?;
    writeln!(ctx.out, "$ audit verify {shown_dir} --verification-key {shown_material}")?;
    let mut text = Vec::new();
    write_text(&mut text, &verified, Some(&anchor))?;
    ctx.out.write_all(&text)?;

    write_findings(ctx, dir)?;

    let period = Period { since: None, until: None, now: ctx.now };
    let report = collect(dir, Framework::Soc2, period, Some(&anchor), false)?;
    let categories: Vec<String> = Category::ALL
        .iter()
        .zip(report.categories)
        .map(|(c, n)| format!("{} {n}", c.as_str()))
        .collect();
    writeln!(
        ctx.out,
        "\nReport: {} records ({} events): {}.\nSecurity events {} ({} of the security category, {} \
         seal.verification_failed), authentication failures {}, GDPR requests and erasures \
         {}, events dropped {}, writer restarts {}, crash recoveries {}.",
        report.records,
        report.events,
        categories.join(", "),
        report.incidents_total,
        report.incidents_total - report.seal_failures,
        report.seal_failures,
        report.auth_failures_total,
        report.gdpr_total,
        report.dropped_total,
        report.restarts.len(),
        report.recoveries.len()
    )?;

    let seq = LogReader::open(dir)?
        .records()
        .filter_map(Result::ok)
        .find(|r| r.decode().is_ok_and(|r| r.kind().as_str() == "seal.verification_failed"))
        .map_or(1, |r| r.seq);
    writeln!(
        ctx.out,
        "\nTry next:\n  audit verify {d} --verification-key {m}\n  audit query {d} --category \
         security --severity high\n  audit query {d} --kind seal.verification_failed --format \
         json\n  audit report {d} --framework soc2 --format html -o report.html\n  audit tail \
         {d} -n 5\n  audit prove {d} --seq {seq} > proof.json\n  audit verify-proof proof.json \
         --public-key {m}\n  audit checkpoint {d} > held.note",
        d = shown_dir,
        m = shown_material,
    )?;
    Ok(if verified.is_intact() { ExitStatus::Success } else { ExitStatus::Finding })
}

/// Runs every simulated service on its own thread for `duration`; returns what failed.
fn simulate(sink: &Arc<FleetSink>, duration: Duration) -> anyhow::Result<Vec<String>> {
    let mut stops = Vec::new();
    let mut threads = Vec::new();
    for role in 0..4u8 {
        let (stop, stopped) = mpsc::channel::<()>();
        stops.push(stop);
        let sink = Arc::clone(sink);
        let thread = std::thread::Builder::new()
            .name(format!("demo-service-{role}"))
            .spawn(move || match role {
                0 => {
                    fleet::orchestrator(&sink, &stopped);
                    Ok(())
                }
                1 => {
                    fleet::pool_manager(&sink, &stopped);
                    Ok(())
                }
                worker => fleet::gpu_worker(sink, worker - 2, &stopped),
            })
            .context("starting a simulated service")?;
        threads.push(thread);
    }
    fleet::integrated_gpu_worker(Arc::clone(sink));
    crate::tail::wait(duration);
    drop(stops);
    let mut failures = Vec::new();
    for thread in threads {
        match thread.join() {
            Ok(Ok(())) => {}
            Ok(Err(failure)) => failures.push(failure),
            Err(_) => failures.push("a simulated service panicked".to_owned()),
        }
    }
    Ok(failures)
}

/// The high-severity security incidents, and the injection attempts as stored (escaped by the
/// logger) and shown (escaped again).
fn write_findings(ctx: &mut Ctx<'_>, dir: &std::path::Path) -> anyhow::Result<()> {
    let incidents = query(
        dir,
        &Query {
            category: Some(Category::Security),
            min_severity: Some(Severity::High),
            ..Query::default()
        },
    )?;
    writeln!(
        ctx.out,
        "\n$ audit query {} --category security --severity high   ({} records; the first 4)",
        display_safe(&dir.display().to_string()),
        incidents.len()
    )?;
    for hit in incidents.iter().take(4) {
        writeln!(ctx.out, "{}", text_line(&hit.record))?;
    }
    let reader = LogReader::open(dir)?;
    let escaped: Vec<_> = reader
        .records()
        .filter_map(Result::ok)
        .filter_map(|r| r.decode().ok())
        .filter(|r| matches!(&r.body, Body::Event(e) if !e.escaped.is_empty()))
        .collect();
    writeln!(
        ctx.out,
        "\nInjection attempts: {} records had hostile characters escaped by the logger (their \
         `escaped` list names the fields). One kind each:",
        escaped.len()
    )?;
    let mut shown = std::collections::BTreeSet::new();
    for record in escaped {
        if shown.insert(record.kind()) {
            writeln!(ctx.out, "{}", text_line(&record))?;
        }
    }
    Ok(())
}
