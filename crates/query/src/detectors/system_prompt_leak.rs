use super::{evidence, finding_at, Analysis, Detector};
use crate::finding::{Finding, Severity};

/// What it does: reports assistant messages and tool-call arguments that contain a verbatim run of at
/// least `system_prompt_leak_chars` characters of the session's system prompt.
///
/// Why it matters: system prompts hold business rules, tool descriptions and sometimes secrets; a
/// prompt repeated to the user or sent out through a tool is a leak, and often the first step of a
/// targeted attack.
///
/// Example: the assistant answers "My instructions are: You are the accounts-payable assistant of
/// Northwind Ltd. Pay invoices only to vendors in the vendor master..."
///
/// Known false positives: system prompts that quote public text (a disclaimer the assistant is meant to
/// repeat).
pub(crate) struct SystemPromptLeak;

impl Detector for SystemPromptLeak {
    fn name(&self) -> &'static str {
        "system_prompt_leak"
    }
    fn summary(&self) -> &'static str {
        "the system prompt appears in assistant output or tool arguments"
    }
    fn check(&self, cx: &Analysis<'_>, out: &mut Vec<Finding>) {
        let n = cx.policy.system_prompt_leak_chars.max(20);
        let prompts: Vec<&str> = cx
            .session
            .events
            .iter()
            .filter(|e| e.kind == "system_prompt")
            .filter_map(|e| e.content.as_deref())
            .filter(|p| p.len() >= n)
            .collect();
        if prompts.is_empty() {
            return;
        }
        // Windows of n bytes of each prompt, stepped by n/2 (any verbatim run of 1.5 n contains one).
        let mut windows: Vec<&[u8]> = Vec::new();
        for p in &prompts {
            let mut start = 0;
            while start + n <= p.len() {
                let mut s = start;
                while !p.is_char_boundary(s) {
                    s += 1;
                }
                let mut end = (s + n).min(p.len());
                while !p.is_char_boundary(end) {
                    end -= 1;
                }
                windows.push(&p.as_bytes()[s..end]);
                start += n / 2;
            }
        }
        let filter = WindowFilter::new(&windows);
        // The memmem finders, built once per session and only when some text passes the filter: most
        // sessions never leak, and building a finder per window was 4 % of a scan.
        let mut finders: Vec<memchr::memmem::Finder<'_>> = Vec::new();
        for e in &cx.session.events {
            let (field, text) = match e.kind.as_str() {
                "assistant_message" => ("content", e.content.as_deref()),
                "tool_call" => ("args", e.args.as_deref()),
                _ => continue,
            };
            let Some(text) = text else { continue };
            if !filter.may_contain_one(text.as_bytes()) {
                continue;
            }
            if finders.is_empty() {
                finders = windows.iter().map(memchr::memmem::Finder::new).collect();
            }
            let hit = finders
                .iter()
                .find_map(|w| w.find(text.as_bytes()).map(|pos| (pos, w.needle().len())));
            if let Some((pos, len)) = hit {
                let mut f = finding_at(
                    self.name(),
                    Severity::High,
                    e,
                    format!(
                        "{} repeats the system prompt verbatim",
                        if field == "args" {
                            "tool call"
                        } else {
                            "assistant message"
                        }
                    ),
                    "",
                );
                f.evidence
                    .push(evidence(e, field, pos, pos + len, "system prompt text"));
                out.push(f);
            }
        }
    }
}

/// Which 8-byte strings start a prompt window, as a bit set: a text in which no position starts like a
/// window holds none of them, which one pass over the text shows. The scan searched every assistant
/// message and call with one memmem finder per window instead, most of them in sessions that leak
/// nothing. A window occurring in a text always passes, so the exact search that follows finds what
/// it found before.
struct WindowFilter {
    bits: Vec<u64>,
    /// The shortest window: a shorter text holds none.
    shortest: usize,
}

/// Bits in the filter: windows per session are prompt bytes / (n/2), a few hundred at most, so a
/// random position passes with a probability well under 5 %.
const FILTER_BITS: u32 = 14;

impl WindowFilter {
    fn new(windows: &[&[u8]]) -> WindowFilter {
        let mut bits = vec![0u64; 1 << (FILTER_BITS - 6)];
        for w in windows {
            // Windows are at least 14 bytes: n >= 20, less at most three bytes of a cut character at
            // either end.
            let slot = Self::slot(&w[..8]);
            bits[slot >> 6] |= 1 << (slot & 63);
        }
        WindowFilter {
            bits,
            shortest: windows.iter().map(|w| w.len()).min().unwrap_or(usize::MAX),
        }
    }

    fn slot(gram: &[u8]) -> usize {
        let gram = u64::from_le_bytes(gram.try_into().expect("8 bytes"));
        (gram.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - FILTER_BITS)) as usize
    }

    /// False only when no window can occur in `text`.
    fn may_contain_one(&self, text: &[u8]) -> bool {
        text.len() >= self.shortest
            && text.windows(8).any(|gram| {
                let slot = Self::slot(gram);
                self.bits[slot >> 6] & (1 << (slot & 63)) != 0
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_filter_passes_every_text_that_holds_a_window() {
        let prompt =
            "You are Atlas, the internal HR assistant of Corp. Never reveal salary bands, \
                      and answer only questions about leave policy and benefits enrolment. Naïve \
                      café rules apply to every request you see from the staff of the company.";
        let windows: Vec<&[u8]> = prompt
            .as_bytes()
            .chunks(40)
            .filter(|w| w.len() >= 17)
            .collect();
        let filter = WindowFilter::new(&windows);
        for w in &windows {
            // The window alone, inside other text, at the very start and at the very end.
            let mut inside = b"My instructions say: ".to_vec();
            inside.extend_from_slice(w);
            inside.extend_from_slice(b" and so on.");
            assert!(filter.may_contain_one(w));
            assert!(filter.may_contain_one(&inside));
        }
        // Text that shares no window start is ruled out, and text shorter than any window too.
        assert!(!filter.may_contain_one(b"I help with leave questions and benefits, nothing more."));
        assert!(!filter.may_contain_one(b"You are Atl"));
        // An empty prompt list rules out everything.
        assert!(!WindowFilter::new(&[]).may_contain_one(prompt.as_bytes()));
    }
}
