//! The `audit` command: verify, search, report on, prove and append to tamper-evident audit
//! logs written by `audit-store` (usually through `audit-logger`).
//!
//! The binary is a thin `main` over [`run`]; each subcommand lives in its own module and writes
//! to the output streams it is given, so tests and benchmarks drive it without a process.
//!
//! Invariants:
//! - Exit codes are a contract ([`ExitStatus`]): 0 success or intact, 1 a finding (tampering, a
//!   gap, a proof that does not verify, a query without match), 2 a usage error, 3 an I/O or
//!   other operational error. Clap's own errors exit 2.
//! - No output path emits a raw control, bidi or invisible character taken from a log: text goes
//!   through `input_validation::display_safe`, JSON through [`escape_json`], CSV cells are made
//!   display-safe and formula-neutral, HTML and Markdown are escaped after being made
//!   display-safe. Error messages are made display-safe too.
//! - Reading commands never write to the log directory and take no lock; `init`, `emit` and
//!   `demo` are the only writers.
//!
//! `anyhow` is used here and nowhere else in the workspace: this crate is the edge where errors
//! become messages and exit codes.

mod checkpoint;
mod cli;
mod demo;
mod emit;
mod error;
mod export;
mod fleet;
mod init;
mod keyfile;
mod kinds;
mod legal_hold;
mod manual;
mod output;
mod query;
mod report;
mod tail;
mod time;
mod verify;

use std::ffi::OsString;
use std::io::{IsTerminal as _, Write};

use audit_events::Timestamp;
use clap::Parser as _;

pub use error::ExitStatus;
pub use output::escape_json;
pub use time::parse_time;

use cli::{Cli, Command};

/// What every subcommand gets: where to write, and the time to resolve relative times against.
pub(crate) struct Ctx<'a> {
    /// Results: records, reports, bundles.
    pub(crate) out: &'a mut dyn Write,
    /// Progress, warnings and messages for the person at the terminal.
    pub(crate) err: &'a mut dyn Write,
    /// Now, for `--since 1h` and friends.
    pub(crate) now: Timestamp,
    /// The zone local dates and times (`--since "2026-12-01 08:00"`, `today`) are read in:
    /// the system's (`TZ`, `/etc/localtime`), or UTC with `--utc`.
    pub(crate) zone: jiff::tz::TimeZone,
    /// Whether standard error is a terminal (progress bars are drawn only then).
    pub(crate) err_is_terminal: bool,
}

/// Runs the `audit` command with `args` (the first is the program name), writing results to
/// `out` and messages to `err`, and returns the exit status.
pub fn run<I, T>(args: I, out: &mut dyn Write, err: &mut dyn Write) -> ExitStatus
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) if e.use_stderr() => {
            let _ = err.write_all(parse_error_text(&args, &e).as_bytes());
            let _ = err.flush();
            return ExitStatus::Usage;
        }
        Err(e) => {
            let mut text = output::safe_lines(&e.render().to_string());
            if !text.ends_with('\n') {
                text.push('\n');
            }
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
            return ExitStatus::Success;
        }
    };
    let mut ctx = Ctx {
        out: &mut *out,
        err: &mut *err,
        now: Timestamp::now(),
        zone: if cli.utc { jiff::tz::TimeZone::UTC } else { jiff::tz::TimeZone::system() },
        err_is_terminal: std::io::stderr().is_terminal(),
    };
    let result = dispatch(cli.command, &mut ctx).and_then(|status| {
        ctx.out.flush()?;
        Ok(status)
    });
    match result {
        Ok(status) => status,
        Err(e) if error::is_broken_pipe(&e) => ExitStatus::Success,
        Err(e) => {
            let _ = writeln!(err, "audit: error: {}", output::safe_lines(&format!("{e:#}")));
            error::status_of(&e)
        }
    }
}

/// Clap quotes the offending argument in its message. An argument can hold a line feed or
/// escape sequence as easily as a log can, so the message is built from the arguments made
/// display-safe: parsing them again gives the same error with every such character shown as a
/// visible escape.
fn parse_error_text(args: &[OsString], error: &clap::Error) -> String {
    let safe: Vec<String> = args
        .iter()
        .map(|a| input_validation::display_safe(&a.to_string_lossy()).into_owned())
        .collect();
    let rendered = match Cli::try_parse_from(&safe) {
        Err(again) if again.kind() == error.kind() => again.render().to_string(),
        _ => error.render().to_string(),
    };
    output::safe_lines(&rendered)
}

fn dispatch(command: Command, ctx: &mut Ctx<'_>) -> anyhow::Result<ExitStatus> {
    match command {
        Command::Init(args) => init::run(&args, ctx),
        Command::Verify(args) => verify::run(&args, ctx),
        Command::Query(args) => query::run(&args, ctx),
        Command::Report(args) => report::run(&args, ctx),
        Command::ReportCheck(args) => report::sign::run_check(&args, ctx),
        Command::Tail(args) => tail::run(&args, ctx),
        Command::Export(args) => export::run(&args, ctx),
        Command::Checkpoint(args) => checkpoint::run_checkpoint(&args, ctx),
        Command::Prove(args) => checkpoint::run_prove(&args, ctx),
        Command::VerifyProof(args) => checkpoint::run_verify_proof(&args, ctx),
        Command::Consistency(args) => checkpoint::run_consistency(&args, ctx),
        Command::Emit(args) => emit::run(&args, ctx),
        Command::Demo(args) => demo::run(&args, ctx),
        Command::Kinds(args) => kinds::run(&args, ctx),
        Command::Completions(args) => manual::completions(&args, ctx),
        Command::Man(args) => manual::man(&args, ctx),
        Command::LegalHold(args) => legal_hold::run(&args, ctx),
        Command::Collector(args) => fleet::run_collector(&args, ctx),
        Command::Ship(args) => fleet::run_ship(&args, ctx),
        Command::Fleet(args) => fleet::run_fleet(&args, ctx),
    }
}
