//! Forward-secure seal keys: a fixed-depth binary tree of HMAC-derived keys (GGM construction)
//! whose leaves are the epoch keys, and the seals (HMAC-SHA256 tags) made with them.
//!
//! The derivation, the seal input and the persisted state are specified byte by byte in the
//! crate documentation; this file is the reference for those words.

use std::fmt;

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::ChainError;
use crate::hash::Hash;
use crate::mac::{hkdf_sha256, hmac_sha256};

/// Height of the key tree: epochs `0 ..= MAX_SEAL_EPOCH`, which at one epoch a minute lasts
/// 535 million years and at one a second 8.9 million years.
pub const SEAL_TREE_DEPTH: u32 = DEPTH_BYTE as u32;

/// The last epoch the key schedule provides, `2^48 - 1`.
pub const MAX_SEAL_EPOCH: u64 = (1 << SEAL_TREE_DEPTH) - 1;

/// Version byte of the key schedule, the seal input and the persisted state.
pub const SEAL_VERSION: u8 = 1;

/// The depth as written in the HKDF info and the persisted state.
const DEPTH_BYTE: u8 = 48;
const DEPTH: usize = DEPTH_BYTE as usize;
/// HKDF salt that turns the initial secret into the root of the key tree.
const ROOT_SALT: &[u8] = b"audit-chain/seal-root";
/// HMAC message prefix for deriving a child key from its parent.
const NODE_TAG: &[u8] = b"audit-chain/seal-node";
/// HMAC message prefix of a seal.
const SEAL_TAG: &[u8] = b"audit-chain/seal-mac";
/// First bytes of the persisted state.
const STATE_MAGIC: &[u8; 4] = b"ACSK";
/// Magic, version, depth, epoch, epoch key.
const STATE_HEADER: usize = 4 + 1 + 1 + 8 + 32;
const LEFT: u8 = 0;
const RIGHT: u8 = 1;

/// What a seal commits to at the end of an epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealInput {
    /// The epoch being sealed; must be the epoch of the sealing key.
    pub epoch: u64,
    /// Number of leaves in the Merkle tree at the seal.
    pub tree_size: u64,
    /// Merkle root at `tree_size`.
    pub root: Hash,
    /// Chain hash of the last record before the seal.
    pub last_chain: Hash,
    /// Time of the seal, nanoseconds since the Unix epoch.
    pub time_ns: i64,
}

impl SealInput {
    /// The MAC input: tag, version, then the fields big-endian (109 bytes).
    fn message(&self) -> [u8; 109] {
        let mut m = [0u8; 109];
        m[..20].copy_from_slice(SEAL_TAG);
        m[20] = SEAL_VERSION;
        m[21..29].copy_from_slice(&self.epoch.to_be_bytes());
        m[29..37].copy_from_slice(&self.tree_size.to_be_bytes());
        m[37..69].copy_from_slice(&self.root);
        m[69..101].copy_from_slice(&self.last_chain);
        m[101..109].copy_from_slice(&self.time_ns.to_be_bytes());
        m
    }
}

/// A seal: HMAC-SHA256 over the [`SealInput`] under the epoch key.
///
/// Compare tags with [`SealKey::verify`], which runs in constant time, not with `==` on the bytes.
#[derive(Debug, Clone, Copy)]
pub struct SealTag(pub [u8; 32]);

/// The key tree state for one epoch: the epoch key and the right siblings of its path.
#[derive(Zeroize, ZeroizeOnDrop)]
struct Schedule {
    epoch: u64,
    /// The key of epoch `epoch` (the leaf).
    leaf: Hash,
    /// `right[h]` is the key of the right sibling, at height `h`, of the path from the root to
    /// the leaf: it covers the `2^h` epochs from `((epoch >> h) | 1) << h`. It is held (non-zero)
    /// exactly when bit `h` of `epoch` is 0; otherwise that sibling lies in the past and the slot
    /// is zero.
    right: [Hash; DEPTH],
}

