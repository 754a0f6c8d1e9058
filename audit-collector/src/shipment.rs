//! The shipment: what a shipper sends the collector in one request.
//!
//! ```text
//! magic "AUDSHIP1"                       8 bytes
//! origin length u16, origin              the log's origin (UTF-8)
//! first u64                              sequence number of the first record
//! count u32                              number of records (0 ..= MAX_RECORDS)
//! note length u32, note                  the log's signed checkpoint (UTF-8 signed note)
//! proof length u8, proof                 hashes (32 bytes each, at most 63): the RFC 9162
//!                                        consistency proof from tree size first + count to
//!                                        the checkpoint's size (empty when they are equal)
//! count frames                           as in a segment: payload length u32 (1 ..= 65536),
//!                                        payload (the record's exact stored bytes), chain
//!                                        hash (32 bytes)
//! ```
//!
//! Integers are little-endian, as in segment files. Nothing may follow the last frame. The
//! origin holds no control character, the note none but newline, and `first + count` is at most
//! 2^63 - 1 (the database's bigint): anything else is refused before it reaches the database.

use audit_chain::Hash;

/// The first eight bytes of every shipment.
pub const MAGIC: &[u8; 8] = b"AUDSHIP1";
/// The most records one shipment carries.
pub const MAX_RECORDS: u32 = 50_000;
/// The largest shipment body the collector reads (bytes).
pub const MAX_BODY: usize = 32 * 1024 * 1024;
/// The longest record payload (as in segment frames).
const MAX_PAYLOAD: usize = 65_536;
/// The longest origin line.
const MAX_ORIGIN: usize = 1024;
/// The longest checkpoint note.
const MAX_NOTE: usize = 16 * 1024;
/// The most consistency-proof hashes (C2SP tlog-witness allows 63).
const MAX_PROOF: usize = 63;

/// One record as shipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The record's exact stored bytes.
    pub bytes: Vec<u8>,
    /// Its chain hash.
    pub chain: Hash,
}

/// A decoded shipment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shipment {
    /// The log's origin.
    pub origin: String,
    /// Sequence number of the first record.
    pub first: u64,
    /// The log's signed checkpoint.
    pub note: String,
    /// Consistency proof from `first + frames.len()` to the checkpoint's size.
    pub proof: Vec<Hash>,
    /// The records.
    pub frames: Vec<Frame>,
}

impl Shipment {
    /// Tree size after the records.
    pub fn end(&self) -> u64 {
        self.first.saturating_add(self.frames.len() as u64)
    }

