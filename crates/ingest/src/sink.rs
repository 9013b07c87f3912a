//! Where batches go: per-bucket buffers in memory, spilled to Arrow IPC files under the store's scratch
//! directory when the buffered total passes the memory budget, and at the end sorted by
//! (`session_id`, `seq`), post-processed per session, and written as one Parquet file per bucket.
//! A bucket larger than its share of the budget is sorted in runs and merged, so memory stays bounded
//! whatever the input size.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, UInt32Type};
use arrow_array::{Array, ArrayRef, RecordBatch, StringArray, UInt32Array};
use arrow_ipc::reader::StreamReader;
use arrow_ipc::writer::StreamWriter;
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use tracehound_schema::{arrow_schema, columns};

use crate::error::IngestError;

/// Rows per slice handed to the Parquet writer. Fixed so page and row-group boundaries depend only on
/// the sorted rows, never on how batches happened to arrive: byte-identical stores at any thread count.
const PIECE_ROWS: usize = 4096;
/// Rows per row group. One session's read touches the row groups whose `session_id` range holds it;
/// 16 Ki rows keeps that to a few MB of compressed content.
pub(crate) const ROW_GROUP_ROWS: usize = 16 * 1024;

pub(crate) struct BucketSink {
    dir: PathBuf,
    schema: SchemaRef,
    budget: usize,
    pending: Vec<Vec<RecordBatch>>,
    pending_bytes: usize,
    spills: Vec<Option<StreamWriter<BufWriter<File>>>>,
    bucket_bytes: Vec<usize>,
}

impl BucketSink {
    pub(crate) fn new(dir: PathBuf, buckets: u32, budget: usize) -> BucketSink {
        let n = buckets as usize;
        BucketSink {
            dir,
            schema: arrow_schema(),
            budget,
            pending: vec![Vec::new(); n],
            pending_bytes: 0,
            spills: (0..n).map(|_| None).collect(),
            bucket_bytes: vec![0; n],
        }
    }

    pub(crate) fn push(&mut self, bucket: u32, batch: RecordBatch) -> Result<(), IngestError> {
        let size = batch.get_array_memory_size();
        self.pending_bytes += size;
        self.bucket_bytes[bucket as usize] += size;
        self.pending[bucket as usize].push(batch);
        if self.pending_bytes > self.budget {
            self.spill()?;
        }
        Ok(())
    }

    fn spill_path(&self, bucket: usize) -> PathBuf {
        self.dir.join(format!("spill-{bucket:03}.arrow"))
    }

    fn spill(&mut self) -> Result<(), IngestError> {
        for bucket in 0..self.pending.len() {
            if self.pending[bucket].is_empty() {
                continue;
            }
            if self.spills[bucket].is_none() {
                let path = self.spill_path(bucket);
                let file =
                    File::create(&path).map_err(IngestError::io("create spill file", &path))?;
                let writer =
                    StreamWriter::try_new(BufWriter::with_capacity(1 << 20, file), &self.schema)
                        .map_err(|source| IngestError::Arrow {
                            path: path.clone(),
                            source,
                        })?;
                self.spills[bucket] = Some(writer);
            }
            let path = self.spill_path(bucket);
            let writer = self.spills[bucket].as_mut().expect("created above");
            for batch in self.pending[bucket].drain(..) {
                writer.write(&batch).map_err(|source| IngestError::Arrow {
                    path: path.clone(),
                    source,
                })?;
            }
        }
        self.pending_bytes = 0;
        Ok(())
    }

    /// Closes the sink: every bucket's batches, spilled ones first, in arrival order.
    pub(crate) fn into_buckets(mut self) -> Result<Vec<BucketData>, IngestError> {
        let mut out = Vec::new();
        for bucket in 0..self.pending.len() {
            let spill = match self.spills[bucket].take() {
                Some(mut w) => {
                    let path = self.spill_path(bucket);
                    w.finish().map_err(|source| IngestError::Arrow {
                        path: path.clone(),
                        source,
                    })?;
                    Some(path)
                }
                None => None,
            };
            let pending = std::mem::take(&mut self.pending[bucket]);
            if spill.is_some() || !pending.is_empty() {
                out.push(BucketData {
                    bucket: bucket as u32,
                    spill,
                    pending,
                    bytes: self.bucket_bytes[bucket],
                });
            }
        }
        Ok(out)
    }
}

pub(crate) struct BucketData {
    pub(crate) bucket: u32,
    spill: Option<PathBuf>,
    pending: Vec<RecordBatch>,
    pub(crate) bytes: usize,
}

