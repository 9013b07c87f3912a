//! The ingest driver and the store's commit protocol.
//!
//! Atomicity: everything new is written under `<store>/.tmp/`, renamed into `events/` and `rejects/`
//! under names no committed file has (the new generation number), and committed by replacing
//! `manifest.json` with a rename. Readers read only the files the manifest lists, so a killed ingest
//! leaves the previous store readable and consistent; its leftovers are removed by the next ingest.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::cast::AsArray;
use arrow_array::types::UInt32Type;
use memmap2::Mmap;
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use tracehound_schema::{
    bucket_of, InputEntry, Manifest, RunEntry, SourceFormat, StoreFile, StoreLayout,
    DEFAULT_BUCKETS,
};

use crate::batch::to_batch;
use crate::error::IngestError;
use crate::formats::FileCtx;
use crate::input::{self, Detected, Input, Job, JobData, StreamChunks};
use crate::pipeline::{parse_job, JobOut, Sequencer};
use crate::sink::{write_bucket, writer_properties, BucketSink, SeqBase};
use crate::{Limits, Reject};

/// Per-input accounting, as recorded in the manifest.
pub type InputReport = InputEntry;

/// What an ingest did.
#[derive(Debug, Clone)]
pub struct IngestSummary {
    pub generation: u32,
    pub inputs: Vec<InputReport>,
    /// Inputs already in the store (same SHA-256), not read again.
    pub skipped: Vec<String>,
    pub events: u64,
    pub rejects: u64,
    pub sessions: u64,
    /// Bytes read (decompressed).
    pub bytes: u64,
    pub elapsed: Duration,
    pub store_files: Vec<StoreFile>,
}

impl IngestSummary {
    /// Files per detected format (`unknown` for files no format matched).
    pub fn formats(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for i in &self.inputs {
            *out.entry(i.format.clone().unwrap_or_else(|| "unknown".into()))
                .or_insert(0) += 1;
        }
        out
    }
}

type Progress = Arc<dyn Fn(u64) + Send + Sync>;

/// Configures an ingest: `IngestBuilder::new().threads(4).build().run(&inputs, store)`.
#[derive(Clone)]
pub struct IngestBuilder {
    threads: usize,
    format: Option<SourceFormat>,
    limits: Limits,
    memory_budget: usize,
    text_level: i32,
    other_level: i32,
    command_line: Vec<String>,
    progress: Option<Progress>,
}

impl Default for IngestBuilder {
    fn default() -> Self {
        IngestBuilder::new()
    }
}

impl IngestBuilder {
    pub fn new() -> IngestBuilder {
        IngestBuilder {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            format: None,
            limits: Limits::default(),
            // Buffered batches before spilling. With the window of chunks in flight and the Parquet
            // writers' buffers this keeps peak RSS near 200 MiB (docs/benchmarks.md).
            memory_budget: 64 << 20,
            text_level: 1,
            other_level: 3,
            command_line: Vec::new(),
            progress: None,
        }
    }

    pub fn threads(mut self, n: usize) -> Self {
        self.threads = n.max(1);
        self
    }

    /// Forces a format instead of detecting one per file.
    pub fn format(mut self, format: Option<SourceFormat>) -> Self {
        self.format = format;
        self
    }

    /// Resource limits; `max_depth` is held to [`crate::MAX_DEPTH_CEILING`] (and at least 1).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = Limits {
            max_depth: limits.max_depth.clamp(1, crate::MAX_DEPTH_CEILING),
            ..limits
        };
        self
    }

    pub fn memory_budget(mut self, bytes: usize) -> Self {
        self.memory_budget = bytes.max(1 << 20);
        self
    }

    /// zstd levels: for the large text columns (`content`, `args`, `attributes`) and for the rest.
    pub fn zstd_levels(mut self, text: i32, other: i32) -> Self {
        self.text_level = text;
        self.other_level = other;
        self
    }

    /// The command line recorded in the manifest.
    pub fn command_line(mut self, args: Vec<String>) -> Self {
        self.command_line = args;
        self
    }

    /// Called with the number of input bytes just processed, for a progress bar.
    pub fn progress(mut self, f: impl Fn(u64) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }

    pub fn build(self) -> Ingest {
        Ingest { opts: self }
    }
}

