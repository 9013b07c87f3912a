use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;
use tracehound_schema::features::{secret_candidates, TextFeatures};

use super::{finding_at, Analysis, Detector};
use crate::finding::{Evidence, Finding, Severity};

/// What it does: finds credentials (cloud keys, API tokens, private keys, JWTs, passwords in URLs) in
/// tool arguments, tool outputs and assistant text, and reports each with a redacted form and a
/// fingerprint (SHA-256 prefix), never the secret itself: the list of credentials to rotate.
///
/// Why it matters: anything in an agent's context can leave through any tool; a key in a log is a key
/// to rotate.
///
/// Example: `read_file` returns a `.env` with `AWS_SECRET_ACCESS_KEY=...`.
///
/// Known false positives: documented example keys (`AKIAIOSFODNN7EXAMPLE`), test fixtures, high-entropy
/// ids that match a token shape.
pub(crate) struct SecretExposed;

/// A secret found in text: where, what kind, its redacted form and fingerprint.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SecretMatch {
    pub kind: &'static str,
    pub start: usize,
    pub end: usize,
    pub redacted: String,
    pub fingerprint: String,
}

/// One kind of credential and its pattern. `features::SECRET_HINTS` lists the same kinds in the same
/// order with the literals one of which every match contains: a text without any cannot match, so the
/// pattern is not run on it.
struct Secret {
    kind: &'static str,
    pattern: &'static str,
}

static SECRETS: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    SECRET_KINDS
        .iter()
        .map(|s| (s.kind, Regex::new(s.pattern).expect("static pattern")))
        .collect()
});

const SECRET_KINDS: &[Secret] = &[
    Secret {
        kind: "aws_access_key_id",
        pattern: r"(?-u:\b)(AKIA|ASIA)[0-9A-Z]{16}(?-u:\b)",
    },
    Secret {
        kind: "aws_secret_access_key",
        pattern: r"(?i)aws_secret_access_key\s*[=:]\s*[A-Za-z0-9/+]{40}",
    },
    Secret {
        kind: "github_token",
        pattern: r"(?-u:\b)gh[pousr]_[A-Za-z0-9]{36,}(?-u:\b)",
    },
    Secret {
        kind: "openai_api_key",
        pattern: r"(?-u:\b)sk-(proj-)?[A-Za-z0-9_-]{32,}(?-u:\b)",
    },
    Secret {
        kind: "anthropic_api_key",
        pattern: r"(?-u:\b)sk-ant-[A-Za-z0-9_-]{32,}(?-u:\b)",
    },
    Secret {
        kind: "slack_token",
        pattern: r"(?-u:\b)xox[abposr]-[A-Za-z0-9-]{10,}(?-u:\b)",
    },
    Secret {
        kind: "stripe_key",
        pattern: r"(?-u:\b)(sk|rk)_live_[A-Za-z0-9]{20,}(?-u:\b)",
    },
    Secret {
        kind: "google_api_key",
        pattern: r"(?-u:\b)AIza[0-9A-Za-z_-]{35}(?-u:\b)",
    },
    Secret {
        kind: "private_key",
        pattern: r"-----BEGIN (RSA |EC |OPENSSH |DSA |PGP )?PRIVATE KEY( BLOCK)?-----",
    },
    Secret {
        kind: "jwt",
        pattern: r"(?-u:\b)eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}(?-u:\b)",
    },
    Secret {
        kind: "password_in_url",
        pattern: r"(?-u:\b)[a-z][a-z0-9+.-]*://[^\s:/@]+:[^\s:/@]{3,}@[^\s/]+",
    },
];

