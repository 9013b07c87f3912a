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
        // Windows of n bytes of each prompt, stepped by n/2 (any verbatim run of 1.5 n contains one),
        // each a memmem finder built once per session rather than once per message.
        let mut windows: Vec<memchr::memmem::Finder<'_>> = Vec::new();
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
                windows.push(memchr::memmem::Finder::new(&p.as_bytes()[s..end]));
                start += n / 2;
            }
        }
        for e in &cx.session.events {
            let (field, text) = match e.kind.as_str() {
                "assistant_message" => ("content", e.content.as_deref()),
                "tool_call" => ("args", e.args.as_deref()),
                _ => continue,
            };
            let Some(text) = text else { continue };
            let hit = windows
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