pub struct Ingest {
    opts: IngestBuilder,
}

/// The state of one input during a run.
struct FileState {
    entry: InputEntry,
    format: Option<SourceFormat>,
    ctx: FileCtx,
}

impl Ingest {
    /// Ingests `inputs` (files and directories) into the store at `store`, creating it if needed.
    pub fn run(&self, inputs: &[PathBuf], store: &Path) -> Result<IngestSummary, IngestError> {
        let started = Instant::now();
        let started_at = now();
        let layout = StoreLayout::new(store);
        std::fs::create_dir_all(store).map_err(IngestError::io("create store directory", store))?;
        let mut manifest = Manifest::read(&layout.manifest())?.unwrap_or_else(|| {
            Manifest::new(DEFAULT_BUCKETS, env!("CARGO_PKG_VERSION"), &started_at)
        });
        remove_uncommitted(&layout, &manifest)?;
        let generation = manifest.next_generation();
        let scratch = layout.scratch().join(format!("gen-{generation:06}"));
        std::fs::create_dir_all(&scratch)
            .map_err(IngestError::io("create scratch directory", &scratch))?;

        let (found, unreadable) = input::discover(inputs)?;
        // Skip inputs the store already holds. Only a same-size file can be a duplicate, so only those
        // are hashed before parsing; the rest are hashed alongside it.
        let known: HashSet<&str> = manifest.inputs.iter().map(|i| i.sha256.as_str()).collect();
        let known_sizes: HashSet<u64> = manifest.inputs.iter().map(|i| i.size).collect();
        let mut todo = Vec::new();
        let mut skipped = Vec::new();
        let mut prehashed = HashMap::new();
        for inp in found {
            if known_sizes.contains(&inp.size) {
                if let Ok(h) = sha256_file(&inp.path) {
                    if known.contains(h.as_str()) {
                        skipped.push(inp.name.clone());
                        continue;
                    }
                    prehashed.insert(inp.name.clone(), h);
                }
            }
            todo.push(inp);
        }

        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.opts.threads)
            .build()
            .expect("a thread pool of a positive size builds");
        let rejects_tmp = scratch.join("rejects.jsonl");
        let mut rejects_out = BufWriter::new(
            File::create(&rejects_tmp).map_err(IngestError::io("create", &rejects_tmp))?,
        );
        let mut states: Vec<FileState> = Vec::with_capacity(todo.len());
        let mut sink = BucketSink::new(scratch.clone(), manifest.buckets, self.opts.memory_budget);
        let mut sequencer = Sequencer::default();
        let (mut events, mut rejects, mut bytes) = (0u64, 0u64, 0u64);

        // Unreadable paths are inputs too: each gets an entry and a reject.
        for (path, reason) in &unreadable {
            let reject = Reject {
                file: path.clone(),
                line: None,
                offset: 0,
                reason: reason.clone(),
                excerpt: String::new(),
            };
            write_reject(&mut rejects_out, &reject, &rejects_tmp)?;
            rejects += 1;
        }

