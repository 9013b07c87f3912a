use std::path::PathBuf;

/// Errors that stop an ingest. A bad record or a bad file is never one of these: it becomes a reject
/// and the run goes on. These are the store's own failures (cannot write, corrupt manifest).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    #[error("failed to {action} `{path}`")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Manifest(#[from] tracehound_schema::ManifestError),
    #[error("failed to write Parquet file `{path}`")]
    Parquet {
        path: PathBuf,
        #[source]
        source: parquet::errors::ParquetError,
    },
    #[error("failed to handle Arrow data for `{path}`")]
    Arrow {
        path: PathBuf,
        #[source]
        source: arrow_schema::ArrowError,
    },
    #[error("input `{path}` does not exist")]
    MissingInput { path: PathBuf },
    #[error("the store `{path}` was created with {found} buckets, not {expected}")]
    Buckets {
        path: PathBuf,
        found: u32,
        expected: u32,
    },
}

impl IngestError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> IngestError {
        let path = path.into();
        move |source| IngestError::Io {
            action,
            path,
            source,
        }
    }
}
