//! `preserve`: the raw records and store rows behind a selection, into a hashed, read-only archive.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{TimestampMicrosecondType, UInt64Type};
use arrow_array::{Array, BooleanArray, RecordBatch};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use serde::Serialize;
use tracehound_query::Store;
use tracehound_schema::{bucket_of, columns, InputEntry};

use crate::{
    io_err, sha256_file, ArchiveManifest, ArchivedFile, EvidenceError, InputCheck, InputStatus,
    SelectionRecord, ARCHIVE_FORMAT, ARCHIVE_FORMAT_VERSION, ARCHIVE_MANIFEST, SHA256SUMS,
};

/// Which events to preserve.
#[derive(Debug, Clone)]
pub enum Selection {
    /// Every event of these sessions.
    Sessions(Vec<String>),
    /// Every event whose timestamp lies in the window (inclusive, microseconds since the epoch, UTC).
    /// Events without a timestamp cannot be placed in a window and are not selected.
    Window {
        since: Option<i64>,
        until: Option<i64>,
    },
}

#[derive(Debug, Clone)]
pub struct PreserveOptions {
    pub selection: Selection,
    /// The archive directory to create; it must not exist.
    pub to: PathBuf,
    /// Where relative input paths recorded in the store are resolved (the directory ingest ran in);
    /// the current directory when `None`.
    pub input_root: Option<PathBuf>,
    pub command_line: Vec<String>,
    pub tool_version: String,
}

/// One raw record wanted from a line-format input.
struct WantedLine {
    line: u64,
    sessions: BTreeSet<String>,
}

#[derive(Default)]
struct WantedFile {
    /// By byte offset in the decompressed stream.
    lines: BTreeMap<u64, WantedLine>,
    /// Events from a whole JSON document (no line): the record is the file.
    whole: bool,
}

/// One line of `records/index.jsonl`.
#[derive(Serialize)]
struct IndexEntry<'a> {
    source_file: &'a str,
    line: u64,
    offset: u64,
    length: u64,
    sha256: String,
    archive_file: &'a str,
    archive_offset: u64,
    sessions: &'a BTreeSet<String>,
}

