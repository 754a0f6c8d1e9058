//! Fleet mode on the command line: `audit collector init|serve|enroll|token`, `audit ship`, and
//! `audit fleet status|query|verify` against a collector's read API.
//!
//! Files of a collector directory (`collector init --dir`): `witness.key` (the cosigning private
//! key, mode 0600), `witness.vkey` (its public key, for `audit verify --witness-key`),
//! `tls.crt` and `tls.key` (a self-signed certificate for the names given; shippers and
//! auditors pass `tls.crt` as `--ca`). An operator may put a certificate from their own CA in
//! place of the self-signed one.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use audit_chain::Cosigner;
use audit_collector::client::CollectorClient;
use audit_collector::db::Db;
use audit_collector::server::{self, AppState};
use audit_collector::ship::{self, ShipOptions, Stop};
use audit_collector::tls::TlsIdentity;
use serde_json::{Value, json};

use audit_chain::{CosignatureVerifier, NoteVerifier, open_checkpoint, open_cosigned};
use audit_events::{Record, Timestamp};
use audit_store::Verdict;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::Ctx;
use crate::cli::ReportFormat;
use crate::cli::{
    CollectorArgs, CollectorCommand, FleetArgs, FleetCommand, FleetFormat, ShipArgs, ShipFormat,
};
use crate::error::ExitStatus;
use crate::keyfile::read_text;
use crate::output::{json_line, json_pretty, print_json};
use crate::report::{CheckpointInfo, Integrity, Period, Report};
use crate::time::{parse_range, parse_time};

const WITNESS_KEY: &str = "witness.key";
const WITNESS_VKEY: &str = "witness.vkey";
const TLS_CERT: &str = "tls.crt";
const TLS_KEY: &str = "tls.key";

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(text.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
    file.sync_all().with_context(|| format!("syncing {}", path.display()))?;
    Ok(())
}

