//! Retention purges: a missing prefix is accepted only when a purge record matches it, and
//! sealed history proves every purged record older than the minimum retention; checkpoints
//! inside the purged range are checked against the leaf hashes kept for it.

use std::path::Path;

use audit_chain::{CompactTree, Hash};
use audit_events::Timestamp;

use super::{DAY_NANOS, FailureKind, MAX_CLOCK_SKEW_NANOS, Verifier};
use crate::error::StoreError;

impl Verifier<'_> {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn purge(
        &mut self,
        offset: u64,
        seq: u64,
        time: Timestamp,
        first_seq: u64,
        last_seq: u64,
        end_chain: Hash,
        end_root: Hash,
        retention_days: u32,
        cutoff: Timestamp,
    ) {
        if let Some(min) = self.min_retention_days
            && retention_days < min
        {
            self.fail(
                FailureKind::Purge,
                Some(offset),
                Some(seq),
                format!("retention purge used {retention_days} days; at least {min} are required"),
            );
            return;
        }
        if let Some(placed) = self.hold {
            self.fail(
                FailureKind::Purge,
                Some(offset),
                Some(seq),
                format!("a retention purge during the legal hold placed at seq {placed}: nothing may be removed while a hold is in force"),
            );
            return;
        }
        if time.0 > self.now.0.saturating_add(MAX_CLOCK_SKEW_NANOS) {
            self.fail(
                FailureKind::Purge,
                Some(offset),
                Some(seq),
                format!(
                    "retention purge is dated {}, after the time of verification {}",
                    time, self.now
                ),
            );
            return;
        }
        let allowed = time.0.saturating_sub(i64::from(retention_days).saturating_mul(DAY_NANOS));
        if cutoff.0 > allowed || last_seq < first_seq {
            self.fail(
                FailureKind::Purge,
                Some(offset),
                Some(seq),
                "retention purge claims more than its retention period allows".to_owned(),
            );
            return;
        }
        match self.pending_prefix {
            Some((present, chain, root)) if last_seq + 1 == present => {
                if chain != end_chain || root != end_root {
                    self.fail(FailureKind::Purge, Some(offset), Some(seq), "retention purge record does not match where the remaining log begins".to_owned());
                    return;
                }
                self.pending_prefix = None;
                self.prefix_purge = Some((seq, time, self.current_segment.clone()));
                self.report.purged = Some((self.report.purged.map_or(first_seq, |(f, _)| f.min(first_seq)), last_seq));
            }
            _ if last_seq < self.report.first_seq => {
                // An earlier purge, superseded by a later one.
                self.report.purged = Some((self.report.purged.map_or(first_seq, |(f, _)| f.min(first_seq)), self.report.purged.map_or(last_seq, |(_, l)| l.max(last_seq))));
            }
            _ => self.report.warnings.push(format!(
                "retention purge record at seq {seq} covers records {first_seq}..{last_seq}, some of which are still present"
            )),
        }
    }

    /// A missing prefix is accepted only when sealed history proves every removed record older
    /// than the retention period: every removed record is covered by a seal of an epoch no later
    /// than the first seal of what remains, so it is dated before that epoch ends. The purge must
    /// come at least the minimum retention after that (a key stolen later does not help: it
    /// cannot make an earlier epoch's seal, nor date the purge after the time of verification).
    pub(super) fn check_prefix_purge(&mut self) {
        let Some((seq, time, segment)) = self.prefix_purge.clone() else { return };
        let days = self.min_retention_days.unwrap_or(0);
        let reason = match self.first_seal_epoch {
            None => Some(
                "the retention purge cannot be proven: no seal follows the purged records"
                    .to_owned(),
            ),
            Some(epoch) => {
                let newest_bound = self.epoch_start(epoch.saturating_add(1));
                let expires =
                    newest_bound.0.saturating_add(i64::from(days).saturating_mul(DAY_NANOS));
                (time.0 < expires).then(|| {
                    format!(
                        "the retention purge at {time} removed records that sealed history dates up to {newest_bound} (seal epoch {epoch}): they were younger than the {days}-day retention period"
                    )
                })
            }
        };
        if let Some(reason) = reason {
            self.current_segment = segment;
            self.fail(FailureKind::Purge, None, Some(seq), reason);
        }
    }

    /// Checkpoints of a size inside a purged prefix are checked against the leaf hashes kept for
    /// the purged records: the root they rebuild at each checkpoint's size must be the signed
    /// one (which authenticates them). Without those hashes, a trusted checkpoint there cannot
    /// be checked, and that is a finding: nothing may quietly stop a held checkpoint from being
    /// compared.
    pub(super) fn check_purged_range(&mut self) {
        let Some((range, dir, present)) = self.purged_targets.take() else { return };
        // What is wrong here shows where the remaining log begins.
        let at_end = std::mem::replace(
            &mut self.current_segment,
            self.report.segments.first().map(|s| s.file.clone()),
        );
        if let Err(e) = self.check_purged_targets(range, &dir, present) {
            self.fail(
                FailureKind::Checkpoint,
                None,
                None,
                format!("the leaf hashes kept for purged records cannot be read: {e}"),
            );
        }
        if !self.failed() {
            self.current_segment = at_end;
        }
    }

    pub(super) fn check_purged_targets(
        &mut self,
        range: std::ops::Range<usize>,
        dir: &Path,
        present: u64,
    ) -> Result<(), StoreError> {
        let Some(upto) = self.targets[range.clone()].iter().map(|t| t.size).max() else {
            return Ok(());
        };
        // Roots of the rebuilt tree at each checkpoint size in the range.
        let mut roots: Vec<(u64, Hash)> = Vec::new();
        let sizes: Vec<u64> = self.targets[range.clone()].iter().map(|t| t.size).collect();
        let mut tree = CompactTree::new();
        let mut wanted = sizes.iter().peekable();
        let complete =
            crate::retention::walk_purged_leaves(dir, present, upto, &mut |seq, leaf| {
                while wanted.next_if(|s| **s == seq).is_some() {
                    roots.push((seq, tree.root()));
                }
                let _ = tree.try_push(*leaf);
            })?;
        if complete {
            while wanted.next_if(|s| **s == upto).is_some() {
                roots.push((upto, tree.root()));
            }
        }
        for i in range {
            let (size, source, trusted, root) = {
                let t = &self.targets[i];
                (t.size, t.source.clone(), t.trusted, t.root)
            };
            match roots.iter().find(|(s, _)| *s == size) {
                Some((_, rebuilt)) if *rebuilt == root => {
                    self.report.checkpoints += 1;
                    self.report.checkpoints_in_purged_range += 1;
                }
                Some(_) => {
                    let reason = format!(
                        "the log's first {size} records (purged; their kept leaf hashes) do not match {source}: the log was rewritten or forked, or the leaf hashes were altered"
                    );
                    self.fail(FailureKind::Checkpoint, None, Some(size.saturating_sub(1)), reason);
                    return Ok(());
                }
                None if trusted => {
                    let reason = format!(
                        "{source} (size {size}) covers records removed by retention, and the leaf hashes kept for them are missing or damaged: it cannot be checked"
                    );
                    self.fail(FailureKind::Checkpoint, None, Some(size), reason);
                    return Ok(());
                }
                None => self.report.warnings.push(format!(
                    "{source} (size {size}) covers records removed by retention; not checked (no leaf hashes kept for them)"
                )),
            }
        }
        Ok(())
    }
}
