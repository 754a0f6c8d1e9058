//! The resume note: where a reopening writer may pick up the end of the log without reading the
//! whole last segment.
//!
//! Reopening a log needs the state at its end: the chain hash, the Merkle frontier, how many
//! records are unsealed, what the last seal and legal hold were. Without help, recovery reads the
//! last segment from its header (up to 64 MiB by default). The writer therefore leaves a note,
//! `resume`, every [`RESUME_EVERY`] bytes of segment and at every checkpoint: that state at the
//! end of a durable frame, signed with the log's checkpoint key. Layout in FORMAT.md.
//!
//! The note is a side file, so it is hostile input and is never trusted on its own:
//!
//! - It is used only if its signature verifies with the key in `log.meta`, its origin is the
//!   log's, it names the last segment, and the frame it names ends exactly where it says with the
//!   chain hash it records (or, at a segment's start, it matches the segment header). Otherwise
//!   recovery reads the whole segment, as without a note.
//! - Recovery then reads from the note's offset to the end of the file, with every check of a
//!   full scan (chain, sequence numbers, torn-write rules).
//! - The records before the offset are read again in the background while the writer runs; the
//!   state they give must be exactly the note's, or the writer is poisoned with
//!   [`crate::StoreError::Damaged`] at its first commit after that reading ends, at the latest
//!   before it commits the segment's index or retention removes anything (the index is never
//!   committed from them).
//!
//! The note is written after the frames it describes are durable, by the tile thread after the
//! partial tiles of its size (so that a reopening writer picks the tiles up from there), and is
//! not itself synced: a crash can leave the previous note (recovery then reads a little more) or
//! none that verifies (recovery reads the whole segment). It can never describe frames that are
//! not on disk.

use std::io;
use std::path::Path;

use audit_chain::{CompactTree, Hash, NoteSigner, NoteVerifier, open_note};
use audit_events::{RecordKind, SystemKind, Timestamp};

use crate::io::{SMALL_FILE_CAP, read_capped_text, replace_file};
use crate::meta::LogMeta;

/// The note's file name in the log directory.
pub(crate) const RESUME_FILE: &str = "resume";

/// The note's first line.
const HEADER: &str = "audit-resume v1";

/// Segment bytes written between two notes (besides the note at every checkpoint).
pub(crate) const RESUME_EVERY: u64 = 1 << 20;

/// What the log's last seal says, as seen from its end.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SealFacts {
    /// Epoch and time of the last seal.
    pub(crate) last: Option<(u64, Timestamp)>,
    /// The last seal is the final seal of a clean close (`log_closed` came just before it) or
    /// the seal a reopened writer makes right after its `log_resumed`: after either, the key
    /// evolves past the seal's epoch.
    pub(crate) closing_seal: bool,
}

/// The state recovery accumulates over a segment's records, beyond chain, size and tree: what it
/// needs to decide how the log may continue. A scan from a segment's header and a scan from a
/// resume note continue the same state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Carried {
    /// Records since the last seal.
    pub(crate) unsealed: u64,
    /// The newest time of the records since the last seal.
    pub(crate) unsealed_newest: Option<Timestamp>,
    /// The newest record time of the segment (the header's creation time before any).
    pub(crate) last_time: Timestamp,
    pub(crate) seals: SealFacts,
    /// The last record that is not a seal was `log_closed`.
    pub(crate) last_kind_closed: bool,
    /// The last record that is neither a seal nor a legal hold was `log_resumed`, and no seal
    /// came after it.
    pub(crate) last_kind_resumed: bool,
    /// The last `legal_hold` record of the segment: held, and the reason.
    pub(crate) hold: Option<(bool, String)>,
}

impl Carried {
    /// The state at the start of a segment created at `created`.
    pub(crate) fn at_header(created: Timestamp) -> Self {
        Self {
            unsealed: 0,
            unsealed_newest: None,
            last_time: created,
            seals: SealFacts::default(),
            last_kind_closed: false,
            last_kind_resumed: false,
            hold: None,
        }
    }

