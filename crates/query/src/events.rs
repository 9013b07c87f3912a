//! Reading events back from the store: one session by id (touching one bucket and the row groups whose
//! statistics can hold it), or every session, bucket by bucket.

use std::collections::BTreeMap;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float64Type, Int64Type, TimestampMicrosecondType, UInt32Type, UInt64Type,
};
use arrow_array::{Array, RecordBatch, StringArray, StringViewArray};
use arrow_schema::DataType;
use parquet::file::statistics::Statistics;
use tracehound_schema::{bucket_of, columns, EventKind};

use crate::{QueryError, Store};

/// An event's text: a string of its own, or a row of the column it was read from. The scan reads the
/// large text columns as string views, whose values stay in the decompressed Parquet pages; a row
/// refers to them there instead of copying them out (the copies and their frees were 8 % of a scan).
/// Reads as `&str` through `Deref`.
#[derive(Clone)]
pub struct Text(TextRepr);

#[derive(Clone)]
enum TextRepr {
    Owned(String),
    /// Row `row` of a column shared by the rows of one batch.
    Column {
        array: std::sync::Arc<StringViewArray>,
        row: usize,
    },
}

impl Text {
    pub fn as_str(&self) -> &str {
        match &self.0 {
            TextRepr::Owned(s) => s,
            TextRepr::Column { array, row } => array.value(*row),
        }
    }
}

impl std::ops::Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Default for Text {
    fn default() -> Text {
        Text(TextRepr::Owned(String::new()))
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        Text(TextRepr::Owned(s))
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text(TextRepr::Owned(s.to_string()))
    }
}

impl From<Text> for String {
    fn from(t: Text) -> String {
        match t.0 {
            TextRepr::Owned(s) => s,
            TextRepr::Column { .. } => t.as_str().to_string(),
        }
    }
}

impl std::fmt::Debug for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl std::fmt::Display for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self.as_str(), f)
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        self.as_str() == other.as_str()
    }
}

impl serde::Serialize for Text {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Text {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Text, D::Error> {
        String::deserialize(deserializer).map(Text::from)
    }
}

/// One stored event.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EventRow {
    pub session_id: String,
    pub seq: u32,
    /// Microseconds since the epoch, UTC.
    pub ts: Option<i64>,
    pub event_id: Option<String>,
    pub parent_id: Option<String>,
    pub kind: String,
    pub role: Option<String>,
    pub user_id: Option<String>,
    pub agent_id: Option<String>,
    pub model: Option<String>,
    pub provider: Option<String>,
    pub tool_name: Option<String>,
    pub call_id: Option<String>,
    pub link_method: Option<String>,
    pub args: Option<Text>,
    pub content: Option<Text>,
    pub is_error: Option<bool>,
    pub input_tokens: Option<i64>,
    pub output_tokens: Option<i64>,
    pub cost_usd: Option<f64>,
    pub source_format: String,
    pub source_file: String,
    pub source_line: Option<u64>,
    pub source_offset: u64,
    pub source_pointer: String,
    pub attributes: Option<Text>,
    /// What ingest's literal passes found in the text, as stored (`text_features`); `None` in files
    /// written before the column. Decode with `TextFeatures::decode`, which also refuses another
    /// version's value. Not part of any output: it is derived from the text.
    #[serde(skip)]
    pub features: Option<u64>,
}

impl EventRow {
    pub fn kind(&self) -> EventKind {
        EventKind::parse(&self.kind).unwrap_or(EventKind::Other)
    }

    /// The event's text for matching: content, and for calls the arguments.
    pub fn text(&self) -> &str {
        self.content.as_deref().unwrap_or("")
    }
}

/// All events of one session, in `seq` order.
#[derive(Debug, Clone, Default)]
pub struct Session {
    pub id: String,
    pub events: Vec<EventRow>,
}

/// The events of a batch with the store's columns (any engine's batches of `events`), in batch order.
pub fn events_from_batch(batch: &RecordBatch) -> Vec<EventRow> {
    let mut out = Vec::with_capacity(batch.num_rows());
    rows(batch, &mut out, None);
    out
}

/// A large text column of one batch, as [`rows`] hands its values to the events.
enum TextColumn<'a> {
    Plain(&'a StringArray),
    Shared(std::sync::Arc<StringViewArray>),
}

impl TextColumn<'_> {
    fn get(&self, i: usize) -> Option<Text> {
        match self {
            TextColumn::Plain(a) => a.is_valid(i).then(|| Text::from(a.value(i))),
            TextColumn::Shared(a) => a.is_valid(i).then(|| {
                Text(TextRepr::Column {
                    array: std::sync::Arc::clone(a),
                    row: i,
                })
            }),
        }
    }
}