        let mut timing = Timing::default();
        let hashes = std::thread::scope(|scope| -> Result<HashMap<String, String>, IngestError> {
            let to_hash: Vec<Input> = todo
                .iter()
                .filter(|i| !prehashed.contains_key(&i.name))
                .cloned()
                .collect();
            let hasher = scope.spawn(move || {
                to_hash
                    .into_iter()
                    .map(|i| {
                        let h = sha256_file(&i.path).unwrap_or_else(|e| format!("unreadable: {e}"));
                        (i.name, h)
                    })
                    .collect::<HashMap<_, _>>()
            });

            let window_bytes = self.opts.threads.max(1) * 2 * input::CHUNK_BYTES;
            let mut jobs = JobSource::new(&todo, self.opts.format, &self.opts.limits);
            loop {
                let mut window: Vec<Job> = Vec::new();
                let mut window_size = 0;
                while window_size < window_bytes && window.len() < 512 {
                    match jobs.next(&mut states) {
                        Some(job) => {
                            window_size += job.data.bytes().len();
                            window.push(job);
                        }
                        None => break,
                    }
                }
                if window.is_empty() {
                    break;
                }
                let t0 = Instant::now();
                let limits = &self.opts.limits;
                let states_ref = &states;
                let mut outs: Vec<JobOut> = pool.install(|| {
                    window
                        .par_iter()
                        .map(|job| {
                            let st = &states_ref[job.input];
                            // Jobs of undetected inputs carry no bytes, only their reject: any adapter
                            // will do, none is called.
                            let format = st.format.unwrap_or(SourceFormat::FlatJsonl);
                            parse_job(job, format, &st.ctx, &st.entry.path, limits)
                        })
                        .collect()
                });
                timing.parse += t0.elapsed();
                let t0 = Instant::now();
                for out in &mut outs {
                    sequencer.apply(out);
                    let entry = &mut states[out.input].entry;
                    entry.records += out.records;
                    entry.records_with_events += out.records_with_events;
                    entry.blank_lines += out.blank_lines;
                    entry.events += out.events.len() as u64;
                    entry.rejects += out.rejects.len() as u64;
                    events += out.events.len() as u64;
                    bytes += out.bytes;
                    for r in &out.rejects {
                        write_reject(&mut rejects_out, r, &rejects_tmp)?;
                        rejects += 1;
                    }
                }
                timing.sequence += t0.elapsed();
                let t0 = Instant::now();
                let buckets = manifest.buckets;
                let states_ref = &states;
                let batches: Vec<Vec<(u32, arrow_array::RecordBatch)>> = pool.install(|| {
                    outs.par_iter()
                        .map(|out| {
                            let st = &states_ref[out.input];
                            let file = st.entry.path.as_str();
                            let format = st.format.map_or("", |f| f.as_str());
                            let mut by_bucket: BTreeMap<u32, Vec<&tracehound_schema::Event>> =
                                BTreeMap::new();
                            for e in &out.events {
                                by_bucket
                                    .entry(bucket_of(&e.session_id, buckets))
                                    .or_default()
                                    .push(e);
                            }
                            by_bucket
                                .into_iter()
                                .map(|(b, evs)| (b, to_batch(&evs, file, format)))
                                .collect()
                        })
                        .collect()
                });
                drop(outs);
                timing.batch += t0.elapsed();
                let t0 = Instant::now();
                // In the pool: a spill writes buckets in parallel.
                pool.install(|| -> Result<(), IngestError> {
                    for per_job in batches {
                        for (bucket, batch) in per_job {
                            sink.push(bucket, batch)?;
                        }
                    }
                    Ok(())
                })?;
                timing.spill += t0.elapsed();
                release_pages(&window);
                if let Some(p) = &self.opts.progress {
                    p(window_size as u64);
                }
            }
            hasher.join().map_err(|_| IngestError::Io {
                action: "hash inputs",
                path: PathBuf::new(),
                source: std::io::Error::other("hashing thread panicked"),
            })
        })?;
        rejects_out
            .flush()
            .map_err(IngestError::io("write", &rejects_tmp))?;
        drop(rejects_out);

        // Sort and write each bucket, in parallel; each gets an equal share of the memory budget.
        let t0 = Instant::now();
        let buckets = pool.install(|| sink.into_buckets())?;
        release_free_memory();
        // Each thread sorts one bucket in memory within its run budget; a bucket over it goes through
        // sorted run files and a merge, which writes and reads every byte once more (16 % of a 1 GiB
        // ingest in kernel copies at half the budget per thread). The sink is drained by now, so the
        // write phase may use the whole budget per thread.
        let run_budget = self.opts.memory_budget.max(8 << 20);
        let props = writer_properties(self.opts.text_level, self.opts.other_level);
        let written: Vec<(u32, PathBuf, u64)> = pool.install(|| {
            buckets
                .into_par_iter()
                .map(|data| {
                    let bucket = data.bucket;
                    let base = seq_base(&layout, &manifest, bucket)?;
                    let tmp = scratch.join(format!("bucket-{bucket:03}.parquet"));
                    let rows =
                        write_bucket(data, &base, &tmp, props.clone(), run_budget, &scratch)?;
                    Ok((bucket, tmp, rows))
                })
                .collect::<Result<Vec<_>, IngestError>>()
        })?;

