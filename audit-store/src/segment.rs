//! Segment files: the header, the frames, and a reader that tells a torn tail from damage.
//!
//! Layout (FORMAT.md has the full description): a header, then frames
//! `payload length (u32 LE) || payload (an encoded record) || chain hash (32 bytes)`.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use audit_chain::{Hash, leaf_hash};
use audit_events::{LogId, RecordHeader, RecordKind, Timestamp};
use sha2::{Digest as _, Sha256};

use crate::io::open_read;

/// First bytes of every segment file.
pub(crate) const SEGMENT_MAGIC: &[u8; 8] = b"AUDITSEG";
/// Segment format version written by this build.
pub(crate) const SEGMENT_FORMAT: u16 = 1;
/// Largest frame payload accepted (an event is at most 16 KiB; the rest is headroom).
pub(crate) const MAX_FRAME_PAYLOAD: u32 = 64 * 1024;
/// Bytes a frame adds around its payload.
pub(crate) const FRAME_OVERHEAD: u64 = 4 + 32;
/// How many frames that fail their link [`FrameReader::sync`] tries before it gives up.
const MAX_SYNC_MISSES: u32 = 16;
/// The most bytes one frame takes.
const MAX_FRAME: usize = 4 + 64 * 1024 + 32;
/// Header bytes before the frontier hashes.
const HEADER_FIXED: usize = 8 + 2 + 2 + 16 + 8 + 8 + 32 + 1;
/// The most frontier hashes a header can hold (one per bit of a u64 size).
const MAX_FRONTIER: usize = 64;

/// What a segment header records: where the segment continues the log from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SegmentHeader {
    pub(crate) log_id: LogId,
    pub(crate) first_seq: u64,
    pub(crate) created_at: Timestamp,
    /// Chain hash of record `first_seq - 1` (the genesis value for the first segment).
    pub(crate) prev_chain: Hash,
    /// The Merkle frontier at tree size `first_seq`.
    pub(crate) frontier: Vec<Hash>,
}

impl SegmentHeader {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let count = self.frontier.len().min(MAX_FRONTIER);
        let len = HEADER_FIXED + 32 * count + 32;
        let mut out = Vec::with_capacity(len);
        out.extend_from_slice(SEGMENT_MAGIC);
        out.extend_from_slice(&SEGMENT_FORMAT.to_le_bytes());
        out.extend_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_le_bytes());
        out.extend_from_slice(&self.log_id.0);
        out.extend_from_slice(&self.first_seq.to_le_bytes());
        out.extend_from_slice(&self.created_at.0.to_le_bytes());
        out.extend_from_slice(&self.prev_chain);
        out.push(u8::try_from(count).unwrap_or(0));
        for hash in &self.frontier[..count] {
            out.extend_from_slice(hash);
        }
        let check: [u8; 32] = Sha256::digest(&out).into();
        out.extend_from_slice(&check);
        out
    }

    /// Reads and checks a header; returns it and its length in bytes.
    pub(crate) fn read(reader: &mut impl Read) -> Result<(Self, u64), String> {
        let mut fixed = [0u8; HEADER_FIXED];
        read_exact_or(reader, &mut fixed, "header cut short")?;
        if &fixed[..8] != SEGMENT_MAGIC {
            return Err("not a segment file (bad magic)".to_owned());
        }
        let format = u16::from_le_bytes([fixed[8], fixed[9]]);
        if format != SEGMENT_FORMAT {
            return Err(format!("unsupported segment format {format}"));
        }
        let len = usize::from(u16::from_le_bytes([fixed[10], fixed[11]]));
        let count = usize::from(fixed[76]);
        if count > MAX_FRONTIER || len != HEADER_FIXED + 32 * count + 32 {
            return Err("header length does not match its frontier".to_owned());
        }
        let mut rest = vec![0u8; len - HEADER_FIXED];
        read_exact_or(reader, &mut rest, "header cut short")?;
        let mut hasher = Sha256::new();
        hasher.update(fixed);
        hasher.update(&rest[..32 * count]);
        let check: [u8; 32] = hasher.finalize().into();
        if check[..] != rest[32 * count..] {
            return Err("header checksum does not match".to_owned());
        }
        let u64_at = |at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&fixed[at..at + 8]);
            b
        };
        let mut log_id = [0u8; 16];
        log_id.copy_from_slice(&fixed[12..28]);
        let mut prev_chain = [0u8; 32];
        prev_chain.copy_from_slice(&fixed[44..76]);
        let frontier = rest[..32 * count]
            .chunks_exact(32)
            .map(|c| {
                let mut h = [0u8; 32];
                h.copy_from_slice(c);
                h
            })
            .collect();
        let header = Self {
            log_id: LogId(log_id),
            first_seq: u64::from_le_bytes(u64_at(28)),
            created_at: Timestamp(i64::from_le_bytes(u64_at(36))),
            prev_chain,
            frontier,
        };
        Ok((header, u64::try_from(len).unwrap_or(u64::MAX)))
    }
}