pub(crate) fn run_collector(args: &CollectorArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<ExitStatus> {
    let rt = runtime()?;
    match &args.command {
        CollectorCommand::Init { database, dir, name, format } => {
            let db = Db::connect(database, 2)?;
            let applied = rt.block_on(db.migrate())?;
            let partitions = rt.block_on(db.create_partitions())?;
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            let mut seed = [0u8; 32];
            getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
            let witness = Cosigner::from_seed(&args_name(name), seed)?;
            write_private(
                &dir.join(WITNESS_KEY),
                &format!("{}\n", &*witness.to_private_key_string()),
            )?;
            std::fs::write(dir.join(WITNESS_VKEY), format!("{}\n", witness.verifier()))?;
            let hosts = ["127.0.0.1", "localhost"];
            let tls = TlsIdentity::self_signed(&hosts)?;
            std::fs::write(dir.join(TLS_CERT), &tls.cert_pem)?;
            write_private(&dir.join(TLS_KEY), &tls.key_pem)?;
            if format.json() {
                print_json(
                    ctx.out,
                    &json!({
                        "migrations_applied": applied,
                        "partitions_created": partitions,
                        "witness_key_file": dir.join(WITNESS_KEY).display().to_string(),
                        "witness_public_key": witness.verifier().to_string(),
                        "tls_certificate_file": dir.join(TLS_CERT).display().to_string(),
                        "tls_hosts": hosts,
                    }),
                )?;
            } else {
                writeln!(
                    ctx.out,
                    "migrations applied: {applied:?}; monthly partitions created: {partitions}\n\
                     witness key: {} (public: {})\nTLS certificate: {} (for {})",
                    dir.join(WITNESS_KEY).display(),
                    witness.verifier(),
                    dir.join(TLS_CERT).display(),
                    hosts.join(", ")
                )?;
            }
        }
        CollectorCommand::Serve { database, dir, listen } => {
            let witness =
                Cosigner::from_private_key_string(read_text(&dir.join(WITNESS_KEY))?.trim())?;
            let tls = TlsIdentity {
                cert_pem: read_text(&dir.join(TLS_CERT))?,
                key_pem: zeroize::Zeroizing::new(read_text(&dir.join(TLS_KEY))?),
            };
            let db = Db::connect(database, 8)?;
            rt.block_on(async {
                db.migrate().await?;
                db.create_partitions().await?;
                let state = AppState { db, witness: Arc::new(witness) };
                let running = server::start(*listen, &tls, state).await?;
                eprintln_flush(ctx, &format!("collector listening on https://{}", running.addr))?;
                running.wait().await?;
                anyhow::Ok(())
            })?;
        }
        CollectorCommand::Enroll { database, public_key, log, format } => {
            let key = match (public_key, log) {
                (Some(k), None) => read_text(k)?.trim().to_owned(),
                (None, Some(dir)) => audit_store::LogReader::open(dir)?.meta().public_key.clone(),
                _ => bail!("give exactly one of --public-key and --log"),
            };
            let db = Db::connect(database, 1)?;
            let enrolled = rt.block_on(db.enroll(&key))?;
            if format.json() {
                print_json(
                    ctx.out,
                    &json!({
                        "log_id": enrolled.log_id.to_string(),
                        "origin": enrolled.origin,
                        "service_id": enrolled.service_id,
                    }),
                )?;
            } else {
                writeln!(
                    ctx.out,
                    "enrolled {} (service {})",
                    safe(&enrolled.origin, 300),
                    safe(&enrolled.service_id, 300)
                )?;
            }
        }
        CollectorCommand::Purge { database, origin, before, reason, format } => {
            let before = parse_time(before, ctx.now, &ctx.zone)?.to_rfc3339();
            let db = Db::connect(database, 1)?;
            let removed = rt.block_on(db.purge(origin, &before, reason))?;
            if format.json() {
                print_json(
                    ctx.out,
                    &json!({ "origin": origin, "before": before, "records_removed": removed }),
                )?;
            } else {
                writeln!(ctx.out, "purged {removed} records of {}", safe(origin, 300))?;
            }
        }
        CollectorCommand::Token { database, name, format } => {
            let db = Db::connect(database, 1)?;
            let token = rt.block_on(db.add_auditor_token(name))?;
            if format.json() {
                print_json(ctx.out, &json!({ "name": name, "token": &*token }))?;
            } else {
                writeln!(ctx.out, "{}", &*token)?;
            }
        }
    }
    Ok(ExitStatus::Success)
}

fn args_name(name: &str) -> String {
    name.to_owned()
}

fn eprintln_flush(ctx: &mut Ctx<'_>, line: &str) -> anyhow::Result<()> {
    writeln!(ctx.err, "{line}")?;
    ctx.err.flush()?;
    Ok(())
}

pub(crate) fn run_ship(args: &ShipArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<ExitStatus> {
    let ca = read_text(&args.ca)?;
    let client = CollectorClient::new(&args.collector, ca.as_bytes(), None)?;
    let options = ShipOptions::new(args.dir.clone(), args.batch, !args.once)
        .with_cosign_dir(args.cosign_dir.clone().unwrap_or_else(|| args.dir.clone()));
    let stop = Stop::new();
    let (out, err) = (&mut *ctx.out, &mut *ctx.err);
    let format = args.format;
    ship::run(&client, &options, &stop, &mut |p| {
        let _ = match format {
            ShipFormat::Text => writeln!(
                err,
                "shipped {} of {} checkpointed records (lag {}){}",
                p.shipped,
                p.checkpoint,
                p.lag,
                p.cosigned.map(|s| format!(", cosigned at {s}")).unwrap_or_default()
            ),
            ShipFormat::Jsonl => writeln!(
                out,
                "{}",
                json_line(&json!({
                    "shipped": p.shipped,
                    "checkpoint_size": p.checkpoint,
                    "lag": p.lag,
                    "cosigned_size": p.cosigned,
                }))
            )
            .and_then(|()| out.flush()),
        };
    })?;
    Ok(ExitStatus::Success)
}

pub(crate) fn run_fleet(args: &FleetArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<ExitStatus> {
    let ca = read_text(&args.ca)?;
    let token = read_text(&args.token_file)?.trim().to_owned();
    let client = CollectorClient::new(&args.collector, ca.as_bytes(), Some(token))?;
    match &args.command {
        FleetCommand::Status { format } => {
            let value = client.fleet("/v1/fleet/status")?;
            match format {
                FleetFormat::Json => writeln!(ctx.out, "{}", json_pretty(&value))?,
                FleetFormat::Jsonl => {
                    for log in value["logs"].as_array().into_iter().flatten() {
                        writeln!(ctx.out, "{}", json_line(log))?;
                    }
                }
                FleetFormat::Text => {
                    for log in value["logs"].as_array().into_iter().flatten() {
                        writeln!(
                            ctx.out,
                            "{}  size={}  checkpoint={}  cosigned={}  refusals={}{}",
                            text(&log["origin"]),
                            log["size"],
                            log["checkpoint_size"],
                            log["cosigned_size"],
                            log["refusals"],
                            log["last_refusal"]
                                .as_str()
                                .map(|r| format!("  last: {}", safe(r, 200)))
                                .unwrap_or_default()
                        )?;
                    }
                }
            }
            Ok(ExitStatus::Success)
        }
        FleetCommand::Query { filters, limit, format } => {
            let mut query: Vec<(&str, String)> = Vec::new();
            for (key, value) in [
                ("origin", &filters.origin),
                ("service", &filters.service),
                ("kind", &filters.kind),
                ("category", &filters.category),
                ("severity", &filters.severity),
                ("actor", &filters.actor),
                ("resource", &filters.resource),
                ("ip", &filters.ip),
                ("outcome", &filters.outcome),
                ("request_id", &filters.request_id),
            ] {
                if let Some(v) = value {
                    query.push((key, v.clone()));
                }
            }
            let (since, until) = parse_range(
                filters.since.as_deref(),
                filters.until.as_deref(),
                ctx.now,
                &ctx.zone,
            )?;
            for (key, time) in [("since", since), ("until", until)] {
                if let Some(time) = time {
                    query.push((key, time.to_rfc3339()));
                }
            }
            let mut printed = 0usize;
            let mut after: Option<String> = None;
            let mut all = Vec::new();
            loop {
                let page_size = (*limit - printed).min(1000);
                let mut q = query.clone();
                q.push(("limit", page_size.to_string()));
                if let Some(a) = &after {
                    q.push(("after", a.clone()));
                }
                let value = client.fleet(&format!("/v1/fleet/records?{}", encode_query(&q)))?;
                for record in value["records"].as_array().into_iter().flatten() {
                    printed += 1;
                    match format {
                        FleetFormat::Json => all.push(record.clone()),
                        FleetFormat::Jsonl => writeln!(ctx.out, "{}", json_line(record))?,
                        FleetFormat::Text => writeln!(ctx.out, "{}", record_line(record))?,
                    }
                }
                after = value["next"].as_str().map(str::to_owned);
                if after.is_none() || printed >= *limit {
                    break;
                }
            }
            if *format == FleetFormat::Json {
                writeln!(ctx.out, "{}", json_pretty(&Value::Array(all)))?;
            }
            Ok(if printed == 0 { ExitStatus::Finding } else { ExitStatus::Success })
        }
        FleetCommand::Report { framework, since, until, witness_key, format, output } => {
            let (since, until) =
                parse_range(since.as_deref(), until.as_deref(), ctx.now, &ctx.zone)?;
            let witness = witness_key
                .as_deref()
                .map(|path| -> anyhow::Result<CosignatureVerifier> {
                    Ok(CosignatureVerifier::parse(read_text(path)?.trim())?)
                })
                .transpose()?;
            let period = Period { since, until, now: ctx.now };
            let report = fleet_report(&client, *framework, &period, witness.as_ref(), *format)?;
            let (text, passed) = report;
            let text = crate::report::sign::with_digest_line(text, *format);
            match output {
                Some(path) => std::fs::write(path, text.as_bytes())
                    .with_context(|| format!("writing {}", path.display()))?,
                None => ctx.out.write_all(text.as_bytes())?,
            }
            Ok(if passed { ExitStatus::Success } else { ExitStatus::Finding })
        }
        FleetCommand::Verify { format } => {
            let value = client.fleet("/v1/fleet/verify")?;
            let mut failed = false;
            for log in value["logs"].as_array().into_iter().flatten() {
                failed |= log["verdict"] != "PASS";
                if *format == FleetFormat::Jsonl {
                    writeln!(ctx.out, "{}", json_line(log))?;
                }
                if *format == FleetFormat::Text {
                    writeln!(
                        ctx.out,
                        "{}  {}  records={} checkpoints={} cosigned={}",
                        log["verdict"].as_str().unwrap_or("?"),
                        text(&log["origin"]),
                        log["records"],
                        log["checkpoints"],
                        log["cosigned_size"]
                    )?;
                    for problem in log["problems"].as_array().into_iter().flatten() {
                        writeln!(ctx.out, "  {}", text(problem))?;
                    }
                }
            }
            if *format == FleetFormat::Json {
                writeln!(ctx.out, "{}", json_pretty(&value))?;
            }
            Ok(if failed { ExitStatus::Finding } else { ExitStatus::Success })
        }
    }
}

/// A JSON string value, escaped for the terminal.
fn text(v: &Value) -> String {
    safe(v.as_str().unwrap_or(""), 1000)
}

/// Text from the collector, escaped (control characters, bidi overrides) and cut for the
/// terminal.
fn safe(s: &str, max: usize) -> String {
    let escaped = input_validation::escape_for_log(s);
    input_validation::truncate_escaped(&escaped, max).to_owned()
}

/// One record of a fleet search: time received, origin, sequence number, kind, severity, the
/// outcome and correlation fields present, then the event (cut for the terminal).
fn record_line(record: &Value) -> String {
    let mut envelope = String::new();
    for key in ["outcome", "claimed_time", "request_id", "user_agent"] {
        if let Some(value) = record.get(key).and_then(Value::as_str) {
            // Quoted as `audit query` quotes them, so a value cannot show a pair of its own.
            let shown = crate::output::quote_if_needed(&safe(value, 300));
            envelope.push_str(&format!("{key}={shown} "));
        }
    }
    format!(
        "{} {} #{} {} {} {}{}",
        text(&record["time"]),
        text(&record["origin"]),
        record["seq"],
        text(&record["kind"]),
        text(&record["severity"]),
        envelope,
        safe(&record["event"].to_string(), 300)
    )
}

fn encode_query(pairs: &[(&str, String)]) -> String {
    pairs.iter().map(|(k, v)| format!("{k}={}", percent(v))).collect::<Vec<_>>().join("&")
}

fn percent(v: &str) -> String {
    let mut out = String::new();
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The listen address default.
pub(crate) fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8443))
}

/// The services of the fleet demo and how many events each writes (over three seconds).
const DEMO_SERVICES: [(&str, usize); 3] =
    [("orchestrator", 400), ("pool-manager", 250), ("gpu-worker-0", 600)];

/// `audit demo --fleet DIR`: a throwaway PostgreSQL cluster, a collector on loopback, three
/// services writing their logs in DIR through the logger for three seconds while three
/// shippers follow them, then the collector's status and verification, and each local log
/// verified with the witness key. The cluster is removed at
/// the end; the logs, their verifier material and the cosigned checkpoints stay in DIR.
pub(crate) fn demo(dir: &Path, ctx: &mut Ctx<'_>) -> anyhow::Result<ExitStatus> {
    use audit_events::EventKind;
    if std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some()) {
        bail!("{} is not empty: the fleet demo needs a new or empty directory", dir.display());
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    writeln!(ctx.out, "starting a throwaway PostgreSQL cluster...")?;
    let cluster = audit_collector::cluster::TempCluster::start()?;
    let rt = runtime()?;
    let db = Db::connect(&cluster.connection_string(), 8)?;
    rt.block_on(async {
        db.migrate().await?;
        db.create_partitions().await?;
        anyhow::Ok(())
    })?;
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let witness = Arc::new(Cosigner::from_seed("audit-collector.localhost/witness", seed)?);
    std::fs::write(dir.join(WITNESS_VKEY), format!("{}\n", witness.verifier()))?;
    let tls = TlsIdentity::self_signed(&["127.0.0.1"])?;
    std::fs::write(dir.join(TLS_CERT), &tls.cert_pem)?;
    let state = AppState { db: db.clone(), witness: Arc::clone(&witness) };
    let running = rt.block_on(server::start("127.0.0.1:0".parse()?, &tls, state))?;
    let url = format!("https://{}", running.addr);
    writeln!(ctx.out, "collector listening on {url} (witness {})", witness.name())?;

    // Each service writes through its own logger (one-second seal epochs, so checkpoints come
    // every second) while its shipper follows the directory.
    let mut loggers = Vec::new();
    let mut logs = Vec::new();
    for (service, _) in DEMO_SERVICES {
        let log_dir = dir.join(service);
        let mut config = audit_logger::AuditConfig::local(service, &log_dir);
        config.seal_epoch = std::time::Duration::from_secs(1);
        let mut logger = audit_logger::AuditLogger::new(config)
            .with_context(|| format!("creating the log in {}", log_dir.display()))?;
        let material = logger
            .take_verifier_material()
            .ok_or_else(|| anyhow::anyhow!("the logger opened an existing log"))?;
        write_private(&dir.join(format!("{service}.material")), &material.to_text())?;
        rt.block_on(db.enroll(&audit_store::LogReader::open(&log_dir)?.meta().public_key))?;
        loggers.push(logger);
        logs.push((service, log_dir, material));
    }
    writeln!(ctx.out, "three services write their logs; three shippers follow them...")?;
    let stop = Arc::new(Stop::new());
    let (reports, progress) = std::sync::mpsc::channel();
    let shippers: Vec<_> = logs
        .iter()
        .enumerate()
        .map(|(i, (_, log_dir, _))| {
            let client = CollectorClient::new(&url, tls.cert_pem.as_bytes(), None);
            let options = ShipOptions::new(log_dir.clone(), 200, true);
            let (stop, reports) = (Arc::clone(&stop), reports.clone());
            std::thread::spawn(move || -> Result<(), audit_collector::CollectorError> {
                ship::run(&client?, &options, &stop, &mut |p| {
                    let _ = reports.send((i, p.shipped));
                })
            })
        })
        .collect();
    let started = std::time::Instant::now();
    let mut n = 0usize;
    for second in 0..3u32 {
        for ((logger, (_, events)), round) in loggers.iter().zip(DEMO_SERVICES).zip(0usize..) {
            for _ in 0..events / 3 {
                let kind = EventKind::ALL[(n + round) % EventKind::ALL.len()];
                n += 1;
                logger.emit(kind.example())?;
            }
            logger.flush()?;
        }
        // Pace the writers at one round per second without sleeping: wait on the shippers'
        // reports until the second is over.
        let due = started + std::time::Duration::from_secs(u64::from(second) + 1);
        while let Some(left) = due.checked_duration_since(std::time::Instant::now()) {
            let _ = progress.recv_timeout(left);
        }
    }
    let mut sizes = Vec::new();
    for logger in loggers {
        logger.shutdown().context("shutting a logger down")?;
    }
    for (_, log_dir, _) in &logs {
        sizes.push(audit_store::latest_checkpoint(log_dir)?.1.size);
    }
    // Until every shipper has shipped its log's final checkpoint (bounded).
    let mut shipped = vec![0u64; logs.len()];
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while shipped != sizes {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match progress.recv_timeout(left) {
            Ok((i, size)) => shipped[i] = size,
            Err(_) => {
                bail!("the shippers did not catch up within a minute: {shipped:?} of {sizes:?}")
            }
        }
    }
    stop.stop();
    for shipper in shippers {
        shipper.join().map_err(|_| anyhow::anyhow!("a shipper panicked"))??;
    }
    writeln!(
        ctx.out,
        "every log is at the collector: {} records in all",
        sizes.iter().sum::<u64>()
    )?;
    let status = rt.block_on(audit_collector::fleet::status(&db))?;
    writeln!(ctx.out, "\ncollector status:")?;
    for log in status["logs"].as_array().into_iter().flatten() {
        writeln!(
            ctx.out,
            "  {}  records={}  cosigned at size {}  refusals={}",
            text(&log["origin"]),
            log["size"],
            log["cosigned_size"],
            log["refusals"]
        )?;
    }
    let verdicts = rt.block_on(audit_collector::fleet::verify(&db, &witness.verifier()))?;
    writeln!(ctx.out, "\nfleet verify (chain and roots recomputed from PostgreSQL):")?;
    let mut failed = false;
    for log in verdicts["logs"].as_array().into_iter().flatten() {
        failed |= log["verdict"] != "PASS";
        writeln!(
            ctx.out,
            "  {}  {}",
            log["verdict"].as_str().unwrap_or("?"),
            text(&log["origin"])
        )?;
    }
    writeln!(ctx.out, "\nlocal verify with the verifier material and the witness key:")?;
    for (service, log_dir, material) in &logs {
        let options = {
            let mut options = audit_store::VerifyOptions::with_material(material.clone());
            options.witness_keys = vec![witness.verifier().to_string()];
            options
        };
        let report = audit_store::verify(log_dir, &options)?;
        failed |= !report.is_intact();
        writeln!(ctx.out, "  {}  {service}", report.verdict().word())?;
    }
    rt.block_on(running.stop());
    drop(cluster);
    writeln!(
        ctx.out,
        "\nthe cluster is gone; the logs, {{service}}.material, witness.vkey and tls.crt stay in {}.\n\
         try: audit verify {}/orchestrator --verification-key {}/orchestrator.material --witness-key {}/{WITNESS_VKEY}",
        dir.display(),
        dir.display(),
        dir.display(),
        dir.display()
    )?;
    Ok(if failed { ExitStatus::Finding } else { ExitStatus::Success })
}

/// Builds the fleet report: one report per log, laid out one after the other (Markdown) or as
/// an array (JSON). Returns the text and whether every log verified.
fn fleet_report(
    client: &CollectorClient,
    framework: crate::cli::Framework,
    period: &Period,
    witness: Option<&CosignatureVerifier>,
    format: ReportFormat,
) -> anyhow::Result<(String, bool)> {
    if format == ReportFormat::Html {
        return Err(crate::error::usage("audit fleet report writes md or json".to_owned()));
    }
    let status = client.fleet("/v1/fleet/status")?;
    let verdicts = client.fleet("/v1/fleet/verify")?;
    let mut markdown = Vec::new();
    let mut json = Vec::new();
    let mut passed = true;
    for log in status["logs"].as_array().into_iter().flatten() {
        let origin = log["origin"].as_str().unwrap_or_default().to_owned();
        let verifier = NoteVerifier::parse(log["public_key"].as_str().unwrap_or_default())?;
        let checked = verdicts["logs"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|v| v["origin"] == origin.as_str())
            .cloned()
            .unwrap_or(Value::Null);
        let fleet_pass = checked["verdict"] == "PASS";
        let (checkpoint, cosigned_at) =
            fleet_checkpoint(log["cosigned"].as_str(), &verifier, witness);
        let authenticated = checkpoint.as_ref().is_ok_and(|c| c.authenticated);
        let size = checkpoint.as_ref().map_or(0, |c| c.size);
        let verdict = match (fleet_pass, authenticated, size) {
            (false, _, _) => Verdict::Fail,
            (true, true, n) if n > 0 => Verdict::Anchored { through_seq: n - 1 },
            _ => Verdict::Chained,
        };
        let problems: Vec<String> = checked["problems"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p.as_str().map(str::to_owned))
            .collect();
        let conclusion = match verdict {
            Verdict::Anchored { .. } => format!(
                "the collector recomputed the chain and Merkle roots from the records it holds, \
                 and records 0..{} are covered by its checkpoint cosigned with the witness key \
                 given; seal MACs were not checked (the collector holds no verifier material)",
                size.saturating_sub(1)
            ),
            Verdict::Fail => {
                format!("the collector's verification failed: {}", problems.join("; "))
            }
            _ => "the collector's verification found no failure, but nothing was authenticated \
                  here: give --witness-key to check its cosignature"
                .to_owned(),
        };
        let integrity = Integrity {
            intact: fleet_pass,
            verdict,
            conclusion,
            checked_with: if witness.is_some() {
                "the collector's fleet verify (chain and Merkle roots recomputed from PostgreSQL, \
                 checkpoint signatures with the key enrolled there) and the witness key given"
            } else {
                "the collector's fleet verify only (no witness key given)"
            },
            summary: format!(
                "{} records held by the collector, {} checkpoints compared",
                checked["records"], checked["checkpoints"]
            ),
            failure: (!problems.is_empty()).then(|| problems.join("; ")),
            warnings: Vec::new(),
            seals: 0,
            seals_authenticated: false,
            checkpoints_compared: checked["checkpoints"].as_u64().unwrap_or(0),
            proven: match verdict {
                Verdict::Anchored { through_seq } => cosigned_at.map(|at| {
                    (
                        through_seq,
                        at,
                        format!("the checkpoint of size {size} cosigned by the collector"),
                    )
                }),
                _ => None,
            },
        };
        let log_id = origin.rsplit('/').next().unwrap_or_default().to_owned();
        let mut report = Report::blank(
            framework,
            period,
            format!("{} at the collector", safe(&origin, 300)),
            log_id,
            log["service_id"].as_str().unwrap_or_default().to_owned(),
            checkpoint,
            (Timestamp(0), false),
            None,
            integrity,
            None,
        );
        let mut from = 0u64;
        loop {
            let page =
                client.fleet(&format!("/v1/fleet/raw?origin={}&from={from}", percent(&origin)))?;
            for encoded in page["records"].as_array().into_iter().flatten() {
                let bytes = STANDARD
                    .decode(encoded.as_str().unwrap_or_default())
                    .context("the collector sent a record that is not base64")?;
                let record = Record::decode(&bytes).map_err(|e| {
                    anyhow::anyhow!("the collector sent a record that does not decode: {e}")
                })?;
                // The log's creation, as far as the records held tell (a purge removes the start).
                if report.created_at.0.0 == 0 {
                    report.created_at = (record.time, false);
                }
                report.add(&record, None)?;
            }
            match page["next"].as_u64() {
                Some(next) if next > from => from = next,
                _ => break,
            }
        }
        report.command = format!("audit fleet report --framework {}", framework_name(framework));
        passed &= report.passed();
        let doc = crate::report::frameworks::build(&report);
        match format {
            ReportFormat::Json => {
                let text = crate::report::json::render(&doc, &report);
                json.push(serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text)));
            }
            _ => markdown.push(crate::report::markdown::render(&doc)),
        }
    }
    let text = match format {
        ReportFormat::Json => format!("{}\n", json_pretty(&serde_json::json!({ "fleet": json }))),
        _ => {
            let mut text = format!(
                "# Fleet report: {} logs at the collector\n\nOne report per log follows, each \
                 computed from the records the collector holds up to its newest cosigned \
                 checkpoint.\n\n",
                markdown.len()
            );
            text.push_str(&markdown.join("\n---\n\n"));
            text
        }
    };
    Ok((text, passed))
}

