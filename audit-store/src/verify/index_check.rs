//! Index files against the chain; a lying index could hide records from searches.
//!
//! Without the verifier material every index is rebuilt from the frames verification walks and
//! compared byte for byte. With it, an index file must be exactly the one a sealed
//! `index_committed` record commits to (its SHA-256, first sequence number, record count and end
//! offset): the writer computed that digest from the records it wrote, and the seal that follows
//! authenticates it, so the comparison proves as much as a rebuild, without decoding every
//! record.

use std::path::Path;

use audit_chain::Hash;
use audit_events::{LogId, Record, RecordKind, SystemRecord};

use super::{FailureKind, SegmentSeen, Verifier};
use crate::index::{IndexView, SegmentIndex};
use crate::layout;
use crate::segment::ChainedFrames;

/// A segment's index file, and the index rebuilt from the chain while its frames are checked.
pub(super) struct IndexCheck {
    /// Rebuild the index from the frames (without the verifier material); otherwise only the
    /// commitments are collected.
    rebuild: bool,
    /// The `index_committed` records of the segment: seq, first seq, records, end offset, digest.
    commitments: Vec<(u64, u64, u64, u64, Hash)>,
    /// The segment file and the log's id (for a rebuild after the walk).
    segment: std::path::PathBuf,
    log_id: LogId,
    rebuilt: SegmentIndex,
    /// `None`: no index file. `Some(None)`: an index file that cannot be parsed.
    file: Option<Option<IndexView>>,
    /// Whether the file equals the rebuilt index at the count it claims (once reached).
    matched: Option<bool>,
    /// An `index_committed` record in the segment names the file's digest.
    committed: bool,
    /// Warnings about `index_committed` records that do not match the frames before them.
    notes: Vec<String>,
}

impl IndexCheck {
    pub(super) fn new(
        segment: &Path,
        first_seq: u64,
        header_len: u64,
        prev_chain: Hash,
        log_id: LogId,
        rebuild: bool,
    ) -> Self {
        let path = segment.with_file_name(layout::index_name(first_seq));
        let file = std::fs::symlink_metadata(&path).is_ok().then(|| IndexView::read(&path));
        Self {
            rebuild,
            commitments: Vec::new(),
            segment: segment.to_owned(),
            log_id,
            rebuilt: SegmentIndex::new(first_seq, header_len, prev_chain),
            file,
            matched: None,
            committed: false,
            notes: Vec::new(),
        }
    }

    fn file(&self) -> Option<&IndexView> {
        self.file.as_ref().and_then(Option::as_ref)
    }

    /// Compares the file with the rebuilt index once the rebuilt one covers as many records
    /// as the file claims.
    fn compare_at_end(&mut self) {
        if self.rebuild
            && self.matched.is_none()
            && let Some(view) = self.file()
            && view.len() == self.rebuilt.len()
        {
            self.matched = Some(view.bytes() == self.rebuilt.encode().as_slice());
        }
    }

    /// Takes the next (chain-checked) frame. An `index_committed` record must match the index
    /// rebuilt so far; one that does not (segments merged or split while every record was kept)
    /// is noted, and the index file is judged by the byte comparison alone.
    pub(super) fn add(
        &mut self,
        offset: u64,
        chain: Hash,
        payload: &[u8],
        seq: u64,
        kind: RecordKind,
    ) {
        let seq = seq.saturating_sub(1);
        let commitment = if kind == RecordKind::System(audit_events::SystemKind::IndexCommitted) {
            commitment_of(payload)
        } else {
            None
        };
        if !self.rebuild {
            if let Some((first_seq, records, end_offset, digest)) = commitment {
                self.commitments.push((seq, first_seq, records, end_offset, digest));
            }
            return;
        }
        self.compare_at_end();
        if let Some((first_seq, records, end_offset, digest)) = commitment {
            let expected: Hash =
                <sha2::Sha256 as sha2::Digest>::digest(self.rebuilt.encode()).into();
            if first_seq != self.rebuilt.first_seq
                || usize::try_from(records).ok() != Some(self.rebuilt.len())
                || end_offset != offset
                || digest != expected
            {
                self.notes.push(format!(
                    "the index_committed record at seq {seq} does not match the frames before it \
                     in its segment (segments were merged, split or rewritten); no index file can \
                     rely on it"
                ));
            } else if self.file().is_some_and(|f| f.digest() == digest) {
                self.committed = true;
            }
        }
        self.rebuilt.add_encoded(offset, payload, chain);
    }
}

