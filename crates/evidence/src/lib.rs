//! Evidence preservation: the raw input records behind chosen sessions (or a time window) and their
//! store rows, copied into a self-describing archive whose every file is hashed, written once and made
//! read-only; and verification of such an archive, or of a store, against its recorded hashes.
//!
//! Chain of custody rests on three hashes: the SHA-256 each input had when it was ingested (the
//! store's manifest), the SHA-256 it has now (checked again while preserving, so an input changed since
//! ingest is reported, not silently archived), and the SHA-256 of every archived file (the archive's
//! manifest). The archive's *seal* is the hash of its manifest: write it in the case notes, and
//! `verify --seal` proves that nobody rewrote manifest and files together.

mod preserve;
mod verify;

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use preserve::{preserve, PreserveOptions, Selection};
pub use verify::{verify_archive, verify_store, Problem, ProblemKind, VerifyReport};

/// Name of the archive's manifest.
pub const ARCHIVE_MANIFEST: &str = "manifest.json";
/// `sha256sum -c` compatible list, so an archive can be checked without tracehound.
pub const SHA256SUMS: &str = "SHA256SUMS";
/// What `format` says in an archive manifest.
pub const ARCHIVE_FORMAT: &str = "tracehound-evidence";
pub const ARCHIVE_FORMAT_VERSION: u32 = 1;

/// Errors preserving or verifying evidence.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error("`{path}`: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Query(#[from] tracehound_query::QueryError),
    #[error("`{path}`: {source}")]
    Parquet {
        path: PathBuf,
        #[source]
        source: parquet::errors::ParquetError,
    },
    #[error("`{path}`: {source}")]
    Arrow {
        path: PathBuf,
        #[source]
        source: arrow_schema::ArrowError,
    },
    #[error("`{path}` already exists; evidence archives are written once, choose a new path")]
    Exists { path: PathBuf },
    #[error("the selection matched no events in the store; nothing to preserve")]
    Empty,
    #[error("no events for session(s) {0} in the store; nothing was written (check the ids with `tracehound scan` or `tracehound info`)")]
    UnknownSessions(String),
    #[error("`{path}` is not a tracehound evidence archive: {reason}")]
    NotAnArchive { path: PathBuf, reason: String },
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> EvidenceError + '_ {
    move |source| EvidenceError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What was selected, as recorded in the archive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SelectionRecord {
    pub sessions: Vec<String>,
    /// RFC 3339, inclusive.
    pub since: Option<String>,
    /// RFC 3339, inclusive.
    pub until: Option<String>,
}

/// How an input file compares with the hash it had at ingest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputStatus {
    /// Same SHA-256 as at ingest: the archived records are the ones the store was built from.
    Intact,
    /// Different bytes: the records were copied from the changed file and may not match the store.
    Changed,
    /// Not found where the store says it was read from.
    Missing,
}

/// One raw input behind the selection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputCheck {
    /// As recorded in the store (`source_file`).
    pub path: String,
    /// Where it was read from now.
    pub resolved: String,
    pub compression: Option<String>,
    pub ingest_sha256: Option<String>,
    pub current_sha256: Option<String>,
    pub status: InputStatus,
    /// Raw records the selection needs from this file.
    pub records_wanted: u64,
    /// Raw records copied (a whole document counts as one).
    pub records_archived: u64,
    /// Archive files holding them.
    pub archived_as: Vec<String>,
    /// Anything an examiner should know (records not found at their offset, line numbers that differ).
    pub notes: Vec<String>,
}

/// One file of an archive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArchivedFile {
    /// Relative to the archive root, `/`-separated.
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
    /// What it holds.
    pub what: String,
}

/// `manifest.json` of an evidence archive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArchiveManifest {
    pub format: String,
    pub format_version: u32,
    pub tool_version: String,
    pub command_line: Vec<String>,
    pub created: String,
    /// The store the rows came from, as given.
    pub store: String,
    /// SHA-256 of the store's `manifest.json` at the time (its copy is `store-manifest.json`).
    pub store_manifest_sha256: String,
    pub selection: SelectionRecord,
    pub sessions: Vec<String>,
    pub events: u64,
    pub raw_records: u64,
    pub inputs: Vec<InputCheck>,
    pub files: Vec<ArchivedFile>,
}

/// SHA-256 and length of a file, streamed.
pub fn sha256_file(path: &Path) -> std::io::Result<(String, u64)> {
    let mut f = std::fs::File::open(path)?;
    sha256_reader(&mut f)
}

pub(crate) fn sha256_reader(r: &mut impl Read) -> std::io::Result<(String, u64)> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0u64;
    loop {
        let k = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(k) => k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        h.update(&buf[..k]);
        n += k as u64;
    }
    Ok((hex(&h.finalize()), n))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The archive's seal: SHA-256 of its manifest file.
pub fn seal(archive: &Path) -> Result<String, EvidenceError> {
    let path = archive.join(ARCHIVE_MANIFEST);
    sha256_file(&path).map(|(h, _)| h).map_err(io_err(&path))
}
