//! `audit init`: a new log, material written once with mode 0600, never overwritten.

use std::os::unix::fs::PermissionsExt as _;

use audit_store::VerifierMaterial;

use crate::support::audit;

#[test]
fn init_creates_a_log_and_material_that_verifies_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("orch");
    let run = audit(&["init", dir.to_str().unwrap(), "--service-id", "orchestrator-1"]).expect(0);
    let material_file = tmp.path().join("orch.verifier");
    assert!(run.stdout.contains(material_file.to_str().unwrap()), "{}", run.stdout);
    assert!(run.stdout.contains("Move it off this host"), "{}", run.stdout);
    assert!(run.stdout.contains("--verification-key"), "{}", run.stdout);
    let mode = std::fs::metadata(&material_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let material = VerifierMaterial::parse(&std::fs::read_to_string(&material_file).unwrap());
    let material = material.unwrap();
    assert!(run.stdout.contains(&material.public_key));
    assert!(run.stdout.contains(&material.log_id.to_string()));
    // The public key, safe to publish, beside the material.
    let public = tmp.path().join("orch.pub");
    assert_eq!(std::fs::read_to_string(&public).unwrap(), format!("{}\n", material.public_key));
    assert!(run.stdout.contains(public.to_str().unwrap()), "{}", run.stdout);
    // The secret key is only in the file, never printed.
    let key = audit_events::to_hex(&*material.initial_seal_key);
    assert!(!run.stdout.contains(&key) && !run.stderr.contains(&key));

    let run = audit(&[
        "verify",
        dir.to_str().unwrap(),
        "--verification-key",
        material_file.to_str().unwrap(),
    ])
    .expect(0);
    assert!(run.stdout.contains("PASS: the log is intact"), "{}", run.stdout);
    let run =
        audit(&["verify", dir.to_str().unwrap(), "--verification-key", public.to_str().unwrap()])
            .expect(0);
    assert!(run.stdout.contains("CHAINED") || run.stdout.contains("ANCHORED"), "{}", run.stdout);
}

#[test]
fn init_refuses_to_overwrite_a_log_or_a_material_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let dir = dir.to_str().unwrap();
    audit(&["init", dir, "--service-id", "svc"]).expect(0);
    let material_file = tmp.path().join("log.verifier");
    let before = std::fs::read(&material_file).unwrap();

    // Same material file: refused before anything is touched.
    let run = audit(&["init", dir, "--service-id", "svc"]).expect(3);
    assert!(run.stderr.contains("never overwritten"), "{}", run.stderr);
    assert_eq!(std::fs::read(&material_file).unwrap(), before);

    // Another material file, same log: the log is refused and no stray file is left.
    let other = tmp.path().join("other.verifier");
    let run =
        audit(&["init", dir, "--service-id", "svc", "--material-out", other.to_str().unwrap()])
            .expect(3);
    assert!(run.stderr.contains("refusing to overwrite"), "{}", run.stderr);
    assert!(!other.exists());
    assert!(!tmp.path().join("other.pub").exists());
    assert_eq!(std::fs::read(&material_file).unwrap(), before);
}

#[test]
fn init_refuses_bad_values_with_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let dir = dir.to_str().unwrap();
    audit(&["init", dir, "--service-id", "bad id/.."]).expect(2);
    assert!(!tmp.path().join("log").exists());
    let inside = format!("{dir}/material");
    audit(&["init", dir, "--service-id", "svc", "--material-out", &inside]).expect(2);
    audit(&["init", dir]).expect(2);
}
