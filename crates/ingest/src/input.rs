//! Finding inputs, opening them (plain, gzip, zstd), detecting their format, and cutting them into
//! jobs: newline-aligned chunks of line formats, or whole documents.

use std::fs::File;
use std::io::{self, Read};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use memmap2::Mmap;
use tracehound_schema::SourceFormat;

use crate::error::IngestError;
use crate::formats::{self, FileCtx, Format};
use crate::json::{self, Value};
use crate::Limits;

/// Target size of one line-format chunk: large enough that per-chunk overhead (a batch per bucket) is
/// noise, small enough that a window of `2 x threads` chunks stays a few tens of MiB.
pub(crate) const CHUNK_BYTES: usize = 4 << 20;
/// How much of a file detection reads.
const SNIFF_BYTES: usize = 1 << 20;
const SNIFF_LINES: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub(crate) fn name(self) -> Option<&'static str> {
        match self {
            Compression::None => None,
            Compression::Gzip => Some("gzip"),
            Compression::Zstd => Some("zstd"),
        }
    }
}

/// One input file.
#[derive(Debug, Clone)]
pub(crate) struct Input {
    pub(crate) path: PathBuf,
    /// The path as recorded in the store (`source_file`): as given on the command line, joined with
    /// the relative path below a given directory.
    pub(crate) name: String,
    pub(crate) size: u64,
    pub(crate) compression: Compression,
}

/// A path that could not be read, and why.
pub(crate) type Unreadable = (String, String);

/// Expands files and directories (recursively, sorted, so runs are deterministic) into inputs.
/// Unreadable entries are returned as `(path, reason)` so they are reported, not silently dropped.
pub(crate) fn discover(paths: &[PathBuf]) -> Result<(Vec<Input>, Vec<Unreadable>), IngestError> {
    let mut inputs = Vec::new();
    let mut unreadable = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path)
            .map_err(|_| IngestError::MissingInput { path: path.clone() })?;
        if meta.is_dir() {
            walk(path, &mut inputs, &mut unreadable);
        } else {
            push_file(path, meta.len(), &mut inputs, &mut unreadable);
        }
    }
    Ok((inputs, unreadable))
}

fn walk(dir: &Path, inputs: &mut Vec<Input>, unreadable: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(Result::ok).map(|e| e.path()).collect(),
        Err(e) => {
            unreadable.push((
                dir.display().to_string(),
                format!("cannot list directory: {e}"),
            ));
            return;
        }
    };
    // Files before subdirectories, each sorted: a Claude Code session's `<id>.jsonl` must come before
    // its `<id>/subagents/` (plain path order puts the directory, a prefix, first), so the main agent's
    // events are numbered first and sub-agents continue the session after them.
    entries.sort_by_cached_key(|p| (p.is_dir(), p.clone()));
    for path in entries {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') {
            continue;
        }
        match std::fs::metadata(&path) {
            Ok(m) if m.is_dir() => walk(&path, inputs, unreadable),
            Ok(m) if m.is_file() => push_file(&path, m.len(), inputs, unreadable),
            Ok(_) => {}
            Err(e) => unreadable.push((path.display().to_string(), format!("cannot stat: {e}"))),
        }
    }
}

fn push_file(
    path: &Path,
    size: u64,
    inputs: &mut Vec<Input>,
    unreadable: &mut Vec<(String, String)>,
) {
    let mut magic = [0u8; 4];
    let compression = match File::open(path).and_then(|mut f| read_up_to(&mut f, &mut magic)) {
        Ok(n) if n >= 2 && magic[..2] == [0x1f, 0x8b] => Compression::Gzip,
        Ok(4) if magic == [0x28, 0xb5, 0x2f, 0xfd] => Compression::Zstd,
        Ok(_) => Compression::None,
        Err(e) => {
            unreadable.push((path.display().to_string(), format!("cannot open: {e}")));
            return;
        }
    };
    inputs.push(Input {
        path: path.to_path_buf(),
        name: path.display().to_string(),
        size,
        compression,
    });
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// A reader that fails once more than `limit` bytes came out of it: the guard against decompression
/// bombs.
struct Limited<R> {
    inner: R,
    left: u64,
    limit: u64,
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            // At the limit: fine if the stream ends here, an error if it has more.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(io::Error::other(format!(
                    "decompressed size exceeds the limit of {} bytes (--max-decompressed)",
                    self.limit
                ))),
            };
        }
        let cap = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..cap])?;
        self.left -= n as u64;
        Ok(n)
    }
}

