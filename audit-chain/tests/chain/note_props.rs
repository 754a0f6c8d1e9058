//! Property tests of signed notes, keys and checkpoint bodies: round trips, every single-byte
//! change to a signed note is rejected, and no input makes a parser panic.

use audit_chain::{
    ChainError, Checkpoint, NoteSigner, NoteVerifier, open_checkpoint, open_note, open_note_bytes,
    sign_checkpoint,
};
use proptest::prelude::*;

fn signer() -> NoteSigner {
    NoteSigner::from_seed("audit.example/log", [0x5a; 32]).unwrap()
}

/// Text a note may carry: lines of printable characters (including non-ASCII, spaces, blank
/// lines and em dashes), ending in a newline.
fn note_text() -> impl Strategy<Value = String> {
    prop::collection::vec("[a-zA-Z0-9 +/=\u{2014}\u{e9}\u{202e}-]{0,12}", 1..6)
        .prop_map(|lines| lines.iter().map(|l| format!("{l}\n")).collect())
}

#[test]
fn every_single_byte_change_to_a_signed_checkpoint_is_rejected() {
    let s = signer();
    let cp = Checkpoint {
        origin: "audit.example/log".into(),
        size: 90210,
        root: audit_chain::leaf_hash(b"x"),
        extensions: Vec::new(),
    };
    let note = sign_checkpoint(&cp, &s).unwrap();
    let v = s.verifier();
    for at in 0..note.len() {
        let mut bytes = note.clone().into_bytes();
        bytes[at] = bytes[at].wrapping_add(1);
        assert!(open_note_bytes(&bytes, std::slice::from_ref(&v)).is_err(), "byte {at}");
    }
    assert_eq!(open_checkpoint(&note, &v), Ok(cp));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn sign_and_open_round_trip(text in note_text()) {
        let s = signer();
        let note = s.sign(&text).unwrap();
        let opened = open_note(&note, &[s.verifier()]).unwrap();
        prop_assert_eq!(opened.text, text);
    }

    #[test]
    fn a_changed_note_never_opens_with_other_text(text in note_text(), pos in any::<usize>(), byte in any::<u8>()) {
        let s = signer();
        let note = s.sign(&text).unwrap();
        let mut bytes = note.clone().into_bytes();
        let at = pos % bytes.len();
        bytes[at] = byte;
        match open_note_bytes(&bytes, &[s.verifier()]) {
            Ok(opened) => prop_assert_eq!(bytes, note.into_bytes(), "opened {:?}", opened.text),
            Err(_) => prop_assert_ne!(bytes, note.into_bytes()),
        }
    }

    #[test]
    fn checkpoint_bodies_round_trip(
        origin in "[a-z./]{1,20}",
        size in any::<u64>(),
        root in any::<[u8; 32]>(),
        extensions in prop::collection::vec("[ -~]{1,10}", 0..3),
    ) {
        let cp = Checkpoint { origin: origin.clone(), size, root, extensions };
        prop_assert_eq!(Checkpoint::parse_body(&cp.to_body()).unwrap(), cp.clone());
        let s = NoteSigner::from_seed(&origin, [9; 32]).unwrap();
        let note = sign_checkpoint(&cp, &s).unwrap();
        prop_assert_eq!(open_checkpoint(&note, &s.verifier()).unwrap(), cp);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Notes, keys and bodies come from outside: any text gives a value or an error, never a
    /// panic, and errors never echo the input.
    #[test]
    fn parsers_never_panic(text in any::<String>(), bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let v = signer().verifier();
        for input in [text.as_str(), &format!("{text}\n\n\u{2014} audit.example/log {text}\n")] {
            if let Err(e) = open_note(input, std::slice::from_ref(&v))
                && text.len() > 8
            {
                prop_assert!(!e.to_string().contains(text.as_str()));
            }
            let _ = NoteVerifier::parse(input);
            let _ = NoteSigner::from_private_key_string(input);
            let _ = NoteSigner::from_private_key_string(&format!("PRIVATE+KEY+{input}"));
            let _ = Checkpoint::parse_body(input);
            let _ = open_checkpoint(input, &v);
        }
        let _ = open_note_bytes(&bytes, &[v]);
    }

    #[test]
    fn structured_garbage_keys_are_rejected_without_panic(
        name in "[^+ ]{0,8}",
        id in "[0-9a-fA-F]{0,9}",
        key in "[A-Za-z0-9+/=]{0,50}",
    ) {
        let vkey = format!("{name}+{id}+{key}");
        if let Err(e) = NoteVerifier::parse(&vkey) {
            let named = matches!(e, ChainError::MalformedKey { .. } | ChainError::InvalidKeyName { .. });
            prop_assert!(named, "unexpected error kind {:?}", e);
        }
        let _ = NoteSigner::from_private_key_string(&format!("PRIVATE+KEY+{vkey}"));
    }
}
