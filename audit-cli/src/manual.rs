//! `audit completions <shell>` (clap_complete) and `audit man --out DIR` (clap_mangen): both
//! generated from the same command-line definition as `--help`, so they cannot drift from it.

use anyhow::Context as _;
use clap::CommandFactory as _;

use crate::Ctx;
use crate::cli::{Cli, CompletionsArgs, ManArgs};
use crate::error::ExitStatus;

pub(crate) fn completions(args: &CompletionsArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<ExitStatus> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "audit", &mut script);
    ctx.out.write_all(&script)?;
    Ok(ExitStatus::Success)
}

/// Writes `audit.1` and `audit-<subcommand>.1` (and `audit-<subcommand>-<subcommand>.1` for
/// nested ones) into `args.out`.
pub(crate) fn man(args: &ManArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<ExitStatus> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let mut command = Cli::command();
    command.build();
    let mut written = 0;
    write_pages(&command, "audit", &args.out, &mut written)?;
    writeln!(ctx.out, "{written} manual pages written to {}", args.out.display())?;
    Ok(ExitStatus::Success)
}

fn write_pages(
    command: &clap::Command,
    name: &str,
    out: &std::path::Path,
    written: &mut usize,
) -> anyhow::Result<()> {
    let mut text = Vec::new();
    clap_mangen::Man::new(command.clone()).title(name.to_uppercase()).render(&mut text)?;
    let path = out.join(format!("{name}.1"));
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    *written += 1;
    for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
        write_pages(sub, &format!("{name}-{}", sub.get_name()), out, written)?;
    }
    Ok(())
}