    /// Takes in the next record: its kind and time, and for a seal its epoch and time, for a
    /// legal hold its state and reason (`None` where the record could not be decoded).
    pub(crate) fn observe(
        &mut self,
        kind: RecordKind,
        time: Timestamp,
        seal: Option<(u64, Timestamp)>,
        hold: Option<(bool, &str)>,
    ) {
        let is_seal = kind == RecordKind::System(SystemKind::Seal);
        // A reopening writer places the hold its configuration asks for between its
        // `log_resumed` and its resume seal: that seal still follows the `log_resumed`.
        if !is_seal && kind != RecordKind::System(SystemKind::LegalHold) {
            self.last_kind_resumed = kind == RecordKind::System(SystemKind::LogResumed);
        }
        match kind {
            RecordKind::System(SystemKind::Seal) => {
                if let Some(seal) = seal {
                    self.seals.last = Some(seal);
                }
                self.seals.closing_seal = self.last_kind_closed || self.last_kind_resumed;
                self.last_kind_resumed = false;
                self.unsealed = 0;
                self.unsealed_newest = None;
            }
            RecordKind::System(SystemKind::LogClosed) => {
                self.unsealed += 1;
                self.last_kind_closed = true;
            }
            RecordKind::System(SystemKind::LegalHold) => {
                if let Some((held, reason)) = hold {
                    self.hold = Some((held, reason.to_owned()));
                }
                self.unsealed += 1;
                self.last_kind_closed = false;
            }
            _ => {
                self.unsealed += 1;
                self.last_kind_closed = false;
            }
        }
        self.last_time = self.last_time.max(time);
        if !is_seal {
            self.unsealed_newest = Some(self.unsealed_newest.map_or(time, |t| t.max(time)));
        }
    }
}

/// The state of the log at the end of one durable frame of the last segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ResumeNote {
    /// The segment's first sequence number (its name).
    pub(crate) segment: u64,
    /// The log's size there: the next record's sequence number.
    pub(crate) size: u64,
    /// The offset just past the frame (the header's length if the segment has no frame yet).
    pub(crate) end: u64,
    /// The offset of that frame; `None` if the segment has no frame yet.
    pub(crate) last_frame: Option<u64>,
    /// The frame's chain hash (the header's previous chain hash before any frame).
    pub(crate) chain: Hash,
    /// The Merkle frontier at `size`.
    pub(crate) frontier: Vec<Hash>,
    pub(crate) carried: Carried,
}

fn hex(bytes: &[u8]) -> String {
    base16ct::lower::encode_string(bytes)
}

fn unhex32(text: &str) -> Result<Hash, String> {
    let mut out = [0u8; 32];
    match base16ct::lower::decode(text, &mut out) {
        Ok(bytes) if bytes.len() == 32 => Ok(out),
        _ => Err("a hash is not 64 lowercase hex digits".to_owned()),
    }
}

fn flag(value: bool) -> &'static str {
    if value { "1" } else { "0" }
}

impl ResumeNote {
    /// The note's text before its signature.
    fn body(&self, origin: &str) -> String {
        let c = &self.carried;
        let last = self.last_frame.map_or_else(|| "-".to_owned(), |o| o.to_string());
        let mut frontier = String::from("frontier");
        for hash in &self.frontier {
            frontier.push(' ');
            frontier.push_str(&hex(hash));
        }
        let newest = c.unsealed_newest.map_or_else(|| "-".to_owned(), |t| t.0.to_string());
        let seal = match c.seals.last {
            Some((epoch, at)) => format!("{epoch} {}", at.0),
            None => "- -".to_owned(),
        };
        let hold = match &c.hold {
            Some((held, reason)) => format!("{} {}", flag(*held), hex(reason.as_bytes())),
            None => "- -".to_owned(),
        };
        format!(
            "{HEADER}\norigin {origin}\nsegment {} size {} end {} last {last}\nchain {}\n\
             {frontier}\ntime {} unsealed {} newest {newest}\nseal {seal} closing {}\n\
             closed {} resumed {}\nhold {hold}\n",
            self.segment,
            self.size,
            self.end,
            hex(&self.chain),
            c.last_time.0,
            c.unsealed,
            flag(c.seals.closing_seal),
            flag(c.last_kind_closed),
            flag(c.last_kind_resumed),
        )
    }