/// The checkpoint a fleet report is computed from: the newest the collector cosigned, its log
/// signature checked with the enrolled key, and its cosignature with `witness` when given.
fn fleet_checkpoint(
    note: Option<&str>,
    log: &NoteVerifier,
    witness: Option<&CosignatureVerifier>,
) -> (Result<CheckpointInfo, String>, Option<Timestamp>) {
    let Some(note) = note else {
        return (Err("the collector has cosigned no checkpoint of this log".to_owned()), None);
    };
    let info =
        |cp: &audit_chain::Checkpoint, authenticated: bool, signature: String| CheckpointInfo {
            origin: cp.origin.clone(),
            size: cp.size,
            root: audit_events::to_hex(&cp.root),
            authenticated,
            signature,
        };
    match witness {
        Some(w) => match open_cosigned(note, log, w) {
            Ok(c) => {
                let at = Timestamp(
                    i64::try_from(c.timestamp).unwrap_or(0).saturating_mul(1_000_000_000),
                );
                let signature = format!(
                    "signed with the key enrolled at the collector and cosigned by {} (verified \
                     with the witness key given)",
                    w.name()
                );
                (Ok(info(&c.checkpoint, true, signature)), Some(at))
            }
            Err(e) => (Err(format!("the cosigned checkpoint does not verify: {e}")), None),
        },
        None => match open_checkpoint(note, log) {
            Ok(cp) => (
                Ok(info(
                    &cp,
                    false,
                    "signed with the key enrolled at the collector; the cosignature was not \
                     checked (no --witness-key): not proven"
                        .to_owned(),
                )),
                None,
            ),
            Err(e) => (Err(format!("the checkpoint does not verify: {e}")), None),
        },
    }
}

