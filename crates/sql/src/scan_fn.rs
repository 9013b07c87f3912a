//! The detectors as DataFusion functions, so the engine (locally, or Ballista across machines) runs
//! the whole scan: an aggregate, `session_findings`, that gathers one session's rows and runs every
//! session-level detector over them, and `scan_findings`, that lists the findings of its result as
//! the JSON lines `tracehound scan --format jsonl` prints. The detectors stay in `tracehound-query`;
//! this file only moves rows between Arrow and [`tracehound_query::Session`].
//!
//! ```sql
//! SELECT session_findings('{"policy": {...}}', session_id, seq, ts, ..., message_id)
//! FROM events GROUP BY session_id
//! ```
//!
//! Its first argument is the scan's options as JSON (the policy and the minimum severity: they travel
//! in the plan, so a cluster's executors scan with the client's policy); the rest are the store's
//! columns in schema order ([`scan_sql`] writes the statement). It returns the session's
//! [`SessionScan`] as JSON: findings, the numbers the archive-level detectors need, flagged payloads.
//! [`crate::scan_stream`] joins those into the same result the in-process scan gives, through
//! [`ScanBuilder::assemble`].

use std::io::Cursor;
use std::sync::Arc;

use datafusion::arrow::array::UInt32Array;
use datafusion::arrow::array::{
    Array, ArrayRef, BinaryArray, ListBuilder, RecordBatch, StringArray, StringBuilder,
};
use datafusion::arrow::compute::{cast, concat_batches, take_record_batch};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, SchemaRef};
use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::arrow::ipc::writer::StreamWriter;
use datafusion::common::{exec_err, DataFusionError, Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, ColumnarValue, ScalarFunctionArgs, ScalarUDF,
    ScalarUDFImpl, Signature, Volatility,
};
use serde::{Deserialize, Serialize};
use tracehound_query::{Policy, ScanBuilder, Session, SessionScan, Severity};

/// What a scan is run with, carried in the plan as the aggregate's first argument.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ScanOptions {
    pub policy: Policy,
    pub min_severity: Option<Severity>,
}

impl ScanOptions {
    /// The in-process scan's builder with the same options.
    pub fn builder(&self) -> ScanBuilder {
        ScanBuilder::new()
            .policy(self.policy.clone())
            .min_severity(self.min_severity)
    }
}

/// The statement that scans every session of `events` with these options: one row per session,
/// its [`SessionScan`] as JSON.
pub fn scan_sql(opts: &ScanOptions) -> String {
    let json = serde_json::to_string(opts).expect("options serialize");
    let columns: Vec<String> = tracehound_schema::arrow_schema()
        .fields()
        .iter()
        .map(|f| format!("\"{}\"", f.name()))
        .collect();
    format!(
        "SELECT session_findings('{}', {}) AS scan FROM events GROUP BY session_id",
        json.replace('\'', "''"),
        columns.join(", ")
    )
}

/// The [`SessionScan`]s in a batch of [`scan_sql`]'s result.
pub fn session_scans(batch: &RecordBatch) -> Result<Vec<SessionScan>> {
    let column = cast(batch.column(0), &DataType::Utf8)?;
    let Some(json) = column.as_any().downcast_ref::<StringArray>() else {
        return exec_err!("scan rows are not text");
    };
    json.iter()
        .flatten()
        .map(|v| serde_json::from_str(v).map_err(|e| DataFusionError::External(Box::new(e))))
        .collect()
}

/// `session_findings(options, <event columns>)`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct SessionFindings {
    signature: Signature,
}

impl SessionFindings {
    pub(crate) fn udaf() -> AggregateUDF {
        let n = tracehound_schema::arrow_schema().fields().len();
        AggregateUDF::from(SessionFindings {
            signature: Signature::any(n + 1, Volatility::Immutable),
        })
    }
}

impl AggregateUDFImpl for SessionFindings {
    fn name(&self) -> &str {
        "session_findings"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }
    fn accumulator(&self, _acc_args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(SessionAccumulator::default()))
    }
    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![
            Arc::new(Field::new(
                format!("{}[options]", args.name),
                DataType::Utf8,
                true,
            )),
            Arc::new(Field::new(
                format!("{}[rows]", args.name),
                DataType::Binary,
                true,
            )),
        ])
    }
}

/// One session's rows, as they arrive (in any order, from any number of partitions).
#[derive(Debug, Default)]
struct SessionAccumulator {
    options: Option<String>,
    batches: Vec<RecordBatch>,
}

/// The batch's rows in buffers of their own: what [`Accumulator::size`] then reports is what they hold.
fn compact(batch: &RecordBatch) -> Result<RecordBatch> {
    let all = UInt32Array::from_iter_values(0..batch.num_rows() as u32);
    Ok(take_record_batch(batch, &all)?)
}

