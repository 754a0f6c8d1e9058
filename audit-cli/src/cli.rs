//! The command line: subcommands, flags and their help text (clap derive).

use std::path::PathBuf;

use audit_events::{Category, Severity};
use clap::{Args, Parser, Subcommand, ValueEnum};

/// The exit-code contract, shown in `--help` of the command and of every subcommand.
macro_rules! exit_codes {
    () => {
        "\
Exit status:
  0  success: no failure found (verify, consistency, report: see the verdict), the proof \
verifies, the query matched
  1  a finding: tampering or a gap (verify, verify-proof, consistency, report), a verdict \
weaker than --require-key or --require-anchor demand, or no record matched (query)
  2  usage error: bad arguments or values, a directory that holds no audit log, verifier \
material of another log, --require-key without verifier material
  3  I/O or other operational error"
    };
}
const EXIT_CODES: &str = exit_codes!();

/// The verdicts of `verify`, `report` and `consistency`, then the exit codes, for their
/// `--help`.
const VERDICTS_AND_EXIT_CODES: &str = concat!(
    "\
Verdicts (the last line of verify; the Integrity section of report):
  PASS      no failure, and every record present is authenticated: seal MACs verified with the \
verifier material cover every record (exit 0)
  PARTIAL   no failure; with the verifier material, records FIRST..N are authenticated; the \
records after the last seal are chained but not proven (exit 0)
  ANCHORED  no failure; no verifier material, but a checkpoint held off the host \
(--trusted-checkpoint, consistency --old) authenticates records FIRST..N (exit 0)
  CHAINED   no failure, but nothing was authenticated: the records are consistent with each \
other, which a rewrite of the whole log with every hash recomputed also is (exit 0)
  FAIL      the log was altered, or records are missing (exit 1)
FIRST is the first record present (above 0 after a retention purge). Scripts: --require-key \
exits 1 unless PASS (and 2 without verifier material); --require-anchor exits 1 on CHAINED.

",
    exit_codes!()
);

