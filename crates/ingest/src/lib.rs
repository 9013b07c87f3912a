//! This crate reads raw agent logs of many formats into a tracehound store: Parquet files bucketed by
//! session, sorted by (`session_id`, `seq`), with a manifest that accounts for every input record as an
//! event or a reject.
//!
//! The pipeline: inputs are detected (format, compression) and cut into jobs (newline-aligned chunks
//! of mapped files, chunks of decompressed streams, whole documents); a window of jobs is parsed in
//! parallel with rayon and simd-json; order-dependent numbering (`seq`, line numbers) is applied
//! sequentially; batches are built in parallel, buffered per bucket and spilled to disk past a memory
//! budget; at the end each bucket is sorted (in runs and merged if large), written as Parquet beside
//! the store, renamed in, and the manifest is replaced atomically: the commit point.

mod batch;
#[cfg(test)]
mod chunk_props;
mod error;
mod formats;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod input;
mod json;
mod pipeline;
mod sink;
mod store;

pub use error::IngestError;
pub use store::{Ingest, IngestBuilder, IngestSummary, InputReport};

/// Decompresses `raw` as the store recorded its input (`InputEntry::compression`: none, `"gzip"` or
/// `"zstd"`), so byte offsets and lines mean what they meant at ingest. Readers of the raw evidence
/// (preservation) use this rather than guessing from a file name.
pub fn decode_as_ingested<R: std::io::BufRead + Send + 'static>(
    raw: R,
    compression: Option<&str>,
) -> std::io::Result<Box<dyn std::io::Read + Send>> {
    let c = match compression {
        None => input::Compression::None,
        Some("gzip") => input::Compression::Gzip,
        Some("zstd") => input::Compression::Zstd,
        Some(other) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("unknown compression `{other}`"),
            ))
        }
    };
    input::decoder(raw, c)
}

/// A record that could not become an event: where it is and why.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Reject {
    pub file: String,
    /// 1-based line, for line formats.
    pub line: Option<u64>,
    /// Byte offset of the record in the (decompressed) file.
    pub offset: u64,
    pub reason: String,
    /// The record's first bytes, lossily decoded.
    pub excerpt: String,
}

/// How much of a rejected record is kept as its excerpt.
pub(crate) const EXCERPT_BYTES: usize = 240;

pub(crate) fn excerpt(raw: &[u8]) -> String {
    let mut end = raw.len().min(EXCERPT_BYTES);
    // Do not cut inside a UTF-8 sequence when the input is valid there.
    while end < raw.len() && end > 0 && (raw[end] & 0xC0) == 0x80 {
        end -= 1;
    }
    String::from_utf8_lossy(&raw[..end]).into_owned()
}

/// Resource limits against hostile or accidental input. Each has a safe default; hitting one gives a
/// located reject, never an out-of-memory kill.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Longest line parsed; longer lines are rejected (and, in compressed input, never buffered).
    pub max_line: usize,
    /// Largest whole JSON document read into memory.
    pub max_document: u64,
    /// Most bytes one compressed file may decompress to.
    pub max_decompressed: u64,
    /// Deepest nesting of arrays and objects in a record. Deeper records are rejected before parsing:
    /// the adapters recurse, so the ceiling [`MAX_DEPTH_CEILING`] keeps a worker's stack safe.
    pub max_depth: usize,
}

/// The highest `max_depth` accepted: recursion this deep fits a worker thread's stack with room.
pub const MAX_DEPTH_CEILING: usize = 1024;

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_line: 64 << 20,
            max_document: 512 << 20,
            max_decompressed: 64 << 30,
            max_depth: 256,
        }
    }
}

/// Lists the format names `--format` accepts.
pub fn format_names() -> Vec<&'static str> {
    tracehound_schema::SourceFormat::ALL
        .iter()
        .map(|f| f.as_str())
        .collect()
}