    /// The signed note, as written to [`RESUME_FILE`].
    pub(crate) fn sign(&self, signer: &NoteSigner) -> Result<String, audit_chain::ChainError> {
        signer.sign(&self.body(signer.name()))
    }

    /// Reads the note of the log in `dir`: `Err` with the reason it cannot be used (missing,
    /// refused, unsigned, another log's, malformed).
    pub(crate) fn read(dir: &Path, meta: &LogMeta) -> Result<Self, String> {
        let text = read_capped_text(&dir.join(RESUME_FILE), SMALL_FILE_CAP)
            .map_err(|e| format!("cannot be read: {e}"))?;
        let verifier = NoteVerifier::parse(&meta.public_key)
            .map_err(|e| format!("log.meta holds no usable key: {e}"))?;
        let opened = open_note(&text, std::slice::from_ref(&verifier))
            .map_err(|e| format!("signature: {e}"))?;
        Self::parse(&opened.text, &meta.origin)
    }

    /// Parses a note's signed text, which must name `origin`.
    fn parse(text: &str, origin: &str) -> Result<Self, String> {
        let bad = |what: &str| format!("malformed {what} line");
        let mut lines = text.lines();
        let mut line = |what: &str| lines.next().ok_or_else(|| format!("no {what} line"));
        if line("header")? != HEADER {
            return Err("not a resume note of this version".to_owned());
        }
        if line("origin")?.strip_prefix("origin ") != Some(origin) {
            return Err("the note belongs to another log".to_owned());
        }
        let number = |s: &str| s.parse::<u64>().map_err(|_| bad("segment"));
        let position: Vec<&str> = line("segment")?.split(' ').collect();
        let ["segment", segment, "size", size, "end", end, "last", last] = position[..] else {
            return Err(bad("segment"));
        };
        let last_frame = if last == "-" { None } else { Some(number(last)?) };
        let chain = unhex32(line("chain")?.strip_prefix("chain ").ok_or_else(|| bad("chain"))?)?;
        let mut frontier_words = line("frontier")?.split(' ');
        if frontier_words.next() != Some("frontier") {
            return Err(bad("frontier"));
        }
        let frontier = frontier_words.map(unhex32).collect::<Result<Vec<_>, _>>()?;
        if frontier.len() > 64 {
            return Err(bad("frontier"));
        }
        let time_ns = |s: &str, what: &str| s.parse::<i64>().map(Timestamp).map_err(|_| bad(what));
        let times: Vec<&str> = line("time")?.split(' ').collect();
        let ["time", last_time, "unsealed", unsealed, "newest", newest] = times[..] else {
            return Err(bad("time"));
        };
        let unsealed_newest = if newest == "-" { None } else { Some(time_ns(newest, "time")?) };
        let seal: Vec<&str> = line("seal")?.split(' ').collect();
        let ["seal", epoch, sealed_at, "closing", closing] = seal[..] else {
            return Err(bad("seal"));
        };
        let last_seal = match (epoch, sealed_at) {
            ("-", "-") => None,
            (e, t) => Some((e.parse::<u64>().map_err(|_| bad("seal"))?, time_ns(t, "seal")?)),
        };
        let boolean = |s: &str, what: &str| match s {
            "0" => Ok(false),
            "1" => Ok(true),
            _ => Err(bad(what)),
        };
        let flags: Vec<&str> = line("closed")?.split(' ').collect();
        let ["closed", closed, "resumed", resumed] = flags[..] else { return Err(bad("closed")) };
        let hold_words: Vec<&str> = line("hold")?.split(' ').collect();
        let hold = match hold_words[..] {
            ["hold", "-", "-"] => None,
            ["hold", held, reason] => {
                let mut bytes = vec![0u8; reason.len() / 2];
                let decoded =
                    base16ct::lower::decode(reason, &mut bytes).map_err(|_| bad("hold"))?;
                let reason = String::from_utf8(decoded.to_vec()).map_err(|_| bad("hold"))?;
                Some((boolean(held, "hold")?, reason))
            }
            _ => return Err(bad("hold")),
        };
        if lines.next().is_some() {
            return Err("lines after the hold line".to_owned());
        }
        let size = number(size)?;
        // A frontier that cannot be the tree's at `size` makes the note malformed (not a reason
        // to refuse the log once recovery started from it).
        if CompactTree::from_frontier(size, frontier.clone()).is_err() {
            return Err(bad("frontier"));
        }
        // Nor can more records be unsealed than the log holds.
        let unsealed: u64 = unsealed.parse().map_err(|_| bad("time"))?;
        if unsealed > size {
            return Err(bad("time"));
        }
        Ok(Self {
            segment: number(segment)?,
            size,
            end: number(end)?,
            last_frame,
            chain,
            frontier,
            carried: Carried {
                unsealed,
                unsealed_newest,
                last_time: time_ns(last_time, "time")?,
                seals: SealFacts { last: last_seal, closing_seal: boolean(closing, "seal")? },
                last_kind_closed: boolean(closed, "closed")?,
                last_kind_resumed: boolean(resumed, "closed")?,
                hold,
            },
        })
    }
}