/// Creates the archive. The work happens in a sibling `*.partial` directory renamed into place at the
/// end, so an interrupted run never leaves something that looks like a complete archive.
pub fn preserve(store: &Store, opts: &PreserveOptions) -> Result<ArchiveManifest, EvidenceError> {
    if opts.to.exists() {
        return Err(EvidenceError::Exists {
            path: opts.to.clone(),
        });
    }
    let batch = select_rows(store, &opts.selection)?;
    if batch.num_rows() == 0 {
        return Err(EvidenceError::Empty);
    }
    let found: BTreeSet<&str> = batch
        .column_by_name(columns::SESSION_ID)
        .expect("store schema")
        .as_string::<i32>()
        .iter()
        .flatten()
        .collect();
    if let Selection::Sessions(asked) = &opts.selection {
        // A mistyped id must not leave an archive that silently lacks a session.
        let missing: Vec<&str> = asked
            .iter()
            .map(String::as_str)
            .filter(|s| !found.contains(s))
            .collect();
        if !missing.is_empty() {
            return Err(EvidenceError::UnknownSessions(missing.join(", ")));
        }
    }
    let sessions: Vec<String> = found.into_iter().map(str::to_string).collect();
    let partial = partial_path(&opts.to);
    if partial.exists() {
        std::fs::remove_dir_all(&partial).map_err(io_err(&partial))?;
    }
    std::fs::create_dir_all(partial.join("records")).map_err(io_err(&partial))?;
    let mut files: Vec<ArchivedFile> = Vec::new();

    let events_path = partial.join("events.parquet");
    write_parquet(&batch, &events_path)?;
    files.push(archived(
        &partial,
        "events.parquet",
        "the selected store rows, store schema, ordered by session_id and seq",
    )?);

    let store_manifest = store.layout().manifest();
    let copy = partial.join("store-manifest.json");
    std::fs::copy(&store_manifest, &copy).map_err(io_err(&store_manifest))?;
    let (store_manifest_sha256, _) = sha256_file(&copy).map_err(io_err(&copy))?;
    files.push(archived(
        &partial,
        "store-manifest.json",
        "the store's manifest: ingest runs, inputs with their ingest-time SHA-256, store files",
    )?);

    // Raw records, input by input, in path order.
    let wanted = wanted_records(&batch);
    let mut inputs = Vec::new();
    let mut raw_records = 0u64;
    let index_rel = "records/index.jsonl";
    let index_path = partial.join(index_rel);
    let mut index = BufWriter::new(File::create(&index_path).map_err(io_err(&index_path))?);
    for (n, (source, want)) in wanted.iter().enumerate() {
        let entry = input_entry(store, source);
        let check = copy_input(
            &partial,
            n + 1,
            source,
            want,
            entry,
            opts.input_root.as_deref(),
            &mut index,
        )?;
        raw_records += check.records_archived;
        for rel in &check.archived_as {
            let what = if rel.starts_with("originals/") {
                format!("whole input document `{source}`, original bytes")
            } else {
                format!("raw lines of `{source}` behind the selection, exact bytes")
            };
            files.push(archived(&partial, rel, &what)?);
        }
        inputs.push(check);
    }
    index.flush().map_err(io_err(&index_path))?;
    drop(index);
    files.push(archived(
        &partial,
        index_rel,
        "one JSON object per archived raw line: source file, line, byte offset, length, SHA-256, where in the archive",
    )?);

    let readme = "README.txt";
    let readme_path = partial.join(readme);
    std::fs::write(&readme_path, README).map_err(io_err(&readme_path))?;
    files.push(archived(
        &partial,
        readme,
        "what this archive is and how to check it",
    )?);

    let manifest = ArchiveManifest {
        format: ARCHIVE_FORMAT.to_string(),
        format_version: ARCHIVE_FORMAT_VERSION,
        tool_version: opts.tool_version.clone(),
        command_line: opts.command_line.clone(),
        created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        store: store.layout().root().display().to_string(),
        store_manifest_sha256,
        selection: selection_record(&opts.selection),
        sessions,
        events: batch.num_rows() as u64,
        raw_records,
        inputs,
        files,
    };
    let manifest_path = partial.join(ARCHIVE_MANIFEST);
    let text = serde_json::to_vec_pretty(&manifest).expect("manifest serializes");
    std::fs::write(&manifest_path, &text).map_err(io_err(&manifest_path))?;

    // SHA256SUMS lists every file, the manifest included, in `sha256sum` format.
    let mut sums = String::new();
    for f in &manifest.files {
        sums.push_str(&format!("{}  {}\n", f.sha256, f.path));
    }
    let (manifest_sha, _) = sha256_file(&manifest_path).map_err(io_err(&manifest_path))?;
    sums.push_str(&format!("{manifest_sha}  {ARCHIVE_MANIFEST}\n"));
    let sums_path = partial.join(SHA256SUMS);
    std::fs::write(&sums_path, sums).map_err(io_err(&sums_path))?;

    sync_tree(&partial)?;
    std::fs::rename(&partial, &opts.to).map_err(io_err(&opts.to))?;
    make_read_only(&opts.to)?;
    Ok(manifest)
}

fn partial_path(to: &Path) -> PathBuf {
    let mut name = to
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "evidence".into());
    name.push(".partial");
    to.with_file_name(name)
}

fn archived(root: &Path, rel: &str, what: &str) -> Result<ArchivedFile, EvidenceError> {
    let path = root.join(rel);
    let (sha256, bytes) = sha256_file(&path).map_err(io_err(&path))?;
    Ok(ArchivedFile {
        path: rel.to_string(),
        bytes,
        sha256,
        what: what.to_string(),
    })
}

fn selection_record(sel: &Selection) -> SelectionRecord {
    let fmt = |t: Option<i64>| {
        t.and_then(chrono::DateTime::from_timestamp_micros)
            .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
    };
    match sel {
        Selection::Sessions(s) => SelectionRecord {
            sessions: s.clone(),
            since: None,
            until: None,
        },
        Selection::Window { since, until } => SelectionRecord {
            sessions: Vec::new(),
            since: fmt(*since),
            until: fmt(*until),
        },
    }
}

