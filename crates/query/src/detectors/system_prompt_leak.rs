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
        let index = WindowIndex::new(&windows);
        for e in &cx.session.events {
            let (field, text) = match e.kind.as_str() {
                "assistant_message" => ("content", e.content.as_deref()),
                "tool_call" => ("args", e.args.as_deref()),
                _ => continue,
            };
            let Some(text) = text else { continue };
            let hit = index.first_window(text.as_bytes());
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

/// The prompt windows, found in a text by their first 8 bytes: one pass over the text hashes the 8
/// bytes at each position, a bit set rules out almost every position, and the windows starting with
/// the same hash are compared there in full. It replaced one memmem finder per window and text: a
/// session's texts were each searched a few hundred times, and building the finders alone was 4 % of a
/// scan (a filter in front of them still let most texts through, their 8-grams being common English).
struct WindowIndex<'a> {
    windows: &'a [&'a [u8]],
    bits: Vec<u64>,
    /// (hash slot, window) for every window, sorted: the windows to compare at a position whose slot
    /// is set.
    slots: Vec<(u32, u32)>,
    /// The shortest window: a shorter text holds none.
    shortest: usize,
}

/// Bits in the set: windows per session are prompt bytes / (n/2), a few hundred at most, so a random
/// position passes with a probability of a few percent at most.
const FILTER_BITS: u32 = 14;

impl<'a> WindowIndex<'a> {
    fn new(windows: &'a [&'a [u8]]) -> WindowIndex<'a> {
        let mut bits = vec![0u64; 1 << (FILTER_BITS - 6)];
        let mut slots = Vec::with_capacity(windows.len());
        for (i, w) in windows.iter().enumerate() {
            // Windows are at least 14 bytes: n >= 20, less at most three bytes of a cut character at
            // either end.
            let slot = Self::slot(&w[..8]);
            bits[slot >> 6] |= 1 << (slot & 63);
            slots.push((slot as u32, i as u32));
        }
        slots.sort_unstable();
        WindowIndex {
            windows,
            bits,
            slots,
            shortest: windows.iter().map(|w| w.len()).min().unwrap_or(usize::MAX),
        }
    }

    fn slot(gram: &[u8]) -> usize {
        let gram = u64::from_le_bytes(gram.try_into().expect("8 bytes"));
        (gram.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - FILTER_BITS)) as usize
    }

    /// The first window, in window order, that occurs in `text`, as (its first position, its length):
    /// what searching the text for each window in turn finds.
    fn first_window(&self, text: &[u8]) -> Option<(usize, usize)> {
        if text.len() < self.shortest {
            return None;
        }
        let mut best: Option<(u32, usize)> = None;
        for (pos, gram) in text.windows(8).enumerate() {
            let slot = Self::slot(gram);
            if self.bits[slot >> 6] & (1 << (slot & 63)) == 0 {
                continue;
            }
            let from = self.slots.partition_point(|&(s, _)| s < slot as u32);
            for &(s, i) in &self.slots[from..] {
                if s != slot as u32 {
                    break;
                }
                // Positions come in order, so a window's first match is its earliest; only a window
                // earlier in order than the best so far can replace it.
                if best.is_some_and(|(b, _)| b <= i) {
                    continue;
                }
                if text[pos..].starts_with(self.windows[i as usize]) {
                    best = Some((i, pos));
                }
            }
            if best.is_some_and(|(b, _)| b == 0) {
                break;
            }
        }
        best.map(|(i, pos)| (pos, self.windows[i as usize].len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the index must equal: each window searched for in turn.
    fn one_finder_per_window(windows: &[&[u8]], text: &[u8]) -> Option<(usize, usize)> {
        windows
            .iter()
            .find_map(|w| memchr::memmem::find(text, w).map(|pos| (pos, w.len())))
    }

    #[test]
    fn the_window_index_finds_what_one_finder_per_window_finds() {
        let prompt =
            "You are Atlas, the internal HR assistant of Corp. Never reveal salary bands, \
             and answer only questions about leave policy and benefits enrolment. Naïve \
             café rules apply to every request you see from the staff of the company.";
        let windows: Vec<&[u8]> = prompt
            .as_bytes()
            .chunks(40)
            .filter(|w| w.len() >= 17)
            .collect();
        let index = WindowIndex::new(&windows);
        let mut texts: Vec<Vec<u8>> = vec![
            b"I help with leave questions and benefits, nothing more.".to_vec(),
            b"You are Atl".to_vec(),
            Vec::new(),
            prompt.as_bytes().to_vec(),
        ];
        for (i, w) in windows.iter().enumerate() {
            // Each window alone, inside other text, and after a later window so that the earlier
            // window in order wins though it comes second in the text.
            texts.push(w.to_vec());
            let mut inside = b"My instructions say: ".to_vec();
            inside.extend_from_slice(w);
            inside.extend_from_slice(b" and so on.");
            texts.push(inside);
            if let Some(later) = windows.get(i + 1) {
                let mut both = later.to_vec();
                both.extend_from_slice(b" / ");
                both.extend_from_slice(w);
                both.extend_from_slice(w);
                texts.push(both);
            }
            // A window cut short by one byte is no window.
            texts.push(w[..w.len() - 1].to_vec());
        }
        for text in &texts {
            assert_eq!(
                index.first_window(text),
                one_finder_per_window(&windows, text),
                "{:?}",
                String::from_utf8_lossy(text)
            );
        }
        assert_eq!(
            index.first_window(b"I help with leave questions and benefits."),
            None
        );
        assert_eq!(
            index.first_window(prompt.as_bytes()),
            Some((0, windows[0].len()))
        );
        // No prompt, no window.
        assert_eq!(WindowIndex::new(&[]).first_window(prompt.as_bytes()), None);
    }
}