/// A forward-secure seal key: the key of one epoch, able to move to later epochs only.
///
/// Keys are the leaves of a binary tree of depth [`SEAL_TREE_DEPTH`] (see the crate docs for
/// the derivation). The state holds the current epoch's key and, for each level where the path
/// to it goes left, the key of the right sibling, from which every later epoch is derived in at
/// most `2 * 48` HMACs and no earlier epoch at all. Moving forward overwrites what is no longer
/// needed; the state is wiped when dropped and lives on the heap so moving a `SealKey` does not
/// leave copies behind. `Debug` shows the epoch only.
pub struct SealKey {
    schedule: Box<Schedule>,
}

/// Derives a child key: `HMAC-SHA256(parent, "audit-chain/seal-node" || 0x01 || side)`.
fn child(parent: &Hash, side: u8) -> Zeroizing<Hash> {
    hmac_sha256(parent, &[NODE_TAG, &[SEAL_VERSION, side]])
}

impl SealKey {
    /// The key of epoch 0 for the given initial secret.
    ///
    /// The initial secret is given to the verifier once and must not stay on the host: anyone
    /// holding it can derive the key of every epoch.
    pub fn from_initial(secret: [u8; 32]) -> Self {
        let secret = Zeroizing::new(secret);
        let root = hkdf_sha256::<1>(ROOT_SALT, &*secret, &[SEAL_VERSION, DEPTH_BYTE]);
        let mut schedule = Schedule::empty();
        descend(&mut schedule, &root[0], SEAL_TREE_DEPTH, 0);
        Self { schedule }
    }

    /// The epoch this key seals.
    pub fn epoch(&self) -> u64 {
        self.schedule.epoch
    }

    /// Moves to the next epoch, erasing the current epoch's key; amortised two HMACs.
    ///
    /// Fails with [`ChainError::EpochsExhausted`] at [`MAX_SEAL_EPOCH`], leaving the key as it
    /// was.
    pub fn evolve(&mut self) -> Result<(), ChainError> {
        let current = self.schedule.epoch;
        if current >= MAX_SEAL_EPOCH {
            return Err(ChainError::EpochsExhausted { requested: current.saturating_add(1) });
        }
        let next = current + 1;
        // The lowest 0 bit of `current` is where the paths to `current` and `next` part; the
        // right sibling held there is the ancestor of `next`.
        let height = current.trailing_ones();
        let slot = &mut self.schedule.right[height as usize];
        let ancestor = Zeroizing::new(*slot);
        slot.zeroize();
        descend(&mut self.schedule, &ancestor, height, next);
        Ok(())
    }

    /// The key of a later (or the same) epoch, derived in at most `2 * 48` HMACs; `self` is
    /// unchanged.
    ///
    /// Fails with [`ChainError::EpochBackwards`] for an earlier epoch (the state cannot derive
    /// it) and [`ChainError::EpochsExhausted`] past [`MAX_SEAL_EPOCH`].
    pub fn seek(&self, epoch: u64) -> Result<SealKey, ChainError> {
        let current = self.schedule.epoch;
        if epoch < current {
            return Err(ChainError::EpochBackwards { current, requested: epoch });
        }
        if epoch > MAX_SEAL_EPOCH {
            return Err(ChainError::EpochsExhausted { requested: epoch });
        }
        // Copied heap to heap, so that no copy of the keys is left on the stack.
        let mut schedule = Schedule::empty();
        schedule.epoch = current;
        schedule.leaf.copy_from_slice(&self.schedule.leaf);
        schedule.right.copy_from_slice(&self.schedule.right);
        if epoch != current {
            // The highest differing bit is 1 in `epoch` and 0 in `current`: the right sibling
            // held at that height is the ancestor of `epoch`. Slots above it are shared.
            let height = u64::BITS - 1 - (epoch ^ current).leading_zeros();
            let slot = &mut schedule.right[height as usize];
            let ancestor = Zeroizing::new(*slot);
            slot.zeroize();
            descend(&mut schedule, &ancestor, height, epoch);
        }
        Ok(SealKey { schedule })
    }

