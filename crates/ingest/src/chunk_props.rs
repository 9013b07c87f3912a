//! Property tests of the chunkers: cutting a file anywhere (any chunk size, any read sizes of the
//! underlying stream) and parsing the parts gives exactly what parsing the whole file gives: the same
//! events with the same lines, offsets and `seq`, the same rejects, the same counts.

use std::io::Read;

use proptest::prelude::*;
use tracehound_schema::SourceFormat;

use crate::formats::FileCtx;
use crate::input::{chunk_ranges, Job, JobData, StreamChunks};
use crate::pipeline::{parse_job, JobOut, Sequencer};
use crate::Limits;

/// What a parse of one file produced, in order.
#[derive(Debug, PartialEq)]
struct Parsed {
    events: Vec<tracehound_schema::Event>,
    rejects: Vec<crate::Reject>,
    lines: u64,
    records: u64,
    blank_lines: u64,
    bytes: u64,
}

const MAX_LINE: usize = 300;

fn limits() -> Limits {
    Limits {
        max_line: MAX_LINE,
        max_depth: 8,
        ..Limits::default()
    }
}

fn parse(jobs: impl IntoIterator<Item = Job>) -> Parsed {
    let ctx = FileCtx {
        stem: "file".into(),
        session: None,
    };
    let mut seq = Sequencer::default();
    let mut p = Parsed {
        events: Vec::new(),
        rejects: Vec::new(),
        lines: 0,
        records: 0,
        blank_lines: 0,
        bytes: 0,
    };
    for job in jobs {
        let mut out: JobOut = parse_job(&job, SourceFormat::FlatJsonl, &ctx, "f.jsonl", &limits());
        seq.apply(&mut out);
        p.events.append(&mut out.events);
        p.rejects.append(&mut out.rejects);
        p.lines += out.lines;
        p.records += out.records;
        p.blank_lines += out.blank_lines;
        p.bytes += out.bytes;
    }
    p
}

fn whole(bytes: &[u8]) -> Parsed {
    parse([Job {
        input: 0,
        data: JobData::Owned(bytes.to_vec()),
        base_offset: 0,
        document: false,
        trailing_error: None,
        error_excerpt: Vec::new(),
    }])
}

/// A stream that hands out its bytes in the given read sizes, cycling through them.
struct Trickle {
    bytes: Vec<u8>,
    pos: usize,
    sizes: Vec<usize>,
    n: usize,
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let want = self.sizes[self.n % self.sizes.len()];
        self.n += 1;
        let k = want.min(buf.len()).min(self.bytes.len() - self.pos);
        buf[..k].copy_from_slice(&self.bytes[self.pos..self.pos + k]);
        self.pos += k;
        Ok(k)
    }
}

/// One line of a hostile file: valid events of a few sessions, blank and whitespace lines, CRLF
/// endings, malformed JSON, invalid UTF-8, records nested too deep, and lines over `MAX_LINE`.
fn line() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => (0..3u8, "[a-zé ]{0,40}").prop_map(|(s, text)| format!(
            "{{\"session_id\":\"s{s}\",\"event\":\"user_message\",\"content\":\"{text}\"}}"
        ).into_bytes()),
        1 => Just(Vec::new()),
        1 => Just(b"   \t".to_vec()),
        1 => Just(b"{\"session_id\":\"s1\",\"event\":\"tool_call\",\"tool\":\"x\"}\r".to_vec()),
        1 => Just(b"{not json".to_vec()),
        1 => Just(b"{\"session_id\":\"s2\",\"content\":\"\xff\xfe\"}".to_vec()),
        1 => Just(format!("{{\"session_id\":\"s0\",\"a\":{}{}}}", "[".repeat(12), "]".repeat(12)).into_bytes()),
        1 => (MAX_LINE - 10..MAX_LINE + 40).prop_map(|n| format!(
            "{{\"session_id\":\"s1\",\"event\":\"user_message\",\"content\":\"{}\"}}", "y".repeat(n)
        ).into_bytes()),
    ]
}

fn file() -> impl Strategy<Value = Vec<u8>> {
    (prop::collection::vec(line(), 0..40), any::<bool>()).prop_map(|(lines, trailing_newline)| {
        let mut bytes = lines.join(&b'\n');
        if trailing_newline && !bytes.is_empty() {
            bytes.push(b'\n');
        }
        bytes
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn mapped_chunks_of_any_size_parse_as_the_whole(bytes in file(), chunk in 1usize..400) {
        let ranges = chunk_ranges(&bytes, chunk);
        // The ranges tile the file, and every cut is just after a newline.
        let mut at = 0;
        for r in &ranges {
            prop_assert_eq!(r.start, at);
            prop_assert!(r.end > r.start);
            if r.end < bytes.len() {
                prop_assert_eq!(bytes[r.end - 1], b'\n');
            }
            at = r.end;
        }
        prop_assert_eq!(at, bytes.len());
        let jobs = ranges.into_iter().map(|r| Job {
            input: 0,
            base_offset: r.start as u64,
            data: JobData::Owned(bytes[r].to_vec()),
            document: false,
            trailing_error: None,
            error_excerpt: Vec::new(),
        });
        prop_assert_eq!(parse(jobs), whole(&bytes));
    }

    #[test]
    fn streamed_chunks_of_any_read_sizes_parse_as_the_whole(
        bytes in file(),
        chunk in 1usize..400,
        sizes in prop::collection::vec(1usize..97, 1..8),
    ) {
        let stream = Trickle { bytes: bytes.clone(), pos: 0, sizes, n: 0 };
        let jobs: Vec<Job> =
            StreamChunks::with_chunk_bytes(0, Box::new(stream), MAX_LINE, chunk).collect();
        let mut streamed = parse(jobs);
        let mut expected = whole(&bytes);
        // A streamed line over the limit is never buffered whole: its reject carries the line's
        // first bytes, and the chunk holding its place counts only those. Everything else is equal.
        prop_assert_eq!(streamed.events.len(), expected.events.len());
        prop_assert_eq!(&streamed.events, &expected.events);
        prop_assert_eq!(streamed.rejects.len(), expected.rejects.len());
        for (s, w) in streamed.rejects.iter_mut().zip(expected.rejects.iter_mut()) {
            prop_assert_eq!((&s.file, s.line, s.offset, &s.reason), (&w.file, w.line, w.offset, &w.reason));
            prop_assert!(w.excerpt.starts_with(&s.excerpt) || s.excerpt.starts_with(&w.excerpt));
        }
        prop_assert_eq!(
            (streamed.lines, streamed.records, streamed.blank_lines),
            (expected.lines, expected.records, expected.blank_lines)
        );
    }
}