fn read_exact_or(reader: &mut impl Read, buf: &mut [u8], what: &str) -> Result<(), String> {
    reader.read_exact(buf).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof { what.to_owned() } else { e.to_string() }
    })
}

/// Appends one frame for `payload` with its chain hash to `out`.
pub(crate) fn push_frame(out: &mut Vec<u8>, payload: &[u8], chain: &Hash) {
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(chain);
}

/// One frame read from a segment.
#[derive(Debug)]
pub(crate) struct Frame {
    /// Offset of the frame's length field in the file.
    pub(crate) offset: u64,
    /// The stored chain hash.
    pub(crate) chain: Hash,
}

/// Why reading frames stopped before a clean end of file.
#[derive(Debug)]
pub(crate) enum FrameFault {
    /// The file ends inside a frame (a torn write if this is the log's last frame).
    Incomplete { offset: u64, bytes: u64 },
    /// From this offset to the end of the file every byte is zero: space allocated by a crash
    /// before the data reached the disk (a torn write if this is the log's last frame).
    ZeroTail { offset: u64, bytes: u64 },
    /// A length field outside 1..=MAX_FRAME_PAYLOAD.
    BadLength { offset: u64, len: u32 },
    /// Reading failed.
    Io(io::Error),
}

/// Reads frames one by one from a segment, after its header.
pub(crate) struct FrameReader {
    reader: BufReader<File>,
    offset: u64,
}

impl FrameReader {
    /// Opens a segment, reads its header, and positions at the first frame.
    pub(crate) fn open(path: &Path) -> Result<(SegmentHeader, Self), OpenFault> {
        let file = open_read(path).map_err(OpenFault::Io)?;
        let mut reader = BufReader::with_capacity(256 * 1024, file);
        let (header, len) = SegmentHeader::read(&mut reader).map_err(OpenFault::Header)?;
        Ok((header, Self { reader, offset: len }))
    }

    /// Opens a segment without reading its header, to [`FrameReader::sync`] to a frame.
    pub(crate) fn open_bare(path: &Path) -> io::Result<Self> {
        let file = open_read(path)?;
        Ok(Self { reader: BufReader::with_capacity(256 * 1024, file), offset: 0 })
    }

    /// Moves to `offset`, which must be the start of a frame (or the end of the frames).
    pub(crate) fn seek(&mut self, offset: u64) -> io::Result<()> {
        std::io::Seek::seek(&mut self.reader, io::SeekFrom::Start(offset))?;
        self.offset = offset;
        Ok(())
    }

    /// The offset of the next frame (or of the end of the file after the last one).
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// Reads the next frame's payload into `payload`. `Ok(None)` at a clean end of file.
    pub(crate) fn next_frame(
        &mut self,
        payload: &mut Vec<u8>,
    ) -> Result<Option<Frame>, FrameFault> {
        let start = self.offset;
        let mut len_bytes = [0u8; 4];
        let got = read_up_to(&mut self.reader, &mut len_bytes).map_err(FrameFault::Io)?;
        if got == 0 {
            return Ok(None);
        }
        if got < 4 {
            return Err(self.short(start, got));
        }
        let len = u32::from_le_bytes(len_bytes);
        if len == 0 || len > MAX_FRAME_PAYLOAD {
            if len == 0 {
                let rest = zero_run(&mut self.reader).map_err(FrameFault::Io)?;
                if let Some(rest) = rest {
                    return Err(FrameFault::ZeroTail { offset: start, bytes: 4 + rest });
                }
            }
            return Err(FrameFault::BadLength { offset: start, len });
        }
        let body = usize::try_from(len).unwrap_or(0) + 32;
        payload.clear();
        payload.resize(body, 0);
        let got_body = read_up_to(&mut self.reader, payload).map_err(FrameFault::Io)?;
        if got_body < body {
            return Err(self.short(start, 4 + got_body));
        }
        let mut chain = [0u8; 32];
        chain.copy_from_slice(&payload[body - 32..]);
        payload.truncate(body - 32);
        self.offset = start + 4 + u64::try_from(body).unwrap_or(0);
        Ok(Some(Frame { offset: start, chain }))
    }