/// Opens the decompressed byte stream of an input.
pub(crate) fn open_stream(input: &Input, limits: &Limits) -> io::Result<Box<dyn Read + Send>> {
    let file = io::BufReader::with_capacity(1 << 16, File::open(&input.path)?);
    let inner = decoder(file, input.compression)?;
    Ok(Box::new(Limited {
        inner,
        left: limits.max_decompressed,
        limit: limits.max_decompressed,
    }))
}

/// The decompressed stream of `raw`.
pub(crate) fn decoder<R: io::BufRead + Send + 'static>(
    raw: R,
    compression: Compression,
) -> io::Result<Box<dyn Read + Send>> {
    Ok(match compression {
        Compression::None => Box::new(raw),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(raw)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(raw)?),
    })
}

/// What detection decided for a file.
#[derive(Debug, Clone)]
pub(crate) enum Detected {
    /// No bytes, or only whitespace.
    Empty,
    /// JSONL: one record per line.
    Lines { format: SourceFormat, ctx: FileCtx },
    /// One JSON document, already read.
    Document {
        format: SourceFormat,
        ctx: FileCtx,
        bytes: Vec<u8>,
    },
    /// Not a format tracehound knows; the reason says what was seen.
    Unknown { reason: String, excerpt: Vec<u8> },
}

pub(crate) fn file_stem(path: &Path) -> String {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("unknown");
    let mut stem = name;
    for ext in [
        ".gz", ".zst", ".zstd", ".jsonl", ".ndjson", ".json", ".log", ".txt",
    ] {
        if let Some(s) = stem.strip_suffix(ext) {
            stem = s;
        }
    }
    stem.to_string()
}

/// Reads the head of an input and decides its format (or takes `forced`).
pub(crate) fn detect(
    input: &Input,
    forced: Option<SourceFormat>,
    limits: &Limits,
) -> io::Result<Detected> {
    let mut stream = open_stream(input, limits)?;
    // Read what can be read: a truncated or corrupt stream is still detected from its good start, and
    // the job that reads it reports the failure at its offset.
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    let mut read_error = None;
    let mut buf = vec![0u8; 1 << 16];
    while head.len() < SNIFF_BYTES {
        match stream.read(&mut buf[..(SNIFF_BYTES - head.len()).min(1 << 16)]) {
            Ok(0) => break,
            Ok(k) => head.extend_from_slice(&buf[..k]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                read_error = Some(e);
                break;
            }
        }
    }
    let n = head.len();
    if n == 0 {
        if let Some(e) = read_error {
            return Ok(Detected::Unknown {
                reason: format!("cannot read: {e}"),
                excerpt: Vec::new(),
            });
        }
    }
    // A failed read ends the input early; treat what was read as complete for sniffing.
    let complete = read_error.is_some() || n < SNIFF_BYTES;
    let ctx = FileCtx {
        stem: file_stem(&input.path),
        session: None,
    };
    let Some(start) = head.iter().position(|b| !b.is_ascii_whitespace()) else {
        return Ok(Detected::Empty);
    };
    if head[..n.min(8192)].contains(&0) {
        return Ok(unknown("binary data (NUL bytes), not a JSON log", &head));
    }
    if !matches!(head[start], b'{' | b'[') {
        return Ok(unknown("does not start with a JSON object or array", &head));
    }

    // Is the first line a whole JSON value? Then this is JSONL (a one-line document is a one-record
    // JSONL file: the same events either way).
    let first_line_end = memchr::memchr(b'\n', &head[start..]).map(|i| start + i);
    let first_line_complete = first_line_end.is_some() || complete;
    let mut first = head[start..first_line_end.unwrap_or(n)].to_vec();
    let first_is_value =
        first_line_complete && !json::nesting_exceeds(&first, limits.max_depth) && {
            let mut scratch = first.clone();
            let ok = simd_json::to_borrowed_value(&mut scratch).is_ok();
            ok
        };
    if first_is_value {
        let mut samples = Vec::new();
        for line in head[start..].split(|&b| b == b'\n').take(SNIFF_LINES) {
            let mut line = line.to_vec();
            if line.iter().all(u8::is_ascii_whitespace)
                || json::nesting_exceeds(&line, limits.max_depth)
            {
                continue;
            }
            let parsed = simd_json::to_borrowed_value(&mut line).map(|v| v.into_static());
            if let Ok(v) = parsed {
                samples.push(v);
            }
        }
        let format = match forced {
            Some(f) => Some(formats::by_id(f)),
            None => best_format(&samples),
        };
        let Some(format) = format else {
            return Ok(unknown(
                "JSON lines, but no known agent-log format matches them (use --format to force one)",
                &head,
            ));
        };
        let session = samples.iter().find_map(|s| format.file_session(s));
        return Ok(Detected::Lines {
            format: format.id(),
            ctx: FileCtx { session, ..ctx },
        });
    }

    // A multi-line document: read it whole, within the limit.
    let mut bytes = head;
    if let Some(e) = read_error {
        return Ok(unknown(&format!("truncated or corrupt input: {e}"), &bytes));
    }
    if n == SNIFF_BYTES {
        let cap = limits.max_document.saturating_sub(bytes.len() as u64);
        let mut limited = (&mut stream).take(cap + 1);
        if let Err(e) = limited.read_to_end(&mut bytes) {
            return Ok(unknown(&format!("cannot read: {e}"), &bytes));
        }
        if bytes.len() as u64 > limits.max_document {
            return Ok(unknown(
                &format!(
                    "a JSON document larger than the limit of {} bytes (--max-document)",
                    limits.max_document
                ),
                &bytes,
            ));
        }
    }
    first.clear();
    if json::nesting_exceeds(&bytes, limits.max_depth) {
        return Ok(unknown(
            &format!(
                "JSON nested deeper than {} levels (--max-depth)",
                limits.max_depth
            ),
            &bytes,
        ));
    }
    let mut scratch = bytes.clone();
    let value = match simd_json::to_borrowed_value(&mut scratch) {
        Ok(v) => v,
        Err(e) => return Ok(unknown(&format!("not valid JSON or JSONL: {e}"), &bytes)),
    };
    let format = match forced {
        Some(f) => Some(formats::by_id(f)),
        None => best_format(std::slice::from_ref(&value)),
    };
    match format {
        Some(format) => {
            let session = format.file_session(&value);
            Ok(Detected::Document {
                format: format.id(),
                ctx: FileCtx { session, ..ctx },
                bytes,
            })
        }
        None => Ok(unknown(
            "a JSON document in no known agent-log format (use --format to force one)",
            &bytes,
        )),
    }
}

