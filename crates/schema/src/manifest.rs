use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{OLDEST_READABLE_SCHEMA_VERSION, SCHEMA_VERSION};

/// Errors reading or writing a store manifest.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("failed to read manifest `{path}`")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("manifest `{path}` is not valid")]
    Parse {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "store `{path}` has schema version {found}, older than version {expected}, the oldest this \
         tracehound reads; re-ingest the raw logs into a new store with this version (the old store is \
         left as it is), or read it with the tracehound that wrote it"
    )]
    OlderVersion {
        path: String,
        found: u32,
        expected: u32,
    },
    #[error(
        "store `{path}` has schema version {found}, written by a newer tracehound than this one (which \
         reads versions up to {expected}); upgrade tracehound to read it"
    )]
    NewerVersion {
        path: String,
        found: u32,
        expected: u32,
    },
}

/// `manifest.json`: the commit point of a store. Readers read only the files it lists, so part files
/// of a killed ingest that were never committed are invisible.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub schema_version: u32,
    pub tool_version: String,
    pub buckets: u32,
    pub created: String,
    pub updated: String,
    pub runs: Vec<RunEntry>,
    pub inputs: Vec<InputEntry>,
    pub files: Vec<StoreFile>,
}

/// One `tracehound ingest` that committed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunEntry {
    pub generation: u32,
    pub tool_version: String,
    pub command_line: Vec<String>,
    pub started: String,
    pub finished: String,
    pub events: u64,
    pub rejects: u64,
    pub skipped_inputs: Vec<String>,
}

/// One raw input file, and how every one of its records was accounted for:
/// `records == records_with_events + rejects`, and `lines == records + blank_lines` for line formats.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct InputEntry {
    pub path: String,
    pub size: u64,
    pub sha256: String,
    pub format: Option<String>,
    pub compression: Option<String>,
    pub generation: u32,
    /// Records read: non-blank lines for line formats, 1 for a whole JSON document.
    pub records: u64,
    pub records_with_events: u64,
    pub blank_lines: u64,
    pub events: u64,
    pub rejects: u64,
    /// Set when the whole file could not be read as any format (the reason); its bytes are rejected.
    pub error: Option<String>,
}

/// One Parquet file of the store.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StoreFile {
    pub path: String,
    pub bucket: Option<u32>,
    pub generation: u32,
    pub rows: u64,
    pub bytes: u64,
    pub sha256: String,
}

impl Manifest {
    pub fn new(buckets: u32, tool_version: &str, now: &str) -> Manifest {
        Manifest {
            schema_version: SCHEMA_VERSION,
            tool_version: tool_version.to_string(),
            buckets,
            created: now.to_string(),
            updated: now.to_string(),
            runs: Vec::new(),
            inputs: Vec::new(),
            files: Vec::new(),
        }
    }

    /// Reads and version-checks a manifest. `Ok(None)` when the file does not exist (an empty store).
    pub fn read(path: &Path) -> Result<Option<Manifest>, ManifestError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(ManifestError::Read {
                    path: path.display().to_string(),
                    source,
                })
            }
        };
        // Check the version before the full parse so an old or future store gets the clear message,
        // not a missing-field error.
        #[derive(Deserialize)]
        struct VersionOnly {
            // Absent in manifests from before versioning: version 0.
            #[serde(default)]
            schema_version: u32,
        }
        let version: VersionOnly =
            serde_json::from_str(&text).map_err(|source| ManifestError::Parse {
                path: path.display().to_string(),
                source,
            })?;
        let (path_s, found) = (path.display().to_string(), version.schema_version);
        if found < OLDEST_READABLE_SCHEMA_VERSION {
            return Err(ManifestError::OlderVersion {
                path: path_s,
                found,
                expected: OLDEST_READABLE_SCHEMA_VERSION,
            });
        }
        if found > SCHEMA_VERSION {
            return Err(ManifestError::NewerVersion {
                path: path_s,
                found,
                expected: SCHEMA_VERSION,
            });
        }
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|source| ManifestError::Parse {
                path: path.display().to_string(),
                source,
            })
    }

    pub fn next_generation(&self) -> u32 {
        self.runs.iter().map(|r| r.generation).max().unwrap_or(0) + 1
    }

    pub fn event_files(&self) -> impl Iterator<Item = &StoreFile> {
        self.files.iter().filter(|f| f.bucket.is_some())
    }

    pub fn total_events(&self) -> u64 {
        self.event_files().map(|f| f.rows).sum()
    }
}