fn rows(batch: &RecordBatch, out: &mut Vec<EventRow>, only: Option<&str>) {
    let col = |name: &str| batch.column_by_name(name).expect("store schema");
    let s = |name: &str| col(name).as_string::<i32>();
    let opt = |a: &StringArray, i: usize| a.is_valid(i).then(|| a.value(i).to_string());
    // The large text columns: shared with the batch when read as views, copied otherwise.
    let text_column = |name: &str| {
        let array = col(name);
        match array.data_type() {
            DataType::Utf8View => {
                TextColumn::Shared(std::sync::Arc::new(array.as_string_view().clone()))
            }
            _ => TextColumn::Plain(array.as_string::<i32>()),
        }
    };
    let (session, kind, fmt, file, ptr) = (
        s(columns::SESSION_ID),
        s(columns::KIND),
        s(columns::SOURCE_FORMAT),
        s(columns::SOURCE_FILE),
        s(columns::SOURCE_POINTER),
    );
    let (
        event_id,
        parent_id,
        role,
        user,
        agent,
        model,
        provider,
        tool,
        call,
        link,
        args,
        content,
        attrs,
    ) = (
        s(columns::EVENT_ID),
        s(columns::PARENT_ID),
        s(columns::ROLE),
        s(columns::USER_ID),
        s(columns::AGENT_ID),
        s(columns::MODEL),
        s(columns::PROVIDER),
        s(columns::TOOL_NAME),
        s(columns::CALL_ID),
        s(columns::LINK_METHOD),
        text_column(columns::ARGS),
        text_column(columns::CONTENT),
        text_column(columns::ATTRIBUTES),
    );
    let seq = col(columns::SEQ).as_primitive::<UInt32Type>();
    let ts = col(columns::TS).as_primitive::<TimestampMicrosecondType>();
    let err = col(columns::IS_ERROR).as_boolean();
    let tin = col(columns::INPUT_TOKENS).as_primitive::<Int64Type>();
    let tout = col(columns::OUTPUT_TOKENS).as_primitive::<Int64Type>();
    let cost = col(columns::COST_USD).as_primitive::<Float64Type>();
    let line = col(columns::SOURCE_LINE).as_primitive::<UInt64Type>();
    let offset = col(columns::SOURCE_OFFSET).as_primitive::<UInt64Type>();
    // Files of schema version 1 have no features; their events are analysed from the text alone.
    let features = batch
        .column_by_name(columns::TEXT_FEATURES)
        .map(|c| c.as_primitive::<UInt64Type>());
    for i in 0..batch.num_rows() {
        if only.is_some_and(|id| session.value(i) != id) {
            continue;
        }
        out.push(EventRow {
            session_id: session.value(i).to_string(),
            seq: seq.value(i),
            ts: ts.is_valid(i).then(|| ts.value(i)),
            event_id: opt(event_id, i),
            parent_id: opt(parent_id, i),
            kind: kind.value(i).to_string(),
            role: opt(role, i),
            user_id: opt(user, i),
            agent_id: opt(agent, i),
            model: opt(model, i),
            provider: opt(provider, i),
            tool_name: opt(tool, i),
            call_id: opt(call, i),
            link_method: opt(link, i),
            args: args.get(i),
            content: content.get(i),
            is_error: err.is_valid(i).then(|| err.value(i)),
            input_tokens: tin.is_valid(i).then(|| tin.value(i)),
            output_tokens: tout.is_valid(i).then(|| tout.value(i)),
            cost_usd: cost.is_valid(i).then(|| cost.value(i)),
            source_format: fmt.value(i).to_string(),
            source_file: file.value(i).to_string(),
            source_line: line.is_valid(i).then(|| line.value(i)),
            source_offset: offset.value(i),
            source_pointer: ptr.value(i).to_string(),
            attributes: attrs.get(i),
            features: features.and_then(|f| f.is_valid(i).then(|| f.value(i))),
        });
    }
}