/// Where a PEM private key whose header ends at `header_end` ends: through its `-----END ...-----`
/// line when one follows within 16 KiB, else through the base64 body (newlines, raw or JSON-escaped as
/// `\n`, included), so the key material is redacted with its header, not left after it.
fn private_key_end(text: &str, header_end: usize) -> usize {
    let window = &text[header_end..];
    let limit = window.len().min(16 << 10);
    let mut limit = limit;
    while !window.is_char_boundary(limit) {
        limit -= 1;
    }
    if let Some(at) = window[..limit].find("-----END ") {
        let after = &window[at + 9..];
        if let Some(close) = after.find("-----") {
            if after[..close].contains("PRIVATE KEY") {
                return header_end + at + 9 + close + 5;
            }
        }
    }
    let bytes = window.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'+' | b'/' | b'=' | b' ' | b'\n' | b'\r' => {
                i += 1
            }
            b'\\' if matches!(bytes.get(i + 1), Some(b'n' | b'r')) => i += 2,
            _ => break,
        }
    }
    // Trailing blanks are not key material.
    while i > 0 && matches!(bytes[i - 1], b' ' | b'\n' | b'\r') {
        i -= 1;
    }
    header_end + i
}

/// The candidate bit of `password_in_url` (its index in `SECRET_KINDS`).
const PASSWORD_IN_URL: u32 = 1 << 10;

/// Whether some `://` in `text` is followed by an `@` before any blank or `/`: what every password in
/// a URL has (`scheme://user:pass@host`). Its hint `://` is in nearly every text with a URL, and the
/// pattern's search back and forth from each was most of the secret check; this pass is a memmem and
/// a few bytes per URL. Each scan stops at the next `://` at the latest (it holds a `/`), so the pass
/// is linear.
fn userinfo_after_scheme(text: &str) -> bool {
    let bytes = text.as_bytes();
    memchr::memmem::find_iter(bytes, b"://").any(|at| {
        bytes[at + 3..]
            .iter()
            .take_while(|&&b| !b.is_ascii_whitespace() && b != b'/' && b != b'\x0b')
            .any(|&b| b == b'@')
    })
}

/// Secrets in a text. The documented AWS example key is skipped.
pub fn find_secrets(text: &str) -> Vec<SecretMatch> {
    find_secrets_of(text, secret_candidates(text))
}

/// Secrets in a text, running only the patterns of `candidates` (bit `i` for `SECRETS[i]`): those the
/// text's hint literals allow, from the text or from the features ingest stored.
fn find_secrets_of(text: &str, mut candidates: u32) -> Vec<SecretMatch> {
    use sha2::{Digest, Sha256};
    if candidates & PASSWORD_IN_URL != 0 && !userinfo_after_scheme(text) {
        candidates &= !PASSWORD_IN_URL;
    }
    let mut out = Vec::new();
    let run = SECRETS
        .iter()
        .enumerate()
        .filter(|(i, _)| candidates & (1 << i) != 0)
        .map(|(_, s)| s);
    for (kind, re) in run {
        for m in re.find_iter(text) {
            let end = if *kind == "private_key" {
                private_key_end(text, m.end())
            } else {
                m.end()
            };
            let s = &text[m.start()..end];
            if s.contains("EXAMPLE") {
                continue;
            }
            let fp: String = Sha256::digest(s.as_bytes())[..6]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            let keep: String = s.chars().take(4).collect();
            out.push(SecretMatch {
                kind,
                start: m.start(),
                end,
                redacted: format!(
                    "{keep}…[redacted {} chars]",
                    s.chars().count().saturating_sub(4)
                ),
                fingerprint: fp,
            });
        }
    }
    out.sort_by_key(|m| m.start);
    out
}

/// `text` with every credential replaced by its kind and fingerprint, unless `show` (the user asked to
/// see secrets). What every output of log content goes through.
pub fn redact_secrets(text: &str, show: bool) -> String {
    if show {
        return text.to_string();
    }
    redacted(text).into_owned()
}

/// `text` with every credential replaced by its kind and fingerprint, borrowed when it holds none
/// (nearly always): what a writer of many findings uses, so clean text is not copied.
pub fn redacted(text: &str) -> std::borrow::Cow<'_, str> {
    redacted_as(text, secret_candidates(text))
}

