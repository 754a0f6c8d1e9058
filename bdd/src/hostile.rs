//! The hostile strings of the injection scenarios, one per attack vector, looked up by the name
//! the feature files use.

/// One attack vector: what a client sends, and what it would do to a terminal or a log reader
/// if it reached one raw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostilePayload {
    /// The name a feature file gives the vector (an `Examples` cell).
    pub name: &'static str,
    /// The exact text sent.
    pub text: &'static str,
    /// What the vector would do if shown raw.
    pub effect: &'static str,
}

/// Every vector of the injection feature. Each text holds at least one character that
/// `input_validation::is_dangerous` names, and stays short enough that its escaped form fits
/// the identifier bound, so the stored field unescapes to the whole payload.
pub const HOSTILE_PAYLOADS: &[HostilePayload] = &[
    HostilePayload {
        name: "ANSI colour",
        text: "mallory\u{1b}[31mroot\u{1b}[0m",
        effect: "recolours the terminal so a line reads as something else",
    },
    HostilePayload {
        name: "ANSI cursor movement",
        text: "bob\u{1b}[1A\u{1b}[2K\u{1b}[Gadmin",
        effect: "moves the cursor up and erases the previous line",
    },
    HostilePayload {
        name: "OSC title",
        text: "x\u{1b}]0;owned terminal\u{7}y",
        effect: "sets the terminal window title",
    },
    HostilePayload {
        name: "OSC 8 hyperlink",
        text: "\u{1b}]8;;https://evil.example/\u{1b}\\click me\u{1b}]8;;\u{1b}\\",
        effect: "turns text into a link to an attacker's site",
    },
    HostilePayload {
        name: "CR/LF forged line",
        text: "guest\r\n2026-11-22T09:00:00Z  #9  auth.success  low  admin",
        effect: "forges a second, legitimate-looking log line",
    },
    HostilePayload {
        name: "NUL truncation",
        text: "admin\u{0}-not-really",
        effect: "cuts the value short in C string handling",
    },
    HostilePayload {
        name: "C1 control",
        text: "x\u{9b}31mred\u{9d}0;title\u{9c}",
        effect: "8-bit CSI and OSC introducers, for terminals that honour C1 controls",
    },
    HostilePayload {
        name: "RLO bidi override",
        text: "invoice\u{202e}fdp.exe",
        effect: "shows `invoiceexe.pdf` for a name that ends in `.exe`",
    },
    HostilePayload {
        name: "LRO bidi override",
        text: "abc\u{202d}\u{202b}xyz\u{202c}",
        effect: "forces and embeds a reading direction",
    },
    HostilePayload {
        name: "RLI bidi isolate",
        text: "user\u{2067}nimda\u{2069}",
        effect: "shows an isolated right-to-left run reversed",
    },
    HostilePayload {
        name: "zero-width characters",
        text: "ad\u{200b}min\u{feff}\u{200d}",
        effect: "a user id that looks like `admin` but is not",
    },
    HostilePayload {
        name: "tag characters",
        text: "ok\u{e0001}\u{e0069}\u{e0067}\u{e006e}\u{e006f}\u{e0072}\u{e0065}\u{e007f}",
        effect: "invisible ASCII look-alikes that carry hidden instructions",
    },
    HostilePayload {
        name: "line and paragraph separators",
        text: "line\u{2028}forged\u{2029}entry",
        effect: "breaks the line in JavaScript and many log viewers",
    },
];

/// The payload a feature file names, if the catalogue has it.
pub fn hostile_payload(name: &str) -> Option<&'static HostilePayload> {
    HOSTILE_PAYLOADS.iter().find(|p| p.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use input_validation::{escape_for_log, is_dangerous};

    #[test]
    fn names_are_unique_and_found() {
        for (i, payload) in HOSTILE_PAYLOADS.iter().enumerate() {
            assert_eq!(hostile_payload(payload.name), Some(payload));
            assert!(HOSTILE_PAYLOADS[..i].iter().all(|p| p.name != payload.name));
        }
        assert_eq!(hostile_payload("no such vector"), None);
    }

    #[test]
    fn every_payload_is_dangerous_and_fits_the_identifier_bound_once_escaped() {
        for payload in HOSTILE_PAYLOADS {
            assert!(payload.text.chars().any(is_dangerous), "{}", payload.name);
            let escaped = escape_for_log(payload.text);
            assert!(escaped.len() <= audit_events::MAX_IDENTIFIER_BYTES, "{}", payload.name);
        }
    }
}
