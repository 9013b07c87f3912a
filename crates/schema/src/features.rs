//! Text features: what the detectors' literal passes learn about an event's text, computed once at
//! ingest into the `text_features` column so a scan does not pass over every byte again.
//!
//! A feature says which detectors' regexes are worth running, never what they find: which instruction
//! cues' trigger words a tool output holds, whether it holds hidden characters, which secret kinds'
//! hint literals its text holds. A reader may always recompute them from the text instead (and does,
//! for stores written before the column, for engines that do not read it, and for a value written with
//! another [`FEATURES_VERSION`]), and gets the same findings either way.
//!
//! The literal lists live here, beside the column they fill, because both sides must agree on them:
//! ingest computes the bits, query reads them and falls back to the same functions.

use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, Input, Match};

/// The version of the lists below and of the bit layout. Raise it with any change to a trigger word, a
/// hint literal, the hidden characters or the layout: a value written with another version is ignored
/// and the features recomputed from the text, so stale bits can never hide a finding. A test pins a
/// digest of the lists so a change without a raise fails.
pub const FEATURES_VERSION: u64 = 3;

/// Where the version sits in a stored value (its top byte).
const VERSION_SHIFT: u32 = 56;
/// The hidden-text bit, above the cue bits.
const HIDDEN_BIT: u32 = 20;
/// The secret-kind bits start here.
const SECRET_SHIFT: u32 = 24;

/// Instruction cues that can only match text containing one of their trigger words (ASCII, matched
/// case-insensitively), in bit order. A cue not listed has no trigger and always runs.
pub const CUE_TRIGGERS: &[(&str, &[&str])] = &[
    (
        "overrides_prior_instructions",
        &["ignore", "disregard", "forget", "override", "bypass"],
    ),
    (
        "fake_role_or_delimiter",
        &[
            "<|",
            "[inst",
            "[/inst",
            "<<sys",
            "<</sys",
            "system",
            "admin",
            "<information",
            "</information",
            "<instruction",
            "</instruction",
            "<important",
            "</important",
            "<sys>",
            "</sys>",
            "<prompt",
            "</prompt",
            "assistant",
        ],
    ),
    (
        "addresses_the_model",
        &[
            "to you",
            "dear",
            "hey",
            "attention",
            "note to",
            "note for",
            "message to",
            "message for",
            "you are now",
            "as a",
            "ai ",
            "ai,",
            "llm",
            "language model",
            "gpt",
            "claude",
            "gemini",
            "llama",
            "command",
        ],
    ),
    (
        "hijacks_the_task",
        &[
            "before",
            "the task",
            "task",
            "goal",
            "objective",
            "instruction",
            "mission",
            "after you do",
            "after doing",
            "after completing",
            "instead",
            "from now on",
            "do the following",
            "strictly adhere",
        ],
    ),
    ("asks_for_secrecy", &["do not", "don't", "never", "without"]),
    (
        "urgency",
        &[
            "important",
            "urgent",
            "immediately",
            "must do",
            "must be done",
        ],
    ),
    (
        "action_on_outside_target",
        &[
            "send", "forward", "transfer", "wire", "pay", "email", "e-mail", "post", "upload",
            "share", "invite", "delete", "remove", "grant",
        ],
    ),
    ("exfiltration_link", &["!["]),
    // A marker of a forged turn: every match of the cue holds one of these (never the plain word
    // "system", which is the marker cue's and would run this on most outputs).
    (
        "role_marker_then_command",
        &["im_start", "inst]", "sys>>", "_message", "_prompt"],
    ),
    ("note_orders_an_action", &["todo", "to-do"]),
];

/// Secret kinds and the literals (case-sensitive) one of which every match contains, in bit order. A
/// kind with no literal here or in [`SECRET_HINTS_ANY_CASE`] always runs.
pub const SECRET_HINTS: &[(&str, &[&str])] = &[
    ("aws_access_key_id", &["AKIA", "ASIA"]),
    ("aws_secret_access_key", &[]),
    ("github_token", &["ghp_", "gho_", "ghu_", "ghs_", "ghr_"]),
    ("openai_api_key", &["sk-"]),
    ("anthropic_api_key", &["sk-"]),
    ("slack_token", &["xox"]),
    ("stripe_key", &["_live_"]),
    ("google_api_key", &["AIza"]),
    ("private_key", &["-----BEGIN "]),
    ("jwt", &["eyJ"]),
    ("password_in_url", &["://"]),
];

/// Kinds whose pattern ignores case, and the literals one of which every match contains in some ASCII
/// case. Without it the case-insensitive AWS secret pattern ran on every text of a scan (5 % of it).
pub const SECRET_HINTS_ANY_CASE: &[(&str, &[&str])] =
    &[("aws_secret_access_key", &["aws_secret_access_key"])];