    /// Seals `input` with this epoch's key.
    ///
    /// Fails with [`ChainError::EpochMismatch`] unless `input.epoch` is this key's epoch, so that
    /// a seal always verifies under the epoch it names.
    pub fn seal(&self, input: &SealInput) -> Result<SealTag, ChainError> {
        self.check_epoch(input)?;
        Ok(SealTag(*self.mac(input)))
    }

    /// Checks a seal in constant time.
    ///
    /// Fails with [`ChainError::EpochMismatch`] unless `input.epoch` is this key's epoch (seek a
    /// key from the initial one for each epoch to verify), and with [`ChainError::SealMismatch`]
    /// if the tag is not the seal of `input` under this key.
    pub fn verify(&self, input: &SealInput, tag: &SealTag) -> Result<(), ChainError> {
        self.check_epoch(input)?;
        let expected = self.mac(input);
        if bool::from(expected.ct_eq(&tag.0)) { Ok(()) } else { Err(ChainError::SealMismatch) }
    }

    fn check_epoch(&self, input: &SealInput) -> Result<(), ChainError> {
        if input.epoch == self.schedule.epoch {
            Ok(())
        } else {
            Err(ChainError::EpochMismatch {
                key_epoch: self.schedule.epoch,
                input_epoch: input.epoch,
            })
        }
    }

    fn mac(&self, input: &SealInput) -> Zeroizing<Hash> {
        hmac_sha256(&self.schedule.leaf, &[&input.message()])
    }

    /// The state to persist on the host: this epoch's key and the keys of later subtrees only.
    ///
    /// Layout (version 1): `"ACSK"`, version `0x01`, depth `48`, epoch (u64 big-endian), the
    /// epoch key (32 bytes), then for each height `h` from 47 down to 0 where bit `h` of the
    /// epoch is 0, the right sibling key at that height (32 bytes each).
    pub fn to_state_bytes(&self) -> Zeroizing<Vec<u8>> {
        let s = &self.schedule;
        let held = DEPTH - (s.epoch.count_ones() as usize);
        let mut out = Zeroizing::new(Vec::with_capacity(STATE_HEADER + 32 * held));
        out.extend_from_slice(STATE_MAGIC);
        out.extend_from_slice(&[SEAL_VERSION, DEPTH_BYTE]);
        out.extend_from_slice(&s.epoch.to_be_bytes());
        out.extend_from_slice(&s.leaf);
        for h in (0..DEPTH).rev() {
            if s.epoch & (1 << h) == 0 {
                out.extend_from_slice(&s.right[h]);
            }
        }
        out
    }

    /// Restores a key from [`to_state_bytes`](SealKey::to_state_bytes) output.
    ///
    /// Fails with [`ChainError::MalformedSealState`] on a wrong magic, version, depth or length,
    /// or an epoch past [`MAX_SEAL_EPOCH`]. The key bytes themselves cannot be checked here; a
    /// wrong key shows as seals that do not verify.
    pub fn from_state_bytes(b: &[u8]) -> Result<SealKey, ChainError> {
        let malformed = |reason| ChainError::MalformedSealState { reason };
        if b.len() < STATE_HEADER {
            return Err(malformed("too short"));
        }
        let (header, keys) = b.split_at(STATE_HEADER);
        if &header[..4] != STATE_MAGIC {
            return Err(malformed("not seal key state"));
        }
        if header[4] != SEAL_VERSION {
            return Err(malformed("unsupported version"));
        }
        if header[5] != DEPTH_BYTE {
            return Err(malformed("unsupported tree depth"));
        }
        let mut epoch_bytes = [0u8; 8];
        epoch_bytes.copy_from_slice(&header[6..14]);
        let epoch = u64::from_be_bytes(epoch_bytes);
        if epoch > MAX_SEAL_EPOCH {
            return Err(malformed("epoch past the end of the key schedule"));
        }
        let held = DEPTH - (epoch.count_ones() as usize);
        if keys.len() != 32 * held {
            return Err(malformed("wrong length for its epoch"));
        }
        let mut schedule = Schedule::empty();
        schedule.epoch = epoch;
        schedule.leaf.copy_from_slice(&header[14..46]);
        let mut chunks = keys.chunks_exact(32);
        for h in (0..DEPTH).rev() {
            if epoch & (1 << h) == 0 {
                let Some(chunk) = chunks.next() else { return Err(malformed("truncated")) };
                schedule.right[h].copy_from_slice(chunk);
            }
        }
        Ok(SealKey { schedule })
    }
}