    /// Looks for the first frame that starts at or after `from` (at least 32 bytes into the
    /// file) and before the end of the frame that holds byte `from`: a frame whose length field
    /// is possible, whose record carries `log_id`, and whose stored chain hash is the link from
    /// the 32 bytes before it (the previous frame's stored chain hash). On success the reader is
    /// positioned there, and the chain hash before it and the record's sequence number are
    /// returned; `None` if no such frame is found, or if `MAX_SYNC_MISSES` candidates failed
    /// their link first.
    ///
    /// What is found is a candidate only: bytes inside a record can be made to look like a
    /// frame, so whoever starts a walk here must confirm that the walk before it ends exactly
    /// here, with this chain hash.
    pub(crate) fn sync(&mut self, from: u64, log_id: LogId) -> io::Result<Option<(Hash, u64)>> {
        // Frames are small as a rule: look in a few KiB after `from` first, and as far as a frame
        // can reach only if a frame that starts there might end beyond them.
        match self.sync_within(from, 8192, log_id)? {
            Some(found) => Ok(found),
            None => Ok(self.sync_within(from, MAX_FRAME, log_id)?.flatten()),
        }
    }

    /// [`FrameReader::sync`] for a frame starting less than `reach` bytes after `from`, reading
    /// `reach` bytes past those: `None` if a frame starting in reach might end beyond them.
    fn sync_within(
        &mut self,
        from: u64,
        reach: usize,
        log_id: LogId,
    ) -> io::Result<Option<Option<(Hash, u64)>>> {
        let Some(base) = from.checked_sub(32) else { return Ok(Some(None)) };
        let mut window = vec![0u8; 32 + 2 * reach];
        // Read beside the buffer, which then fills from the frame found.
        let got = read_up_to_at(self.reader.get_ref(), &mut window, base)?;
        let whole_file = got < window.len();
        window.truncate(got);
        // Bytes made to look like frames could make the search hash a lot; after a few near
        // misses it gives up (the caller then walks from the chunk before).
        let mut misses = 0;
        for at in 32..(32 + reach).min(window.len()) {
            let Some(len_bytes) = window.get(at..at + 4) else { break };
            let len = u32::from_le_bytes([len_bytes[0], len_bytes[1], len_bytes[2], len_bytes[3]]);
            if len == 0 || len > MAX_FRAME_PAYLOAD {
                continue;
            }
            let body = at + 4;
            let end = body + usize::try_from(len).unwrap_or(usize::MAX);
            let (Some(payload), Some(stored)) = (window.get(body..end), window.get(end..end + 32))
            else {
                if whole_file {
                    continue;
                }
                return Ok(None);
            };
            let Ok(header) = RecordHeader::peek(payload) else { continue };
            if header.log_id != log_id {
                continue;
            }
            let mut prev = [0u8; 32];
            prev.copy_from_slice(&window[at - 32..at]);
            if link(&prev, payload).1[..] != stored[..] {
                misses += 1;
                if misses == MAX_SYNC_MISSES {
                    return Ok(Some(None));
                }
                continue;
            }
            self.seek(base + u64::try_from(at).unwrap_or(u64::MAX))?;
            return Ok(Some(Some((prev, header.seq))));
        }
        Ok(Some(None))
    }

    fn short(&mut self, offset: u64, got: usize) -> FrameFault {
        FrameFault::Incomplete { offset, bytes: u64::try_from(got).unwrap_or(0) }
    }
}

/// Why a segment could not be opened.
#[derive(Debug)]
pub(crate) enum OpenFault {
    Io(io::Error),
    Header(String),
}