impl Store {
    /// The events of one session, reading only its bucket's files and, in them, only the row groups
    /// whose `session_id` min/max statistics can hold it.
    pub fn session(&self, session_id: &str) -> Result<Session, QueryError> {
        let bucket = bucket_of(session_id, self.manifest().buckets);
        let mut events = Vec::new();
        for f in self
            .manifest()
            .event_files()
            .filter(|f| f.bucket == Some(bucket))
        {
            // The page index lets the row filter below skip the pages of other sessions.
            let options = parquet::arrow::arrow_reader::ArrowReaderOptions::new()
                .with_page_index_policy(parquet::file::metadata::PageIndexPolicy::Optional);
            let (path, builder) = self.open_parquet_with(&f.path, options)?;
            let err = |source| QueryError::Read {
                path: path.clone(),
                source,
            };
            let groups: Vec<usize> = builder
                .metadata()
                .row_groups()
                .iter()
                .enumerate()
                .filter(|(_, rg)| match rg.column(0).statistics() {
                    Some(Statistics::ByteArray(s)) => match (s.min_opt(), s.max_opt()) {
                        (Some(min), Some(max)) => {
                            min.data() <= session_id.as_bytes()
                                && session_id.as_bytes() <= max.data()
                        }
                        _ => true,
                    },
                    _ => true,
                })
                .map(|(i, _)| i)
                .collect();
            if groups.is_empty() {
                continue;
            }
            // Decode `session_id` first and the other columns only where it matches: a row group holds
            // hundreds of sessions, and their 50 KB tool outputs are what costs.
            let id = session_id.to_string();
            let mask = parquet::arrow::ProjectionMask::roots(builder.parquet_schema(), [0]);
            let predicate = parquet::arrow::arrow_reader::ArrowPredicateFn::new(
                mask,
                move |batch: RecordBatch| {
                    let ids = batch.column(0).as_string::<i32>();
                    Ok(arrow_array::BooleanArray::from_iter(
                        ids.iter().map(|v| Some(v == Some(id.as_str()))),
                    ))
                },
            );
            let filter = parquet::arrow::arrow_reader::RowFilter::new(vec![Box::new(predicate)]);
            let reader = builder
                .with_row_groups(groups)
                .with_row_filter(filter)
                .build()
                .map_err(err)?;
            for batch in reader {
                let batch = batch.map_err(|e| QueryError::Read {
                    path: path.clone(),
                    source: e.into(),
                })?;
                rows(&batch, &mut events, Some(session_id));
            }
        }
        events.sort_by_key(|e| e.seq);
        Ok(Session {
            id: session_id.to_string(),
            events,
        })
    }

    /// Calls `f` with every session of one bucket, in `session_id` order. Files of several ingest
    /// generations are merged, so a session continued by a later ingest arrives whole.
    pub fn bucket_sessions(
        &self,
        bucket: u32,
        mut f: impl FnMut(Session),
    ) -> Result<(), QueryError> {
        let files: Vec<_> = self
            .manifest()
            .event_files()
            .filter(|x| x.bucket == Some(bucket))
            .collect();
        if let [only] = files.as_slice() {
            // One file, sorted by (session_id, seq): stream it and hand over each session as soon as
            // the next begins, so memory holds one batch and one session, not the bucket.
            let mut current = Session::default();
            self.file_rows(&only.path, |r| {
                if r.session_id != current.id && !current.events.is_empty() {
                    f(std::mem::take(&mut current));
                }
                if current.events.is_empty() {
                    current.id = r.session_id.clone();
                }
                current.events.push(r);
            })?;
            if !current.events.is_empty() {
                f(current);
            }
            return Ok(());
        }
        // Several ingest generations: a session may continue in a later file; gather the bucket.
        let mut by_session: BTreeMap<String, Vec<EventRow>> = BTreeMap::new();
        for file in files {
            self.file_rows(&file.path, |r| match by_session.get_mut(&r.session_id) {
                Some(v) => v.push(r),
                None => {
                    by_session.insert(r.session_id.clone(), vec![r]);
                }
            })?;
        }
        for (id, mut events) in by_session {
            events.sort_by_key(|e| e.seq);
            f(Session { id, events });
        }
        Ok(())
    }

    /// Every row of one store file, in file order.
    fn file_rows(&self, relative: &str, mut f: impl FnMut(EventRow)) -> Result<(), QueryError> {
        let (path, builder) = self.open_parquet_views(relative)?;
        let reader = builder.build().map_err(|source| QueryError::Read {
            path: path.clone(),
            source,
        })?;
        let mut buf = Vec::new();
        for batch in reader {
            let batch = batch.map_err(|e| QueryError::Read {
                path: path.clone(),
                source: e.into(),
            })?;
            rows(&batch, &mut buf, None);
            buf.drain(..).for_each(&mut f);
        }
        Ok(())
    }

    /// Buckets that hold data.
    pub fn buckets(&self) -> Vec<u32> {
        let mut b: Vec<u32> = self
            .manifest()
            .event_files()
            .filter_map(|f| f.bucket)
            .collect();
        b.sort_unstable();
        b.dedup();
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_read_in_place_is_the_string_it_refers_to() {
        let values = [
            Some("short"),
            None,
            Some("a tool output longer than twelve bytes, stored in a data buffer"),
        ];
        let array = std::sync::Arc::new(StringViewArray::from_iter(values));
        let column = TextColumn::Shared(array);
        let read: Vec<Option<Text>> = (0..values.len()).map(|i| column.get(i)).collect();
        for (text, value) in read.iter().zip(values) {
            assert_eq!(text.as_deref(), value);
            assert_eq!(text.clone(), value.map(Text::from));
        }
        let long = read[2].clone().expect("valid");
        assert_eq!(
            serde_json::to_string(&long).unwrap(),
            serde_json::to_string(values[2].unwrap()).unwrap()
        );
        let back: Text = serde_json::from_str(&serde_json::to_string(&long).unwrap()).unwrap();
        assert_eq!(back, long);
        assert_eq!(String::from(long), values[2].unwrap());
    }
}
