//! HMAC-SHA256 and HKDF-SHA256 as used by the seal key schedule, with key material held in
//! buffers that are wiped when dropped.

use hmac::digest::FixedOutput;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::hash::Hash;

/// The SHA-256 block size: HMAC keys are padded (or first hashed) to this length.
const BLOCK: usize = 64;

/// HMAC-SHA256 (RFC 2104) of the concatenation of `parts` under `key`, of any length.
///
/// The key is brought to one block here, exactly as RFC 2104 prescribes (hashed when longer than
/// a block, then padded with zeros), so that the padded copy lives in a buffer that is wiped and
/// the keyed constructor cannot fail.
pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Zeroizing<Hash> {
    let mut block = Zeroizing::new([0u8; BLOCK]);
    if key.len() > BLOCK {
        let mut digest = Zeroizing::new([0u8; 32]);
        digest.copy_from_slice(&Sha256::digest(key));
        block[..32].copy_from_slice(&*digest);
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut mac = <Hmac<Sha256> as KeyInit>::new((&*block).into());
    for part in parts {
        mac.update(part);
    }
    // Written straight into the wiped buffer, with no intermediate copy of the tag.
    let mut out = Zeroizing::new([0u8; 32]);
    FixedOutput::finalize_into(mac, (&mut *out).into());
    out
}

/// HKDF-SHA256 (RFC 5869) with an output of `N` whole 32-byte blocks:
/// `PRK = HMAC(salt, ikm)`, `T(i) = HMAC(PRK, T(i-1) || info || i)`.
///
/// `N` is at most 255, the RFC's limit, checked at compile time. The output is wiped when
/// dropped. This is the workspace's one HKDF: `vram-residency` derives its seal key here too.
///
/// Why not the `hkdf` crate (0.13, compared when this was written): `Hkdf::new` runs
/// `extract`, which returns the PRK as a plain `Output` array and drops it unwiped, and
/// `expand` keeps each block `T(i)` in an unwiped local; the crate has no `zeroize` feature
/// (its only feature is `kdf`), and `hmac`'s `zeroize` feature wipes the HMAC states, not
/// those arrays. The seal key schedule is forward-secure only if a key of an earlier epoch,
/// and the root it came from, are gone from memory once evolved past, so every intermediate
/// value here (the padded HMAC key, the PRK, each `T(i)`) lives in a [`Zeroizing`] buffer. The
/// RFC 5869 vectors below check it.
pub fn hkdf_sha256<const N: usize>(salt: &[u8], ikm: &[u8], info: &[u8]) -> Zeroizing<[Hash; N]> {
    const { assert!(N <= 255, "HKDF-SHA256 output is limited to 255 blocks") };
    let prk = hmac_sha256(salt, &[ikm]);
    let mut out = Zeroizing::new([[0u8; 32]; N]);
    let mut previous: Option<Zeroizing<Hash>> = None;
    let mut counter: u8 = 0;
    for block in out.iter_mut() {
        counter = counter.wrapping_add(1);
        let t = match &previous {
            None => hmac_sha256(&*prk, &[info, &[counter]]),
            Some(prev) => hmac_sha256(&*prk, &[&prev[..], info, &[counter]]),
        };
        block.copy_from_slice(&*t);
        previous = Some(t);
    }
    out
}

#[cfg(test)]
mod tests {
    //! Known answers: RFC 4231 (HMAC-SHA256) and RFC 5869 (HKDF-SHA256), vendored in
    //! `testdata/vectors/` at the repository root.

    use super::*;

    const HMAC_VECTORS: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/vectors/hmac_sha256_rfc4231.txt"
    ));
    const HKDF_VECTORS: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/vectors/hkdf_sha256_rfc5869.txt"
    ));

    fn unhex(s: &str) -> Vec<u8> {
        base16ct::mixed::decode_vec(s.trim()).unwrap()
    }

    /// `NAME = value` records, one case per occurrence of `first` (the field that opens a case).
    fn records(text: &str, first: &str) -> Vec<Vec<(String, String)>> {
        let mut cases: Vec<Vec<(String, String)>> = Vec::new();
        for line in text.lines().map(str::trim) {
            if line.starts_with('#') {
                continue;
            }
            let Some((k, v)) = line.split_once('=') else { continue };
            let (k, v) = (k.trim().to_owned(), v.trim().to_owned());
            if k == first {
                cases.push(Vec::new());
            }
            if let Some(case) = cases.last_mut() {
                case.push((k, v));
            }
        }
        cases
    }

    fn field<'a>(case: &'a [(String, String)], name: &str) -> &'a str {
        case.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap()
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        let cases = records(HMAC_VECTORS, "KEY");
        assert_eq!(cases.len(), 7, "RFC 4231 has 7 HMAC-SHA256 cases in this file");
        for case in &cases {
            let key = unhex(field(case, "KEY"));
            let input = unhex(field(case, "INPUT"));
            let tag = unhex(field(case, "TAG"));
            // Split the input in two parts to check that parts are concatenated.
            let (a, b) = input.split_at(input.len() / 2);
            assert_eq!(hmac_sha256(&key, &[a, b]).as_slice(), tag.as_slice());
        }
    }

    #[test]
    fn hkdf_matches_rfc_5869() {
        let cases = records(HKDF_VECTORS, "COUNT");
        assert_eq!(cases.len(), 3, "RFC 5869 A.1 to A.3");
        for case in &cases {
            let len: usize = field(case, "L").parse().unwrap();
            let (salt, ikm, info) =
                (unhex(field(case, "salt")), unhex(field(case, "IKM")), unhex(field(case, "info")));
            assert_eq!(hmac_sha256(&salt, &[&ikm]).to_vec(), unhex(field(case, "PRK")));
            let okm = hkdf_sha256::<3>(&salt, &ikm, &info);
            assert_eq!(okm.concat()[..len], unhex(field(case, "OKM"))[..]);
        }
    }
}