/// Reads as many bytes as are available, up to `buf.len()`.
fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Reads as many bytes as are available at `offset`, up to `buf.len()`, leaving the file's
/// position as it was.
fn read_up_to_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    use std::os::unix::fs::FileExt as _;
    let mut filled = 0;
    while filled < buf.len() {
        let at = offset + u64::try_from(filled).unwrap_or(u64::MAX);
        match file.read_at(&mut buf[filled..], at) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// If everything left is zero bytes, how many; `None` if any byte is not zero, or if there are
/// more zeros than one torn write can leave (reading stops there: a huge or sparse file of zeros
/// is damage, not a crash, and is not read to its end).
fn zero_run(reader: &mut impl Read) -> io::Result<Option<u64>> {
    let mut buf = [0u8; 8192];
    let mut total = 0u64;
    loop {
        let n = read_up_to(reader, &mut buf)?;
        if buf[..n].iter().any(|&b| b != 0) {
            return Ok(None);
        }
        total += u64::try_from(n).unwrap_or(0);
        if total > crate::recovery::MAX_TORN_BYTES {
            return Ok(None);
        }
        if n < buf.len() {
            return Ok(Some(total));
        }
    }
}

/// A frame that passed the chain walk: framed, linked from the frame before it, and carrying
/// the sequence number and log id of its position.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Chained {
    /// Offset of the frame's length field.
    pub(crate) offset: u64,
    /// Offset just past the frame.
    pub(crate) end: u64,
    /// Its sequence number.
    pub(crate) seq: u64,
    /// The RFC 9162 leaf hash of its payload.
    pub(crate) leaf: Hash,
    /// The chain hash of the record before it.
    pub(crate) prev_chain: Hash,
    /// Its chain hash (as stored, and as recomputed).
    pub(crate) chain: Hash,
    /// The record's time.
    pub(crate) time: Timestamp,
    /// The record's kind.
    pub(crate) kind: RecordKind,
}

/// What is wrong with a complete frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Broken {
    /// A length field outside `1..=MAX_FRAME_PAYLOAD`.
    Length(u32),
    /// The stored chain hash is not the one the payload and the previous frame give.
    Chain,
    /// The payload is not a record (the reason from the decoder).
    Unreadable(String),
    /// The record carries another sequence number than its position.
    Sequence(u64),
    /// The record belongs to another log.
    Log,
}

impl Broken {
    /// A description of the problem at the frame of sequence number `seq`.
    pub(crate) fn describe(&self, seq: u64) -> String {
        match self {
            Self::Length(len) => format!("frame length {len} is impossible"),
            Self::Chain => format!("record {seq} does not match its chain hash"),
            Self::Unreadable(reason) => format!("record {seq} cannot be read: {reason}"),
            Self::Sequence(carried) => format!("record carries seq {carried} at position {seq}"),
            Self::Log => format!("record {seq} belongs to another log"),
        }
    }
}

/// Why a chain walk stopped before a clean end of file.
#[derive(Debug)]
pub(crate) enum WalkStop {
    /// The file ends inside a frame, or only zeros follow (no more than one write): a torn
    /// write if this is the log's last segment, damage anywhere else.
    Torn { offset: u64, bytes: u64 },
    /// A complete frame fails a check: at `offset`, extending to `frame_end` (as far as its
    /// length field says, or just past that field when the length itself is impossible).
    Bad { offset: u64, frame_end: u64, broken: Broken },
    /// Reading failed.
    Io(io::Error),
}

/// The one walk over a segment's frames that every reader of the log uses (recovery, verify,
/// reader, query, retention, index rebuild): each frame's chain hash is recomputed from the
/// previous one, and its record must carry the sequence number of its position and the log's
/// id. The first frame that fails stops the walk.
pub(crate) struct ChainedFrames {
    reader: FrameReader,
    chain: Hash,
    seq: u64,
    log_id: LogId,
}

impl ChainedFrames {
    /// A walk from the reader's position, which follows the record of chain hash `chain`, with
    /// the next record at sequence number `seq`.
    pub(crate) fn new(reader: FrameReader, chain: Hash, seq: u64, log_id: LogId) -> Self {
        Self { reader, chain, seq, log_id }
    }

    /// Opens a segment and walks it from its header.
    pub(crate) fn open(path: &Path, log_id: LogId) -> Result<(SegmentHeader, Self), OpenFault> {
        let (header, reader) = FrameReader::open(path)?;
        let walk = Self::new(reader, header.prev_chain, header.first_seq, log_id);
        Ok((header, walk))
    }

    /// Continues from `offset` (the start of a frame) after the record of chain hash `chain`,
    /// with the next record at sequence number `seq`.
    pub(crate) fn seek(&mut self, offset: u64, chain: Hash, seq: u64) -> io::Result<()> {
        self.reader.seek(offset)?;
        self.chain = chain;
        self.seq = seq;
        Ok(())
    }

    /// The offset just past the last good frame (the header's end before any).
    pub(crate) fn offset(&self) -> u64 {
        self.reader.offset()
    }

    /// The chain hash of the last good frame.
    pub(crate) fn chain(&self) -> Hash {
        self.chain
    }