/// Verify, search and report on tamper-evident audit logs.
#[derive(Debug, Parser)]
#[command(name = "audit", version, after_help = EXIT_CODES, propagate_version = true)]
pub(crate) struct Cli {
    /// Read local dates and times (`2026-12-01 21:38`, `today`, `yesterday`) in UTC instead
    /// of the local time zone (TZ, /etc/localtime).
    #[arg(long, global = true)]
    pub(crate) utc: bool,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create a new log and write its verifier material (initial seal key, public key) to a
    /// file that must then be moved off this host.
    #[command(after_help = EXIT_CODES)]
    Init(InitArgs),
    /// Check every record, seal and checkpoint; PASS/FAIL per segment, the first failure, and
    /// a verdict that says what was proven.
    #[command(after_help = VERDICTS_AND_EXIT_CODES)]
    Verify(VerifyArgs),
    /// Search records by actor, kind, category, severity, resource, time, address, sequence
    /// number, audit id, outcome and request id.
    #[command(after_help = EXIT_CODES)]
    Query(QueryArgs),
    /// A compliance report (SOC 2, GDPR, ISO/IEC 27001, HIPAA, PCI DSS) for a period,
    /// integrity included; optionally signed.
    #[command(after_help = VERDICTS_AND_EXIT_CODES)]
    Report(ReportArgs),
    /// Check a report written by `report --output`: its embedded SHA-256 and, with
    /// --public-key, the signature `report --sign` wrote beside it.
    #[command(name = "report-check", after_help = EXIT_CODES)]
    ReportCheck(ReportCheckArgs),
    /// Show the last records, and with -f follow new ones as they are written.
    #[command(after_help = EXIT_CODES)]
    Tail(TailArgs),
    /// Every record, one per line, with its chain hashes (prev_hash, hash).
    #[command(after_help = EXIT_CODES)]
    Export(ExportArgs),
    /// Print the latest signed checkpoint (copy it off the host to pin the log).
    #[command(after_help = EXIT_CODES)]
    Checkpoint(CheckpointArgs),
    /// Print an inclusion proof bundle (JSON) for one record.
    #[command(after_help = EXIT_CODES)]
    Prove(ProveArgs),
    /// Check an inclusion proof bundle offline, with the log's public key only.
    #[command(name = "verify-proof", after_help = EXIT_CODES)]
    VerifyProof(VerifyProofArgs),
    /// Prove that the log extends an older signed checkpoint (no rewrite, no rollback), and
    /// verify it with that checkpoint as a trusted one.
    #[command(after_help = VERDICTS_AND_EXIT_CODES)]
    Consistency(ConsistencyArgs),
    /// Append events given as JSON lines (one event each, export schema) to a log.
    #[command(after_help = EXIT_CODES)]
    Emit(EmitArgs),
    /// Simulate a small GPU fleet writing a real log, then verify, query and report on it.
    #[command(after_help = EXIT_CODES)]
    Demo(DemoArgs),
    /// List the event kinds: dotted name, category, severity, lane and every field.
    #[command(after_help = EXIT_CODES)]
    Kinds(KindsArgs),
    /// Print a shell completion script: `audit completions bash > /etc/bash_completion.d/audit`.
    #[command(after_help = EXIT_CODES)]
    Completions(CompletionsArgs),
    /// Write the manual pages (audit.1 and one per subcommand) into a directory; `cargo xtask
    /// man` runs it.
    #[command(after_help = EXIT_CODES)]
    Man(ManArgs),
    /// Run a fleet collector: set up its database and keys, serve, enroll logs, make auditor
    /// tokens.
    #[command(after_help = EXIT_CODES)]
    Collector(CollectorArgs),
    /// Ship a log to a collector, following it as it grows; resumes where the collector is.
    #[command(after_help = EXIT_CODES)]
    Ship(ShipArgs),
    /// Ask a collector about the whole fleet: status, records, verification.
    #[command(after_help = EXIT_CODES)]
    Fleet(FleetArgs),
    /// Place a legal hold on a log, or lift it: a `legal_hold` record in the chain; while it is
    /// in force retention removes nothing, and verify reports any purge made under it.
    #[command(name = "legal-hold", after_help = EXIT_CODES)]
    LegalHold(LegalHoldArgs),
}

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// The log directory to create (it must not exist, or be empty).
    pub(crate) dir: PathBuf,
    /// The service instance that owns the log (ASCII letters, digits, '-', '_', '.').
    #[arg(long, value_name = "ID")]
    pub(crate) service_id: String,
    /// Where to write the verifier material [default: <DIR>.verifier beside the directory].
    #[arg(long, value_name = "FILE")]
    pub(crate) material_out: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) format: ResultFormatArg,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The log directory.
    pub(crate) dir: PathBuf,
    /// Verifier material from `audit init`, or a file holding the checkpoint public key
    /// (name+keyid+base64). With material every seal MAC is checked.
    #[arg(long, value_name = "FILE")]
    pub(crate) verification_key: Option<PathBuf>,
    /// A signed checkpoint kept off the host; the log must be consistent with it (repeatable).
    #[arg(long, value_name = "FILE")]
    pub(crate) trusted_checkpoint: Vec<PathBuf>,
    /// A collector's witness public key (`witness.vkey`, repeatable): the checkpoints it
    /// cosigned (`cosigned-*.note` in the log directory) are trusted checkpoints, and finding
    /// none is a failure.
    #[arg(long, value_name = "FILE")]
    pub(crate) witness_key: Vec<PathBuf>,
    /// The least retention, in days, a retention purge may claim [default: the material's].
    #[arg(long, value_name = "N")]
    pub(crate) min_retention_days: Option<u32>,
    /// The same as --format json (kept for scripts written before --format).
    #[arg(long, hide = true)]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) format: ResultFormatArg,
    #[command(flatten)]
    pub(crate) require: Require,
}