impl BucketData {
    /// All batches of the bucket, streamed: from the spill file, then from memory.
    fn batches(
        self,
    ) -> Result<impl Iterator<Item = Result<RecordBatch, IngestError>>, IngestError> {
        let spilled: Box<dyn Iterator<Item = Result<RecordBatch, IngestError>>> = match self.spill {
            Some(path) => {
                let file = File::open(&path).map_err(IngestError::io("open spill file", &path))?;
                let reader = StreamReader::try_new(BufReader::with_capacity(1 << 20, file), None)
                    .map_err(|source| IngestError::Arrow {
                    path: path.clone(),
                    source,
                })?;
                Box::new(reader.map(move |b| {
                    b.map_err(|source| IngestError::Arrow {
                        path: path.clone(),
                        source,
                    })
                }))
            }
            None => Box::new(std::iter::empty()),
        };
        Ok(spilled.chain(self.pending.into_iter().map(Ok)))
    }
}

/// Parquet writer settings: zstd throughout; the large text columns at a lower level because they are
/// ~94 % of the bytes and dominate compression time (measured in docs/benchmarks.md).
pub(crate) fn writer_properties(text_level: i32, other_level: i32) -> WriterProperties {
    let level = |l| Compression::ZSTD(ZstdLevel::try_new(l).unwrap_or_default());
    let mut builder = WriterProperties::builder()
        .set_created_by(format!("tracehound {}", env!("CARGO_PKG_VERSION")))
        .set_compression(level(other_level))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_column_bloom_filter_enabled(ColumnPath::from(columns::SESSION_ID), true)
        .set_column_bloom_filter_fpp(ColumnPath::from(columns::SESSION_ID), 0.01)
        .set_column_bloom_filter_max_ndv(ColumnPath::from(columns::SESSION_ID), 4096);
    for col in [columns::CONTENT, columns::ARGS, columns::ATTRIBUTES] {
        builder = builder
            .set_column_compression(ColumnPath::from(col), level(text_level))
            // Free text: min/max statistics of 50 KB strings are useless and cost bytes.
            .set_column_statistics_enabled(ColumnPath::from(col), EnabledStatistics::None)
            .set_column_dictionary_enabled(ColumnPath::from(col), false);
    }
    builder.build()
}

/// Max `seq` per session already in the store's files of this bucket, so a later ingest continues each
/// session's numbering.
pub(crate) type SeqBase = HashMap<String, u32>;

