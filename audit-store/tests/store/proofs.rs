//! Inclusion and consistency proofs from the stored records verify against signed checkpoints.

use audit_chain::{NoteVerifier, leaf_hash, open_checkpoint, verify_consistency, verify_inclusion};
use audit_store::{consistency_proof, inclusion_proof, latest_checkpoint};

use crate::support::written_log;

#[test]
fn inclusion_proofs_verify_against_the_signed_checkpoint() {
    let fixture = written_log(6);
    let verifier = NoteVerifier::parse(&fixture.material.public_key).unwrap();
    let (_, latest) = latest_checkpoint(&fixture.dir).unwrap();
    for seq in [0, 1, 17, latest.size / 2, latest.size - 1] {
        let bundle = inclusion_proof(&fixture.dir, seq, None).unwrap();
        let checkpoint = open_checkpoint(&bundle.checkpoint, &verifier).unwrap();
        verify_inclusion(&leaf_hash(&bundle.record), &bundle.proof, &checkpoint.root).unwrap();
        assert_eq!(audit_events::Record::decode(&bundle.record).unwrap().seq, seq);
        let mut wrong = bundle.record.clone();
        let last = wrong.len() - 1;
        wrong[last] ^= 1;
        assert!(verify_inclusion(&leaf_hash(&wrong), &bundle.proof, &checkpoint.root).is_err());
    }
    assert!(inclusion_proof(&fixture.dir, latest.size, None).is_err());
}

#[test]
fn consistency_proofs_link_kept_checkpoints_to_the_latest() {
    let fixture = written_log(6);
    let verifier = NoteVerifier::parse(&fixture.material.public_key).unwrap();
    let kept: Vec<u64> = std::fs::read_dir(&fixture.dir)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_prefix("checkpoint-")?.strip_suffix(".note")?.parse().ok()
        })
        .collect();
    assert!(kept.len() > 1);
    for old in kept {
        let old_note =
            std::fs::read_to_string(fixture.dir.join(format!("checkpoint-{old:020}.note")))
                .unwrap();
        let old_cp = open_checkpoint(&old_note, &verifier).unwrap();
        let bundle = consistency_proof(&fixture.dir, old, None).unwrap();
        let new_cp = open_checkpoint(&bundle.checkpoint, &verifier).unwrap();
        assert_eq!(bundle.old_root, old_cp.root);
        verify_consistency(&bundle.proof, &old_cp.root, &new_cp.root).unwrap();
    }
}

#[test]
fn a_proof_for_a_size_without_checkpoint_is_refused() {
    let fixture = written_log(2);
    assert!(inclusion_proof(&fixture.dir, 0, Some(3)).is_err());
}