/// What a script demands of the verdict (`verify`, `report`, `consistency`).
#[derive(Clone, Copy, Debug, Default, Args)]
pub(crate) struct Require {
    /// Demand full authentication: without verifier material, exit 2 before the log is read;
    /// any verdict but PASS exits 1.
    #[arg(long)]
    pub(crate) require_key: bool,
    /// Demand that something was authenticated (verifier material or a checkpoint held off the
    /// host): a CHAINED verdict exits 1.
    #[arg(long)]
    pub(crate) require_anchor: bool,
}

/// Output formats of commands that print one result (a verdict, what was created or written).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub(crate) enum ResultFormat {
    /// Lines for people.
    #[default]
    Text,
    /// One JSON object (docs/JSON.md gives its members).
    Json,
}

/// `--format text|json`, for commands that print one result.
#[derive(Clone, Copy, Debug, Default, Args)]
pub(crate) struct ResultFormatArg {
    /// Output format.
    #[arg(long, ignore_case = true, value_enum, default_value_t = ResultFormat::Text)]
    pub(crate) format: ResultFormat,
}

impl ResultFormatArg {
    pub(crate) fn json(self) -> bool {
        self.format == ResultFormat::Json
    }
}

/// Output formats of records (`query`, `export`, `tail`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum QueryFormat {
    /// One escaped line per record.
    Text,
    /// One JSON array of records.
    Json,
    /// One JSON object per line.
    Jsonl,
    /// RFC 4180 CSV with a header.
    Csv,
}

#[derive(Debug, Args)]
pub(crate) struct QueryArgs {
    /// The log directory.
    pub(crate) dir: PathBuf,
    /// Who: the actor's user id, or the attempted user or customer an event names.
    #[arg(long, value_name = "ID")]
    pub(crate) actor: Option<String>,
    /// A dotted kind (auth.failure, system.seal) or a family (auth.*, system.*); repeatable.
    #[arg(long, value_name = "KIND")]
    pub(crate) kind: Vec<String>,
    /// A category: authentication, authorization, resource, vram, security, data_access,
    /// compliance, system.
    #[arg(long, value_parser = parse_category)]
    pub(crate) category: Option<Category>,
    /// At least this severity: low, medium, high, critical.
    #[arg(long, value_parser = parse_severity)]
    pub(crate) severity: Option<Severity>,
    /// A resource id the event names (pool, node, task, shard, job, worker...).
    #[arg(long, value_name = "ID")]
    pub(crate) resource: Option<String>,
    /// Records at or after this time: now, today, yesterday; an age (-1h, 30m, "1 hour ago",
    /// 2w, 1M, 1y); a local date or time ("2026-12-01", "2026-12-01 21:38"; UTC with --utc);
    /// or RFC 3339 with an offset.
    #[arg(long, value_name = "TIME")]
    pub(crate) since: Option<String>,
    /// Records before this time (same forms as --since).
    #[arg(long, value_name = "TIME")]
    pub(crate) until: Option<String>,
    /// Events naming this client address (IPv4 or IPv6).
    #[arg(long, value_name = "ADDR")]
    pub(crate) ip: Option<std::net::IpAddr>,
    /// One sequence number (`--seq 42`) or an inclusive range (`--seq 40..49`).
    #[arg(long, value_name = "N|A..B", value_parser = parse_seqs)]
    pub(crate) seq: Option<(u64, u64)>,
    /// The record with this audit id (32 hex digits).
    #[arg(long, value_name = "HEX")]
    pub(crate) audit_id: Option<audit_events::AuditId>,
    /// Events with this uniform outcome: success, failure, unknown (kinds without an outcome
    /// never match; FORMAT.md lists them).
    #[arg(long, value_parser = parse_outcome)]
    pub(crate) outcome: Option<audit_events::EventOutcome>,
    /// Records with this request (correlation) id.
    #[arg(long, value_name = "ID")]
    pub(crate) request_id: Option<String>,
    /// Newest first.
    #[arg(long)]
    pub(crate) reverse: bool,
    /// Skip this many matching records first.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub(crate) offset: usize,
    /// At most this many records.
    #[arg(long, value_name = "N")]
    pub(crate) limit: Option<usize>,
    /// Print only the number of matching records (after --offset and --limit).
    #[arg(long)]
    pub(crate) count: bool,
    /// Output format.
    #[arg(long, ignore_case = true, value_enum, default_value_t = QueryFormat::Text)]
    pub(crate) format: QueryFormat,
}