    /// The wire form; fails when a part exceeds what [`Shipment::decode`] accepts.
    pub fn encode(&self) -> Result<Vec<u8>, String> {
        let origin_len = u16::try_from(self.origin.len())
            .ok()
            .filter(|&n| n > 0 && usize::from(n) <= MAX_ORIGIN)
            .ok_or("origin length out of range")?;
        let count = u32::try_from(self.frames.len())
            .ok()
            .filter(|&n| n <= MAX_RECORDS)
            .ok_or("too many records for one shipment")?;
        let note_len = u32::try_from(self.note.len())
            .ok()
            .filter(|&n| n > 0 && n as usize <= MAX_NOTE)
            .ok_or("checkpoint length out of range")?;
        let proof_len = u8::try_from(self.proof.len())
            .ok()
            .filter(|&n| usize::from(n) <= MAX_PROOF)
            .ok_or("too many proof hashes")?;
        let frames: usize = self.frames.iter().map(|f| 4 + f.bytes.len() + 32).sum();
        let mut out = Vec::with_capacity(
            8 + 2
                + self.origin.len()
                + 8
                + 4
                + 4
                + self.note.len()
                + 1
                + 32 * self.proof.len()
                + frames,
        );
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&origin_len.to_le_bytes());
        out.extend_from_slice(self.origin.as_bytes());
        out.extend_from_slice(&self.first.to_le_bytes());
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(&note_len.to_le_bytes());
        out.extend_from_slice(self.note.as_bytes());
        out.push(proof_len);
        for hash in &self.proof {
            out.extend_from_slice(hash);
        }
        for frame in &self.frames {
            let len = u32::try_from(frame.bytes.len())
                .ok()
                .filter(|&n| n > 0 && n as usize <= MAX_PAYLOAD)
                .ok_or("record payload length out of range")?;
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(&frame.bytes);
            out.extend_from_slice(&frame.chain);
        }
        Ok(out)
    }

    /// Parses a shipment strictly; the error says what is wrong, in fixed words and numbers.
    pub fn decode(body: &[u8]) -> Result<Self, String> {
        let mut r = Cursor { rest: body };
        if r.take(8)? != MAGIC {
            return Err("not a shipment (bad magic)".into());
        }
        let origin_len = usize::from(r.u16()?);
        if origin_len == 0 || origin_len > MAX_ORIGIN {
            return Err(format!("origin length {origin_len} out of range"));
        }
        let origin = std::str::from_utf8(r.take(origin_len)?)
            .map_err(|_| "origin is not UTF-8".to_owned())?
            .to_owned();
        if origin.chars().any(char::is_control) {
            return Err("origin holds a control character".into());
        }
        let first = r.u64()?;
        let count = r.u32()?;
        if count > MAX_RECORDS {
            return Err(format!("{count} records in one shipment (at most {MAX_RECORDS})"));
        }
        let note_len = r.u32()? as usize;
        if note_len == 0 || note_len > MAX_NOTE {
            return Err(format!("checkpoint length {note_len} out of range"));
        }
        let note = std::str::from_utf8(r.take(note_len)?)
            .map_err(|_| "checkpoint is not UTF-8".to_owned())?
            .to_owned();
        if note.chars().any(|c| c.is_control() && c != '\n') {
            return Err("checkpoint holds a control character other than newline".into());
        }
        let proof_len = usize::from(r.take(1)?[0]);
        if proof_len > MAX_PROOF {
            return Err(format!("{proof_len} proof hashes (at most {MAX_PROOF})"));
        }
        let mut proof = Vec::with_capacity(proof_len);
        for _ in 0..proof_len {
            proof.push(r.hash()?);
        }
        // The database stores sequence numbers and sizes as bigint.
        if first.checked_add(u64::from(count)).is_none_or(|end| i64::try_from(end).is_err()) {
            return Err("sequence numbers beyond 2^63 - 1".into());
        }
        // Reserve no more than the bytes left could hold (a frame takes at least 37 bytes).
        let mut frames = Vec::with_capacity((count as usize).min(r.rest.len() / 37));
        for i in 0..count {
            let len = r.u32()? as usize;
            if len == 0 || len > MAX_PAYLOAD {
                return Err(format!("record {i}: payload length {len} out of range"));
            }
            let bytes = r.take(len)?.to_vec();
            let chain = r.hash()?;
            frames.push(Frame { bytes, chain });
        }
        if !r.rest.is_empty() {
            return Err(format!("{} bytes after the last record", r.rest.len()));
        }
        Ok(Self { origin, first, note, proof, frames })
    }
}

struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.rest.len() < n {
            return Err("shipment ends early".into());
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }
    fn u16(&mut self) -> Result<u16, String> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, String> {
        let mut a = [0u8; 4];
        a.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(a))
    }
    fn u64(&mut self) -> Result<u64, String> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(a))
    }
    fn hash(&mut self) -> Result<Hash, String> {
        let mut h = [0u8; 32];
        h.copy_from_slice(self.take(32)?);
        Ok(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Shipment {
        Shipment {
            origin: "audit/svc/00".into(),
            first: 7,
            note: "note\n".into(),
            proof: vec![[1; 32], [2; 32]],
            frames: vec![Frame { bytes: vec![9; 10], chain: [3; 32] }],
        }
    }

    #[test]
    fn round_trips_and_refuses_every_truncation_and_trailing_byte() {
        let s = sample();
        let wire = s.encode().unwrap();
        assert_eq!(Shipment::decode(&wire).unwrap(), s);
        for cut in 0..wire.len() {
            assert!(Shipment::decode(&wire[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = wire.clone();
        longer.push(0);
        assert!(Shipment::decode(&longer).unwrap_err().contains("after the last record"));
    }

    #[test]
    fn refuses_oversized_counts_without_allocating_them() {
        let mut wire = sample().encode().unwrap();
        // count field: after magic, origin length and origin, first.
        let at = 8 + 2 + "audit/svc/00".len() + 8;
        wire[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(Shipment::decode(&wire).unwrap_err().contains("at most"));
    }
}
