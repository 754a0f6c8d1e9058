//! What verification is anchored to outside the records: the public key and the signed
//! checkpoints (found in the directory or held off the host), and `seal.key`, whose epoch says
//! how far the writer got.

use std::path::Path;

use audit_chain::{
    ChainError, CosignatureVerifier, NoteVerifier, SealKey, open_checkpoint, open_cosigned,
};

use super::{FailureKind, Target, Verifier};
use crate::error::StoreError;
use crate::keys;
use crate::layout::{self, CHECKPOINT_FILE};
use crate::meta::LogMeta;

impl Verifier<'_> {
    pub(super) fn note_verifier(
        &mut self,
        meta: Option<&LogMeta>,
    ) -> Result<Option<NoteVerifier>, StoreError> {
        let external = self
            .options
            .material
            .as_ref()
            .map(|m| m.public_key.clone())
            .or(self.options.public_key.clone());
        match external {
            Some(key) => match NoteVerifier::parse(&key) {
                Ok(v) => Ok(Some(v)),
                Err(e) => {
                    self.fail(
                        FailureKind::Identity,
                        None,
                        None,
                        format!("the public key does not parse: {e}"),
                    );
                    Ok(None)
                }
            },
            None => {
                let Some(meta) = meta else { return Ok(None) };
                self.report.warnings.push(
                    "no public key given: checkpoints are checked with the key in log.meta, which \
                     proves consistency but not who signed them"
                        .to_owned(),
                );
                Ok(NoteVerifier::parse(&meta.public_key).ok())
            }
        }
    }

    pub(super) fn load_checkpoints(
        &mut self,
        dir: &Path,
        verifier: Option<&NoteVerifier>,
    ) -> Result<(), StoreError> {
        let mut notes: Vec<(String, String, bool)> = Vec::new();
        // Checkpoints are evidence: one that is not a regular file, is a symbolic link, or is
        // larger than any checkpoint (FIFO, /dev/zero) is a failure of the log, not an error.
        let mut files = vec![(CHECKPOINT_FILE.to_owned(), dir.join(CHECKPOINT_FILE))];
        for (size, path) in layout::list_kept_checkpoints(dir)? {
            files.push((layout::kept_checkpoint_name(size), path));
        }
        for (name, path) in files {
            match crate::io::read_capped_text(&path, crate::io::SMALL_FILE_CAP) {
                Ok(text) => notes.push((name, text, false)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && name == CHECKPOINT_FILE => {
                    self.report
                        .warnings
                        .push("no latest checkpoint file in the log directory".to_owned());
                }
                Err(e) => match crate::io::unsafe_reason(&e) {
                    Some(reason) => {
                        self.fail(
                            FailureKind::Checkpoint,
                            None,
                            None,
                            format!("{name} is refused: {reason}"),
                        );
                        return Ok(());
                    }
                    None if e.kind() == std::io::ErrorKind::InvalidData => {
                        self.fail(
                            FailureKind::Checkpoint,
                            None,
                            None,
                            format!("{name} does not verify: it is not UTF-8 text"),
                        );
                        return Ok(());
                    }
                    None => return Err(StoreError::io("reading", path, e)),
                },
            }
        }
        for (i, text) in self.options.trusted_checkpoints.iter().enumerate() {
            notes.push((format!("trusted checkpoint {}", i + 1), text.clone(), true));
        }
        if !self.options.witness_keys.is_empty()
            && let Some(verifier) = verifier
            && !self.load_cosigned(dir, verifier)?
        {
            return Ok(());
        }
        let Some(verifier) = verifier else {
            if !notes.is_empty() {
                self.report
                    .warnings
                    .push("checkpoints not checked: no usable public key".to_owned());
            }
            return Ok(());
        };
        let origin = self.identity.as_ref().map(|i| i.origin.clone()).unwrap_or_default();
        for (source, text, trusted) in notes {
            match open_checkpoint(&text, verifier) {
                Ok(cp) if cp.origin == origin => {
                    if let Some(claimed) =
                        source.strip_prefix("checkpoint-").and_then(|s| s.strip_suffix(".note"))
                        && claimed.parse::<u64>().ok() != Some(cp.size)
                    {
                        self.fail(
                            FailureKind::Checkpoint,
                            None,
                            None,
                            format!("{source} holds a checkpoint of another size"),
                        );
                        return Ok(());
                    }
                    self.targets.push(Target { size: cp.size, root: cp.root, source, trusted });
                }
                Ok(_) => {
                    self.fail(
                        FailureKind::Checkpoint,
                        None,
                        None,
                        format!("{source} is a checkpoint of another log"),
                    );
                    return Ok(());
                }
                Err(e) => {
                    self.fail(
                        FailureKind::Checkpoint,
                        None,
                        None,
                        format!("{source} does not verify: {e}"),
                    );
                    return Ok(());
                }
            }
        }
        self.targets.sort_by_key(|t| t.size);
        Ok(())
    }

    /// Adds the checkpoints of `cosigned-*.note` that a witness key cosigned as trusted targets.
    /// Returns `false` after recording a failure: a cosigned file that does not verify, or none
    /// at all.
    fn load_cosigned(&mut self, dir: &Path, verifier: &NoteVerifier) -> Result<bool, StoreError> {
        let mut witnesses = Vec::new();
        for key in &self.options.witness_keys {
            match CosignatureVerifier::parse(key) {
                Ok(w) => witnesses.push(w),
                Err(e) => {
                    self.fail(
                        FailureKind::Checkpoint,
                        None,
                        None,
                        format!("the witness key does not parse: {e}"),
                    );
                    return Ok(false);
                }
            }
        }
        let origin = self.identity.as_ref().map(|i| i.origin.clone()).unwrap_or_default();
        let mut found = 0;
        for (size, path) in layout::list_cosigned(dir)? {
            let name =
                path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let text = match crate::io::read_capped_text(&path, crate::io::SMALL_FILE_CAP) {
                Ok(text) => text,
                Err(e) => {
                    let reason = crate::io::unsafe_reason(&e)
                        .map_or_else(|| e.to_string(), ToString::to_string);
                    self.fail(
                        FailureKind::Checkpoint,
                        None,
                        None,
                        format!("{name} is refused: {reason}"),
                    );
                    return Ok(false);
                }
            };
            for witness in &witnesses {
                match open_cosigned(&text, verifier, witness) {
                    Ok(c) if c.checkpoint.origin == origin && c.checkpoint.size == size => {
                        found += 1;
                        self.targets.push(Target {
                            size,
                            root: c.checkpoint.root,
                            source: format!("{name} (cosigned by {})", witness.name()),
                            trusted: true,
                        });
                    }
                    Ok(_) => {
                        self.fail(
                            FailureKind::Checkpoint,
                            None,
                            None,
                            format!("{name} holds a checkpoint of another log or size"),
                        );
                        return Ok(false);
                    }
                    Err(ChainError::NoCosignature) => {}
                    Err(e) => {
                        self.fail(
                            FailureKind::Checkpoint,
                            None,
                            None,
                            format!("{name} does not verify: {e}"),
                        );
                        return Ok(false);
                    }
                }
            }
        }
        if found == 0 {
            self.fail(
                FailureKind::Checkpoint,
                None,
                None,
                "a witness key was given but no checkpoint in the log directory is cosigned by \
                 it: the cosigned checkpoints were removed, or the log was never shipped"
                    .to_owned(),
            );
            return Ok(false);
        }
        Ok(true)
    }

    /// Reads `seal.key` and checks that it derives from the verifier material: the key state on
    /// disk is a forward-secure witness of how far the writer got, since nobody can produce the
    /// state of an epoch earlier than one they hold.
    pub(super) fn load_dir_key(&mut self, dir: &Path) {
        let Some(material) = &self.options.material else { return };
        let found = match keys::read_seal_key(dir) {
            Ok(key) => key,
            Err(StoreError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                // The writer never removes it; without it, records cut off the end at a seal
                // would go unnoticed. (To verify a copy of a log, copy seal.key with it.)
                self.fail(
                    FailureKind::Seal,
                    None,
                    None,
                    "seal.key is missing from the log directory: how far the writer got cannot \
                     be checked, so records cut off the end would go unnoticed (the writer never \
                     removes it; a copy of a log must include it)"
                        .to_owned(),
                );
                return;
            }
            Err(e) => {
                self.fail(
                    FailureKind::Identity,
                    None,
                    None,
                    format!("seal.key cannot be read: {e}"),
                );
                return;
            }
        };
        let derived = SealKey::from_initial(*material.initial_seal_key).seek(found.epoch());
        match derived {
            Ok(derived) if *derived.to_state_bytes() == *found.to_state_bytes() => {
                self.report.key_epoch = Some(found.epoch());
                self.dir_key = Some(found);
            }
            _ => self.fail(
                FailureKind::Identity,
                None,
                None,
                format!(
                    "seal.key (epoch {}) does not derive from the verifier material: it was replaced",
                    found.epoch()
                ),
            ),
        }
    }

    /// With the verifier material, `seal.key` in the directory says how far the writer got: it is
    /// never more than one epoch past the last seal, unless a `log_resumed` after that seal (the
    /// writer moved its key to the time it reopened) or a clean close (the key evolved past the
    /// final epoch) explains it. A key further ahead means sealed records were cut off the end.
    pub(super) fn check_key_progress(&mut self) {
        let Some(key) = &self.dir_key else { return };
        let key_epoch = key.epoch();
        let floor = match self.last_seal {
            Some((_, epoch, sealed_at)) => {
                if sealed_at >= self.epoch_start(epoch + 1) {
                    epoch + 1
                } else {
                    epoch
                }
            }
            None => 0,
        };
        // A reopened writer seals right after its `log_resumed`, before it replaces the key
        // file: only a clean close leaves the key ahead of the last seal.
        let explained =
            self.last_seal_closing && self.last_seal.is_some_and(|(_, e, _)| key_epoch <= e + 1);
        if key_epoch > floor && !explained {
            let last = match self.last_seal {
                Some((seq, epoch, _)) => format!("the last seal (seq {seq}) is of epoch {epoch}"),
                None => "the log has no seal".to_owned(),
            };
            let reason = format!(
                "seal.key is at epoch {key_epoch} but {last}: the writer sealed further, and those seals and the records they covered were removed from the end"
            );
            self.fail(FailureKind::Seal, None, Some(self.seq), reason);
        } else if let Some(e) = self.closed
            && key_epoch <= e
        {
            self.report.warnings.push(format!(
                "seal.key still holds the key of epoch {key_epoch}, the final epoch: whoever reads the directory can seal that epoch again (written by an older writer?)"
            ));
        }
    }
}