fn store_schema() -> SchemaRef {
    tracehound_schema::arrow_schema()
}

impl SessionAccumulator {
    fn take_options(&mut self, column: &ArrayRef) -> Result<()> {
        if self.options.is_none() {
            let text = cast(column, &DataType::Utf8)?;
            let text = text
                .as_any()
                .downcast_ref::<StringArray>()
                .expect("cast to Utf8");
            self.options = text.iter().flatten().next().map(str::to_string);
        }
        Ok(())
    }

    fn rows(&self) -> Result<RecordBatch> {
        Ok(concat_batches(&store_schema(), &self.batches)?)
    }
}

impl Accumulator for SessionAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let schema = store_schema();
        if values.len() != schema.fields().len() + 1 {
            return exec_err!(
                "session_findings takes the scan options and the {} event columns",
                schema.fields().len()
            );
        }
        self.take_options(&values[0])?;
        // Engines may hand strings over as views or large strings: back to the store's own types.
        let columns = values[1..]
            .iter()
            .zip(schema.fields())
            .map(|(a, f)| {
                if a.data_type() == f.data_type() {
                    Ok(Arc::clone(a))
                } else {
                    cast(a, f.data_type())
                }
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        // The engine hands each group a slice of a larger batch; copy it out, so the state holds
        // (and reports to the memory pool) only this session's rows, not the whole batch per group.
        self.batches
            .push(compact(&RecordBatch::try_new(schema, columns)?)?);
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let opts: ScanOptions = match &self.options {
            Some(json) => serde_json::from_str(json)
                .map_err(|e| DataFusionError::Execution(format!("bad scan options: {e}")))?,
            None => ScanOptions::default(),
        };
        let mut events = tracehound_query::events_from_batch(&self.rows()?);
        if events.is_empty() {
            return Ok(ScalarValue::Utf8(None));
        }
        events.sort_by_key(|e| e.seq);
        let session = Session {
            id: events[0].session_id.clone(),
            events,
        };
        let scan = opts.builder().scan_session(&session);
        let json =
            serde_json::to_string(&scan).map_err(|e| DataFusionError::External(Box::new(e)))?;
        Ok(ScalarValue::Utf8(Some(json)))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
            + self
                .batches
                .iter()
                .map(RecordBatch::get_array_memory_size)
                .sum::<usize>()
    }

    /// The partial state: the options and the rows so far as an Arrow IPC stream, so a session split
    /// across partitions (or machines) is merged whole before its detectors run.
    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let rows = self.rows()?;
        let mut buf = Vec::new();
        {
            let mut w = StreamWriter::try_new(&mut buf, &rows.schema())?;
            w.write(&rows)?;
            w.finish()?;
        }
        Ok(vec![
            ScalarValue::Utf8(self.options.clone()),
            ScalarValue::Binary(Some(buf)),
        ])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        self.take_options(&states[0])?;
        let Some(rows) = states[1].as_any().downcast_ref::<BinaryArray>() else {
            return exec_err!("session_findings state is not binary");
        };
        for bytes in rows.iter().flatten() {
            for batch in StreamReader::try_new(Cursor::new(bytes), None)? {
                // Decoded columns share the message's buffer; copied out for the same reason.
                self.batches.push(compact(&batch?)?);
            }
        }
        Ok(())
    }
}

/// `scan_findings(scan)`: the findings of a `session_findings` result, each as the JSON line
/// `tracehound scan --format jsonl` prints for it.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct ScanFindings {
    signature: Signature,
}

impl ScanFindings {
    pub(crate) fn udf() -> ScalarUDF {
        ScalarUDF::from(ScanFindings {
            signature: Signature::any(1, Volatility::Immutable),
        })
    }
}

impl ScalarUDFImpl for ScanFindings {
    fn name(&self) -> &str {
        "scan_findings"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::List(Arc::new(Field::new_list_field(
            DataType::Utf8,
            true,
        ))))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let input = args.args[0].to_array(args.number_rows)?;
        let text = cast(&input, &DataType::Utf8)?;
        let text = text
            .as_any()
            .downcast_ref::<StringArray>()
            .expect("cast to Utf8");
        let mut out = ListBuilder::new(StringBuilder::new());
        for v in text.iter() {
            match v {
                None => out.append_null(),
                Some(json) => {
                    let scan: SessionScan = serde_json::from_str(json).map_err(|e| {
                        DataFusionError::Execution(format!("not a session scan: {e}"))
                    })?;
                    for f in &scan.findings {
                        out.values().append_value(
                            serde_json::to_string(f)
                                .map_err(|e| DataFusionError::External(Box::new(e)))?,
                        );
                    }
                    out.append(true);
                }
            }
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}
