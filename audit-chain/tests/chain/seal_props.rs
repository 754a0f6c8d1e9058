//! Property tests of forward-secure seals: a seal verifies only under its own epoch's key and
//! only for the exact values sealed; state survives persistence; keys only move forward.

use audit_chain::{ChainError, MAX_SEAL_EPOCH, SealInput, SealKey, SealTag};
use std::sync::OnceLock;

use proptest::prelude::*;

fn epoch() -> impl Strategy<Value = u64> {
    prop_oneof![0u64..2000, any::<u64>().prop_map(|e| e % (MAX_SEAL_EPOCH + 1))]
}

fn input(epoch: u64) -> impl Strategy<Value = SealInput> {
    (any::<u64>(), any::<[u8; 32]>(), any::<[u8; 32]>(), any::<i64>()).prop_map(
        move |(tree_size, root, last_chain, time_ns)| SealInput {
            epoch,
            tree_size,
            root,
            last_chain,
            time_ns,
        },
    )
}

fn seal_case() -> impl Strategy<Value = ([u8; 32], u64, u64, SealInput)> {
    (any::<[u8; 32]>(), epoch(), epoch())
        .prop_flat_map(|(secret, e, other)| (Just(secret), Just(e), Just(other), input(e)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn a_seal_verifies_only_under_its_own_epoch_key((secret, e, other, sealed) in seal_case(), bit in 0usize..256) {
        let initial = SealKey::from_initial(secret);
        let key = initial.seek(e).unwrap();
        let tag = key.seal(&sealed).unwrap();
        prop_assert_eq!(key.verify(&sealed, &tag), Ok(()));
        // A verifier holding only the initial secret reaches the same key.
        prop_assert_eq!(SealKey::from_initial(secret).seek(e).unwrap().verify(&sealed, &tag), Ok(()));

        if other != e {
            let wrong = initial.seek(other).unwrap();
            prop_assert_eq!(
                wrong.verify(&sealed, &tag),
                Err(ChainError::EpochMismatch { key_epoch: other, input_epoch: e })
            );
            // Relabelled as the other epoch, the tag still does not verify under that key.
            let relabelled = SealInput { epoch: other, ..sealed };
            prop_assert_eq!(wrong.verify(&relabelled, &tag), Err(ChainError::SealMismatch));
            prop_assert_ne!(wrong.seal(&relabelled).unwrap().0, tag.0);
        }
        // Another initial secret gives other keys.
        let mut other_secret = secret;
        other_secret[bit % 32] ^= 1;
        let stranger = SealKey::from_initial(other_secret).seek(e).unwrap();
        prop_assert_eq!(stranger.verify(&sealed, &tag), Err(ChainError::SealMismatch));

        // Every field and every tag bit is covered.
        let mut changed = [sealed; 5];
        changed[0].tree_size ^= 1 << (bit % 64);
        changed[1].root[bit / 8] ^= 1 << (bit % 8);
        changed[2].last_chain[bit / 8] ^= 1 << (bit % 8);
        changed[3].time_ns ^= 1 << (bit % 64);
        changed[4].tree_size = changed[4].tree_size.wrapping_add(1);
        for c in &changed {
            prop_assert_eq!(key.verify(c, &tag), Err(ChainError::SealMismatch));
        }
        let mut bad = tag;
        bad.0[bit / 8] ^= 1 << (bit % 8);
        prop_assert_eq!(key.verify(&sealed, &bad), Err(ChainError::SealMismatch));
    }

    #[test]
    fn state_persists_and_keys_only_move_forward(secret in any::<[u8; 32]>(), e in epoch(), step in 0u64..5000) {
        let key = SealKey::from_initial(secret).seek(e).unwrap();
        let state = key.to_state_bytes();
        let restored = SealKey::from_state_bytes(&state).unwrap();
        prop_assert_eq!(restored.epoch(), e);
        prop_assert_eq!(&*restored.to_state_bytes(), &*state);
        prop_assert_eq!(state.len(), 46 + 32 * (48 - e.count_ones() as usize));

        let later = e.saturating_add(step).min(MAX_SEAL_EPOCH);
        let from_state = restored.seek(later).unwrap();
        let from_initial = SealKey::from_initial(secret).seek(later).unwrap();
        prop_assert_eq!(&*from_state.to_state_bytes(), &*from_initial.to_state_bytes());

        if e < MAX_SEAL_EPOCH {
            let mut evolved = SealKey::from_state_bytes(&state).unwrap();
            evolved.evolve().unwrap();
            prop_assert_eq!(evolved.epoch(), e + 1);
            prop_assert_eq!(&*evolved.to_state_bytes(), &*restored.seek(e + 1).unwrap().to_state_bytes());
        }
        if e > 0 {
            let earlier = step % e;
            prop_assert_eq!(
                restored.seek(earlier).unwrap_err(),
                ChainError::EpochBackwards { current: e, requested: earlier }
            );
        }
        let debug = format!("{restored:?}");
        prop_assert_eq!(debug, format!("SealKey {{ epoch: {e}, .. }}"));
    }

    #[test]
    fn evolving_step_by_step_matches_seeking(secret in any::<[u8; 32]>(), start in 0u64..(1 << 20), steps in 1usize..40) {
        let initial = SealKey::from_initial(secret);
        let mut key = initial.seek(start).unwrap();
        for _ in 0..steps {
            key.evolve().unwrap();
        }
        let end = start + steps as u64;
        let sought = initial.seek(end).unwrap();
        let probe = SealInput { epoch: end, tree_size: 1, root: [0; 32], last_chain: [0; 32], time_ns: 0 };
        prop_assert_eq!(key.seal(&probe).unwrap().0, sought.seal(&probe).unwrap().0);
    }
}

/// A persisted state for epoch 12345, computed once.
fn valid_state() -> &'static [u8] {
    static STATE: OnceLock<Vec<u8>> = OnceLock::new();
    STATE.get_or_init(|| {
        SealKey::from_initial([1; 32]).seek(12345).unwrap().to_state_bytes().to_vec()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Persisted state is read from disk: any bytes give a key or an error, never a panic.
    #[test]
    fn state_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..1700), pos in any::<usize>(), value in any::<u8>()) {
        let _ = SealKey::from_state_bytes(&bytes);
        let valid = valid_state();
        let mut changed = valid.to_vec();
        let at = pos % changed.len();
        changed[at] = value;
        if let Ok(key) = SealKey::from_state_bytes(&changed) {
            let probe = SealInput { epoch: key.epoch(), tree_size: 0, root: [0; 32], last_chain: [0; 32], time_ns: 0 };
            let tag = key.seal(&probe).unwrap();
            prop_assert_eq!(key.verify(&probe, &tag), Ok(()));
            let _ = key.seek(key.epoch().saturating_add(3));
        }
        prop_assert!(SealKey::from_state_bytes(&valid[..valid.len() - 1]).is_err());
        let mut longer = valid.to_vec();
        longer.push(0);
        prop_assert!(SealKey::from_state_bytes(&longer).is_err());
    }
}

#[test]
fn wrong_state_headers_are_named() {
    let valid = SealKey::from_initial([2; 32]).to_state_bytes();
    for (at, reason) in
        [(0, "not seal key state"), (4, "unsupported version"), (5, "unsupported tree depth")]
    {
        let mut b = valid.to_vec();
        b[at] ^= 0xff;
        assert_eq!(
            SealKey::from_state_bytes(&b).unwrap_err(),
            ChainError::MalformedSealState { reason }
        );
    }
    let mut b = valid.to_vec();
    b[6] = 0xff; // epoch beyond 2^48
    assert!(matches!(SealKey::from_state_bytes(&b), Err(ChainError::MalformedSealState { .. })));
    let tag = SealTag([0; 32]);
    let key = SealKey::from_initial([2; 32]);
    let input =
        SealInput { epoch: 0, tree_size: 0, root: [0; 32], last_chain: [0; 32], time_ns: 0 };
    assert_eq!(key.verify(&input, &tag), Err(ChainError::SealMismatch));
}