/// `N` or `A..B` (both ends included).
fn parse_seqs(text: &str) -> Result<(u64, u64), String> {
    let number =
        |t: &str| t.trim().parse::<u64>().map_err(|_| format!("{t:?} is not a sequence number"));
    match text.split_once("..") {
        Some((a, b)) => {
            let (a, b) = (number(a)?, number(b)?);
            if a > b {
                return Err(format!("the range {a}..{b} is empty"));
            }
            Ok((a, b))
        }
        None => number(text).map(|n| (n, n)),
    }
}

/// The compliance framework a report is written for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Framework {
    /// SOC 2 (AICPA Trust Services Criteria, 2017, points of focus revised 2022).
    Soc2,
    /// The EU General Data Protection Regulation (Regulation (EU) 2016/679).
    Gdpr,
    /// ISO/IEC 27001:2022 Annex A.
    Iso27001,
    /// HIPAA Security Rule, audit controls (45 CFR 164.312(b)).
    Hipaa,
    /// PCI DSS v4.0, requirement 10.
    PciDss,
}

/// Output formats of `report`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ReportFormat {
    /// Markdown.
    Md,
    /// One JSON object.
    Json,
    /// One self-contained HTML file (inline CSS and SVG chart, no scripts).
    Html,
}

#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// The log directory.
    pub(crate) dir: PathBuf,
    /// The framework the report is for.
    #[arg(long, ignore_case = true, value_enum)]
    pub(crate) framework: Framework,
    /// Start of the period (same forms as query --since).
    #[arg(long, value_name = "TIME")]
    pub(crate) since: Option<String>,
    /// End of the period, exclusive.
    #[arg(long, value_name = "TIME")]
    pub(crate) until: Option<String>,
    /// Output format.
    #[arg(long, ignore_case = true, value_enum, default_value_t = ReportFormat::Md)]
    pub(crate) format: ReportFormat,
    /// Verifier material or public key for the integrity check (as for verify).
    #[arg(long, value_name = "FILE")]
    pub(crate) verification_key: Option<PathBuf>,
    /// Write the report to this file instead of standard output (needed by --sign).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// Sign the report with this signed-note private key (`PRIVATE+KEY+...`, the form of a
    /// log's signing.key) and write the signature to <OUTPUT>.sig.
    #[arg(long, value_name = "KEYFILE", requires = "output")]
    pub(crate) sign: Option<PathBuf>,
    /// Replace subject identifiers (user ids, customer ids, requesters, addresses, sessions)
    /// by keyed digests (HMAC-SHA256) under the secret in this file (at least 16 bytes).
    #[arg(long, value_name = "KEYFILE")]
    pub(crate) pseudonymise: Option<PathBuf>,
    /// Write each complete population the report samples from (sign-ins, access decisions,
    /// tokens, permission changes, changes, data subject requests) as CSV files into this
    /// directory (created if missing; existing files of the same names are replaced).
    #[arg(long, value_name = "DIR")]
    pub(crate) populations: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) require: Require,
}

#[derive(Debug, Args)]
pub(crate) struct ReportCheckArgs {
    /// The report file.
    pub(crate) report: PathBuf,
    /// The public key of the report's signer (one line: name+keyid+base64); the signature is
    /// read from <REPORT>.sig.
    #[arg(long, value_name = "FILE")]
    pub(crate) public_key: Option<PathBuf>,
    /// The signature file [default: <REPORT>.sig].
    #[arg(long, value_name = "FILE", requires = "public_key")]
    pub(crate) signature: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) format: ResultFormatArg,
}

