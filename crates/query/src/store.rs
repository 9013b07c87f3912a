use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;
use tracehound_schema::{columns, Manifest, StoreLayout};

/// Errors reading a store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    #[error("`{path}` is not a tracehound store (no manifest.json); create one with `tracehound ingest`")]
    NotAStore { path: PathBuf },
    #[error(transparent)]
    Manifest(#[from] tracehound_schema::ManifestError),
    #[error("failed to read store file `{path}`")]
    Read {
        path: PathBuf,
        #[source]
        source: parquet::errors::ParquetError,
    },
    #[error("failed to open store file `{path}`")]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A request the store cannot answer (an unknown session or seq), with what to do instead.
    #[error("{0}")]
    Invalid(String),
}

/// An opened store: its layout and committed manifest.
#[derive(Debug, Clone)]
pub struct Store {
    layout: StoreLayout,
    manifest: Manifest,
}

impl Store {
    pub fn open(root: &Path) -> Result<Store, QueryError> {
        let layout = StoreLayout::new(root);
        let manifest =
            Manifest::read(&layout.manifest())?.ok_or_else(|| QueryError::NotAStore {
                path: root.to_path_buf(),
            })?;
        Ok(Store { layout, manifest })
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    pub fn layout(&self) -> &StoreLayout {
        &self.layout
    }

    /// Opens one store file (a path relative to the store) for reading as Arrow batches.
    pub fn open_parquet(
        &self,
        relative: &str,
    ) -> Result<(PathBuf, ParquetRecordBatchReaderBuilder<File>), QueryError> {
        self.open_parquet_with(
            relative,
            parquet::arrow::arrow_reader::ArrowReaderOptions::new(),
        )
    }

    pub(crate) fn open_parquet_with(
        &self,
        relative: &str,
        options: parquet::arrow::arrow_reader::ArrowReaderOptions,
    ) -> Result<(PathBuf, ParquetRecordBatchReaderBuilder<File>), QueryError> {
        let (path, handle) = self.open_file(relative)?;
        let builder = ParquetRecordBatchReaderBuilder::try_new_with_options(handle, options)
            .map_err(|source| QueryError::Read {
                path: path.clone(),
                source,
            })?;
        Ok((path, builder))
    }

    /// One store file (a path relative to the store), opened, with its full path for errors.
    fn open_file(&self, relative: &str) -> Result<(PathBuf, File), QueryError> {
        let path = self.layout.resolve(relative);
        match File::open(&path) {
            Ok(handle) => Ok((path, handle)),
            Err(source) => Err(QueryError::Open { path, source }),
        }
    }

    /// [`Store::open_parquet`], with the large text columns read as string views: a view points into
    /// the decompressed page, where a plain string array copies every value into a buffer of its own
    /// (5 % of a whole scan, most of whose bytes are these columns).
    pub(crate) fn open_parquet_views(
        &self,
        relative: &str,
    ) -> Result<(PathBuf, ParquetRecordBatchReaderBuilder<File>), QueryError> {
        use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
        let (path, handle) = self.open_file(relative)?;
        let err = |source| QueryError::Read {
            path: path.clone(),
            source,
        };
        let plain = ArrowReaderMetadata::load(&handle, ArrowReaderOptions::new()).map_err(err)?;
        let stored = plain.schema();
        let fields: Vec<arrow_schema::Field> = stored
            .fields()
            .iter()
            .map(|f| {
                let text = [columns::CONTENT, columns::ARGS, columns::ATTRIBUTES]
                    .contains(&f.name().as_str());
                match f.data_type() {
                    arrow_schema::DataType::Utf8 if text => f
                        .as_ref()
                        .clone()
                        .with_data_type(arrow_schema::DataType::Utf8View),
                    _ => f.as_ref().clone(),
                }
            })
            .collect();
        let schema = arrow_schema::Schema::new_with_metadata(fields, stored.metadata().clone());
        let views = ArrowReaderMetadata::try_new(
            plain.metadata().clone(),
            ArrowReaderOptions::new().with_schema(std::sync::Arc::new(schema)),
        )
        .map_err(err)?;
        let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(handle, views);
        Ok((path, builder))
    }

    /// Reads the named columns of every event file, calling `f` on each batch.
    pub fn scan_columns(
        &self,
        columns: &[&str],
        mut f: impl FnMut(&RecordBatch),
    ) -> Result<(), QueryError> {
        for file in self.manifest.event_files() {
            let (path, builder) = self.open_parquet(&file.path)?;
            let err = |source| QueryError::Read {
                path: path.clone(),
                source,
            };
            let indices: Vec<usize> = columns
                .iter()
                .filter_map(|c| builder.schema().index_of(c).ok())
                .collect();
            let mask = ProjectionMask::roots(builder.parquet_schema(), indices);
            for batch in builder.with_projection(mask).build().map_err(err)? {
                let batch = batch.map_err(|e| QueryError::Read {
                    path: path.clone(),
                    source: e.into(),
                })?;
                f(&batch);
            }
        }
        Ok(())
    }
}