/// [`redacted`], running only the patterns of `candidates`: what `secret_candidates` gives for a text
/// that holds this one (a whole line of output, say), so the hints are searched once for many strings.
/// A pattern whose hint is missing finds nothing, so any superset of the text's own candidates gives
/// the same result.
pub fn redacted_as(text: &str, candidates: u32) -> std::borrow::Cow<'_, str> {
    let found = find_secrets_of(text, candidates);
    if found.is_empty() {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for m in found {
        if m.start < last {
            continue;
        }
        out.push_str(&text[last..m.start]);
        out.push_str(&format!(
            "[{} redacted, fingerprint {}]",
            m.kind, m.fingerprint
        ));
        last = m.end;
    }
    out.push_str(&text[last..]);
    std::borrow::Cow::Owned(out)
}

impl Detector for SecretExposed {
    fn name(&self) -> &'static str {
        "secret_exposed"
    }
    fn summary(&self) -> &'static str {
        "a credential appears in tool arguments, outputs or assistant text"
    }
    fn check(&self, cx: &Analysis<'_>, out: &mut Vec<Finding>) {
        for e in &cx.session.events {
            // Stored features cover content and arguments together: a pattern allowed by either runs
            // on both, and finds only what is there.
            let stored = e.features.and_then(TextFeatures::decode).map(|f| f.secrets);
            for (field, text) in [
                ("content", e.content.as_deref()),
                ("args", e.args.as_deref()),
            ] {
                let Some(text) = text else { continue };
                if !matches!(
                    e.kind.as_str(),
                    "tool_call" | "tool_result" | "assistant_message" | "user_message"
                ) {
                    continue;
                }
                let candidates = stored.unwrap_or_else(|| secret_candidates(text));
                for m in find_secrets_of(text, candidates) {
                    let mut f = finding_at(
                        self.name(),
                        if e.kind == "tool_call" {
                            Severity::Critical
                        } else {
                            Severity::High
                        },
                        e,
                        format!(
                            "{} {} in {} {field} (fingerprint {}): rotate it",
                            m.kind, m.redacted, e.kind, m.fingerprint
                        ),
                        &m.fingerprint,
                    );
                    // The evidence names the span but never carries the secret.
                    f.evidence.push(Evidence {
                        seq: e.seq,
                        field: field.to_string(),
                        start: m.start,
                        end: m.end,
                        label: m.kind.to_string(),
                        text: m.redacted.clone(),
                    });
                    out.push(f);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{find_secrets, SECRETS, SECRET_KINDS};
    use tracehound_schema::features::{secret_candidates, SECRET_HINTS};

    #[test]
    fn every_secret_kind_passes_the_literal_gate() {
        let x = |n: usize| "aB3".repeat(n).chars().take(n).collect::<String>();
        let examples = [
            ("aws_access_key_id", "id ASIAABCDEFGHIJKLMNOP.".to_string()),
            (
                "aws_secret_access_key",
                format!("Aws_Secret_ACCESS_key = {}", x(40)),
            ),
            ("github_token", format!("ghs_{}", x(36))),
            ("openai_api_key", format!("sk-proj-{}", x(32))),
            ("anthropic_api_key", format!("sk-ant-{}", x(32))),
            ("slack_token", "xoxb-1234567890-abc".to_string()),
            ("stripe_key", format!("rk_live_{}", x(20))),
            ("google_api_key", format!("AIza{}", x(35))),
            (
                "private_key",
                "-----BEGIN OPENSSH PRIVATE KEY-----".to_string(),
            ),
            ("jwt", format!("eyJ{}.eyJ{}.{}", x(12), x(12), x(12))),
            (
                "password_in_url",
                "postgres://admin:hunter22@db.internal/x".to_string(),
            ),
        ];
        for (kind, _) in SECRETS.iter() {
            let (_, text) = examples
                .iter()
                .find(|(k, _)| k == kind)
                .unwrap_or_else(|| panic!("no example for {kind}: add one"));
            let i = SECRET_KINDS.iter().position(|s| s.kind == *kind).unwrap();
            assert!(secret_candidates(text) & (1 << i) != 0, "{kind}: {text}");
            assert!(
                find_secrets(text).iter().any(|m| m.kind == *kind),
                "{kind}: {text}"
            );
        }
        // The hint lists name the same kinds in the same order: bit `i` is `SECRETS[i]`.
        let names: Vec<&str> = SECRET_HINTS.iter().map(|(k, _)| *k).collect();
        let kinds: Vec<&str> = SECRET_KINDS.iter().map(|s| s.kind).collect();
        assert_eq!(names, kinds);
        // `secret_candidates` finds one literal per start: none may be a prefix of another (each literal
        // is its own owner: one shared by several kinds is one pattern with several owners).
        let hints: Vec<(&str, &str)> = SECRET_HINTS
            .iter()
            .flat_map(|(_, hints)| hints.iter().map(|h| (*h, *h)))
            .collect();
        assert_eq!(crate::literal::prefix_clash(&hints), None);
        // One literal must not hide another that overlaps it.
        let glued = "sk-----BEGIN PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1L";
        assert!(find_secrets(glued).iter().any(|m| m.kind == "private_key"));
    }

    #[test]
    fn the_url_password_gate_never_skips_a_match() {
        let i = SECRET_KINDS
            .iter()
            .position(|s| s.kind == "password_in_url")
            .unwrap();
        assert_eq!(super::PASSWORD_IN_URL, 1 << i);
        let re = &SECRETS[i].1;
        // Texts shaped like `scheme://user:pass@host`, each part drawn from variants that keep or break
        // a match (blanks of every kind, `/`, `:`, `@`, short passwords): every match must pass the
        // gate.
        // (variants that keep a match, variants that break it), one of the latter a quarter of the time.
        let parts: [(&[&str], &[&str]); 6] = [
            (&["x", "a b", "pg"], &["", "Ab", "1a"]),
            (&["://"], &[":/", "://u@/"]),
            (&["u", "é", "admin"], &["", "a b", "u\x0b", "u/"]),
            (&[":"], &["@", "::"]),
            (
                &["pwd", "hunter", "p+w"],
                &["pw", "p/wd", "p\u{2003}wd", "p\tw", "p\u{a0}wd"],
            ),
            (&["@h", "@é", "@db:5432"], &["@", "h", "@/h", "@ h"]),
        ];
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as usize
        };
        let (mut matched, mut passed, mut total) = (0, 0, 0);
        for _ in 0..5_000 {
            let mut text = String::new();
            for (keep, breaks) in parts {
                let variants = if next() % 4 == 0 { breaks } else { keep };
                text.push_str(variants[next() % variants.len()]);
            }
            let gate = super::userinfo_after_scheme(&text);
            if re.is_match(&text) {
                matched += 1;
                assert!(gate, "{text:?}");
            }
            passed += usize::from(gate);
            total += 1;
        }
        assert!(matched > 100, "the texts exercise the pattern: {matched}");
        assert!(
            passed < total,
            "the gate turns texts away: {passed} of {total}"
        );
        assert!(!super::userinfo_after_scheme("see https://example.com/a@b"));
        assert!(super::userinfo_after_scheme(
            "x postgres://admin:hunter22@db"
        ));
    }

    #[test]
    fn secrets_are_found_redacted_and_fingerprinted() {
        let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1L\nfVLPHCozMx==\n-----END RSA PRIVATE KEY----- after";
        let m = &find_secrets(pem)[0];
        assert_eq!(&pem[m.end..], " after");
        let escaped =
            r#"{"body":"-----BEGIN PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1L\nfVLPHCozMx"}"#;
        let m = &find_secrets(escaped)[0];
        assert_eq!(&escaped[m.end..], "\"}");
        let text = "key=AKIAZ7QF3EXAMPLX1234 and ghp_0123456789abcdefghijABCDEFGHIJ012345 but not AKIAIOSFODNN7EXAMPLE";
        let found = find_secrets(text);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].kind, "aws_access_key_id");
        assert!(!found[0].redacted.contains("Z7QF3EXAMPLX1234"));
        assert_eq!(found[0].fingerprint.len(), 12);
    }
}