#[derive(Debug, Args)]
pub(crate) struct TailArgs {
    /// The log directory.
    pub(crate) dir: PathBuf,
    /// How many of the last records to show.
    #[arg(short = 'n', long = "lines", value_name = "N", default_value_t = 10)]
    pub(crate) lines: u64,
    /// Keep running and print new records as they are written (the log directory is watched
    /// with inotify).
    #[arg(short = 'f', long)]
    pub(crate) follow: bool,
    /// Output format (json, one array, only without -f; jsonl for a SIEM following the log).
    #[arg(long, ignore_case = true, value_enum, default_value_t = QueryFormat::Text)]
    pub(crate) format: QueryFormat,
}

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// The log directory.
    pub(crate) dir: PathBuf,
    /// Output format.
    #[arg(long, ignore_case = true, value_enum, default_value_t = QueryFormat::Jsonl)]
    pub(crate) format: QueryFormat,
    /// Records at or after this time (same forms as query --since).
    #[arg(long, value_name = "TIME")]
    pub(crate) since: Option<String>,
    /// Records before this time.
    #[arg(long, value_name = "TIME")]
    pub(crate) until: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct CheckpointArgs {
    /// The log directory.
    pub(crate) dir: PathBuf,
    /// Output format: text is the signed note itself.
    #[arg(long, ignore_case = true, value_enum, default_value_t = ResultFormat::Text)]
    pub(crate) format: ResultFormat,
}

#[derive(Debug, Args)]
pub(crate) struct ProveArgs {
    /// The log directory.
    pub(crate) dir: PathBuf,
    /// The record's sequence number.
    #[arg(long, value_name = "N")]
    pub(crate) seq: u64,
    /// A checkpointed tree size to prove against [default: the latest checkpoint].
    #[arg(long, value_name = "M")]
    pub(crate) size: Option<u64>,
    /// Output format: json is the bundle `verify-proof` reads; text a summary for people.
    #[arg(long, ignore_case = true, value_enum, default_value_t = ResultFormat::Json)]
    pub(crate) format: ResultFormat,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyProofArgs {
    /// The bundle printed by `audit prove` (`-` for standard input).
    pub(crate) bundle: PathBuf,
    /// The log's checkpoint public key, or its verifier material.
    #[arg(long, value_name = "FILE")]
    pub(crate) public_key: PathBuf,
    #[command(flatten)]
    pub(crate) format: ResultFormatArg,
}

#[derive(Debug, Args)]
pub(crate) struct ConsistencyArgs {
    /// The log directory.
    pub(crate) dir: PathBuf,
    /// A signed checkpoint of this log saved earlier.
    #[arg(long, value_name = "CHECKPOINT")]
    pub(crate) old: PathBuf,
    /// The log's verifier material or public key [default: the key in log.meta, which proves
    /// consistency but not who signed]. With material, verify checks every seal MAC too.
    #[arg(long, value_name = "FILE")]
    pub(crate) public_key: Option<PathBuf>,
    /// Also write, when the log is consistent, a C2SP tlog-witness `add-checkpoint` request
    /// body (old size, proof, latest checkpoint) to FILE, for any witness to cosign.
    #[arg(long, value_name = "FILE")]
    pub(crate) proof_out: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) require: Require,
    #[command(flatten)]
    pub(crate) format: ResultFormatArg,
}