    /// The sequence number the next frame must carry.
    pub(crate) fn seq(&self) -> u64 {
        self.seq
    }

    /// The next frame, its payload in `payload`; `Ok(None)` at a clean end of file.
    pub(crate) fn next(&mut self, payload: &mut Vec<u8>) -> Result<Option<Chained>, WalkStop> {
        let frame = match self.reader.next_frame(payload) {
            Ok(Some(frame)) => frame,
            Ok(None) => return Ok(None),
            Err(
                FrameFault::Incomplete { offset, bytes } | FrameFault::ZeroTail { offset, bytes },
            ) => {
                return Err(WalkStop::Torn { offset, bytes });
            }
            Err(FrameFault::BadLength { offset, len }) => {
                return Err(WalkStop::Bad {
                    offset,
                    frame_end: offset + 4,
                    broken: Broken::Length(len),
                });
            }
            Err(FrameFault::Io(e)) => return Err(WalkStop::Io(e)),
        };
        let (offset, frame_end) = (frame.offset, self.reader.offset());
        let bad = |broken| WalkStop::Bad { offset, frame_end, broken };
        let (leaf, chain) = link(&self.chain, payload);
        if chain != frame.chain {
            return Err(bad(Broken::Chain));
        }
        let header =
            RecordHeader::peek(payload).map_err(|e| bad(Broken::Unreadable(e.to_string())))?;
        if header.seq != self.seq {
            return Err(bad(Broken::Sequence(header.seq)));
        }
        if header.log_id != self.log_id {
            return Err(bad(Broken::Log));
        }
        let chained = Chained {
            offset,
            end: frame_end,
            seq: self.seq,
            leaf,
            prev_chain: self.chain,
            chain,
            time: header.time,
            kind: header.kind,
        };
        self.chain = chain;
        self.seq += 1;
        Ok(Some(chained))
    }
}

/// The chain hash a frame must carry: `chain_hash(prev, leaf_hash(payload))`, with the leaf.
pub(crate) fn link(prev: &Hash, payload: &[u8]) -> (Hash, Hash) {
    let leaf = leaf_hash(payload);
    (leaf, audit_chain::chain_hash(prev, &leaf))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(frontier: usize) -> SegmentHeader {
        SegmentHeader {
            log_id: LogId([7; 16]),
            first_seq: 1234,
            created_at: Timestamp(99),
            prev_chain: [3; 32],
            frontier: vec![[5; 32]; frontier],
        }
    }

    #[test]
    fn headers_round_trip_and_detect_any_change() {
        for count in [0, 1, 5] {
            let bytes = header(count).encode();
            let (parsed, len) = SegmentHeader::read(&mut &bytes[..]).unwrap();
            assert_eq!(parsed, header(count));
            assert_eq!(len, u64::try_from(bytes.len()).unwrap());
            for i in 0..bytes.len() {
                let mut bad = bytes.clone();
                bad[i] ^= 0x40;
                assert!(SegmentHeader::read(&mut &bad[..]).is_err(), "byte {i} of {count}");
            }
        }
    }
}

#[cfg(test)]
mod golden {
    //! Golden bytes freezing the segment layout described in FORMAT.md.
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        base16ct::lower::encode_string(bytes)
    }

    #[test]
    fn segment_header_layout() {
        let header = SegmentHeader {
            log_id: LogId([0x11; 16]),
            first_seq: 0x0102,
            created_at: Timestamp(0x0a0b_0c0d),
            prev_chain: [0x22; 32],
            frontier: vec![[0x33; 32], [0x44; 32]],
        };
        let bytes = header.encode();
        assert_eq!(bytes.len(), 77 + 2 * 32 + 32);
        assert_eq!(hex(&bytes), GOLDEN_HEADER);
    }

    #[test]
    fn frame_layout() {
        let mut out = Vec::new();
        push_frame(&mut out, b"\x01record", &[0x55; 32]);
        assert_eq!(hex(&out), format!("07000000017265636f7264{}", "55".repeat(32)));
    }

    const GOLDEN_HEADER: &str = concat!(
        "41554449545345470100ad00",
        "11111111111111111111111111111111",
        "0201000000000000",
        "0d0c0b0a00000000",
        "2222222222222222222222222222222222222222222222222222222222222222",
        "02",
        "3333333333333333333333333333333333333333333333333333333333333333",
        "4444444444444444444444444444444444444444444444444444444444444444",
        "0ac6bc1e1682237ad0cfc7622d5b106cd6a400a428962b86470ac71c41060272",
    );
}