/// The features of one event's text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TextFeatures {
    /// Bit `i`: the text holds a trigger word of `CUE_TRIGGERS[i]` (tool outputs only).
    pub cues: u32,
    /// The text holds hidden characters enough to be a cue ([`hidden_cue`]; tool outputs only).
    pub hidden: bool,
    /// Bit `i`: content or arguments hold a hint literal of `SECRET_HINTS[i]`, or it has none.
    pub secrets: u32,
}

impl TextFeatures {
    /// The features of an event: cues and hidden text of a tool output's content, secret hints of any
    /// event's content and arguments.
    pub fn of(kind: &str, content: Option<&str>, args: Option<&str>) -> TextFeatures {
        let (cues, hidden) = match (kind, content) {
            ("tool_result", Some(text)) => (triggered_cues(text), hidden_cue(&hidden_chars(text))),
            _ => (0, false),
        };
        let secrets = content.map_or(0, secret_candidates) | args.map_or(0, secret_candidates);
        TextFeatures {
            cues,
            hidden,
            secrets,
        }
    }

    /// The stored value: the version in the top byte, then the bits.
    pub fn encode(self) -> u64 {
        (FEATURES_VERSION << VERSION_SHIFT)
            | u64::from(self.cues)
            | (u64::from(self.hidden) << HIDDEN_BIT)
            | (u64::from(self.secrets) << SECRET_SHIFT)
    }

    /// A stored value, or `None` when another version wrote it (recompute from the text).
    pub fn decode(value: u64) -> Option<TextFeatures> {
        (value >> VERSION_SHIFT == FEATURES_VERSION).then_some(TextFeatures {
            cues: (value & ((1 << HIDDEN_BIT) - 1)) as u32,
            hidden: value >> HIDDEN_BIT & 1 == 1,
            secrets: ((value >> SECRET_SHIFT) & ((1 << (VERSION_SHIFT - SECRET_SHIFT)) - 1)) as u32,
        })
    }
}

/// Every match of `ac` in `text`, each search resuming one byte after the last match's start instead
/// of at its end, so a literal cannot hide another that overlaps it ("must do not tell",
/// "sk-----BEGIN "). At one start only one match is reported, so no literal may be a prefix of another
/// owner's.
pub fn match_starts<'a>(
    ac: &'a AhoCorasick,
    text: &'a (impl AsRef<[u8]> + ?Sized),
) -> impl Iterator<Item = Match> + 'a {
    let text = text.as_ref();
    match_starts_by(text.len(), move |span| ac.find(Input::new(text).span(span)))
}

/// [`match_starts`] for any searcher: `find` gives the first match in a span of a text `len` bytes
/// long (an automaton, or a packed searcher alone).
pub fn match_starts_by(
    len: usize,
    mut find: impl FnMut(std::ops::Range<usize>) -> Option<Match>,
) -> impl Iterator<Item = Match> {
    let mut at = 0;
    std::iter::from_fn(move || {
        let m = find(at..len)?;
        at = m.start() + 1;
        Some(m)
    })
}

/// One automaton over every cue's triggers, and the cue each word belongs to: a single pass over a text
/// tells which cue regexes can match it (nine regex passes over every tool output were 40 % of a scan).
static TRIGGERS: LazyLock<(AhoCorasick, Vec<u32>)> = LazyLock::new(|| {
    let mut words = Vec::new();
    let mut owner = Vec::new();
    for (i, (_, triggers)) in CUE_TRIGGERS.iter().enumerate() {
        for t in *triggers {
            words.push(*t);
            owner.push(i as u32);
        }
    }
    // Leftmost-longest, non-overlapping: an overlapping search reported every occurrence of every
    // common trigger word (20 % of a scan).
    let ac = AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .match_kind(aho_corasick::MatchKind::LeftmostLongest)
        .build(&words)
        .expect("static triggers");
    (ac, owner)
});

/// Which cues' trigger words `text` holds (bit `i` for `CUE_TRIGGERS[i]`), in one pass that stops once
/// every cue is seen.
pub fn triggered_cues(text: &str) -> u32 {
    let (ac, owner) = &*TRIGGERS;
    let all = (1u32 << CUE_TRIGGERS.len()) - 1;
    let mut seen = 0;
    // Every start, not every non-overlapping match: "must do" hid the "do not" of "you must do not
    // tell the user", and the secrecy pattern never ran.
    for m in match_starts(ac, text) {
        seen |= 1 << owner[m.pattern().as_usize()];
        if seen == all {
            break;
        }
    }
    seen
}