#[derive(Debug, Args)]
pub(crate) struct EmitArgs {
    /// The log directory (an existing log; no other writer may hold it).
    pub(crate) dir: PathBuf,
    /// JSON lines to append (`-` or nothing for standard input). Each line is one event:
    /// {"kind": "task.canceled", "event": {...}}, the fields as `audit export` shows them;
    /// "category", "severity" and "outcome" may be given and must agree. "claimed_time"
    /// (RFC 3339: when the event happened, kept beside the time the log receives it),
    /// "request_id" and "user_agent" are kept in the record; plain "time" is refused. A bad
    /// line is reported by number and skipped (exit 2); the other lines are written.
    pub(crate) file: Option<PathBuf>,
    /// Output format of the summary, once every written event is durable: text on standard
    /// error, or one JSON object on standard output (written and refused counts).
    #[arg(long, ignore_case = true, value_enum, default_value_t = ResultFormat::Text)]
    pub(crate) format: ResultFormat,
}

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Where to create the demo log (must not exist, or be empty).
    pub(crate) dir: PathBuf,
    /// How long the simulated fleet runs, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 3, hide = true)]
    pub(crate) seconds: u64,
    /// Fleet mode: start a throwaway PostgreSQL cluster and a collector, write three services'
    /// logs in DIR, ship them with three shippers, and show what the collector witnessed.
    #[arg(long)]
    pub(crate) fleet: bool,
}

/// Output formats of `kinds`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum KindsFormat {
    /// One block per kind, one line per field.
    Text,
    /// One JSON object: {"kinds": [...]}.
    Json,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("action").required(true).args(["set", "release"]))]
pub(crate) struct LegalHoldArgs {
    /// The log directory (an existing log; no other writer may hold it).
    pub(crate) dir: PathBuf,
    /// Place a hold, with its reason (a case or ticket reference).
    #[arg(long, value_name = "REASON")]
    pub(crate) set: Option<String>,
    /// Lift the hold, with the reason.
    #[arg(long, value_name = "REASON")]
    pub(crate) release: Option<String>,
    #[command(flatten)]
    pub(crate) format: ResultFormatArg,
}

