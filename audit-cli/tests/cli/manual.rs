//! `audit completions` and `audit man`: generated from the command line itself, so every verb
//! is in them.

use crate::support::audit;

/// The verbs `audit --help` lists.
fn verbs() -> Vec<String> {
    let help = audit(&["--help"]).expect(0).stdout;
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .filter(|v| v != "help")
        .collect()
}

#[test]
fn completion_scripts_name_every_verb() {
    let verbs = verbs();
    assert!(verbs.len() > 15 && verbs.iter().any(|v| v == "fleet"), "{verbs:?}");
    for shell in ["bash", "zsh", "fish"] {
        let script = audit(&["completions", shell]).expect(0).stdout;
        for verb in &verbs {
            assert!(script.contains(verb.as_str()), "{shell} completion lacks {verb}");
        }
    }
    let bash = audit(&["completions", "bash"]).expect(0).stdout;
    assert!(bash.contains("complete -F _audit"), "{bash}");
    audit(&["completions", "tcsh"]).expect(2);
}

#[test]
fn every_verb_has_a_manual_page() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("man");
    audit(&["man", "--out", out.to_str().unwrap()]).expect(0);
    for verb in verbs() {
        let page = std::fs::read_to_string(out.join(format!("audit-{verb}.1")))
            .unwrap_or_else(|e| panic!("no page for {verb}: {e}"));
        assert!(page.contains(".TH AUDIT-"), "{verb}");
        assert!(page.contains(".SH OPTIONS") || page.contains(".SH SUBCOMMANDS"), "{verb}");
    }
    let top = std::fs::read_to_string(out.join("audit.1")).unwrap();
    assert!(top.contains("Exit status"), "the exit-code contract is in audit(1)");
    assert!(out.join("audit-fleet-query.1").is_file());
}
