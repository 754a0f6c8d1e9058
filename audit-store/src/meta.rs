//! The log's metadata file and the verifier material handed out when a log is created.
//!
//! Both are small line-oriented text files (`key: value`), strict to parse. The metadata file
//! lives in the log directory and is only a hint to readers (an intruder can rewrite it); the
//! verifier material is the trust anchor and must be kept off the host.

use std::fmt;
use std::path::Path;

use audit_chain::{NoteVerifier, Zeroizing};
use audit_events::{LogId, Timestamp};

use crate::error::StoreError;

const META_HEADER: &str = "audit-log v1";
const MATERIAL_HEADER: &str = "audit-verifier-material v1";

/// What the log directory says about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogMeta {
    /// The log id.
    pub log_id: LogId,
    /// The service instance that owns the log.
    pub service_id: String,
    /// The checkpoint origin line and signing key name.
    pub origin: String,
    /// When the log was created (the time of its first record).
    pub created_at: Timestamp,
    /// Seal epoch length in nanoseconds.
    pub epoch_nanos: i64,
    /// The checkpoint verifier key (`name+keyid+base64`).
    pub public_key: String,
}

impl LogMeta {
    pub(crate) fn to_text(&self) -> String {
        format!(
            "{META_HEADER}\nlog-id: {}\nservice-id: {}\norigin: {}\ncreated-at: {}\n\
             seal-epoch-ns: {}\npublic-key: {}\n",
            self.log_id,
            self.service_id,
            self.origin,
            self.created_at,
            self.epoch_nanos,
            self.public_key
        )
    }

    pub(crate) fn parse(text: &str) -> Result<Self, StoreError> {
        let fields = Fields::parse(text, META_HEADER, "log.meta")?;
        Ok(Self {
            log_id: fields.value("log-id")?,
            service_id: fields.get("service-id")?.to_owned(),
            origin: fields.get("origin")?.to_owned(),
            created_at: fields.value("created-at")?,
            epoch_nanos: fields.parse_epoch()?,
            public_key: fields.get("public-key")?.to_owned(),
        })
    }

    /// Reads `log.meta` from a log directory.
    pub fn read(dir: &Path) -> Result<Self, StoreError> {
        let path = dir.join(crate::layout::META_FILE);
        let text = match crate::io::read_capped_text(&path, crate::io::SMALL_FILE_CAP) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::NotALog { path: dir.to_owned() });
            }
            Err(e) => return Err(StoreError::io("reading", &path, e)),
        };
        Self::parse(&text)
    }
}

/// What a verifier needs, given out once when a log is created: the initial seal key (secret:
/// whoever holds it can forge seals for every epoch, so it must leave the host and be kept like a
/// key), the checkpoint public key, and the log's identity and schedule.
///
/// `Debug` never shows the seal key.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifierMaterial {
    /// The log id.
    pub log_id: LogId,
    /// The checkpoint origin and key name.
    pub origin: String,
    /// When the log was created: the time of its `log_created` record.
    pub created_at: Timestamp,
    /// Seal epoch length in nanoseconds.
    pub epoch_nanos: i64,
    /// The retention the log was created with: purges claiming less are violations.
    pub min_retention_days: u32,
    /// The checkpoint verifier key (`name+keyid+base64`).
    pub public_key: String,
    /// The epoch-0 seal key secret.
    pub initial_seal_key: Zeroizing<[u8; 32]>,
}

impl fmt::Debug for VerifierMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifierMaterial")
            .field("log_id", &self.log_id)
            .field("origin", &self.origin)
            .field("created_at", &self.created_at)
            .field("epoch_nanos", &self.epoch_nanos)
            .field("min_retention_days", &self.min_retention_days)
            .field("public_key", &self.public_key)
            .field("initial_seal_key", &"<redacted>")
            .finish()
    }
}

impl VerifierMaterial {
    /// The text form, for a file the operator moves off the host. Contains the secret seal key.
    pub fn to_text(&self) -> Zeroizing<String> {
        // Encoded into a wiped buffer (constant time, no temporary copies of the key).
        let mut key_buf = Zeroizing::new([0u8; 64]);
        let key_hex =
            base16ct::lower::encode_str(&*self.initial_seal_key, &mut *key_buf).unwrap_or_default();
        Zeroizing::new(format!(
            "{MATERIAL_HEADER}\n# Keep this file off the log's host. Whoever holds the seal key can\n\
             # forge seals; without it, seals cannot be checked.\nlog-id: {}\norigin: {}\n\
             created-at: {}\nseal-epoch-ns: {}\nmin-retention-days: {}\npublic-key: {}\n\
             initial-seal-key: {}\n",
            self.log_id,
            self.origin,
            self.created_at,
            self.epoch_nanos,
            self.min_retention_days,
            self.public_key,
            key_hex
        ))
    }

