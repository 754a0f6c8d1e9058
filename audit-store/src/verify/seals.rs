//! Seal records: each must match the log before it, come in epoch order, verify with its epoch's
//! key, and cover only records of its epoch or a few before it.

use audit_chain::{Hash, SealInput, SealTag};
use audit_events::Timestamp;

use super::{FailureKind, Verifier};

impl Verifier<'_> {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn seal(
        &mut self,
        offset: u64,
        seq: u64,
        epoch: u64,
        tree_size: u64,
        root: Hash,
        last_chain: Hash,
        sealed_at: Timestamp,
        mac: Hash,
    ) {
        let since = self.last_seal.map_or(self.report.first_seq, |(s, _, _)| s + 1);
        if tree_size != seq || root != self.tree.root() || last_chain != self.chain {
            self.fail(
                FailureKind::Seal,
                Some(offset),
                Some(since),
                format!("the seal at seq {seq} does not match the records before it: records {since}..{} were altered, inserted or removed", seq.saturating_sub(1)),
            );
            return;
        }
        if let Some((resume_epoch, last_seal)) = self.resumed {
            // The writer's key at a resume is its clock's epoch, or one past the last seal when
            // the key was ahead of the clock (after a clean close or a resume seal).
            let allowed = last_seal.map_or(resume_epoch, |e| resume_epoch.max(e + 1));
            self.lead = epoch.saturating_sub(resume_epoch) + 1;
            if epoch > allowed {
                self.fail(
                    FailureKind::Seal,
                    Some(offset),
                    Some(seq),
                    format!("the first seal after a log_resumed of epoch {resume_epoch} is of epoch {epoch}: a later key sealed records dated before it (a forged resume)"),
                );
                return;
            }
        }
        if let Some((_, last_epoch, last_time)) = self.last_seal {
            if epoch < last_epoch || sealed_at < last_time {
                self.fail(
                    FailureKind::Seal,
                    Some(offset),
                    Some(seq),
                    "seal epochs or times go backwards".to_owned(),
                );
                return;
            }
            if epoch > last_epoch + 1 && !self.resumed_since_seal {
                self.fail(
                    FailureKind::Seal,
                    Some(offset),
                    Some(since),
                    format!("seals of epochs {}..{} are missing although the writer did not restart: records were removed and the log continued", last_epoch + 1, epoch - 1),
                );
                return;
            }
        }
        if let Some(key) = &mut self.seal_key {
            if epoch < key.epoch() {
                self.fail(
                    FailureKind::Seal,
                    Some(offset),
                    Some(seq),
                    "seal epochs go backwards".to_owned(),
                );
                return;
            }
            if epoch > key.epoch() {
                match key.seek(epoch) {
                    Ok(next) => *key = next,
                    Err(e) => {
                        self.fail(
                            FailureKind::Seal,
                            Some(offset),
                            Some(seq),
                            format!("seal epoch {epoch} is invalid: {e}"),
                        );
                        return;
                    }
                }
            }
            let input = SealInput { epoch, tree_size, root, last_chain, time_ns: sealed_at.0 };
            if key.verify(&input, &SealTag(mac)).is_err() {
                self.fail(
                    FailureKind::Seal,
                    Some(offset),
                    Some(since),
                    format!("the seal at seq {seq} (epoch {epoch}) is not valid for that epoch's key: the records it covers were rewritten, or the seal was forged"),
                );
                return;
            }
            if let Some((lo, hi, first)) = self.unsealed_epochs {
                if hi > epoch {
                    self.fail(
                        FailureKind::Coverage,
                        Some(offset),
                        Some(first),
                        format!("records dated after epoch {epoch} are covered by its seal"),
                    );
                    return;
                }
                if epoch > lo + self.slack + self.lead {
                    self.fail(
                        FailureKind::Coverage,
                        Some(offset),
                        Some(first),
                        format!("records of epoch {lo} are sealed only at epoch {epoch}: their own epochs' seals are missing (rewritten with a later key?)"),
                    );
                    return;
                }
            }
            // The seal authenticates the records before it and, being keyed, itself.
            self.prove(seq, sealed_at, format!("seal at seq {seq} (epoch {epoch})"));
        }
        self.last_seal = Some((seq, epoch, sealed_at));
        self.resumed_since_seal = false;
        self.unsealed_epochs = None;
        self.unsealed_records = false;
        self.resumed = None;
        if sealed_at >= self.epoch_start(epoch + 1) {
            // A boundary seal made once the clock reached the end of the key's epoch: the key
            // is no longer ahead of the clock, and records after it lag by the usual slack only.
            self.lead = 0;
            self.resume_floor = None;
        }
        let closing = std::mem::take(&mut self.closing);
        self.last_seal_closing = closing | std::mem::take(&mut self.after_resume);
        if closing {
            self.closed = Some(epoch);
        }
        self.first_seal_epoch.get_or_insert(epoch);
        self.report.seals += 1;
    }
}
