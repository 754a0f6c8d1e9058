//! `audit init`: create a log and hand out its verifier material exactly once.
//!
//! The material file is created before the log (with `create_new`, mode 0600), so an existing
//! file is never overwritten and a log is never left without its material: if creating the log
//! fails, the empty file is removed again.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use audit_store::{LogConfig, LogWriter};
use input_validation::display_safe;

use crate::Ctx;
use crate::cli::InitArgs;
use crate::error::{ExitStatus, usage};
use crate::output::print_json;
use serde_json::json;

pub(crate) fn run(args: &InitArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<ExitStatus> {
    let config = LogConfig::new(args.service_id.clone());
    config.validate()?;
    let material_path = match &args.material_out {
        Some(path) => path.clone(),
        None => default_material_path(&args.dir)?,
    };
    if material_path.starts_with(&args.dir) {
        return Err(usage(
            "the verifier material must not be written inside the log directory: it has to \
             leave the host",
        ));
    }
    let mut file = create_material_file(&material_path)?;
    // The public key, safe to publish, beside the material: `<DIR>.pub`.
    let pub_path = public_key_path(&material_path);
    let mut pub_file =
        match OpenOptions::new().write(true).create_new(true).mode(0o644).open(&pub_path) {
            Ok(f) => f,
            Err(e) => {
                drop(file);
                let _ = std::fs::remove_file(&material_path);
                return Err(e).with_context(|| {
                    format!(
                        "creating {} (an existing file is never overwritten)",
                        pub_path.display()
                    )
                });
            }
        };
    let (writer, material) = match LogWriter::create(&args.dir, config, ctx.now) {
        Ok(created) => created,
        Err(e) => {
            drop((file, pub_file));
            let _ = std::fs::remove_file(&material_path);
            let _ = std::fs::remove_file(&pub_path);
            return Err(e).with_context(|| format!("creating the log in {}", args.dir.display()));
        }
    };
    let public_written = pub_file
        .write_all(format!("{}\n", material.public_key).as_bytes())
        .and_then(|()| pub_file.sync_all())
        .with_context(|| format!("writing {}", pub_path.display()));
    let written = file
        .write_all(material.to_text().as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| {
            format!(
                "writing {}: the log was created but its verifier material is lost; remove {} \
                 and run init again",
                material_path.display(),
                args.dir.display()
            )
        });
    let log_id = writer.log_id();
    let closed = writer.close(ctx.now).context("closing the new log");
    written?;
    public_written?;
    closed?;

    if args.format.json() {
        print_json(
            ctx.out,
            &json!({
                "dir": args.dir.display().to_string(),
                "log_id": log_id.to_string(),
                "service_id": args.service_id,
                "public_key": material.public_key,
                "material_file": material_path.display().to_string(),
                "public_key_file": pub_path.display().to_string(),
            }),
        )?;
        writeln!(
            ctx.err,
            "Move the verifier material off this host now and delete this copy: whoever holds \
             its seal key can forge seals."
        )?;
        return Ok(ExitStatus::Success);
    }
    let dir = display_safe(&args.dir.display().to_string()).into_owned();
    let file = display_safe(&material_path.display().to_string()).into_owned();
    let public = display_safe(&pub_path.display().to_string()).into_owned();
    write!(
        ctx.out,
        "Created audit log {dir}\n  log id      {log_id}\n  service id  {service}\n  \
         public key  {key}\n\n\
         Verifier material written to {file} (mode 0600).\n\
         It holds the log's initial seal key and its checkpoint public key. Move it off this host\n\
         now (to the auditor, or a vault) and delete this copy: whoever holds the seal key can\n\
         forge seals, so an intruder who found it here could rewrite the log undetected.\n\n\
         To check the log later, from wherever the file is kept:\n  \
         audit verify {dir} --verification-key {file}\n\
         With the material, verify recomputes every epoch's seal key from the initial one and\n\
         checks every seal's MAC, so a rewrite by anyone without the key is caught. The public\n\
         key alone (safe to publish; written to {public}) checks checkpoint signatures and\n\
         inclusion proofs.\n",
        service = args.service_id,
        key = material.public_key,
    )?;
    Ok(ExitStatus::Success)
}

/// `<dir>.verifier` beside the log directory.
/// Creates the verifier-material file: mode 0600, never over an existing file.
pub(crate) fn create_material_file(path: &Path) -> anyhow::Result<std::fs::File> {
    OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).with_context(|| {
        format!("creating {} (an existing file is never overwritten)", path.display())
    })
}

/// The public key file beside the material, named after it: `<DIR>.verifier` gives `<DIR>.pub`.
fn public_key_path(material: &Path) -> PathBuf {
    let path = material.with_extension("pub");
    if path == material {
        let mut name = material.as_os_str().to_owned();
        name.push(".pub");
        return PathBuf::from(name);
    }
    path
}

pub(crate) fn default_material_path(dir: &Path) -> anyhow::Result<PathBuf> {
    let name = dir.file_name().ok_or_else(|| {
        usage("cannot name the verifier material after this directory; give --material-out FILE")
    })?;
    let mut file_name = name.to_owned();
    file_name.push(".verifier");
    Ok(dir.with_file_name(file_name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_public_key_goes_beside_the_material() {
        assert_eq!(public_key_path(Path::new("/v/orch.verifier")), Path::new("/v/orch.pub"));
        assert_eq!(public_key_path(Path::new("keys/orch")), Path::new("keys/orch.pub"));
        assert_eq!(public_key_path(Path::new("keys/orch.pub")), Path::new("keys/orch.pub.pub"));
    }

    #[test]
    fn material_goes_beside_the_directory() {
        assert_eq!(
            default_material_path(Path::new("/var/log/audit/orch")).unwrap(),
            Path::new("/var/log/audit/orch.verifier")
        );
        assert_eq!(default_material_path(Path::new("logs/")).unwrap(), Path::new("logs.verifier"));
        assert!(default_material_path(Path::new("/")).is_err());
        assert!(default_material_path(Path::new("a/..")).is_err());
    }
}
