//! Parsing jobs in parallel, then the cheap sequential fix-ups that need order (line numbers, byte
//! offsets, per-session `seq`), then batch building in parallel again.

use std::collections::HashMap;

use tracehound_schema::Event;

use crate::formats::{self, FileCtx};
use crate::input::Job;
use crate::json;
use crate::{Limits, Reject};

/// What one job produced. Line numbers and offsets are local to the job until fixed up.
pub(crate) struct JobOut {
    pub(crate) input: usize,
    pub(crate) events: Vec<Event>,
    pub(crate) rejects: Vec<Reject>,
    pub(crate) lines: u64,
    pub(crate) records: u64,
    pub(crate) records_with_events: u64,
    pub(crate) blank_lines: u64,
    pub(crate) bytes: u64,
    pub(crate) base_offset: u64,
    pub(crate) document: bool,
}

thread_local! {
    // One scratch buffer and one simd-json buffer set per worker, reused across lines (STYLE 18).
    static SCRATCH: std::cell::RefCell<(Vec<u8>, simd_json::Buffers)> =
        std::cell::RefCell::new((Vec::new(), simd_json::Buffers::default()));
}

pub(crate) fn parse_job(
    job: &Job,
    format: tracehound_schema::SourceFormat,
    ctx: &FileCtx,
    file_name: &str,
    limits: &Limits,
) -> JobOut {
    let adapter = formats::by_id(format);
    let bytes = job.data.bytes();
    let mut out = JobOut {
        input: job.input,
        events: Vec::new(),
        rejects: Vec::new(),
        lines: 0,
        records: 0,
        records_with_events: 0,
        blank_lines: 0,
        bytes: bytes.len() as u64,
        base_offset: job.base_offset,
        document: job.document,
    };
    let reject = |out: &mut JobOut, line: Option<u64>, offset: u64, reason: String, raw: &[u8]| {
        out.rejects.push(Reject {
            file: file_name.to_string(),
            line,
            offset,
            reason,
            excerpt: crate::excerpt(raw),
        });
    };
    SCRATCH.with(|cell| {
        let (scratch, buffers) = &mut *cell.borrow_mut();
        let mut convert = |out: &mut JobOut, raw: &[u8], line: Option<u64>, offset: u64| {
            out.records += 1;
            if raw.len() > limits.max_line && !job.document {
                let reason = format!(
                    "line longer than the limit of {} bytes (--max-line)",
                    limits.max_line
                );
                reject(out, line, offset, reason, raw);
                return;
            }
            if json::nesting_exceeds(raw, limits.max_depth) {
                let reason = format!(
                    "JSON nested deeper than {} levels (--max-depth)",
                    limits.max_depth
                );
                reject(out, line, offset, reason, raw);
                return;
            }
            scratch.clear();
            scratch.extend_from_slice(raw);
            let value = match simd_json::to_borrowed_value_with_buffers(scratch, buffers) {
                Ok(v) => v,
                Err(e) => {
                    let reason = match std::str::from_utf8(raw) {
                        Err(u) => {
                            format!("invalid UTF-8 at byte {} of the record", u.valid_up_to())
                        }
                        Ok(_) => format!("malformed JSON: {e}"),
                    };
                    reject(out, line, offset, reason, raw);
                    return;
                }
            };
            let before = out.events.len();
            match adapter.convert(value, ctx, &mut out.events) {
                Ok(()) => {
                    for e in &mut out.events[before..] {
                        // An empty id is no id (AgentDojo writes `tool_call_id: ""`): left empty it
                        // would pair every id-less result with every id-less call.
                        for id in [
                            &mut e.call_id,
                            &mut e.event_id,
                            &mut e.parent_id,
                            &mut e.message_id,
                        ] {
                            if id.as_deref().is_some_and(|s| s.trim().is_empty()) {
                                *id = None;
                            }
                        }
                        if e.call_id.is_none()
                            && e.link_method == Some(tracehound_schema::LinkMethod::ExplicitId)
                        {
                            e.link_method = None;
                        }
                        e.source_line = line;
                        e.source_offset = offset;
                        if e.session_id.is_empty() {
                            e.session_id = ctx.session().to_string();
                        }
                    }
                    if out.events.len() > before {
                        out.records_with_events += 1;
                    } else {
                        // Parsed, but nothing in it this format turns into an event: a reject, so
                        // the record is accounted for and findable, never silently dropped.
                        let reason = format!(
                            "valid JSON, but nothing in it makes an event of the `{}` format",
                            format.as_str()
                        );
                        reject(out, line, offset, reason, raw);
                    }
                }
                Err(reason) => {
                    out.events.truncate(before);
                    reject(out, line, offset, reason, raw);
                }
            }
        };
        if job.document {
            convert(&mut out, bytes, None, 0);
            return;
        }
        let mut pos = 0usize;
        while pos < bytes.len() {
            let end = memchr::memchr(b'\n', &bytes[pos..]).map_or(bytes.len(), |i| pos + i);
            out.lines += 1;
            let mut line = &bytes[pos..end];
            if line.last() == Some(&b'\r') {
                line = &line[..line.len() - 1];
            }
            if line.iter().all(u8::is_ascii_whitespace) {
                out.blank_lines += 1;
            } else {
                let line_no = out.lines;
                convert(&mut out, line, Some(line_no), pos as u64);
            }
            pos = end + 1;
        }
    });
    if let Some(reason) = &job.trailing_error {
        out.records += 1;
        reject(
            &mut out,
            None,
            bytes.len() as u64,
            reason.clone(),
            &job.error_excerpt,
        );
    }
    out
}

/// Order-dependent fix-ups, applied to job outputs in input order: absolute line numbers and offsets,
/// and `seq`, the position of each event in its session as the sources had it.
#[derive(Default)]
pub(crate) struct Sequencer {
    lines_before: HashMap<usize, u64>,
    next_seq: HashMap<String, u32>,
}

impl Sequencer {
    pub(crate) fn apply(&mut self, out: &mut JobOut) {
        let line_base = *self.lines_before.get(&out.input).unwrap_or(&0);
        for e in &mut out.events {
            if !out.document {
                e.source_line = e.source_line.map(|l| l + line_base);
                e.source_offset += out.base_offset;
            }
            let next = match self.next_seq.get_mut(e.session_id.as_str()) {
                Some(n) => n,
                None => self.next_seq.entry(e.session_id.clone()).or_insert(0),
            };
            e.seq = *next;
            *next = next.saturating_add(1);
        }
        for r in &mut out.rejects {
            r.line = r.line.map(|l| l + line_base);
            r.offset += out.base_offset;
        }
        *self.lines_before.entry(out.input).or_insert(0) += out.lines;
    }

    pub(crate) fn sessions(&self) -> usize {
        self.next_seq.len()
    }
}