fn framework_name(framework: crate::cli::Framework) -> &'static str {
    use crate::cli::Framework;
    match framework {
        Framework::Soc2 => "soc2",
        Framework::Gdpr => "gdpr",
        Framework::Iso27001 => "iso27001",
        Framework::Hipaa => "hipaa",
        Framework::PciDss => "pci-dss",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fleet_text_lines_show_the_outcome_and_correlation_fields_escaped() {
        let record = serde_json::json!({
            "time": "2026-11-22T09:24:34Z", "origin": "audit/svc/00", "seq": 7,
            "kind": "auth.failure", "severity": "medium", "outcome": "failure",
            "claimed_time": "2026-11-22T09:20:00Z", "request_id": "req-\u{1b}[2J",
            "user_agent": "curl\r\n/8", "event": {"reason": "x"},
        });
        let line = record_line(&record);
        assert!(!line.chars().any(input_validation::is_dangerous), "{line:?}");
        assert!(
            line.contains(
                "medium outcome=failure claimed_time=2026-11-22T09:20:00Z request_id=\"req-"
            ),
            "{line}"
        );
        assert!(line.contains("user_agent=curl\\r\\n/8 "), "{line}");
        let plain = serde_json::json!({"time": "t", "seq": 1, "event": {}});
        assert!(!record_line(&plain).contains('='));
    }
}