        timing.write += t0.elapsed();
        if std::env::var_os("TRACEHOUND_TIMING").is_some() {
            eprintln!("{timing:?}");
        }
        // Move into place (not yet visible: the manifest does not list them).
        let mut new_files = Vec::new();
        for (bucket, tmp, rows) in written {
            let rel = StoreLayout::part_file(bucket, generation);
            let dest = layout.resolve(&rel);
            new_files.push(place(&tmp, &dest, rel, Some(bucket), generation, rows)?);
        }
        if rejects > 0 {
            let rel = StoreLayout::rejects_file(generation);
            new_files.push(place(
                &rejects_tmp,
                &layout.resolve(&rel),
                rel,
                None,
                generation,
                rejects,
            )?);
        }

        let mut reports = Vec::new();
        for st in states {
            let mut entry = st.entry;
            entry.generation = generation;
            entry.sha256 = prehashed
                .get(&entry.path)
                .or_else(|| hashes.get(&entry.path))
                .cloned()
                .unwrap_or_default();
            reports.push(entry);
        }
        for (path, reason) in unreadable {
            reports.push(InputEntry {
                path,
                size: 0,
                sha256: String::new(),
                format: None,
                compression: None,
                generation,
                records: 1,
                records_with_events: 0,
                blank_lines: 0,
                events: 0,
                rejects: 1,
                error: Some(reason),
            });
        }

        let finished_at = now();
        manifest.updated = finished_at.clone();
        manifest.tool_version = env!("CARGO_PKG_VERSION").to_string();
        // A store continued from an older version now holds files of this one: older tracehounds must
        // refuse it (readers of this version read both kinds of file).
        manifest.schema_version = tracehound_schema::SCHEMA_VERSION;
        manifest.inputs.extend(
            reports
                .iter()
                .filter(|r| !r.sha256.is_empty() || r.error.is_some())
                .cloned(),
        );
        manifest.files.extend(new_files.iter().cloned());
        manifest.runs.push(RunEntry {
            generation,
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            command_line: self.opts.command_line.clone(),
            started: started_at,
            finished: finished_at,
            events,
            rejects,
            skipped_inputs: skipped.clone(),
        });
        write_manifest(&layout, &manifest)?;
        let _ = std::fs::remove_dir_all(layout.scratch());

        Ok(IngestSummary {
            generation,
            inputs: reports,
            skipped,
            events,
            rejects,
            sessions: sequencer.sessions() as u64,
            bytes,
            elapsed: started.elapsed(),
            store_files: new_files,
        })
    }
}

/// Hands memory freed by the parse phase back to the kernel before the write phase allocates its own.
/// glibc keeps freed event strings in per-thread arenas; on a 1 GiB ingest that was tens of MiB of
/// resident memory nobody used (measured with /proc/PID/status during a run).
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap pages to the kernel; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Where an ingest's wall time went, printed with `TRACEHOUND_TIMING=1` for profiling.
#[derive(Debug, Default)]
struct Timing {
    parse: Duration,
    sequence: Duration,
    batch: Duration,
    spill: Duration,
    write: Duration,
}

/// Produces jobs input by input, detecting each input's format when it is reached.
struct JobSource<'a> {
    inputs: &'a [Input],
    forced: Option<SourceFormat>,
    limits: &'a Limits,
    next_input: usize,
    queued: std::collections::VecDeque<Job>,
    stream: Option<StreamChunks>,
}

impl<'a> JobSource<'a> {
    fn new(inputs: &'a [Input], forced: Option<SourceFormat>, limits: &'a Limits) -> Self {
        JobSource {
            inputs,
            forced,
            limits,
            next_input: 0,
            queued: Default::default(),
            stream: None,
        }
    }