fn unknown(reason: &str, head: &[u8]) -> Detected {
    Detected::Unknown {
        reason: reason.to_string(),
        excerpt: head[..head.len().min(crate::EXCERPT_BYTES)].to_vec(),
    }
}

/// The format whose sniff scores the sample records highest in total; ties go to registry order.
fn best_format(samples: &[Value<'_>]) -> Option<&'static dyn Format> {
    let mut best: Option<(&'static dyn Format, u32)> = None;
    for &f in formats::REGISTRY {
        let score: u32 = samples.iter().map(|s| u32::from(f.sniff(s))).sum();
        if score > 0 && best.is_none_or(|(_, b)| score > b) {
            best = Some((f, score));
        }
    }
    best.map(|(f, _)| f)
}

/// The bytes of one job.
pub(crate) enum JobData {
    Mapped(Arc<Mmap>, Range<usize>),
    Owned(Vec<u8>),
}

impl JobData {
    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            JobData::Mapped(map, range) => &map[range.clone()],
            JobData::Owned(v) => v,
        }
    }
}

/// A unit of parallel work: complete lines of one file, or one whole document.
pub(crate) struct Job {
    pub(crate) input: usize,
    pub(crate) data: JobData,
    /// Byte offset of `data` in the (decompressed) file.
    pub(crate) base_offset: u64,
    pub(crate) document: bool,
    /// A read error that ended this file after this job's bytes (truncated or corrupt stream), or, on
    /// a job without bytes, why the whole file could not be read.
    pub(crate) trailing_error: Option<String>,
    /// The excerpt for `trailing_error`'s reject.
    pub(crate) error_excerpt: Vec<u8>,
}

/// Cuts a mapped file into newline-aligned chunks.
pub(crate) fn mapped_chunks(input: usize, map: Arc<Mmap>) -> Vec<Job> {
    chunk_ranges(&map, CHUNK_BYTES)
        .into_iter()
        .map(|range| Job {
            input,
            base_offset: range.start as u64,
            data: JobData::Mapped(Arc::clone(&map), range),
            document: false,
            trailing_error: None,
            error_excerpt: Vec::new(),
        })
        .collect()
}

/// Newline-aligned ranges of about `chunk` bytes covering `bytes`: each ends just after a newline,
/// except the last, which ends where the bytes do.
pub(crate) fn chunk_ranges(bytes: &[u8], chunk: usize) -> Vec<Range<usize>> {
    let len = bytes.len();
    let mut ranges = Vec::new();
    let mut start = 0;
    while start < len {
        let target = (start + chunk.max(1)).min(len);
        let end = if target == len {
            len
        } else {
            memchr::memchr(b'\n', &bytes[target - 1..]).map_or(len, |i| target + i)
        };
        ranges.push(start..end);
        start = end;
    }
    ranges
}

/// Reads a stream into newline-aligned chunks. A line longer than `max_line` is not buffered: its
/// bytes are counted and dropped, and the chunk that holds its place carries only its first bytes,
/// which the parser sees as too long and rejects at its offset.
pub(crate) struct StreamChunks {
    input: usize,
    stream: Box<dyn Read + Send>,
    carry: Vec<u8>,
    offset: u64,
    done: bool,
    max_line: usize,
    chunk_bytes: usize,
}

impl StreamChunks {
    pub(crate) fn new(input: usize, stream: Box<dyn Read + Send>, max_line: usize) -> StreamChunks {
        StreamChunks::with_chunk_bytes(input, stream, max_line, CHUNK_BYTES)
    }

    /// With another chunk size: the property tests cut files into chunks of a few bytes.
    pub(crate) fn with_chunk_bytes(
        input: usize,
        stream: Box<dyn Read + Send>,
        max_line: usize,
        chunk_bytes: usize,
    ) -> StreamChunks {
        StreamChunks {
            input,
            stream,
            carry: Vec::new(),
            offset: 0,
            done: false,
            max_line,
            chunk_bytes: chunk_bytes.max(1),
        }
    }
}

impl StreamChunks {
    /// One enormous line: keep its head (enough to reject it with an excerpt), discard the rest up to
    /// and including its newline, and return the head as a job of its own.
    fn oversized(&mut self, mut buf: Vec<u8>) -> Job {
        let head_len = self.max_line + 1;
        let mut dropped = (buf.len() - head_len) as u64;
        buf.truncate(head_len);
        buf.push(b'\n');
        let mut error = None;
        let mut scratch = vec![0u8; 1 << 16];
        loop {
            match self.stream.read(&mut scratch) {
                Ok(0) => {
                    self.done = true;
                    break;
                }
                Ok(k) => match memchr::memchr(b'\n', &scratch[..k]) {
                    Some(i) => {
                        dropped += i as u64;
                        self.carry = scratch[i + 1..k].to_vec();
                        break;
                    }
                    None => dropped += k as u64,
                },
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    error = Some(format!("truncated or corrupt input: {e}"));
                    self.done = true;
                    break;
                }
            }
        }
        let job = Job {
            input: self.input,
            data: JobData::Owned(buf),
            base_offset: self.offset,
            document: false,
            trailing_error: error,
            error_excerpt: Vec::new(),
        };
        // The line's bytes, kept or dropped, plus its newline.
        self.offset += head_len as u64 + dropped + 1;
        job
    }
}