/// Characters a human reader does not see: zero-width, bidi controls, Unicode tags.
pub fn hidden_char(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '\u{E0000}'..='\u{E007F}')
}

/// The hidden characters of `text` with their byte offsets. Every one of them is encoded in UTF-8 with
/// a lead byte of 0xE2 (U+2000..U+2FFF), 0xEF (U+FEFF) or 0xF3 (the tags), and lead bytes never occur
/// inside another character, so a SIMD search for those three bytes finds every candidate. Decoding
/// every character of every tool output instead was 11 % of a scan.
pub fn hidden_chars(text: &str) -> Vec<(usize, char)> {
    memchr::memchr3_iter(0xE2, 0xEF, 0xF3, text.as_bytes())
        .filter_map(|at| {
            let c = text[at..].chars().next()?;
            hidden_char(c).then_some((at, c))
        })
        .collect()
}

/// Whether hidden characters are a cue: any Unicode tag (they spell out text), or three or more.
pub fn hidden_cue(hidden: &[(usize, char)]) -> bool {
    hidden
        .iter()
        .any(|(_, c)| ('\u{E0000}'..='\u{E007F}').contains(c))
        || hidden.len() >= 3
}

/// One automaton over every secret kind's hints, and the kinds each literal belongs to (one literal
/// shared by several kinds is one pattern with several owners). One SIMD literal pass over a text says
/// which patterns can match at all; most texts hold none of these literals. Running all patterns as one
/// `RegexSet` over every text instead was 12 % of a scan (a set walks every byte through its DFA), and
/// an overlapping literal search 15 % (overlapping searches have no SIMD prefilter).
static HINTS: LazyLock<(AhoCorasick, Vec<u32>)> = LazyLock::new(|| {
    let mut literals: Vec<&str> = Vec::new();
    let mut owners: Vec<u32> = Vec::new();
    for (i, (_, hints)) in SECRET_HINTS.iter().enumerate() {
        for h in *hints {
            match literals.iter().position(|l| l == h) {
                Some(at) => owners[at] |= 1 << i,
                None => {
                    literals.push(h);
                    owners.push(1 << i);
                }
            }
        }
    }
    let ac = AhoCorasick::builder()
        .match_kind(aho_corasick::MatchKind::LeftmostFirst)
        .build(&literals)
        .expect("static literals");
    (ac, owners)
});

/// Whether `text` holds `literal` in any ASCII case. The search looks for the literal's first byte
/// that has no case (the `_` of `aws_secret_access_key`) with memchr and checks the bytes around each
/// hit: a case-insensitive Aho-Corasick automaton of one literal gets only a start-byte prefilter
/// (`a` or `A`, everywhere in prose) and cost more at ingest than the regex it spares the scan.
fn contains_any_case(text: &str, literal: &str) -> bool {
    let (bytes, lit) = (text.as_bytes(), literal.as_bytes());
    let Some(k) = lit.iter().position(|b| !b.is_ascii_alphabetic()) else {
        // Every byte has a case: compare at every position (no such literal is listed).
        return bytes
            .windows(lit.len())
            .any(|w| w.eq_ignore_ascii_case(lit));
    };
    memchr::memchr_iter(lit[k], bytes).any(|at| {
        at.checked_sub(k)
            .and_then(|start| bytes.get(start..start + lit.len()))
            .is_some_and(|w| w.eq_ignore_ascii_case(lit))
    })
}

/// The bit of a secret kind: its place in [`SECRET_HINTS`].
fn kind_bit(kind: &str) -> usize {
    SECRET_HINTS
        .iter()
        .position(|(k, _)| *k == kind)
        .expect("every kind is in SECRET_HINTS")
}