impl Schedule {
    /// An all-zero state, allocated before any key is written into it.
    fn empty() -> Box<Self> {
        Box::new(Self { epoch: 0, leaf: [0; 32], right: [[0; 32]; DEPTH] })
    }
}

/// Walks down from `start`, the key of the node at `height` whose subtree holds `target`, to the
/// leaf of `target`: records the right child wherever the path goes left, clears the slot
/// wherever it goes right, and installs the leaf as the epoch key (overwriting the previous one).
fn descend(s: &mut Schedule, start: &Hash, height: u32, target: u64) {
    let mut key = Zeroizing::new(*start);
    for h in (0..height as usize).rev() {
        if target & (1 << h) == 0 {
            s.right[h] = *child(&key, RIGHT);
            key = child(&key, LEFT);
        } else {
            s.right[h].zeroize();
            key = child(&key, RIGHT);
        }
    }
    s.leaf = *key;
    s.epoch = target;
}

impl fmt::Debug for SealKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealKey").field("epoch", &self.schedule.epoch).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: [u8; 32] = [0x42; 32];

    fn root() -> Zeroizing<Hash> {
        Zeroizing::new(hkdf_sha256::<1>(ROOT_SALT, &SECRET, &[SEAL_VERSION, DEPTH_BYTE])[0])
    }

    /// Every key on the path from the root down to node `index` at `height`, root first,
    /// derived from the root the long way.
    fn path_to(height: u32, index: u64) -> Vec<Hash> {
        let mut key = root();
        let mut path = vec![*key];
        for h in (height..SEAL_TREE_DEPTH).rev() {
            let side = ((index << height) >> h) & 1;
            key = child(&key, if side == 0 { LEFT } else { RIGHT });
            path.push(*key);
        }
        path
    }

    fn node_from_root(height: u32, index: u64) -> Hash {
        path_to(height, index).pop().unwrap()
    }

    /// Every key on the path from the root to `epoch`, root included.
    fn path_keys(epoch: u64) -> Vec<Hash> {
        path_to(0, epoch)
    }

    fn state_keys(key: &SealKey) -> Vec<Hash> {
        let bytes = key.to_state_bytes();
        bytes[14..].chunks_exact(32).map(|c| c.try_into().unwrap()).collect()
    }

    #[test]
    fn evolving_seeking_and_deriving_from_the_root_agree() {
        let mut key = SealKey::from_initial(SECRET);
        for epoch in 0..130u64 {
            assert_eq!(key.epoch(), epoch);
            assert_eq!(key.schedule.leaf, node_from_root(0, epoch), "epoch {epoch}");
            let sought = SealKey::from_initial(SECRET).seek(epoch).unwrap();
            assert_eq!(sought.schedule.leaf, key.schedule.leaf);
            assert_eq!(sought.to_state_bytes(), key.to_state_bytes());
            for h in 0..DEPTH {
                if epoch & (1 << h) != 0 {
                    assert_eq!(key.schedule.right[h], [0; 32], "slot {h} wiped at {epoch}");
                }
            }
            let previous = key.schedule.leaf;
            key.evolve().unwrap();
            assert_ne!(key.schedule.leaf, previous);
            assert!(!key.schedule.right.contains(&previous));
        }
        let far = SealKey::from_initial(SECRET).seek(MAX_SEAL_EPOCH - 3).unwrap();
        assert_eq!(far.schedule.leaf, node_from_root(0, MAX_SEAL_EPOCH - 3));
    }

    #[test]
    fn the_state_holds_nothing_on_the_path_to_an_earlier_epoch() {
        let epochs = [1u64, 2, 3, 7, 8, 100, 255, 256, 1 << 20, (1 << 20) + 5, MAX_SEAL_EPOCH];
        for &epoch in &epochs {
            let key = SealKey::from_initial(SECRET).seek(epoch).unwrap();
            let held = state_keys(&key);
            let bytes = key.to_state_bytes();
            assert!(!bytes.windows(32).any(|w| w == SECRET), "the initial secret is never kept");
            let earlier = (epoch.saturating_sub(40)..epoch).chain([0, epoch / 2, epoch / 3]);
            for past in earlier.filter(|&p| p < epoch) {
                for node in path_keys(past) {
                    assert!(!held.contains(&node), "state of {epoch} holds a key of {past}");
                }
            }
            // Each held sibling is the root of a subtree that starts after `epoch`.
            for h in 0..SEAL_TREE_DEPTH {
                if epoch & (1 << h) == 0 {
                    let index = (epoch >> h) | 1;
                    assert!(index << h > epoch);
                    assert_eq!(key.schedule.right[h as usize], node_from_root(h, index));
                } else {
                    assert_eq!(key.schedule.right[h as usize], [0; 32], "slot {h} wiped");
                }
            }
        }
    }

    #[test]
    fn keys_derived_from_a_later_state_cannot_forge_an_earlier_seal() {
        let initial = SealKey::from_initial(SECRET);
        let past = initial.seek(10).unwrap();
        let input =
            SealInput { epoch: 10, tree_size: 5, root: [1; 32], last_chain: [2; 32], time_ns: 3 };
        let genuine = past.seal(&input).unwrap();
        let stolen = initial.seek(11).unwrap();
        assert_eq!(
            stolen.seek(10).unwrap_err(),
            ChainError::EpochBackwards { current: 11, requested: 10 }
        );
        for later in [11u64, 12, 16, 31, 1000, 1 << 40] {
            let k = stolen.seek(later).unwrap();
            // A thief MACs the earlier input with every key it can derive: none matches.
            assert_ne!(*hmac_sha256(&k.schedule.leaf, &[&input.message()]), genuine.0);
            for h in 0..DEPTH {
                assert_ne!(*hmac_sha256(&k.schedule.right[h], &[&input.message()]), genuine.0);
            }
        }
        assert_eq!(past.verify(&input, &genuine), Ok(()));
    }

    #[test]
    fn seal_message_layout_is_frozen() {
        let input = SealInput {
            epoch: 0x0102030405060708,
            tree_size: 0x1112131415161718,
            root: [0xaa; 32],
            last_chain: [0xbb; 32],
            time_ns: -2,
        };
        let m = input.message();
        assert_eq!(&m[..21], b"audit-chain/seal-mac\x01");
        assert_eq!(m[21..29], [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(m[29..37], [0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18]);
        assert_eq!(m[37..69], [0xaa; 32]);
        assert_eq!(m[69..101], [0xbb; 32]);
        assert_eq!(m[101..], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]);
    }

    #[test]
    fn the_last_epoch_cannot_evolve() {
        let mut key = SealKey::from_initial(SECRET).seek(MAX_SEAL_EPOCH).unwrap();
        let before = key.to_state_bytes();
        assert_eq!(
            key.evolve(),
            Err(ChainError::EpochsExhausted { requested: MAX_SEAL_EPOCH + 1 })
        );
        assert_eq!(key.to_state_bytes(), before);
        assert!(matches!(
            SealKey::from_initial(SECRET).seek(MAX_SEAL_EPOCH + 1),
            Err(ChainError::EpochsExhausted { .. })
        ));
    }
}