/// The fields of an `index_committed` record (first seq, records, end offset, digest), if the
/// payload is one.
fn commitment_of(payload: &[u8]) -> Option<(u64, u64, u64, Hash)> {
    match Record::decode(payload).ok()?.body {
        audit_events::Body::System(SystemRecord::IndexCommitted {
            first_seq,
            records,
            end_offset,
            digest,
        }) => Some((first_seq, records, end_offset, digest.0)),
        _ => None,
    }
}

impl IndexCheck {
    /// Rebuilds the index of the whole segment from its frames.
    fn rebuild_from_segment(&mut self) {
        let Ok((header, mut frames)) = ChainedFrames::open(&self.segment, self.log_id) else {
            return;
        };
        self.rebuilt = SegmentIndex::new(header.first_seq, frames.offset(), header.prev_chain);
        let mut payload = Vec::new();
        while let Ok(Some(frame)) = frames.next(&mut payload) {
            self.rebuilt.add_encoded(frame.offset, &payload, frame.chain);
            if self.file().is_some_and(|view| view.len() == self.rebuilt.len()) {
                break;
            }
        }
    }
}

impl Verifier<'_> {
    /// The segment's index file must be byte for byte the index rebuilt from the chain for the
    /// frames it claims to cover, and be committed to by an `index_committed` record; a lying
    /// index could hide records from searches, so it is reported (the records are intact).
    pub(super) fn check_index(
        &mut self,
        first_seq: u64,
        seen: &SegmentSeen,
        mut index: IndexCheck,
    ) {
        if !index.rebuild {
            // A commitment counts only once a seal after it verified with the material.
            let sealed_through = self.last_seal.map_or(0, |(seq, _, _)| seq);
            let committed = |view: &IndexView| {
                index
                    .commitments
                    .iter()
                    .find(|c| c.3 == view.header.end_offset && c.0 < sealed_through)
                    .map(|c| {
                        c.1 == view.header.first_seq
                            && usize::try_from(c.2).ok() == Some(view.len())
                            && c.4 == view.digest()
                    })
            };
            index.matched = match index.file() {
                Some(view) => committed(view),
                None => None,
            };
            index.committed = index.matched == Some(true);
            if index.file().is_some() && index.matched.is_none() {
                // No sealed commitment names it: compare it with the index rebuilt from the chain
                // (a second walk over this segment, which the first walk found intact).
                index.rebuild = true;
                index.rebuild_from_segment();
            }
        }
        index.compare_at_end();
        self.report.warnings.append(&mut index.notes);
        let Some(file) = index.file.take() else { return };
        let name = layout::index_name(first_seq);
        let problem = match (&file, index.matched) {
            (None, _) => Some("is damaged".to_owned()),
            (Some(view), _) if view.header.first_seq != first_seq => Some(format!(
                "names segment {} (copied from another segment)",
                view.header.first_seq
            )),
            (Some(view), _) if view.len() > seen.count => Some(format!(
                "claims {} records but the segment's chain has {}",
                view.len(),
                seen.count
            )),
            (Some(_), Some(false) | None) => {
                Some("differs from the index rebuilt from the segment's chain".to_owned())
            }
            (Some(_), Some(true)) => None,
        };
        if let Some(problem) = problem {
            let seq = first_seq.saturating_add(u64::try_from(seen.count).unwrap_or(0));
            self.fail(
                FailureKind::Index,
                None,
                Some(seq.saturating_sub(1)),
                format!(
                    "index file {name} {problem}: the records are intact, but the index could \
                     hide records from searches; delete it (searches then scan the segment)"
                ),
            );
        } else if !index.committed {
            self.report.warnings.push(format!(
                "{name} is not committed to by an index_committed record (written before index \
                 commitments): searches scan the segment instead of using it"
            ));
        }
    }
}