/// The selected rows of every store file, in (`session_id`, `seq`) order. A session selection reads
/// only its sessions' buckets.
fn select_rows(store: &Store, sel: &Selection) -> Result<RecordBatch, EvidenceError> {
    let buckets: Option<BTreeSet<u32>> = match sel {
        Selection::Sessions(ids) => Some(
            ids.iter()
                .map(|s| bucket_of(s, store.manifest().buckets))
                .collect(),
        ),
        Selection::Window { .. } => None,
    };
    let wanted: BTreeSet<&str> = match sel {
        Selection::Sessions(ids) => ids.iter().map(String::as_str).collect(),
        Selection::Window { .. } => BTreeSet::new(),
    };
    let schema = tracehound_schema::arrow_schema();
    let mut parts = Vec::new();
    for file in store.manifest().event_files() {
        if let (Some(b), Some(set)) = (file.bucket, &buckets) {
            if !set.contains(&b) {
                continue;
            }
        }
        let path = store.layout().resolve(&file.path);
        let handle = File::open(&path).map_err(io_err(&path))?;
        let perr = |source| EvidenceError::Parquet {
            path: path.clone(),
            source,
        };
        let reader = ParquetRecordBatchReaderBuilder::try_new(handle)
            .map_err(perr)?
            .build()
            .map_err(perr)?;
        for batch in reader {
            let batch = batch.map_err(|source| EvidenceError::Arrow {
                path: path.clone(),
                source,
            })?;
            let batch = conform(batch, &schema).map_err(|source| EvidenceError::Arrow {
                path: path.clone(),
                source,
            })?;
            let mask: BooleanArray = match sel {
                Selection::Sessions(_) => {
                    let ids = batch
                        .column_by_name(columns::SESSION_ID)
                        .expect("store schema")
                        .as_string::<i32>();
                    ids.iter()
                        .map(|v| Some(v.is_some_and(|v| wanted.contains(v))))
                        .collect()
                }
                Selection::Window { since, until } => {
                    let ts = batch
                        .column_by_name(columns::TS)
                        .expect("store schema")
                        .as_primitive::<TimestampMicrosecondType>();
                    ts.iter()
                        .map(|t| {
                            Some(t.is_some_and(|t| {
                                since.is_none_or(|s| t >= s) && until.is_none_or(|u| t <= u)
                            }))
                        })
                        .collect()
                }
            };
            if mask.true_count() == 0 {
                continue;
            }
            let kept =
                arrow_select::filter::filter_record_batch(&batch, &mask).map_err(|source| {
                    EvidenceError::Arrow {
                        path: path.clone(),
                        source,
                    }
                })?;
            parts.push(kept);
        }
    }
    let aerr = |source| EvidenceError::Arrow {
        path: store.layout().root().to_path_buf(),
        source,
    };
    let all = arrow_select::concat::concat_batches(&schema, &parts).map_err(aerr)?;
    if all.num_rows() == 0 {
        return Ok(all);
    }
    // Several ingest generations can hold one session; order it as the store does within a file.
    let keys = [columns::SESSION_ID, columns::SEQ].map(|c| arrow_ord::sort::SortColumn {
        values: all.column_by_name(c).expect("store schema").clone(),
        options: None,
    });
    let order = arrow_ord::sort::lexsort_to_indices(&keys, None).map_err(aerr)?;
    arrow_select::take::take_record_batch(&all, &order).map_err(aerr)
}

fn write_parquet(batch: &RecordBatch, path: &Path) -> Result<(), EvidenceError> {
    use parquet::basic::{Compression, ZstdLevel};
    use parquet::file::properties::WriterProperties;
    let perr = |source| EvidenceError::Parquet {
        path: path.to_path_buf(),
        source,
    };
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(3).expect("valid level"),
        ))
        .build();
    let file = File::create(path).map_err(io_err(path))?;
    let mut w =
        ArrowWriter::try_new(file, Arc::clone(&batch.schema()), Some(props)).map_err(perr)?;
    w.write(batch).map_err(perr)?;
    w.close().map_err(perr)?;
    Ok(())
}

/// The raw records behind the rows: per source file, the lines (by offset) or the whole document.
fn wanted_records(batch: &RecordBatch) -> BTreeMap<String, WantedFile> {
    let col = |c: &str| batch.column_by_name(c).expect("store schema");
    let file = col(columns::SOURCE_FILE).as_string::<i32>();
    let session = col(columns::SESSION_ID).as_string::<i32>();
    let line = col(columns::SOURCE_LINE).as_primitive::<UInt64Type>();
    let offset = col(columns::SOURCE_OFFSET).as_primitive::<UInt64Type>();
    let mut out: BTreeMap<String, WantedFile> = BTreeMap::new();
    for i in 0..batch.num_rows() {
        let w = out.entry(file.value(i).to_string()).or_default();
        if line.is_valid(i) {
            w.lines
                .entry(offset.value(i))
                .or_insert_with(|| WantedLine {
                    line: line.value(i),
                    sessions: BTreeSet::new(),
                })
                .sessions
                .insert(session.value(i).to_string());
        } else {
            w.whole = true;
        }
    }
    out
}

/// The store's record of an input: the latest ingest of that path.
fn input_entry<'a>(store: &'a Store, source: &str) -> Option<&'a InputEntry> {
    store
        .manifest()
        .inputs
        .iter()
        .filter(|i| i.path == source)
        .max_by_key(|i| i.generation)
}

