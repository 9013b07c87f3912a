//! What a detector reports.

use serde::{Deserialize, Serialize};

/// Severity, ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        [
            Severity::Info,
            Severity::Low,
            Severity::Medium,
            Severity::High,
            Severity::Critical,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// A span of evidence inside one event's text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub seq: u32,
    /// `content` or `args`.
    pub field: String,
    pub start: usize,
    pub end: usize,
    /// What this span shows (a cue name, an argument pointer).
    pub label: String,
    /// The span's text, bounded to 200 characters.
    pub text: String,
}

/// One finding of one detector at one event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable id: detector, session and seq hashed, so the same input gives the same ids.
    pub id: String,
    pub detector: String,
    pub severity: Severity,
    pub session_id: String,
    pub seq: u32,
    pub ts: Option<i64>,
    pub source_file: String,
    pub source_line: Option<u64>,
    pub source_pointer: String,
    pub summary: String,
    pub score: Option<f64>,
    pub evidence: Vec<Evidence>,
    /// Other events this finding rests on (e.g. the injected output behind an action).
    pub related: Vec<u32>,
    pub tool_name: Option<String>,
    pub user_id: Option<String>,
    pub agent_id: Option<String>,
}

pub(crate) fn bounded(text: &str, start: usize, end: usize) -> String {
    let mut s = start.min(text.len());
    while !text.is_char_boundary(s) {
        s -= 1;
    }
    let mut e = end.min(text.len()).min(s + 200);
    while !text.is_char_boundary(e) {
        e -= 1;
    }
    text[s..e].to_string()
}

/// `start` moved back to the start of its word (at most 64 bytes), so a passage does not begin
/// mid-token when a reader sees it.
pub(crate) fn word_start(text: &str, start: usize) -> usize {
    let start = start.min(text.len());
    let floor = start.saturating_sub(64);
    let mut s = start;
    while s > floor {
        let prev = text[..s].chars().next_back().expect("s > 0");
        if prev.is_whitespace() {
            break;
        }
        s -= prev.len_utf8();
    }
    if s == floor && s > 0 {
        start
    } else {
        s
    }
}

pub(crate) fn finding_id(detector: &str, session: &str, seq: u32, extra: &str) -> String {
    use sha2::{Digest, Sha256};
    // One allocation per finding (the id itself), for the hundred thousand findings of a large scan.
    let mut digits = itoa::Buffer::new();
    let mut h = Sha256::new();
    for part in [detector, session, digits.format(seq), extra] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    hex::encode(&h.finalize()[..8])
}

/// The findings as one Arrow batch, one row per finding; `evidence` and `related` as JSON text so any
/// reader (Parquet files, SQL tables) takes them without nested types.
pub fn findings_batch(findings: &[Finding]) -> arrow_array::RecordBatch {
    use std::sync::Arc;

    use arrow_array::{
        ArrayRef, Float64Array, RecordBatch, StringArray, TimestampMicrosecondArray, UInt32Array,
        UInt64Array,
    };
    use arrow_schema::{DataType, Field, Schema, TimeUnit};

    let s = |name: &str| Field::new(name, DataType::Utf8, false);
    let o = |name: &str| Field::new(name, DataType::Utf8, true);
    let schema = Arc::new(Schema::new(vec![
        s("id"),
        s("detector"),
        s("severity"),
        s("session_id"),
        Field::new("seq", DataType::UInt32, false),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        s("source_file"),
        Field::new("source_line", DataType::UInt64, true),
        s("source_pointer"),
        s("summary"),
        Field::new("score", DataType::Float64, true),
        s("evidence"),
        s("related"),
        o("tool_name"),
        o("user_id"),
        o("agent_id"),
    ]));
    let text = |f: fn(&Finding) -> String| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(findings.iter().map(f)))
    };
    let opt = |f: fn(&Finding) -> Option<String>| -> ArrayRef {
        Arc::new(StringArray::from(
            findings.iter().map(f).collect::<Vec<_>>(),
        ))
    };
    let columns: Vec<ArrayRef> = vec![
        text(|f| f.id.clone()),
        text(|f| f.detector.clone()),
        text(|f| f.severity.as_str().to_string()),
        text(|f| f.session_id.clone()),
        Arc::new(UInt32Array::from_iter_values(
            findings.iter().map(|f| f.seq),
        )),
        Arc::new(
            TimestampMicrosecondArray::from(findings.iter().map(|f| f.ts).collect::<Vec<_>>())
                .with_timezone("UTC"),
        ),
        text(|f| f.source_file.clone()),
        Arc::new(UInt64Array::from(
            findings.iter().map(|f| f.source_line).collect::<Vec<_>>(),
        )),
        text(|f| f.source_pointer.clone()),
        text(|f| f.summary.clone()),
        Arc::new(Float64Array::from(
            findings.iter().map(|f| f.score).collect::<Vec<_>>(),
        )),
        text(|f| serde_json::to_string(&f.evidence).unwrap_or_default()),
        text(|f| serde_json::to_string(&f.related).unwrap_or_default()),
        opt(|f| f.tool_name.clone()),
        opt(|f| f.user_id.clone()),
        opt(|f| f.agent_id.clone()),
    ];
    RecordBatch::try_new(schema, columns).expect("columns match the schema")
}

/// Writes findings as a Parquet file (zstd), the columns of [`findings_batch`].
pub fn write_findings_parquet(
    findings: &[Finding],
    path: &std::path::Path,
) -> Result<(), crate::QueryError> {
    use parquet::arrow::ArrowWriter;
    use parquet::basic::{Compression, ZstdLevel};
    use parquet::file::properties::WriterProperties;

    let err = |e: parquet::errors::ParquetError| crate::QueryError::Read {
        path: path.to_path_buf(),
        source: e,
    };
    let batch = findings_batch(findings);
    let file = std::fs::File::create(path).map_err(|source| crate::QueryError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).unwrap_or_default()))
        .build();
    let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(props)).map_err(err)?;
    writer.write(&batch).map_err(err)?;
    writer.close().map_err(err)?;
    Ok(())
}