/// Sorts, post-processes and writes one bucket. Returns the rows written.
pub(crate) fn write_bucket(
    data: BucketData,
    seq_base: &SeqBase,
    path: &Path,
    props: WriterProperties,
    run_budget: usize,
    scratch: &Path,
) -> Result<u64, IngestError> {
    let schema = arrow_schema();
    let file = File::create(path).map_err(IngestError::io("create", path))?;
    let mut writer = ArrowWriter::try_new(
        BufWriter::with_capacity(1 << 20, file),
        Arc::clone(&schema),
        Some(props),
    )
    .map_err(|source| IngestError::Parquet {
        path: path.to_path_buf(),
        source,
    })?;
    let mut pass = SessionPass::default();
    let mut rows = 0u64;
    let bucket = data.bucket;
    let mut emit = |batch: RecordBatch| -> Result<(), IngestError> {
        let batch = pass.apply(&batch);
        rows += batch.num_rows() as u64;
        writer.write(&batch).map_err(|source| IngestError::Parquet {
            path: path.to_path_buf(),
            source,
        })
    };

    // Sorted runs of at most `run_budget` bytes; one run is the common case.
    let mut runs: Vec<RecordBatch> = Vec::new();
    let mut run_files: Vec<PathBuf> = Vec::new();
    let mut current: Vec<RecordBatch> = Vec::new();
    let mut current_bytes = 0;
    let flush_run = |current: &mut Vec<RecordBatch>,
                     runs: &mut Vec<RecordBatch>,
                     run_files: &mut Vec<PathBuf>,
                     spill_to_disk: bool|
     -> Result<(), IngestError> {
        if current.is_empty() {
            return Ok(());
        }
        let batch =
            arrow_select::concat::concat_batches(&schema, current.iter()).map_err(|source| {
                IngestError::Arrow {
                    path: path.to_path_buf(),
                    source,
                }
            })?;
        current.clear();
        let sorted =
            sort_batch(&rebase_seq(&batch, seq_base)).map_err(|source| IngestError::Arrow {
                path: path.to_path_buf(),
                source,
            })?;
        if spill_to_disk {
            let run_path = scratch.join(format!("run-{bucket:03}-{:04}.arrow", run_files.len()));
            let f =
                File::create(&run_path).map_err(IngestError::io("create sorted run", &run_path))?;
            let mut w = StreamWriter::try_new(BufWriter::new(f), &schema).map_err(|source| {
                IngestError::Arrow {
                    path: run_path.clone(),
                    source,
                }
            })?;
            for start in (0..sorted.num_rows()).step_by(PIECE_ROWS) {
                let len = PIECE_ROWS.min(sorted.num_rows() - start);
                w.write(&sorted.slice(start, len))
                    .map_err(|source| IngestError::Arrow {
                        path: run_path.clone(),
                        source,
                    })?;
            }
            w.finish().map_err(|source| IngestError::Arrow {
                path: run_path.clone(),
                source,
            })?;
            run_files.push(run_path);
        } else {
            runs.push(sorted);
        }
        Ok(())
    };
    let spilled_runs = data.bytes > run_budget;
    for batch in data.batches()? {
        let batch = batch?;
        current_bytes += batch.get_array_memory_size();
        current.push(batch);
        if current_bytes > run_budget {
            flush_run(&mut current, &mut runs, &mut run_files, true)?;
            current_bytes = 0;
        }
    }
    let to_disk = spilled_runs || !run_files.is_empty();
    flush_run(&mut current, &mut runs, &mut run_files, to_disk)?;

    if run_files.is_empty() {
        for sorted in runs {
            for start in (0..sorted.num_rows()).step_by(PIECE_ROWS) {
                emit(sorted.slice(start, PIECE_ROWS.min(sorted.num_rows() - start)))?;
            }
        }
    } else {
        merge_runs(&run_files, &schema, &mut emit)?;
        for f in &run_files {
            let _ = std::fs::remove_file(f);
        }
    }
    writer.close().map_err(|source| IngestError::Parquet {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(rows)
}

/// Shifts `seq` of sessions that already have rows in the store past their last stored `seq`.
fn rebase_seq(batch: &RecordBatch, base: &SeqBase) -> RecordBatch {
    if base.is_empty() {
        return batch.clone();
    }
    let sessions = batch.column(0).as_string::<i32>();
    let seq = batch.column(1).as_primitive::<UInt32Type>();
    let shifted: UInt32Array = (0..batch.num_rows())
        .map(|i| Some(seq.value(i) + base.get(sessions.value(i)).map_or(0, |m| m + 1)))
        .collect();
    let mut cols = batch.columns().to_vec();
    cols[1] = Arc::new(shifted);
    RecordBatch::try_new(batch.schema(), cols).expect("same schema")
}

fn sort_batch(batch: &RecordBatch) -> Result<RecordBatch, arrow_schema::ArrowError> {
    use arrow_ord::sort::{lexsort_to_indices, SortColumn};
    let indices = lexsort_to_indices(
        &[
            SortColumn {
                values: Arc::clone(batch.column(0)),
                options: None,
            },
            SortColumn {
                values: Arc::clone(batch.column(1)),
                options: None,
            },
        ],
        None,
    )?;
    let columns = batch
        .columns()
        .iter()
        .map(|c| arrow_select::take::take(c.as_ref(), &indices, None))
        .collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new(batch.schema(), columns)
}

/// K-way merge of sorted run files into `PIECE_ROWS`-row pieces.
fn merge_runs(
    files: &[PathBuf],
    schema: &SchemaRef,
    emit: &mut dyn FnMut(RecordBatch) -> Result<(), IngestError>,
) -> Result<(), IngestError> {
    struct Run {
        reader: StreamReader<BufReader<File>>,
        batch: Option<RecordBatch>,
        row: usize,
        path: PathBuf,
    }
    let mut runs = Vec::new();
    for path in files {
        let f = File::open(path).map_err(IngestError::io("open sorted run", path))?;
        let mut reader = StreamReader::try_new(BufReader::new(f), None).map_err(|source| {
            IngestError::Arrow {
                path: path.clone(),
                source,
            }
        })?;
        let batch = reader
            .next()
            .transpose()
            .map_err(|source| IngestError::Arrow {
                path: path.clone(),
                source,
            })?;
        runs.push(Run {
            reader,
            batch,
            row: 0,
            path: path.clone(),
        });
    }
    let key = |r: &Run| -> Option<(String, u32)> {
        let b = r.batch.as_ref()?;
        Some((
            b.column(0).as_string::<i32>().value(r.row).to_string(),
            b.column(1).as_primitive::<UInt32Type>().value(r.row),
        ))
    };
    loop {
        // Gather one piece: pick rows from the run with the smallest key. Batches referenced by the
        // piece are kept alive in `held` until it is built.
        let mut held: Vec<RecordBatch> = Vec::new();
        let mut picks: Vec<(usize, usize)> = Vec::new();
        let mut held_index: HashMap<(usize, usize), usize> = HashMap::new();
        let mut generation = vec![0usize; runs.len()];
        while picks.len() < PIECE_ROWS {
            let next = runs
                .iter()
                .enumerate()
                .filter_map(|(i, r)| key(r).map(|k| (k, i)))
                .min();
            let Some((_, i)) = next else { break };
            let run = &mut runs[i];
            let batch = run.batch.as_ref().expect("key implies a batch");
            let slot = *held_index.entry((i, generation[i])).or_insert_with(|| {
                held.push(batch.clone());
                held.len() - 1
            });
            picks.push((slot, run.row));
            run.row += 1;
            if run.row >= batch.num_rows() {
                run.batch = run
                    .reader
                    .next()
                    .transpose()
                    .map_err(|source| IngestError::Arrow {
                        path: run.path.clone(),
                        source,
                    })?;
                run.row = 0;
                generation[i] += 1;
            }
        }
        if picks.is_empty() {
            return Ok(());
        }
        let columns = (0..schema.fields().len())
            .map(|c| {
                let arrays: Vec<&dyn Array> = held.iter().map(|b| b.column(c).as_ref()).collect();
                arrow_select::interleave::interleave(&arrays, &picks)
            })
            .collect::<Result<Vec<ArrayRef>, _>>()
            .map_err(|source| IngestError::Arrow {
                path: files[0].clone(),
                source,
            })?;
        emit(RecordBatch::try_new(Arc::clone(schema), columns).expect("same schema"))?;
    }
}

/// Per-session post-processing over sorted rows, carried across pieces:
/// - usage is kept once per `message_id` within a session (Claude Code repeats a response's usage on
///   each of its content blocks' lines);
/// - a `tool_result` without a call id is paired with the latest unanswered `tool_call` of the session
///   (`link_method = order`); a `tool_call` without an id gets `seq:N` so the pair is joinable.
#[derive(Default)]
struct SessionPass {
    session: String,
    messages: std::collections::HashSet<String>,
    open_calls: Vec<String>,
}

impl SessionPass {
    fn apply(&mut self, batch: &RecordBatch) -> RecordBatch {
        let schema = batch.schema();
        let idx = |name: &str| schema.index_of(name).expect("store schema");
        let sessions = batch.column(0).as_string::<i32>();
        let seq = batch.column(1).as_primitive::<UInt32Type>();
        let kind = batch.column(idx(columns::KIND)).as_string::<i32>();
        let call = batch.column(idx(columns::CALL_ID)).as_string::<i32>();
        let link = batch.column(idx(columns::LINK_METHOD)).as_string::<i32>();
        let msg = batch.column(idx(columns::MESSAGE_ID)).as_string::<i32>();
        let tin = batch
            .column(idx(columns::INPUT_TOKENS))
            .as_primitive::<Int64Type>();
        let tout = batch
            .column(idx(columns::OUTPUT_TOKENS))
            .as_primitive::<Int64Type>();
        let n = batch.num_rows();
        let (mut new_call, mut new_link) = (Vec::with_capacity(n), Vec::with_capacity(n));
        let (mut new_in, mut new_out) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for i in 0..n {
            if sessions.value(i) != self.session {
                self.session = sessions.value(i).to_string();
                self.messages.clear();
                self.open_calls.clear();
            }
            let opt = |a: &StringArray| a.is_valid(i).then(|| a.value(i).to_string());
            let (mut c, mut l) = (opt(call), opt(link));
            match kind.value(i) {
                "tool_call" => {
                    let id = c
                        .get_or_insert_with(|| format!("seq:{}", seq.value(i)))
                        .clone();
                    self.open_calls.push(id);
                }
                "tool_result" => match &c {
                    Some(id) => self.open_calls.retain(|open| open != id),
                    None => {
                        if let Some(id) = self.open_calls.pop() {
                            c = Some(id);
                            l = Some("order".to_string());
                        }
                    }
                },
                _ => {}
            }
            let has_tokens = tin.is_valid(i) || tout.is_valid(i);
            let duplicate_usage =
                has_tokens && msg.is_valid(i) && !self.messages.insert(msg.value(i).to_string());
            new_in.push(if duplicate_usage || tin.is_null(i) {
                None
            } else {
                Some(tin.value(i))
            });
            new_out.push(if duplicate_usage || tout.is_null(i) {
                None
            } else {
                Some(tout.value(i))
            });
            new_call.push(c);
            new_link.push(l);
        }
        let mut cols = batch.columns().to_vec();
        cols[idx(columns::CALL_ID)] = Arc::new(StringArray::from(new_call));
        cols[idx(columns::LINK_METHOD)] = Arc::new(StringArray::from(new_link));
        cols[idx(columns::INPUT_TOKENS)] = Arc::new(arrow_array::Int64Array::from(new_in));
        cols[idx(columns::OUTPUT_TOKENS)] = Arc::new(arrow_array::Int64Array::from(new_out));
        RecordBatch::try_new(schema, cols).expect("same schema")
    }
}