/// A file name that is safe on every file system: log paths are attacker-influenced.
fn safe_name(n: usize, source: &str) -> String {
    let base = source.rsplit(['/', '\\']).next().unwrap_or(source);
    let clean: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    let clean = clean.trim_start_matches('.');
    format!("{n:04}-{clean}")
}

fn copy_input(
    root: &Path,
    n: usize,
    source: &str,
    want: &WantedFile,
    entry: Option<&InputEntry>,
    input_root: Option<&Path>,
    index: &mut impl Write,
) -> Result<InputCheck, EvidenceError> {
    let resolved = match (Path::new(source).is_absolute(), input_root) {
        (false, Some(r)) => r.join(source),
        _ => PathBuf::from(source),
    };
    let mut check = InputCheck {
        path: source.to_string(),
        resolved: resolved.display().to_string(),
        compression: entry.and_then(|e| e.compression.clone()),
        ingest_sha256: entry.map(|e| e.sha256.clone()),
        current_sha256: None,
        status: InputStatus::Missing,
        records_wanted: want.lines.len() as u64 + u64::from(want.whole),
        records_archived: 0,
        archived_as: Vec::new(),
        notes: Vec::new(),
    };
    let current = match sha256_file(&resolved) {
        Ok((h, _)) => h,
        Err(e) => {
            check
                .notes
                .push(format!("cannot read `{}`: {e}", resolved.display()));
            return Ok(check);
        }
    };
    check.status = if check.ingest_sha256.as_deref() == Some(current.as_str()) {
        InputStatus::Intact
    } else {
        check.notes.push(
            "the file's SHA-256 differs from the one recorded at ingest: it changed since".into(),
        );
        InputStatus::Changed
    };
    check.current_sha256 = Some(current);
    let name = safe_name(n, source);
    if want.whole {
        let rel = format!("originals/{name}");
        let dest = root.join(&rel);
        std::fs::create_dir_all(root.join("originals")).map_err(io_err(root))?;
        std::fs::copy(&resolved, &dest).map_err(io_err(&resolved))?;
        check.records_archived += 1;
        check.archived_as.push(rel);
    }
    if !want.lines.is_empty() {
        let rel = format!("records/{name}.lines");
        let dest = root.join(&rel);
        let copied =
            copy_lines(&resolved, &check, want, &rel, &dest, index).map_err(io_err(&resolved))?;
        check.records_archived += copied.found;
        check.notes.extend(copied.notes);
        check.archived_as.push(rel);
    }
    Ok(check)
}

struct Copied {
    found: u64,
    notes: Vec<String>,
}

/// Streams the decompressed input once and copies the wanted lines byte for byte, never buffering a
/// whole line (a hostile line may be gigabytes). Each copied line is hashed and indexed.
fn copy_lines(
    source_path: &Path,
    check: &InputCheck,
    want: &WantedFile,
    rel: &str,
    dest: &Path,
    index: &mut impl Write,
) -> std::io::Result<Copied> {
    use sha2::{Digest, Sha256};
    let raw = BufReader::with_capacity(1 << 16, File::open(source_path)?);
    let decoded = tracehound_ingest::decode_as_ingested(raw, check.compression.as_deref())?;
    let mut r = BufReader::with_capacity(1 << 16, decoded);
    let mut out = BufWriter::new(File::create(dest)?);
    let mut notes = Vec::new();
    let mut found = 0u64;
    let (mut offset, mut line_no) = (0u64, 1u64);
    let mut at_start = true;
    // The line being copied: its start, its hash so far, where it starts in the archive file.
    let mut copying: Option<(u64, u64, Sha256, u64)> = None;
    let mut archive_offset = 0u64;
    let mut remaining = want.lines.len();
    loop {
        if remaining == 0 && copying.is_none() {
            break;
        }
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            break;
        }
        let mut i = 0;
        while i < buf.len() {
            if at_start {
                at_start = false;
                if let Some(w) = want.lines.get(&offset) {
                    if w.line != line_no {
                        notes.push(format!(
                            "record at byte {offset} is line {line_no} now, line {} at ingest",
                            w.line
                        ));
                    }
                    copying = Some((offset, w.line, Sha256::new(), archive_offset));
                    remaining -= 1;
                }
            }
            let end = memchr::memchr(b'\n', &buf[i..]).map(|k| i + k + 1);
            let stop = end.unwrap_or(buf.len());
            let piece = &buf[i..stop];
            if let Some((_, _, h, _)) = copying.as_mut() {
                h.update(piece);
                out.write_all(piece)?;
                archive_offset += piece.len() as u64;
            }
            offset += piece.len() as u64;
            if end.is_some() {
                line_no += 1;
                at_start = true;
                if let Some((start, line, h, at)) = copying.take() {
                    found += 1;
                    write_index(index, check, want, rel, start, line, offset - start, h, at)?;
                }
            }
            i = stop;
        }
        let n = buf.len();
        r.consume(n);
    }
    if let Some((start, line, h, at)) = copying.take() {
        // The last line had no newline.
        found += 1;
        write_index(index, check, want, rel, start, line, offset - start, h, at)?;
    }
    out.flush()?;
    let missing = want.lines.len() as u64 - found;
    if missing > 0 {
        notes.push(format!(
            "{missing} of {} records were not found at their recorded byte offsets",
            want.lines.len()
        ));
    }
    Ok(Copied { found, notes })
}