/// Replaces `dir/resume` with `note` (see `io::replace_file`). Nothing is synced: the note is
/// derived and may be lost in a crash.
pub(crate) fn write_note(dir: &Path, note: &str) -> io::Result<()> {
    replace_file(&dir.join(RESUME_FILE), note.as_bytes(), false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note() -> ResumeNote {
        ResumeNote {
            segment: 7,
            size: 40,
            end: 9_000,
            last_frame: Some(8_800),
            chain: [3; 32],
            frontier: vec![[1; 32], [2; 32]],
            carried: Carried {
                unsealed: 3,
                unsealed_newest: Some(Timestamp(55)),
                last_time: Timestamp(56),
                seals: SealFacts { last: Some((4, Timestamp(50))), closing_seal: true },
                last_kind_closed: false,
                last_kind_resumed: true,
                hold: Some((true, "case 12, kept".to_owned())),
            },
        }
    }

    #[test]
    fn notes_round_trip_and_refuse_other_origins() {
        let origin = "audit/svc/00";
        for n in [note(), {
            let mut n = note();
            n.last_frame = None;
            n.size = 0;
            n.frontier.clear();
            n.carried = Carried::at_header(Timestamp(-5));
            n
        }] {
            let body = n.body(origin);
            assert_eq!(ResumeNote::parse(&body, origin), Ok(n));
            assert!(ResumeNote::parse(&body, "audit/other/00").is_err());
        }
        // A frontier that is not the tree's at the note's size.
        let mut n = note();
        n.size = 41;
        assert_eq!(
            ResumeNote::parse(&n.body(origin), origin),
            Err("malformed frontier line".into())
        );
    }

    #[test]
    fn junk_on_any_line_or_after_the_last_is_refused() {
        let body = note().body("o");
        for (i, _) in body.lines().enumerate() {
            let changed: String = body
                .lines()
                .enumerate()
                .map(|(j, l)| if i == j { format!("{l} x\n") } else { format!("{l}\n") })
                .collect();
            assert!(ResumeNote::parse(&changed, "o").is_err(), "line {i} accepted with junk");
        }
        assert!(ResumeNote::parse(&format!("{body}extra\n"), "o").is_err());
    }
}
