//! C2SP tlog-checkpoint bodies (origin, tree size, root hash, extension lines) and their signing
//! and opening as signed notes.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::error::ChainError;
use crate::hash::Hash;
use crate::note::{NoteSigner, NoteVerifier, open_note};

/// A tree head: the log's origin line, its size and root, and optional extension lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Identifies the log; for checkpoints this crate signs and opens it is also the key name.
    pub origin: String,
    /// Number of leaves.
    pub size: u64,
    /// Merkle root at `size`.
    pub root: Hash,
    /// Opaque extra lines, each non-empty (the spec advises against them).
    pub extensions: Vec<String>,
}

/// Why `line` cannot be a line of a checkpoint body, if it cannot.
fn line_problem(line: &str) -> Option<&'static str> {
    if line.is_empty() {
        Some("empty line")
    } else if line.chars().any(|c| c < ' ') {
        Some("control character or newline in a line")
    } else {
        None
    }
}

impl Checkpoint {
    /// The note text: origin, decimal size, base64 root and extension lines, each ending in a
    /// newline. Only a checkpoint that passes [`validate`](Checkpoint::validate) gives a body that
    /// [`parse_body`](Checkpoint::parse_body) reads back.
    pub fn to_body(&self) -> String {
        let mut body = format!("{}\n{}\n{}\n", self.origin, self.size, STANDARD.encode(self.root));
        for line in &self.extensions {
            body.push_str(line);
            body.push('\n');
        }
        body
    }

    /// Checks that the origin and every extension line are non-empty and free of control
    /// characters and newlines ([`ChainError::MalformedCheckpoint`] otherwise).
    pub fn validate(&self) -> Result<(), ChainError> {
        for line in std::iter::once(&self.origin).chain(&self.extensions) {
            if let Some(reason) = line_problem(line) {
                return Err(ChainError::MalformedCheckpoint { reason });
            }
        }
        Ok(())
    }

    /// Parses a checkpoint body strictly.
    ///
    /// The text must be at least three lines, each ending in a newline, none empty and none with
    /// a control character; the size must be ASCII decimal without leading zeros (`0` alone for
    /// the empty tree) that fits in a `u64`; the root must be canonical padded base64 of exactly
    /// 32 bytes. Fails with [`ChainError::MalformedCheckpoint`].
    pub fn parse_body(text: &str) -> Result<Self, ChainError> {
        let malformed = |reason| ChainError::MalformedCheckpoint { reason };
        let body = text.strip_suffix('\n').ok_or(malformed("no final newline"))?;
        let mut lines = body.split('\n');
        let origin = lines.next().unwrap_or_default();
        let size_line = lines.next().ok_or(malformed("no tree size line"))?;
        let root_line = lines.next().ok_or(malformed("no root hash line"))?;
        let extensions: Vec<&str> = lines.collect();
        for line in [origin, size_line, root_line].into_iter().chain(extensions.iter().copied()) {
            if let Some(reason) = line_problem(line) {
                return Err(malformed(reason));
            }
        }
        if !size_line.bytes().all(|b| b.is_ascii_digit()) {
            return Err(malformed("tree size is not decimal"));
        }
        if size_line.len() > 1 && size_line.starts_with('0') {
            return Err(malformed("tree size has a leading zero"));
        }
        let size = size_line.parse::<u64>().map_err(|_| malformed("tree size too large"))?;
        let root = STANDARD.decode(root_line).map_err(|_| malformed("root hash is not base64"))?;
        let root: Hash = root.try_into().map_err(|_| malformed("root hash is not 32 bytes"))?;
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions: extensions.into_iter().map(str::to_owned).collect(),
        })
    }
}

/// Signs a checkpoint: a signed note whose text is [`Checkpoint::to_body`].
///
/// Fails with [`ChainError::MalformedCheckpoint`] if the checkpoint does not
/// [`validate`](Checkpoint::validate), and with [`ChainError::OriginMismatch`] unless the origin
/// is the signer's key name.
pub fn sign_checkpoint(cp: &Checkpoint, signer: &NoteSigner) -> Result<String, ChainError> {
    cp.validate()?;
    if cp.origin != signer.name() {
        return Err(ChainError::OriginMismatch);
    }
    signer.sign(&cp.to_body())
}

/// Opens a signed checkpoint: the note must carry a valid signature by `verifier` (see
/// [`open_note`]), its text must parse as a checkpoint body, and its origin must be the
/// verifier's key name ([`ChainError::OriginMismatch`] otherwise), so that a key shared by two
/// logs cannot pass one log's checkpoint off as the other's.
pub fn open_checkpoint(note: &str, verifier: &NoteVerifier) -> Result<Checkpoint, ChainError> {
    let opened = open_note(note, std::slice::from_ref(verifier))?;
    let cp = Checkpoint::parse_body(&opened.text)?;
    if cp.origin != verifier.name() {
        return Err(ChainError::OriginMismatch);
    }
    Ok(cp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cp() -> Checkpoint {
        Checkpoint { origin: "example.com/log".into(), size: 7, root: [3; 32], extensions: vec![] }
    }

    #[test]
    fn body_round_trips() {
        let mut c = cp();
        assert_eq!(Checkpoint::parse_body(&c.to_body()), Ok(c.clone()));
        c.extensions = vec!["ext one".into(), "two".into()];
        c.size = 0;
        assert_eq!(Checkpoint::parse_body(&c.to_body()), Ok(c));
    }

    #[test]
    fn malformed_bodies_are_refused() {
        let root = STANDARD.encode([3u8; 32]);
        for bad in [
            String::new(),
            "origin\n".to_owned(),
            format!("origin\n7\n{root}"),
            format!("\n7\n{root}\n"),
            format!("origin\n07\n{root}\n"),
            format!("origin\n+7\n{root}\n"),
            format!("origin\n-7\n{root}\n"),
            format!("origin\n 7\n{root}\n"),
            format!("origin\n\n{root}\n"),
            format!("origin\n18446744073709551616\n{root}\n"),
            format!("origin\n7\n{}\n", STANDARD.encode([3u8; 31])),
            format!("origin\n7\n{}\n", &root[..43]),
            format!("origin\n7\n{root}\n\n"),
            format!("origin\n7\n{root}\next\n\n"),
            format!("ori\tgin\n7\n{root}\n"),
            format!("origin\n7\n{root}\r\n"),
        ] {
            assert!(
                matches!(Checkpoint::parse_body(&bad), Err(ChainError::MalformedCheckpoint { .. })),
                "{bad:?}"
            );
        }
        assert!(Checkpoint::parse_body(&format!("origin\n18446744073709551615\n{root}\n")).is_ok());
    }

    #[test]
    fn origin_must_be_the_key_name() {
        let signer = NoteSigner::from_seed("example.com/log", [5; 32]).unwrap();
        let other = NoteSigner::from_seed("example.com/other", [5; 32]).unwrap();
        let note = sign_checkpoint(&cp(), &signer).unwrap();
        assert_eq!(open_checkpoint(&note, &signer.verifier()), Ok(cp()));
        assert_eq!(sign_checkpoint(&cp(), &other), Err(ChainError::OriginMismatch));
        // A note signed by `other` over a body naming another origin does not pass.
        let forged = other.sign(&cp().to_body()).unwrap();
        assert_eq!(open_checkpoint(&forged, &other.verifier()), Err(ChainError::OriginMismatch));
        let mut invalid = cp();
        invalid.extensions.push(String::new());
        assert!(matches!(
            sign_checkpoint(&invalid, &signer),
            Err(ChainError::MalformedCheckpoint { .. })
        ));
    }
}