#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell.
    #[arg(ignore_case = true, value_enum)]
    pub(crate) shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub(crate) struct ManArgs {
    /// Where to write the pages (created if missing).
    #[arg(long, value_name = "DIR")]
    pub(crate) out: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct KindsArgs {
    /// Output format.
    #[arg(long, ignore_case = true, value_enum, default_value_t = KindsFormat::Text)]
    pub(crate) format: KindsFormat,
}

/// Case does not matter (`Security`, `SECURITY`), as operators type it.
fn parse_category(text: &str) -> Result<Category, String> {
    text.to_ascii_lowercase().parse().map_err(|_| {
        let names: Vec<&str> = Category::ALL.iter().map(|c| c.as_str()).collect();
        format!("expected one of {}", names.join(", "))
    })
}

/// Case does not matter (`HIGH`, `High`).
pub(crate) fn parse_outcome(text: &str) -> Result<audit_events::EventOutcome, String> {
    text.to_ascii_lowercase()
        .parse()
        .map_err(|_| "expected one of success, failure, unknown".to_owned())
}

fn parse_severity(text: &str) -> Result<Severity, String> {
    text.to_ascii_lowercase()
        .parse()
        .map_err(|_| "expected one of low, medium, high, critical".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn sequence_ranges_parse() {
        assert_eq!(parse_seqs("42"), Ok((42, 42)));
        assert_eq!(parse_seqs("40..49"), Ok((40, 49)));
        assert!(parse_seqs("9..3").is_err());
        assert!(parse_seqs("a..3").is_err());
        assert!(parse_seqs("-1").is_err());
    }

    #[test]
    fn enum_values_ignore_case() {
        assert_eq!(parse_severity("HIGH"), Ok(Severity::High));
        assert_eq!(parse_category("Security"), Ok(Category::Security));
        assert!(parse_severity("urgent").is_err());
        let cli = Cli::try_parse_from(["audit", "kinds", "--format", "JSON"]).unwrap();
        assert!(matches!(cli.command, Command::Kinds(KindsArgs { format: KindsFormat::Json })));
    }

    #[test]
    fn help_states_the_exit_codes() {
        let help = Cli::command().render_long_help().to_string();
        assert!(help.contains("Exit status:") && help.contains("3  I/O"), "{help}");
    }
}

/// `audit collector`.
#[derive(Debug, Args)]
pub(crate) struct CollectorArgs {
    #[command(subcommand)]
    pub(crate) command: CollectorCommand,
}

#[derive(Debug, Subcommand)]
pub(crate) enum CollectorCommand {
    /// Apply the database migrations and create the collector's witness key and a self-signed
    /// TLS certificate in DIR.
    Init {
        /// libpq connection string of the fleet database (the owner's).
        #[arg(long)]
        database: String,
        /// Directory for witness.key, witness.vkey, tls.crt and tls.key.
        #[arg(long)]
        dir: PathBuf,
        /// The witness name in cosignatures (a schema-less URL naming the collector).
        #[arg(long, default_value = "audit-collector.localhost/witness")]
        name: String,
        #[command(flatten)]
        format: ResultFormatArg,
    },
    /// Serve HTTPS: ingestion for shippers, the read API for auditors.
    Serve {
        /// libpq connection string of the fleet database.
        #[arg(long)]
        database: String,
        /// The directory `collector init` wrote.
        #[arg(long)]
        dir: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value_t = crate::fleet::default_listen())]
        listen: std::net::SocketAddr,
    },
    /// Register a log by its checkpoint public key (from its directory, or a key file).
    Enroll {
        /// libpq connection string of the fleet database.
        #[arg(long)]
        database: String,
        /// A file holding the log's public key (`DIR.pub`, or the verifier material's
        /// `public-key`).
        #[arg(long, value_name = "FILE")]
        public_key: Option<PathBuf>,
        /// The log directory (its log.meta names the key; check it against the material).
        #[arg(long, value_name = "DIR")]
        log: Option<PathBuf>,
        #[command(flatten)]
        format: ResultFormatArg,
    },
    /// Remove a log's records older than a time, through the database's purge function: a
    /// chained purge record first, then a whole prefix of the log up to an accepted position.
    Purge {
        /// libpq connection string of the fleet database (the owner's).
        #[arg(long)]
        database: String,
        /// The log's origin (`audit/<service id>/<log id>`).
        #[arg(long)]
        origin: String,
        /// Purge records older than this time (the forms of `audit query --since`).
        #[arg(long)]
        before: String,
        /// Why (the retention policy and its source); kept in the purge record.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        format: ResultFormatArg,
    },
    /// Create a read-API token for an auditor; printed once, only its SHA-256 is stored.
    Token {
        /// libpq connection string of the fleet database.
        #[arg(long)]
        database: String,
        /// Who the token is for.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        format: ResultFormatArg,
    },
}

/// `audit ship`.
#[derive(Debug, Args)]
pub(crate) struct ShipArgs {
    /// The log directory (read access is enough).
    pub(crate) dir: PathBuf,
    /// The collector, `https://host:port`.
    #[arg(long)]
    pub(crate) collector: String,
    /// The collector's TLS certificate (or its CA), PEM.
    #[arg(long, value_name = "FILE")]
    pub(crate) ca: PathBuf,
    /// Where to write cosigned checkpoints [default: the log directory].
    #[arg(long, value_name = "DIR")]
    pub(crate) cosign_dir: Option<PathBuf>,
    /// Records per shipment.
    #[arg(long, default_value_t = 5000)]
    pub(crate) batch: usize,
    /// Ship what is checkpointed now and stop, instead of following the log.
    #[arg(long)]
    pub(crate) once: bool,
    /// Progress reports: text lines on standard error, or one JSON object per shipment on
    /// standard output.
    #[arg(long, ignore_case = true, value_enum, default_value_t = ShipFormat::Text)]
    pub(crate) format: ShipFormat,
}

/// Output formats of `ship`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ShipFormat {
    /// A line per shipment on standard error.
    Text,
    /// One JSON object per shipment on standard output.
    Jsonl,
}