    fn next(&mut self, states: &mut Vec<FileState>) -> Option<Job> {
        loop {
            if let Some(job) = self.queued.pop_front() {
                return Some(job);
            }
            if let Some(stream) = &mut self.stream {
                match stream.next() {
                    Some(job) => return Some(job),
                    None => self.stream = None,
                }
            }
            let idx = self.next_input;
            let inp = self.inputs.get(idx)?;
            self.next_input += 1;
            let mut entry = InputEntry {
                path: inp.name.clone(),
                size: inp.size,
                sha256: String::new(),
                format: None,
                compression: inp.compression.name().map(str::to_string),
                generation: 0,
                records: 0,
                records_with_events: 0,
                blank_lines: 0,
                events: 0,
                rejects: 0,
                error: None,
            };
            let detected = input::detect(inp, self.forced, self.limits).unwrap_or_else(|e| {
                Detected::Unknown {
                    reason: format!("cannot read: {e}"),
                    excerpt: Vec::new(),
                }
            });
            let (format, ctx) = match detected {
                Detected::Empty => (None, FileCtx::default()),
                Detected::Unknown { reason, excerpt } => {
                    // A job without bytes carries the file's reject, so it is written in input order
                    // like every other reject (deterministic rejects file at any thread count).
                    entry.error = Some(reason.clone());
                    self.queued.push_back(error_job(
                        idx,
                        format!("unknown format: {reason}"),
                        excerpt,
                    ));
                    (None, FileCtx::default())
                }
                Detected::Document { format, ctx, bytes } => {
                    self.queued.push_back(Job {
                        input: idx,
                        data: JobData::Owned(bytes),
                        base_offset: 0,
                        document: true,
                        trailing_error: None,
                        error_excerpt: Vec::new(),
                    });
                    (Some(format), ctx)
                }
                Detected::Lines { format, ctx } => {
                    match map_file(inp) {
                        Some(map) => self.queued.extend(input::mapped_chunks(idx, map)),
                        None => match input::open_stream(inp, self.limits) {
                            Ok(s) => {
                                self.stream = Some(StreamChunks::new(idx, s, self.limits.max_line))
                            }
                            Err(e) => {
                                entry.error = Some(format!("cannot read: {e}"));
                                self.queued.push_back(error_job(
                                    idx,
                                    format!("cannot read: {e}"),
                                    Vec::new(),
                                ));
                            }
                        },
                    }
                    (Some(format), ctx)
                }
            };
            entry.format = format.map(|f| f.as_str().to_string());
            states.push(FileState { entry, format, ctx });
        }
    }
}

fn error_job(input: usize, reason: String, excerpt: Vec<u8>) -> Job {
    Job {
        input,
        data: JobData::Owned(Vec::new()),
        base_offset: 0,
        document: false,
        trailing_error: Some(reason),
        error_excerpt: excerpt,
    }
}

/// Maps an uncompressed, non-empty file. `None` means read it as a stream instead (compressed, empty,
/// or mapping failed, e.g. on a filesystem that does not support it).
fn map_file(inp: &Input) -> Option<Arc<Mmap>> {
    if inp.compression != input::Compression::None || inp.size == 0 {
        return None;
    }
    let file = File::open(&inp.path).ok()?;
    // SAFETY: the map is read-only and private. If another process truncates the file while we read
    // it, reads past the new end fault (SIGBUS); that is the accepted cost of mmap here, as in
    // ripgrep, since log archives are not rewritten in place. Callers needing safety from that can
    // ingest a copy.
    let map = unsafe { Mmap::map(&file) }.ok()?;
    Some(Arc::new(map))
}

/// Returns the pages of processed mapped chunks to the kernel, so resident memory does not grow with
/// the input size (file-backed pages count in RSS while mapped).
fn release_pages(window: &[Job]) {
    for job in window {
        if let JobData::Mapped(map, range) = &job.data {
            let page = 4096;
            let start = range.start.div_ceil(page) * page;
            let end = range.end / page * page;
            if end > start {
                // SAFETY: the mapping is read-only and file-backed; MADV_DONTNEED only drops the
                // resident copy, and any later access re-reads the same bytes from the file.
                let _ = unsafe {
                    map.unchecked_advise_range(
                        memmap2::UncheckedAdvice::DontNeed,
                        start,
                        end - start,
                    )
                };
            }
        }
    }
}