impl Iterator for StreamChunks {
    type Item = Job;

    fn next(&mut self) -> Option<Job> {
        if self.done {
            return None;
        }
        let mut buf = std::mem::take(&mut self.carry);
        let mut newline_seen = memchr::memchr(b'\n', &buf).is_some();
        let mut error = None;
        loop {
            if buf.len() >= self.chunk_bytes && newline_seen {
                break;
            }
            if buf.len() > self.max_line && !newline_seen {
                return Some(self.oversized(buf));
            }
            let old = buf.len();
            // Read in blocks of at least 1 MiB: growing by what one read returns would make a long
            // line quadratic.
            let block = (self.chunk_bytes / 4).clamp(1, 1 << 20);
            buf.resize(old + self.chunk_bytes.saturating_sub(old).max(block), 0);
            match self.stream.read(&mut buf[old..]) {
                Ok(0) => {
                    buf.truncate(old);
                    self.done = true;
                    break;
                }
                Ok(k) => {
                    buf.truncate(old + k);
                    newline_seen |= memchr::memchr(b'\n', &buf[old..]).is_some();
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => buf.truncate(old),
                Err(e) => {
                    buf.truncate(old);
                    error = Some(format!(
                        "truncated or corrupt input: read failed at decompressed byte {}: {e}",
                        self.offset + buf.len() as u64
                    ));
                    self.done = true;
                    break;
                }
            }
        }
        if !self.done {
            if let Some(i) = memchr::memrchr(b'\n', &buf) {
                self.carry = buf[i + 1..].to_vec();
                buf.truncate(i + 1);
            }
        }
        if buf.is_empty() && error.is_none() {
            return None;
        }
        let job = Job {
            input: self.input,
            data: JobData::Owned(buf),
            base_offset: self.offset,
            document: false,
            trailing_error: error,
            error_excerpt: Vec::new(),
        };
        self.offset += job.data.bytes().len() as u64;
        Some(job)
    }
}
