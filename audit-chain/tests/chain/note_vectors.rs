//! The C2SP signed-note and tlog-checkpoint vectors of `signed_note_vectors.json`.

use audit_chain::{
    ChainError, Checkpoint, NoteSigner, NoteVerifier, leaf_hash, open_checkpoint, open_note,
    open_note_bytes, sign_checkpoint,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use crate::vectors;

fn verifier(vkey: &str) -> NoteVerifier {
    NoteVerifier::parse(vkey).unwrap_or_else(|e| panic!("{vkey}: {e}"))
}

fn text_of(note: &str) -> &str {
    &note[..=note.rfind("\n\n").unwrap()]
}

fn vkeys(case: &Value) -> Vec<String> {
    match (&case["vkey"], &case["vkeys"]) {
        (Value::String(one), _) => vec![one.clone()],
        (_, Value::Array(many)) => many.iter().map(|v| v.as_str().unwrap().to_owned()).collect(),
        _ => Vec::new(),
    }
}

#[test]
fn every_valid_note_verifies() {
    let v = vectors("signed_note_vectors.json");
    let cases = v["valid"].as_array().unwrap();
    assert_eq!(cases.len(), 4);
    for case in cases {
        let note = case["note"].as_str().unwrap();
        let keys: Vec<NoteVerifier> = vkeys(case).iter().map(|k| verifier(k)).collect();
        for (k, parsed) in vkeys(case).iter().zip(&keys) {
            assert_eq!(&parsed.to_string(), k, "verifier keys print back as parsed");
        }
        let opened = open_note(note, &keys).unwrap_or_else(|e| panic!("{}: {e}", case["source"]));
        assert_eq!(opened.text, text_of(note));
        assert_eq!(opened.verified_by, (0..keys.len()).collect::<Vec<_>>());
        assert_eq!(opened.unknown_signatures, 0);
        assert_eq!(open_note_bytes(note.as_bytes(), &keys).unwrap(), opened);
        // With only the first key known, the other signatures are ignored, not errors.
        let first = open_note(note, &keys[..1]).unwrap();
        assert_eq!(first.verified_by, vec![0]);
        assert_eq!(first.unknown_signatures, keys.len() - 1);
    }
}

#[test]
fn the_deterministic_signature_is_reproduced_byte_for_byte() {
    let v = vectors("signed_note_vectors.json");
    let case = v["valid"].as_array().unwrap().iter().find(|c| c["skey"].is_string()).unwrap();
    let signer = NoteSigner::from_private_key_string(case["skey"].as_str().unwrap()).unwrap();
    assert_eq!(signer.name(), "PeterNeumann");
    assert_eq!(signer.key_id(), 0xc74f20a3);
    assert_eq!(signer.verifier_key(), case["vkey"].as_str().unwrap());
    assert_eq!(*signer.to_private_key_string(), case["skey"].as_str().unwrap());
    let note = case["note"].as_str().unwrap();
    assert_eq!(signer.sign(text_of(note)).unwrap(), note);
}

#[test]
fn every_malformed_or_unverifiable_note_is_rejected() {
    let v = vectors("signed_note_vectors.json");
    let peter = verifier("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW");
    let cases = v["invalid_must_reject"].as_array().unwrap();
    assert_eq!(cases.len(), 10);
    for case in cases {
        let why = case["why"].as_str().unwrap();
        let mut bytes = Vec::new();
        if let Some(prefix) = case["note_prefix_byte_hex"].as_str() {
            bytes.extend(crate::unhex(prefix));
        }
        if let Some(repeat) = case.get("note_repeat") {
            bytes.extend(repeat["text"].as_str().unwrap().as_bytes());
            for _ in 0..repeat["count"].as_u64().unwrap() {
                bytes.extend(repeat["sigline"].as_str().unwrap().as_bytes());
            }
        } else {
            bytes.extend(case["note"].as_str().unwrap().as_bytes());
        }
        let keys: Vec<NoteVerifier> = match vkeys(case).as_slice() {
            [] => vec![peter.clone()],
            keys => keys.iter().map(|k| verifier(k)).collect(),
        };
        let err = open_note_bytes(&bytes, &keys).expect_err(why);
        match case["expect"].as_str().unwrap() {
            "malformed note" => {
                assert!(matches!(err, ChainError::MalformedNote { .. }), "{why}: {err:?}");
            }
            expect => assert_eq!(err.to_string(), expect, "{why}"),
        }
    }
}

#[test]
fn sixteen_signatures_are_accepted_and_a_hundred_is_the_limit() {
    let signer = NoteSigner::from_seed("example.com/a", [1; 32]).unwrap();
    let note = signer.sign("text\n").unwrap();
    let line = &note[note.rfind("\n\n").unwrap() + 2..];
    let other = "\u{2014} example.com/b AAAAAAEB\n";
    for (count, ok) in [(16usize, true), (100, true), (101, false)] {
        let mut many = String::from("text\n\n");
        many.push_str(line);
        for _ in 1..count {
            many.push_str(other);
        }
        let result = open_note(&many, &[signer.verifier()]);
        assert_eq!(result.is_ok(), ok, "{count} signatures: {result:?}");
        if let Ok(opened) = result {
            assert_eq!(opened.unknown_signatures, count - 1);
        }
    }
}

#[test]
fn invalid_verifier_keys_are_rejected() {
    let v = vectors("signed_note_vectors.json");
    for case in v["invalid_vkeys"].as_array().unwrap() {
        if let Some(vkey) = case["vkey"].as_str() {
            assert!(NoteVerifier::parse(vkey).is_err(), "{}", case["why"]);
        }
    }
    // golang/mod TestNewVerifier: every proper substring and every single-byte increment of a
    // valid verifier key is rejected.
    let mut valid: Vec<String> = Vec::new();
    for case in v["valid"].as_array().unwrap() {
        valid.extend(vkeys(case));
    }
    valid.sort();
    valid.dedup();
    assert_eq!(valid.len(), 3);
    for vkey in &valid {
        assert!(NoteVerifier::parse(vkey).is_ok());
        let b = vkey.as_bytes();
        for start in 0..b.len() {
            for end in start..=b.len() {
                if (start, end) == (0, b.len()) {
                    continue;
                }
                let sub = &vkey[start..end];
                assert!(NoteVerifier::parse(sub).is_err(), "substring {sub:?}");
            }
        }
        for i in 0..b.len() {
            let mut changed = b.to_vec();
            changed[i] = changed[i].wrapping_add(1);
            if let Ok(changed) = String::from_utf8(changed) {
                assert!(NoteVerifier::parse(&changed).is_err(), "increment at {i}: {changed:?}");
            }
        }
    }
}

#[test]
fn checkpoint_examples_parse_and_non_checkpoints_do_not() {
    let v = vectors("signed_note_vectors.json");
    let ex = &v["checkpoint_examples_parse_only"];
    let note = ex["checkpoint"].as_str().unwrap();
    // No public key is published for this log: the note is well-formed but unverifiable.
    assert_eq!(open_note(note, &[]), Err(ChainError::NoVerifiedSignature));
    let cp = Checkpoint::parse_body(text_of(note)).unwrap();
    assert_eq!(cp.origin, "example.com/behind-the-sofa");
    assert_eq!(cp.size, 20852163);
    assert_eq!(STANDARD.encode(cp.root), "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=");
    assert!(cp.extensions.is_empty());
    assert_eq!(cp.to_body(), text_of(note));
    // A verifier with the right name but another key does not pass it.
    let stranger = NoteSigner::from_seed("example.com/behind-the-sofa", [3; 32]).unwrap();
    assert_eq!(open_checkpoint(note, &stranger.verifier()), Err(ChainError::NoVerifiedSignature));

    for other in
        ["ed25519_cosignature_signed_message_example", "witness_add_checkpoint_request_example"]
    {
        let text = ex[other].as_str().unwrap();
        assert!(
            matches!(Checkpoint::parse_body(text), Err(ChainError::MalformedCheckpoint { .. })),
            "{other} is not a checkpoint body"
        );
    }
}

#[test]
fn sumdb_tree_note_body_is_reproduced() {
    let v = vectors("signed_note_vectors.json");
    let golden = &v["sumdb_tlog_tree_note_golden"];
    let cp = Checkpoint {
        origin: "go.sum database tree".to_owned(),
        size: golden["tree_size"].as_u64().unwrap(),
        root: leaf_hash(golden["record_hash_input_ascii"].as_str().unwrap().as_bytes()),
        extensions: Vec::new(),
    };
    let formatted = golden["formatted"].as_str().unwrap();
    assert_eq!(cp.to_body(), formatted);
    assert_eq!(Checkpoint::parse_body(formatted).unwrap(), cp);
}

#[test]
fn signed_checkpoints_round_trip_and_resist_edits() {
    let signer = NoteSigner::from_seed("audit.example/log-1", [7; 32]).unwrap();
    let cp = Checkpoint {
        origin: "audit.example/log-1".to_owned(),
        size: 12345,
        root: leaf_hash(b"root"),
        extensions: vec!["seal 42".to_owned()],
    };
    let note = sign_checkpoint(&cp, &signer).unwrap();
    let vkey = NoteVerifier::parse(&signer.verifier_key()).unwrap();
    assert_eq!(open_checkpoint(&note, &vkey).unwrap(), cp);
    let rolled_back = note.replace("12345", "12344");
    assert_eq!(
        open_checkpoint(&rolled_back, &vkey),
        Err(ChainError::InvalidSignature {
            name: "audit.example/log-1".into(),
            key_id: vkey.key_id()
        })
    );
}