/// `audit fleet`.
#[derive(Debug, Args)]
pub(crate) struct FleetArgs {
    /// The collector, `https://host:port`.
    #[arg(long, global = true, default_value = "https://127.0.0.1:8443")]
    pub(crate) collector: String,
    /// The collector's TLS certificate (or its CA), PEM.
    #[arg(long, value_name = "FILE", global = true, default_value = "tls.crt")]
    pub(crate) ca: PathBuf,
    /// A file holding an auditor token (`audit collector token`).
    #[arg(long, value_name = "FILE", global = true, default_value = "auditor.token")]
    pub(crate) token_file: PathBuf,
    #[command(subcommand)]
    pub(crate) command: FleetCommand,
}

/// Output formats of `fleet`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum FleetFormat {
    /// Lines for people.
    Text,
    /// JSON.
    Json,
    /// One JSON object per line (records of `fleet query`, logs of `status` and `verify`).
    Jsonl,
}

// Parsed once per process: the size of the query variant's filters does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub(crate) enum FleetCommand {
    /// Every log: records held, newest checkpoint and cosignature, refusals.
    Status {
        /// Output format.
        #[arg(long, ignore_case = true, value_enum, default_value = "text")]
        format: FleetFormat,
    },
    /// Search records across every log, oldest first (exit 1 when nothing matched).
    Query {
        #[command(flatten)]
        filters: FleetFilters,
        /// Most records to print.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Output format.
        #[arg(long, ignore_case = true, value_enum, default_value = "text")]
        format: FleetFormat,
    },
    /// The compliance report across the fleet: each log's sections (as `audit report` builds
    /// them) from the records the collector holds up to its newest cosigned checkpoint, with
    /// the collector's verification as integrity (exit 1 when a log fails).
    Report {
        /// Which framework's sections.
        #[arg(long, ignore_case = true, value_enum)]
        framework: Framework,
        /// Start of the period (as `audit report`).
        #[arg(long)]
        since: Option<String>,
        /// End of the period.
        #[arg(long)]
        until: Option<String>,
        /// The collector's witness public key (`witness.vkey`): with it, each log's cosigned
        /// checkpoint is checked, and the records it covers count as proven (ANCHORED).
        #[arg(long, value_name = "FILE")]
        witness_key: Option<PathBuf>,
        /// Output format: md or json.
        #[arg(long, ignore_case = true, value_enum, default_value_t = ReportFormat::Md)]
        format: ReportFormat,
        /// Write the report to FILE instead of standard output.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Recompute every log's chain and roots from the database and check them against the
    /// signed and cosigned checkpoints (exit 1 when a log fails).
    Verify {
        /// Output format.
        #[arg(long, ignore_case = true, value_enum, default_value = "text")]
        format: FleetFormat,
    },
}

/// Filters of `fleet query`.
#[derive(Debug, Args)]
pub(crate) struct FleetFilters {
    /// Only this log (its origin).
    #[arg(long)]
    pub(crate) origin: Option<String>,
    /// Only this service.
    #[arg(long)]
    pub(crate) service: Option<String>,
    /// Only this kind.
    #[arg(long)]
    pub(crate) kind: Option<String>,
    /// Only this category.
    #[arg(long)]
    pub(crate) category: Option<String>,
    /// Only this severity.
    #[arg(long)]
    pub(crate) severity: Option<String>,
    /// Only this actor.
    #[arg(long)]
    pub(crate) actor: Option<String>,
    /// Only records naming this resource id.
    #[arg(long)]
    pub(crate) resource: Option<String>,
    /// Only this client address.
    #[arg(long)]
    pub(crate) ip: Option<String>,
    /// Only this uniform outcome: success, failure, unknown.
    #[arg(long)]
    pub(crate) outcome: Option<String>,
    /// Only this request (correlation) id.
    #[arg(long)]
    pub(crate) request_id: Option<String>,
    /// From this time (same forms as `audit query --since`).
    #[arg(long)]
    pub(crate) since: Option<String>,
    /// Until this time, exclusive.
    #[arg(long)]
    pub(crate) until: Option<String>,
}
