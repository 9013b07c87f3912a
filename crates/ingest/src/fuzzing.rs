//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`): the production stages of an
//! ingest (discovery, format sniffing, decompression, chunking, parsing, the Arrow batch and its
//! Parquet encoding) run over one file, in memory where the real pipeline would write the store.
//! Not a stable API.

use std::path::Path;

use bytes::Bytes;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use tracehound_schema::{Event, SourceFormat};

use crate::input::{self, Detected, Job, JobData, StreamChunks};
use crate::pipeline::{parse_job, Sequencer};
use crate::{Limits, Reject};

/// What ingest made of one file.
#[derive(Debug, Default)]
pub struct Outcome {
    pub format: Option<SourceFormat>,
    pub events: Vec<Event>,
    pub rejects: Vec<Reject>,
    pub records: u64,
    pub records_with_events: u64,
    pub lines: u64,
    pub blank_lines: u64,
}

/// Small limits, so the fuzzer reaches them.
pub fn limits() -> Limits {
    Limits {
        max_line: 64 << 10,
        max_document: 1 << 20,
        max_decompressed: 4 << 20,
        max_depth: 64,
    }
}

/// Ingests one file as `tracehound ingest` would, minus the store: `forced` as `--format`.
pub fn ingest_file(path: &Path, forced: Option<SourceFormat>) -> Outcome {
    let limits = limits();
    let (inputs, unreadable) = input::discover(&[path.to_path_buf()]).expect("the file exists");
    assert!(unreadable.is_empty(), "{unreadable:?}");
    let inp = &inputs[0];
    let name = inp.name.clone();
    let detected = input::detect(inp, forced, &limits).unwrap_or_else(|e| Detected::Unknown {
        reason: format!("cannot read: {e}"),
        excerpt: Vec::new(),
    });
    let error_job = |reason: String, excerpt: Vec<u8>| Job {
        input: 0,
        data: JobData::Owned(Vec::new()),
        base_offset: 0,
        document: false,
        trailing_error: Some(reason),
        error_excerpt: excerpt,
    };
    let (format, ctx, jobs): (_, _, Vec<Job>) = match detected {
        Detected::Empty => return Outcome::default(),
        Detected::Unknown { reason, excerpt } => (
            SourceFormat::FlatJsonl,
            Default::default(),
            vec![error_job(format!("unknown format: {reason}"), excerpt)],
        ),
        Detected::Document { format, ctx, bytes } => (
            format,
            ctx,
            vec![Job {
                input: 0,
                data: JobData::Owned(bytes),
                base_offset: 0,
                document: true,
                trailing_error: None,
                error_excerpt: Vec::new(),
            }],
        ),
        Detected::Lines { format, ctx } => {
            let jobs = match input::open_stream(inp, &limits) {
                Ok(s) => StreamChunks::new(0, s, limits.max_line).collect(),
                Err(e) => vec![error_job(format!("cannot read: {e}"), Vec::new())],
            };
            (format, ctx, jobs)
        }
    };
    let mut out = Outcome {
        format: Some(format),
        ..Outcome::default()
    };
    let mut seq = Sequencer::default();
    for job in &jobs {
        let mut o = parse_job(job, format, &ctx, &name, &limits);
        seq.apply(&mut o);
        out.events.append(&mut o.events);
        out.rejects.append(&mut o.rejects);
        out.records += o.records;
        out.records_with_events += o.records_with_events;
        out.lines += o.lines;
        out.blank_lines += o.blank_lines;
    }
    out
}

/// Writes the events as the store would (the same Arrow batch, the same Parquet settings) and reads
/// them back; an error says what differs.
pub fn round_trip(events: &[Event], file: &str, format: &str) -> Result<(), String> {
    if events.is_empty() {
        return Ok(());
    }
    let refs: Vec<&Event> = events.iter().collect();
    let batch = crate::batch::to_batch(&refs, file, format);
    let mut buf = Vec::new();
    let mut writer = ArrowWriter::try_new(
        &mut buf,
        batch.schema(),
        Some(crate::sink::writer_properties(1, 3)),
    )
    .map_err(|e| e.to_string())?;
    writer.write(&batch).map_err(|e| e.to_string())?;
    writer.close().map_err(|e| e.to_string())?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(Bytes::from(buf))
        .map_err(|e| e.to_string())?
        .build()
        .map_err(|e| e.to_string())?;
    let batches: Vec<_> = reader
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let back = arrow_select::concat::concat_batches(&batch.schema(), &batches)
        .map_err(|e| e.to_string())?;
    if back != batch {
        return Err(format!(
            "the store read back differs: wrote {} rows, read {}",
            batch.num_rows(),
            back.num_rows()
        ));
    }
    Ok(())
}