    /// Parses the text form strictly.
    pub fn parse(text: &str) -> Result<Self, StoreError> {
        let fields = Fields::parse(text, MATERIAL_HEADER, "verifier material")?;
        let public_key = fields.get("public-key")?.to_owned();
        NoteVerifier::parse(&public_key).map_err(|e| StoreError::Malformed {
            what: "verifier material",
            reason: format!("public-key: {e}"),
        })?;
        let key_text = fields.get("initial-seal-key")?;
        let key = decode_key(key_text).ok_or(StoreError::Malformed {
            what: "verifier material",
            reason: "initial-seal-key must be 64 lowercase hex digits".to_owned(),
        })?;
        Ok(Self {
            log_id: fields.value("log-id")?,
            origin: fields.get("origin")?.to_owned(),
            created_at: fields.value("created-at")?,
            epoch_nanos: fields.parse_epoch()?,
            min_retention_days: fields.value("min-retention-days")?,
            public_key,
            initial_seal_key: key,
        })
    }

    /// The service id named by the material's origin (`audit/<service id>/<log id>`). Unlike
    /// `log.meta`'s, which anyone who can write the log directory can edit, this one is part of
    /// the trust anchor.
    pub fn service_id(&self) -> Option<&str> {
        service_of_origin(&self.origin, self.log_id)
    }

    /// The checkpoint verifier.
    pub fn note_verifier(&self) -> Result<NoteVerifier, StoreError> {
        Ok(NoteVerifier::parse(&self.public_key)?)
    }
}

/// The service id in an origin `audit/<service id>/<log id>`, if it has that form for `log_id`.
pub fn service_of_origin(origin: &str, log_id: LogId) -> Option<&str> {
    let suffix = format!("/{log_id}");
    origin.strip_prefix("audit/")?.strip_suffix(suffix.as_str()).filter(|s| !s.is_empty())
}

fn decode_key(text: &str) -> Option<Zeroizing<[u8; 32]>> {
    let mut key = Zeroizing::new([0u8; 32]);
    if text.len() != 64 {
        return None;
    }
    base16ct::lower::decode(text, &mut *key).ok()?;
    Some(key)
}

/// `key: value` lines after a fixed first line; `#` lines are comments; every key at most once.
struct Fields<'a> {
    what: &'static str,
    pairs: Vec<(&'a str, &'a str)>,
}

impl<'a> Fields<'a> {
    fn parse(text: &'a str, header: &str, what: &'static str) -> Result<Self, StoreError> {
        let malformed = |reason: String| StoreError::Malformed { what, reason };
        let mut lines = text.lines();
        if lines.next() != Some(header) {
            return Err(malformed(format!("first line must be `{header}`")));
        }
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        for (number, line) in lines.enumerate() {
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            let (key, value) = line
                .split_once(": ")
                .ok_or_else(|| malformed(format!("line {} is not `key: value`", number + 2)))?;
            if pairs.iter().any(|(k, _)| *k == key) {
                return Err(malformed(format!("line {}: repeated key", number + 2)));
            }
            pairs.push((key, value));
        }
        Ok(Self { what, pairs })
    }

    fn get(&self, key: &'static str) -> Result<&'a str, StoreError> {
        self.pairs
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)
            .ok_or(StoreError::Malformed { what: self.what, reason: format!("missing `{key}`") })
    }

    fn value<T: std::str::FromStr>(&self, key: &'static str) -> Result<T, StoreError> {
        self.get(key)?.parse().map_err(|_| StoreError::Malformed {
            what: self.what,
            reason: format!("`{key}` does not parse"),
        })
    }

    fn parse_epoch(&self) -> Result<i64, StoreError> {
        let epoch: i64 = self.value("seal-epoch-ns")?;
        if epoch <= 0 {
            return Err(StoreError::Malformed {
                what: self.what,
                reason: "`seal-epoch-ns` must be positive".to_owned(),
            });
        }
        Ok(epoch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn material() -> VerifierMaterial {
        let signer = audit_chain::NoteSigner::from_seed("audit/svc/0011", [9; 32]).unwrap();
        VerifierMaterial {
            log_id: LogId([0x11; 16]),
            origin: "audit/svc/0011".to_owned(),
            created_at: Timestamp(1_795_339_474_000_000_000),
            epoch_nanos: 60_000_000_000,
            min_retention_days: 2557,
            public_key: signer.verifier_key(),
            initial_seal_key: Zeroizing::new([0xab; 32]),
        }
    }

    #[test]
    fn material_round_trips_and_hides_its_key_from_debug() {
        let m = material();
        assert_eq!(VerifierMaterial::parse(&m.to_text()).unwrap(), m);
        let debug = format!("{m:?}");
        assert!(!debug.contains("abab"), "{debug}");
        assert!(debug.contains("redacted"));
    }

    #[test]
    fn malformed_material_is_refused() {
        let text = material().to_text();
        for broken in [
            text.replace("audit-verifier-material v1", "audit-verifier-material v9"),
            text.replace("initial-seal-key: abab", "initial-seal-key: ABAB"),
            text.replace("log-id: ", "log-id: zz"),
            format!("{}log-id: 00\n", text.as_str()),
            text.replace("public-key: ", "public-key: x"),
        ] {
            assert!(VerifierMaterial::parse(&broken).is_err(), "{broken}");
        }
    }

    #[test]
    fn meta_round_trips() {
        let m = material();
        let meta = LogMeta {
            log_id: m.log_id,
            service_id: "svc".to_owned(),
            origin: m.origin.clone(),
            created_at: m.created_at,
            epoch_nanos: m.epoch_nanos,
            public_key: m.public_key.clone(),
        };
        assert_eq!(LogMeta::parse(&meta.to_text()).unwrap(), meta);
    }
}
