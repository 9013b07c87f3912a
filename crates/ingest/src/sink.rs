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
const PIECE_ROWS: usize = 1024;
/// Rows per row group. One session's read touches the row groups whose `session_id` range holds it;
/// 16 Ki rows keeps that to a few MB of compressed content.
pub(crate) const ROW_GROUP_ROWS: usize = 8 * 1024;

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
        // Buckets that already spilled take the rest of their batches to disk too, so finalization
        // holds at most one bucket's run per thread, not the sink's whole budget on top of it.
        if self.spills.iter().any(Option::is_some) {
            self.spill()?;
        }
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

/// Opens a spill or run file this ingest wrote. UTF-8 and offset validation is skipped: it was 11 % of
/// a 1 GiB ingest's CPU (perf), and the bytes are our own, written moments ago from arrays that were
/// valid when written.
fn open_own_ipc(path: &Path) -> Result<StreamReader<BufReader<File>>, IngestError> {
    let file = File::open(path).map_err(IngestError::io("open scratch file", path))?;
    let reader =
        StreamReader::try_new(BufReader::with_capacity(1 << 20, file), None).map_err(|source| {
            IngestError::Arrow {
                path: path.to_path_buf(),
                source,
            }
        })?;
    // SAFETY: the file lives in the store's private scratch directory and was written by this process
    // with arrow's StreamWriter from valid arrays; nothing else writes there during a run.
    Ok(unsafe { reader.with_skip_validation(true) })
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
                let reader = open_own_ipc(&path)?;
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

    // Sorted runs of at most `run_budget` bytes; one run, kept in memory, is the common case. A run is
    // its batches plus the sorted order of their rows: pieces are gathered from the batches directly,
    // which saves the two full copies a concat-then-take sort would make.
    type Run = (Vec<RecordBatch>, Vec<(usize, usize)>);
    let mut in_memory: Option<Run> = None;
    let mut run_files: Vec<PathBuf> = Vec::new();
    let mut current: Vec<RecordBatch> = Vec::new();
    let mut current_bytes = 0;
    let arrow_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| IngestError::Arrow { path, source }
    };
    let mut flush_run = |current: &mut Vec<RecordBatch>,
                         to_disk: bool|
     -> Result<Option<Run>, IngestError> {
        if current.is_empty() {
            return Ok(None);
        }
        let rebased: Vec<RecordBatch> = current
            .drain(..)
            .map(|b| rebase_seq(&b, seq_base))
            .collect();
        let order = sorted_order(&rebased);
        if !to_disk {
            return Ok(Some((rebased, order)));
        }
        let run_path = scratch.join(format!("run-{bucket:03}-{:04}.arrow", run_files.len()));
        let f = File::create(&run_path).map_err(IngestError::io("create sorted run", &run_path))?;
        let mut w =
            StreamWriter::try_new(BufWriter::new(f), &schema).map_err(arrow_err(&run_path))?;
        for picks in order.chunks(PIECE_ROWS) {
            w.write(&gather(&rebased, picks).map_err(arrow_err(&run_path))?)
                .map_err(arrow_err(&run_path))?;
        }
        w.finish().map_err(arrow_err(&run_path))?;
        run_files.push(run_path);
        Ok(None)
    };
    let spilled_runs = data.bytes > run_budget;
    let mut any_spilled = false;
    for batch in data.batches()? {
        let batch = batch?;
        current_bytes += batch.get_array_memory_size();
        current.push(batch);
        if current_bytes > run_budget {
            flush_run(&mut current, true)?;
            any_spilled = true;
            current_bytes = 0;
        }
    }
    let last = flush_run(&mut current, spilled_runs || any_spilled)?;
    if run_files.is_empty() {
        in_memory = last;
    } else if let Some((batches, order)) = last {
        // Cannot happen (a run was spilled, so the last one was too); kept total for safety.
        for picks in order.chunks(PIECE_ROWS) {
            emit(gather(&batches, picks).map_err(arrow_err(path))?)?;
        }
    }

    if let Some((batches, order)) = in_memory {
        for picks in order.chunks(PIECE_ROWS) {
            emit(gather(&batches, picks).map_err(arrow_err(path))?)?;
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

/// The rows of `batches` in (`session_id`, `seq`) order, as (batch, row) pairs.
fn sorted_order(batches: &[RecordBatch]) -> Vec<(usize, usize)> {
    let mut keys: Vec<(&str, u32, usize, usize)> = Vec::new();
    for (b, batch) in batches.iter().enumerate() {
        let s = batch.column(0).as_string::<i32>();
        let q = batch.column(1).as_primitive::<UInt32Type>();
        keys.extend((0..batch.num_rows()).map(|r| (s.value(r), q.value(r), b, r)));
    }
    // (session_id, seq) is unique, so an unstable sort is deterministic.
    keys.sort_unstable_by(|x, y| (x.0, x.1).cmp(&(y.0, y.1)));
    keys.into_iter().map(|(_, _, b, r)| (b, r)).collect()
}

/// One output piece: the picked rows of `batches`, in pick order.
fn gather(
    batches: &[RecordBatch],
    picks: &[(usize, usize)],
) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let schema = batches[0].schema();
    let columns = (0..schema.fields().len())
        .map(|c| {
            let arrays: Vec<&dyn Array> = batches.iter().map(|b| b.column(c).as_ref()).collect();
            arrow_select::interleave::interleave(&arrays, picks)
        })
        .collect::<Result<Vec<ArrayRef>, _>>()?;
    RecordBatch::try_new(schema, columns)
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
        let mut reader = open_own_ipc(path)?;
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
    // The current row's key of a run, borrowed: no allocation per comparison.
    fn key(r: &Run) -> Option<(&str, u32)> {
        let b = r.batch.as_ref()?;
        Some((
            b.column(0).as_string::<i32>().value(r.row),
            b.column(1).as_primitive::<UInt32Type>().value(r.row),
        ))
    }
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
                .min()
                .map(|(_, i)| i);
            let Some(i) = next else { break };
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