#[allow(clippy::too_many_arguments)]
fn write_index(
    index: &mut impl Write,
    check: &InputCheck,
    want: &WantedFile,
    rel: &str,
    start: u64,
    line: u64,
    length: u64,
    h: sha2::Sha256,
    archive_offset: u64,
) -> std::io::Result<()> {
    use sha2::Digest;
    let entry = IndexEntry {
        source_file: &check.path,
        line,
        offset: start,
        length,
        sha256: crate::hex(&h.finalize()),
        archive_file: rel,
        archive_offset,
        sessions: &want.lines[&start].sessions,
    };
    serde_json::to_writer(&mut *index, &entry)?;
    index.write_all(b"\n")
}

/// Flushes every file to disk before the rename that publishes the archive.
fn sync_tree(dir: &Path) -> Result<(), EvidenceError> {
    for entry in std::fs::read_dir(dir).map_err(io_err(dir))? {
        let path = entry.map_err(io_err(dir))?.path();
        if path.is_dir() {
            sync_tree(&path)?;
        } else {
            File::open(&path)
                .and_then(|f| f.sync_all())
                .map_err(io_err(&path))?;
        }
    }
    Ok(())
}

/// Files 0444, directories 0555: the archive is written once. (Root can still write; the hashes are
/// what prove integrity, the permissions only prevent accidents.)
fn make_read_only(dir: &Path) -> Result<(), EvidenceError> {
    for entry in std::fs::read_dir(dir).map_err(io_err(dir))? {
        let path = entry.map_err(io_err(dir))?.path();
        if path.is_dir() {
            make_read_only(&path)?;
        } else {
            set_mode(&path, 0o444)?;
        }
    }
    set_mode(dir, 0o555)
}

fn set_mode(path: &Path, mode: u32) -> Result<(), EvidenceError> {
    let mut perms = std::fs::metadata(path).map_err(io_err(path))?.permissions();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        perms.set_mode(mode);
    }
    #[cfg(not(unix))]
    {
        let _ = mode;
        perms.set_readonly(true);
    }
    std::fs::set_permissions(path, perms).map_err(io_err(path))
}

const README: &str = "\
This is a tracehound evidence archive, written once and made read-only.

manifest.json        what was preserved, from which store, by which command and tool version, when;
                     every input file with the SHA-256 it had at ingest and the one it has now;
                     every file of this archive with its SHA-256.
SHA256SUMS           the same hashes in `sha256sum -c SHA256SUMS` format (manifest.json included).
events.parquet       the selected store rows (the store's schema), by session_id and seq.
store-manifest.json  the store's own manifest: ingest runs and inputs.
records/*.lines      the raw input lines behind those rows, byte for byte, in file order.
records/index.jsonl  for each raw line: source file, line number, byte offset, length, SHA-256, and
                     where it is in records/.
originals/           whole input documents (formats that are one JSON document per file), copied as
                     they were (compressed if they were).

Check it:  tracehound verify ARCHIVE --seal <the seal printed when it was written>
or:        cd ARCHIVE && sha256sum -c SHA256SUMS
The seal is the SHA-256 of manifest.json; keep it in the case notes, apart from the archive.
";

/// A batch in the current schema: files of an older schema version lack the columns added since (all
/// nullable, derived ones), which are null in the copy.
fn conform(
    batch: arrow_array::RecordBatch,
    schema: &arrow_schema::SchemaRef,
) -> Result<arrow_array::RecordBatch, arrow_schema::ArrowError> {
    if batch.schema().fields().len() == schema.fields().len() {
        return Ok(batch);
    }
    let columns = schema
        .fields()
        .iter()
        .map(|f| match batch.column_by_name(f.name()) {
            Some(c) => c.clone(),
            None => arrow_array::new_null_array(f.data_type(), batch.num_rows()),
        })
        .collect();
    arrow_array::RecordBatch::try_new(schema.clone(), columns)
}