fn write_reject(out: &mut impl Write, reject: &Reject, path: &Path) -> Result<(), IngestError> {
    serde_json::to_writer(&mut *out, reject).map_err(|e| IngestError::Io {
        action: "write",
        path: path.to_path_buf(),
        source: e.into(),
    })?;
    out.write_all(b"\n").map_err(IngestError::io("write", path))
}

fn place(
    tmp: &Path,
    dest: &Path,
    rel: String,
    bucket: Option<u32>,
    generation: u32,
    rows: u64,
) -> Result<StoreFile, IngestError> {
    let sha = sha256_file(tmp).map_err(IngestError::io("hash", tmp))?;
    let bytes = std::fs::metadata(tmp)
        .map_err(IngestError::io("stat", tmp))?
        .len();
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent).map_err(IngestError::io("create directory", parent))?;
    }
    File::open(tmp)
        .and_then(|f| f.sync_all())
        .map_err(IngestError::io("sync", tmp))?;
    std::fs::rename(tmp, dest).map_err(IngestError::io("move into the store", dest))?;
    Ok(StoreFile {
        path: rel,
        bucket,
        generation,
        rows,
        bytes,
        sha256: sha,
    })
}

fn write_manifest(layout: &StoreLayout, manifest: &Manifest) -> Result<(), IngestError> {
    let path = layout.manifest();
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_string_pretty(manifest).expect("manifest serializes");
    let mut f = File::create(&tmp).map_err(IngestError::io("create", &tmp))?;
    f.write_all(text.as_bytes())
        .map_err(IngestError::io("write", &tmp))?;
    f.sync_all().map_err(IngestError::io("sync", &tmp))?;
    std::fs::rename(&tmp, &path).map_err(IngestError::io("commit manifest", &path))
}

/// Removes what a killed ingest left: the scratch directory and files the manifest does not list.
fn remove_uncommitted(layout: &StoreLayout, manifest: &Manifest) -> Result<(), IngestError> {
    let _ = std::fs::remove_dir_all(layout.scratch());
    let _ = std::fs::remove_file(layout.manifest().with_extension("json.tmp"));
    let listed: HashSet<PathBuf> = manifest
        .files
        .iter()
        .map(|f| layout.resolve(&f.path))
        .collect();
    for dir in ["events", "rejects"] {
        let root = layout.root().join(dir);
        let mut stack = vec![root];
        while let Some(d) = stack.pop() {
            let Ok(rd) = std::fs::read_dir(&d) else {
                continue;
            };
            for entry in rd.flatten() {
                let p = entry.path();
                if p.is_dir() {
                    stack.push(p);
                } else if !listed.contains(&p) {
                    std::fs::remove_file(&p)
                        .map_err(IngestError::io("remove uncommitted file", &p))?;
                }
            }
        }
    }
    Ok(())
}

/// Last `seq` per session already stored in a bucket.
fn seq_base(
    layout: &StoreLayout,
    manifest: &Manifest,
    bucket: u32,
) -> Result<SeqBase, IngestError> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::arrow::ProjectionMask;
    let mut base = SeqBase::new();
    for f in manifest.event_files().filter(|f| f.bucket == Some(bucket)) {
        let path = layout.resolve(&f.path);
        let file = File::open(&path).map_err(IngestError::io("open", &path))?;
        let err = |source| IngestError::Parquet {
            path: path.clone(),
            source,
        };
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(err)?;
        let mask = ProjectionMask::roots(builder.parquet_schema(), [0, 1]);
        let reader = builder.with_projection(mask).build().map_err(err)?;
        for batch in reader {
            let batch = batch.map_err(|source| IngestError::Arrow {
                path: path.clone(),
                source,
            })?;
            let s = batch.column(0).as_string::<i32>();
            let q = batch.column(1).as_primitive::<UInt32Type>();
            for i in 0..batch.num_rows() {
                let e = base.entry(s.value(i).to_string()).or_insert(0);
                *e = (*e).max(q.value(i));
            }
        }
    }
    Ok(base)
}

pub(crate) fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut f = File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