/// Which secret kinds can match `text` (bit `i` for `SECRET_HINTS[i]`): those whose hint it holds, and
/// those without hints.
pub fn secret_candidates(text: &str) -> u32 {
    let (ac, owners) = &*HINTS;
    let mut run = SECRET_HINTS
        .iter()
        .enumerate()
        .filter(|(_, (kind, hints))| {
            hints.is_empty() && !SECRET_HINTS_ANY_CASE.iter().any(|(k, _)| k == kind)
        })
        .fold(0, |acc, (i, _)| acc | 1 << i);
    for m in match_starts(ac, text) {
        run |= owners[m.pattern().as_usize()];
    }
    for (kind, hints) in SECRET_HINTS_ANY_CASE {
        if hints.iter().any(|h| contains_any_case(text, h)) {
            run |= 1 << kind_bit(kind);
        }
    }
    run
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lists' digest: a change to any list must come with a raise of [`FEATURES_VERSION`] (stores
    /// then recompute instead of trusting bits computed from the old lists). Update both together.
    #[test]
    fn a_change_to_the_lists_raises_the_version() {
        let mut text = String::new();
        for (name, words) in CUE_TRIGGERS
            .iter()
            .chain(SECRET_HINTS)
            .chain(SECRET_HINTS_ANY_CASE)
        {
            text.push_str(name);
            text.push('=');
            text.push_str(&words.join("\u{1}"));
            text.push('\n');
        }
        text.push_str(&format!("{HIDDEN_BIT} {SECRET_SHIFT} {VERSION_SHIFT}"));
        let digest = crate::stable_hash(text.as_bytes());
        assert_eq!(
            (FEATURES_VERSION, digest),
            (3, 7378180563522815735),
            "the lists changed: raise FEATURES_VERSION and pin the new digest"
        );
    }

    #[test]
    fn literals_are_found_in_any_case_wherever_they_are() {
        let lit = "aws_secret_access_key";
        for text in [
            "aws_secret_access_key",
            "x AWS_SECRET_ACCESS_KEY=1",
            "Aws_Secret_ACCESS_key",
            "__aws_secret_access_key",
        ] {
            assert!(contains_any_case(text, lit), "{text}");
        }
        for text in [
            "",
            "_",
            "aws_secret_access_ke",
            "ws_secret_access_key",
            "aws-secret-access-key",
        ] {
            assert!(!contains_any_case(text, lit), "{text}");
        }
        assert!(contains_any_case("say HeLLo", "hello"));
        assert!(!contains_any_case("hell", "hello"));
    }

    #[test]
    fn values_round_trip_and_other_versions_are_ignored() {
        let f = TextFeatures {
            cues: 0b1010_0101,
            hidden: true,
            secrets: (1 << SECRET_HINTS.len()) - 1,
        };
        assert_eq!(TextFeatures::decode(f.encode()), Some(f));
        assert_eq!(
            TextFeatures::decode(TextFeatures::default().encode()),
            Some(TextFeatures::default())
        );
        let other =
            (f.encode() & !(0xFF << VERSION_SHIFT)) | ((FEATURES_VERSION + 1) << VERSION_SHIFT);
        assert_eq!(TextFeatures::decode(other), None);
        assert_eq!(TextFeatures::decode(0), None, "a zero is no value");
        assert!(CUE_TRIGGERS.len() <= HIDDEN_BIT as usize);
        assert!(SECRET_HINTS.len() <= (VERSION_SHIFT - SECRET_SHIFT) as usize);
    }

    #[test]
    fn features_of_an_output_and_of_a_call() {
        let bit = |cue: &str| 1 << CUE_TRIGGERS.iter().position(|(c, _)| *c == cue).unwrap();
        let out = TextFeatures::of(
            "tool_result",
            Some("IGNORE the above.\u{200B}\u{200B}\u{200B} Token ghp_x"),
            None,
        );
        assert_eq!(out.cues, bit("overrides_prior_instructions"));
        assert!(out.hidden);
        let kind = |k: &str| 1 << SECRET_HINTS.iter().position(|(s, _)| *s == k).unwrap();
        assert_eq!(out.secrets, kind("github_token"));
        // Cues only for tool outputs; secrets from the arguments too, and some hints in any case.
        let call = TextFeatures::of(
            "tool_call",
            Some("ignore; Aws_Secret_ACCESS_key"),
            Some(r#"{"k":"AKIA..."}"#),
        );
        assert_eq!(call.cues, 0);
        assert!(!call.hidden);
        assert_eq!(
            call.secrets,
            kind("aws_access_key_id") | kind("aws_secret_access_key")
        );
    }

    #[test]
    fn hidden_chars_by_lead_byte_equal_decoding_every_char() {
        let text = "plain \u{200B}a\u{202E}b\u{2066}\u{2069}c \u{FEFF} \u{E0041}\u{E007F} curly \u{201C}q\u{201D} \u{2014} \u{EFFF} \u{F3A0}\u{FFFD} \u{1F600} \u{2060}\u{2064}\u{2065}";
        let slow: Vec<(usize, char)> = text
            .char_indices()
            .filter(|(_, c)| hidden_char(*c))
            .collect();
        assert_eq!(hidden_chars(text), slow);
        assert_eq!(slow.len(), 9, "{slow:?}");
        for c in [
            '\u{200B}',
            '\u{200F}',
            '\u{202A}',
            '\u{2069}',
            '\u{FEFF}',
            '\u{E0000}',
            '\u{E007F}',
        ] {
            let t = format!("x{c}y");
            assert_eq!(hidden_chars(&t), vec![(1, c)], "{:X}", c as u32);
        }
    }
}
