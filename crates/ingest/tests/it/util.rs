use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, UInt32Type, UInt64Type};
use arrow_array::Array;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use tracehound_ingest::{IngestBuilder, IngestSummary};
use tracehound_schema::{Manifest, StoreLayout};

/// One stored event, the columns tests look at.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row {
    pub(crate) session_id: String,
    pub(crate) seq: u32,
    pub(crate) kind: String,
    pub(crate) tool_name: Option<String>,
    pub(crate) call_id: Option<String>,
    pub(crate) link_method: Option<String>,
    pub(crate) args: Option<String>,
    pub(crate) content: Option<String>,
    pub(crate) is_error: Option<bool>,
    pub(crate) input_tokens: Option<i64>,
    pub(crate) source_format: String,
    pub(crate) source_file: String,
    pub(crate) source_line: Option<u64>,
    pub(crate) source_offset: u64,
    pub(crate) source_pointer: String,
    pub(crate) attributes: Option<String>,
}

/// The shared corpora folder, or `None` (with the reason printed) when it is not beside the project.
pub(crate) fn shared(sub: &str) -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpora")
        .join(sub);
    if path.exists() {
        Some(path)
    } else {
        eprintln!("skipped: shared corpus `{}` is absent", path.display());
        None
    }
}

pub(crate) fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/fixtures")
        .join(name)
}

pub(crate) fn ingest(inputs: &[PathBuf], store: &Path) -> IngestSummary {
    IngestBuilder::new()
        .threads(2)
        .build()
        .run(inputs, store)
        .expect("ingest succeeds")
}

pub(crate) fn manifest(store: &Path) -> Manifest {
    Manifest::read(&StoreLayout::new(store).manifest())
        .unwrap()
        .expect("a manifest")
}

pub(crate) fn rows(store: &Path) -> Vec<Row> {
    let m = manifest(store);
    let layout = StoreLayout::new(store);
    let mut out = Vec::new();
    for f in m.event_files() {
        let file = File::open(layout.resolve(&f.path)).unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap();
        for batch in reader {
            let b = batch.unwrap();
            let s = |name: &str| b.column_by_name(name).unwrap().as_string::<i32>().clone();
            let (session, kind, tool, call, link, args, content, fmt, file, ptr, attrs) = (
                s("session_id"),
                s("kind"),
                s("tool_name"),
                s("call_id"),
                s("link_method"),
                s("args"),
                s("content"),
                s("source_format"),
                s("source_file"),
                s("source_pointer"),
                s("attributes"),
            );
            let seq = b
                .column_by_name("seq")
                .unwrap()
                .as_primitive::<UInt32Type>()
                .clone();
            let line = b
                .column_by_name("source_line")
                .unwrap()
                .as_primitive::<UInt64Type>()
                .clone();
            let offset = b
                .column_by_name("source_offset")
                .unwrap()
                .as_primitive::<UInt64Type>()
                .clone();
            let tin = b
                .column_by_name("input_tokens")
                .unwrap()
                .as_primitive::<Int64Type>()
                .clone();
            let err = b.column_by_name("is_error").unwrap().as_boolean().clone();
            let opt = |a: &arrow_array::StringArray, i: usize| {
                a.is_valid(i).then(|| a.value(i).to_string())
            };
            for i in 0..b.num_rows() {
                out.push(Row {
                    session_id: session.value(i).to_string(),
                    seq: seq.value(i),
                    kind: kind.value(i).to_string(),
                    tool_name: opt(&tool, i),
                    call_id: opt(&call, i),
                    link_method: opt(&link, i),
                    args: opt(&args, i),
                    content: opt(&content, i),
                    is_error: err.is_valid(i).then(|| err.value(i)),
                    input_tokens: tin.is_valid(i).then(|| tin.value(i)),
                    source_format: fmt.value(i).to_string(),
                    source_file: file.value(i).to_string(),
                    source_line: line.is_valid(i).then(|| line.value(i)),
                    source_offset: offset.value(i),
                    source_pointer: ptr.value(i).to_string(),
                    attributes: opt(&attrs, i),
                });
            }
        }
    }
    out.sort_by(|a, b| (&a.session_id, a.seq).cmp(&(&b.session_id, b.seq)));
    out
}

/// Rejects as written in the store.
pub(crate) fn rejects(store: &Path) -> Vec<serde_json::Value> {
    let m = manifest(store);
    let layout = StoreLayout::new(store);
    m.files
        .iter()
        .filter(|f| f.bucket.is_none())
        .flat_map(|f| {
            std::fs::read_to_string(layout.resolve(&f.path))
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Every input's records are events or rejects, and the manifest's numbers match the files.
pub(crate) fn assert_accounting(store: &Path) {
    let m = manifest(store);
    for i in &m.inputs {
        assert_eq!(
            i.records,
            i.records_with_events + i.rejects,
            "records of `{}` are not all accounted for: {i:?}",
            i.path
        );
    }
    let rows = rows(store).len() as u64;
    let events: u64 = m.inputs.iter().map(|i| i.events).sum();
    assert_eq!(
        rows, events,
        "store rows differ from the events the manifest counts"
    );
    assert_eq!(rows, m.total_events());
    let rejects: u64 = m.inputs.iter().map(|i| i.rejects).sum();
    assert_eq!(
        self::rejects(store).len() as u64,
        rejects,
        "rejects file differs from the manifest"
    );
}

/// Lines of a file as `str::lines` would count them, and the blank ones.
pub(crate) fn line_counts(path: &Path) -> (u64, u64) {
    let bytes = std::fs::read(path).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().collect();
    let blank = lines.iter().filter(|l| l.trim().is_empty()).count();
    (lines.len() as u64, blank as u64)
}
