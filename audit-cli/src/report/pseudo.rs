//! Pseudonymised reports: subject identifiers replaced by keyed digests.
//!
//! The digest is `ps-` and the first 12 bytes of HMAC-SHA256 under a secret read from a file,
//! in hex: the same identifier always gives the same digest under the same key, so requests,
//! exports and accesses of one data subject still line up, but the identifier cannot be
//! recovered, nor tested by guessing, without the key. The key never appears in output, errors
//! or `Debug`.

use std::fmt;
use std::path::Path;

use audit_chain::Zeroizing;
use audit_events::to_hex;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;

use crate::error::usage;
use crate::keyfile::{KEY_FILE_CAP, read_text_capped};

use super::SUBJECT_FIELDS;

/// The least key length accepted, in bytes.
const MIN_KEY_BYTES: usize = 16;

/// Replaces subject identifiers by keyed digests.
pub(crate) struct Pseudonymiser {
    key: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for Pseudonymiser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pseudonymiser").finish_non_exhaustive()
    }
}

impl Pseudonymiser {
    /// Reads the key: the file's text without its final line break, at least 16 bytes.
    pub(crate) fn load(path: &Path) -> anyhow::Result<Self> {
        let text = Zeroizing::new(read_text_capped(path, KEY_FILE_CAP)?);
        let key = text.strip_suffix('\n').unwrap_or(&text);
        let key = key.strip_suffix('\r').unwrap_or(key);
        if key.len() < MIN_KEY_BYTES {
            return Err(usage(format!(
                "{}: a pseudonymisation key must hold at least {MIN_KEY_BYTES} bytes",
                path.display()
            )));
        }
        Ok(Self::new(key.as_bytes()))
    }

    pub(crate) fn new(key: &[u8]) -> Self {
        Self { key: Zeroizing::new(key.to_vec()) }
    }

    /// The digest that stands for `id`.
    pub(crate) fn digest(&self, id: &str) -> String {
        let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key) else {
            return "ps-(unavailable)".to_owned();
        };
        mac.update(id.as_bytes());
        let out = mac.finalize().into_bytes();
        format!("ps-{}", to_hex(&out[..12]))
    }

    /// Replaces every subject identifier field in an event's fields, at any depth.
    pub(crate) fn edit(&self, value: &mut Value) {
        match value {
            Value::Object(map) => {
                for (key, v) in map.iter_mut() {
                    if SUBJECT_FIELDS.contains(&key.as_str())
                        && let Value::String(s) = v
                    {
                        *s = self.digest(s);
                    } else {
                        self.edit(v);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.edit(v)),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_keyed_stable_and_hide_the_identifier() {
        let a = Pseudonymiser::new(b"0123456789abcdef-key-one");
        let b = Pseudonymiser::new(b"0123456789abcdef-key-two");
        assert_eq!(a.digest("alice"), a.digest("alice"));
        assert_ne!(a.digest("alice"), a.digest("bob"));
        assert_ne!(a.digest("alice"), b.digest("alice"));
        assert!(!a.digest("alice").contains("alice"));
        let mut fields = serde_json::json!({
            "actor": {"user_id": "alice", "ip": "192.0.2.1"}, "customer_id": "c-1", "pool_id": "p"
        });
        a.edit(&mut fields);
        let text = fields.to_string();
        assert!(!text.contains("alice") && !text.contains("192.0.2.1") && !text.contains("c-1"));
        assert!(text.contains("\"pool_id\":\"p\""), "{text}");
        assert!(!format!("{a:?}").contains("key-one"));
    }
}
