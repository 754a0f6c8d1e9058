//! The C2SP tlog-cosignature v1 vectors of `cosignature_vectors.json`: a real checkpoint cosigned
//! by a production witness, and vectors written by an independent Python implementation of the
//! spec (`testdata/vectors/gen_cosignature_vectors.py`).

use audit_chain::{
    ChainError, Checkpoint, CosignatureVerifier, Cosigner, NoteVerifier, open_checkpoint,
    open_cosigned, open_note,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use crate::vectors;

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("{key} is not a string"))
}

fn log_verifier(case: &Value) -> NoteVerifier {
    let vkey = str_of(case, "log_vkey");
    NoteVerifier::parse(vkey).unwrap_or_else(|e| panic!("{vkey}: {e}"))
}

fn witness_verifier(vkey: &str) -> CosignatureVerifier {
    CosignatureVerifier::parse(vkey).unwrap_or_else(|e| panic!("{vkey}: {e}"))
}

fn checkpoint(case: &Value) -> Checkpoint {
    let cp = &case["checkpoint"];
    Checkpoint {
        origin: str_of(cp, "origin").to_owned(),
        size: cp["size"].as_u64().unwrap(),
        root: STANDARD.decode(str_of(cp, "root_base64")).unwrap().try_into().unwrap(),
        extensions: cp["extensions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_str().unwrap().to_owned())
            .collect(),
    }
}

#[test]
fn every_valid_cosignature_verifies_with_its_witness_key() {
    let v = vectors("cosignature_vectors.json");
    let cases = v["valid"].as_array().unwrap();
    assert_eq!(cases.len(), 5);
    for case in cases {
        let source = str_of(case, "source");
        let note = str_of(case, "note");
        let log = log_verifier(case);
        let expected = checkpoint(case);
        assert_eq!(open_checkpoint(note, &log).unwrap(), expected, "{source}");
        let witnesses = case["witnesses"].as_array().unwrap();
        for w in witnesses {
            let witness = witness_verifier(str_of(w, "vkey"));
            assert_eq!(witness.to_string(), str_of(w, "vkey"), "vkeys print back as parsed");
            let opened = open_cosigned(note, &log, &witness)
                .unwrap_or_else(|e| panic!("{source}: {}: {e}", witness.name()));
            assert_eq!(opened.checkpoint, expected, "{source}");
            assert_eq!(opened.timestamp, w["timestamp"].as_u64().unwrap(), "{source}");
        }
        // The cosignature lines are signatures of unknown keys to a plain note reader.
        let opened = open_note(note, std::slice::from_ref(&log)).unwrap();
        assert!(opened.unknown_signatures >= witnesses.len(), "{source}");
    }
}

#[test]
fn the_real_witness_cosignature_verifies() {
    let v = vectors("cosignature_vectors.json");
    let case = v["valid"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| str_of(c, "log_vkey").starts_with("arche2025h1.staging.ct.transparency.dev+"))
        .unwrap();
    let note = str_of(case, "note");
    let log = log_verifier(case);
    let remora =
        witness_verifier("remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2");
    let opened = open_cosigned(note, &log, &remora).unwrap();
    assert_eq!(opened.timestamp, 1_779_573_024);
    assert_eq!(opened.checkpoint.size, 1_432_088_532);
    // The note also carries the log's RFC 6962 signature and five other lines; all are ignored.
    assert_eq!(open_note(note, &[log]).unwrap().unknown_signatures, 5);
}

#[test]
fn signing_reproduces_the_generated_cosignatures_byte_for_byte() {
    let v = vectors("cosignature_vectors.json");
    let mut signed = 0;
    for case in v["valid"].as_array().unwrap() {
        let cp = checkpoint(case);
        for w in case["witnesses"].as_array().unwrap() {
            let Some(skey) = w["skey"].as_str() else { continue };
            let cosigner = Cosigner::from_private_key_string(skey).unwrap();
            assert_eq!(*cosigner.to_private_key_string(), skey);
            assert_eq!(cosigner.verifier().to_string(), str_of(w, "vkey"));
            let line = cosigner.cosign(&cp, w["timestamp"].as_u64().unwrap()).unwrap();
            assert_eq!(line, str_of(w, "line"), "{}", str_of(case, "source"));
            assert!(str_of(case, "note").contains(&line));
            signed += 1;
        }
    }
    assert_eq!(signed, 5);
}

#[test]
fn every_bad_cosignature_is_rejected() {
    let v = vectors("cosignature_vectors.json");
    let cases = v["invalid_must_reject"].as_array().unwrap();
    assert_eq!(cases.len(), 13);
    for case in cases {
        let why = str_of(case, "why");
        let log = log_verifier(case);
        let witness = witness_verifier(str_of(case, "witness_vkey"));
        let err = open_cosigned(str_of(case, "note"), &log, &witness).expect_err(why);
        let (name, key_id) = match str_of(case, "expect") {
            "no cosignature" => {
                assert_eq!(err, ChainError::NoCosignature, "{why}");
                continue;
            }
            "no log signature" => {
                assert_eq!(err, ChainError::NoVerifiedSignature, "{why}");
                continue;
            }
            "invalid witness signature" => {
                // The key id is the second field of the vkey.
                let vkey = witness.to_string();
                let id = u32::from_str_radix(vkey.split('+').nth(1).unwrap(), 16).unwrap();
                (witness.name().to_owned(), id)
            }
            "invalid log signature" => (log.name().to_owned(), log.key_id()),
            other => panic!("unknown expectation {other:?}"),
        };
        assert_eq!(err, ChainError::InvalidSignature { name, key_id }, "{why}");
    }
}

#[test]
fn cosignature_verifier_keys_are_parsed_strictly() {
    let v = vectors("cosignature_vectors.json");
    for vkey in v["valid_vkeys"].as_array().unwrap() {
        let vkey = vkey.as_str().unwrap();
        assert_eq!(witness_verifier(vkey).to_string(), vkey);
    }
    for case in v["invalid_vkeys"].as_array().unwrap() {
        let vkey = str_of(case, "vkey");
        assert!(CosignatureVerifier::parse(vkey).is_err(), "{}", str_of(case, "why"));
    }
}

#[test]
fn the_spec_example_is_well_formed_but_unverifiable() {
    let v = vectors("cosignature_vectors.json");
    let ex = &v["spec_example_parse_only"];
    let note = str_of(ex, "note");
    assert_eq!(open_note(note, &[]), Err(ChainError::NoVerifiedSignature));
    // The generator's signed message for the example's blob is the one the spec prints.
    let spec = vectors("signed_note_vectors.json");
    let printed = str_of(
        &spec["checkpoint_examples_parse_only"],
        "ed25519_cosignature_signed_message_example",
    );
    assert_eq!(str_of(ex, "signed_message"), printed);
    let line = note.lines().find(|l| l.contains(str_of(ex, "witness_name"))).unwrap();
    let blob = STANDARD.decode(line.rsplit(' ').next().unwrap()).unwrap();
    assert_eq!(crate::hex(&blob[..4]), str_of(ex, "key_id_hex"));
    assert_eq!(
        u64::from_be_bytes(blob[4..12].try_into().unwrap()),
        ex["timestamp"].as_u64().unwrap()
    );
    assert_eq!(blob.len(), 4 + 8 + 64);
}
