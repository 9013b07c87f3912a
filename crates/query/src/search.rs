//! `search`: a pattern over the store's text columns, in parallel over files, returning the matching
//! events (with where they came from in the raw logs) or counts.
//!
//! The regex runs over each column's whole value buffer at once, as ripgrep runs over a file, rather
//! than once per row: most rows do not match, and one pass with the regex engine's literal prefilter over
//! megabytes is far cheaper than a hundred thousand calls. A hit is mapped back to its row through the
//! offsets and confirmed on that row alone, so a match can never span two values.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use arrow_array::cast::AsArray;
use arrow_array::types::{TimestampMicrosecondType, UInt32Type, UInt64Type};
use arrow_array::{Array, RecordBatch, StringArray};
use parquet::arrow::ProjectionMask;
use rayon::prelude::*;
use serde::Serialize;
use tracehound_schema::columns;

use crate::{QueryError, Store};

/// Text columns a search can look in.
pub const SEARCH_FIELDS: &[&str] = &[
    columns::CONTENT,
    columns::ARGS,
    columns::TOOL_NAME,
    columns::ATTRIBUTES,
    columns::SESSION_ID,
    columns::USER_ID,
    columns::AGENT_ID,
    columns::MODEL,
    columns::EVENT_ID,
    columns::CALL_ID,
    columns::SOURCE_FILE,
];

/// How matches are grouped when only counts are wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountBy {
    Session,
    Tool,
    Agent,
    Day,
}

/// A search to run.
#[derive(Debug, Clone)]
pub struct SearchBuilder {
    pattern: String,
    fixed: bool,
    ignore_case: bool,
    fields: Vec<String>,
    kinds: Vec<String>,
    since: Option<i64>,
    until: Option<i64>,
    count_by: Option<CountBy>,
    threads: Option<usize>,
}

/// One matching event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchHit {
    pub session_id: String,
    pub seq: u32,
    pub ts: Option<i64>,
    pub kind: String,
    pub tool_name: Option<String>,
    pub agent_id: Option<String>,
    pub user_id: Option<String>,
    /// The column that matched (the first, when several did).
    pub field: String,
    /// Byte span of the first match in that column's value.
    pub start: usize,
    pub end: usize,
    /// The matched text and up to 80 bytes around it.
    pub excerpt: String,
    pub source_file: String,
    pub source_line: Option<u64>,
    pub source_pointer: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SearchResult {
    /// Matching events, by (`session_id`, `seq`); empty when counting.
    pub hits: Vec<SearchHit>,
    /// Matching events per group, when counting.
    pub counts: BTreeMap<String, u64>,
    pub matched_events: u64,
    pub scanned_events: u64,
    /// Bytes of the searched columns' values.
    pub scanned_bytes: u64,
    #[serde(skip)]
    pub elapsed: Duration,
}

/// Errors building a search.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("invalid pattern: {0}")]
    Pattern(#[from] regex::Error),
    #[error("`{0}` is not a searchable field; use one of: {list}", list = SEARCH_FIELDS.join(", "))]
    Field(String),
    #[error(transparent)]
    Query(#[from] QueryError),
}

impl SearchBuilder {
    pub fn new(pattern: &str) -> SearchBuilder {
        SearchBuilder {
            pattern: pattern.to_string(),
            fixed: false,
            ignore_case: false,
            fields: vec![columns::CONTENT.into(), columns::ARGS.into()],
            kinds: Vec::new(),
            since: None,
            until: None,
            count_by: None,
            threads: None,
        }
    }
    /// Match the pattern as a literal string, not a regex.
    pub fn fixed(mut self, yes: bool) -> Self {
        self.fixed = yes;
        self
    }
    pub fn ignore_case(mut self, yes: bool) -> Self {
        self.ignore_case = yes;
        self
    }
    /// Columns to search (default: `content` and `args`).
    pub fn fields(mut self, fields: Vec<String>) -> Self {
        if !fields.is_empty() {
            self.fields = fields;
        }
        self
    }
    /// Only events of these kinds.
    pub fn kinds(mut self, kinds: Vec<String>) -> Self {
        self.kinds = kinds;
        self
    }
    /// Only events at or after / at or before these times (microseconds, UTC); events without a
    /// timestamp are excluded once a bound is set.
    pub fn window(mut self, since: Option<i64>, until: Option<i64>) -> Self {
        self.since = since;
        self.until = until;
        self
    }
    pub fn count_by(mut self, by: Option<CountBy>) -> Self {
        self.count_by = by;
        self
    }
    pub fn threads(mut self, n: Option<usize>) -> Self {
        self.threads = n;
        self
    }

    pub fn run(&self, store: &Store) -> Result<SearchResult, SearchError> {
        let started = Instant::now();
        for f in &self.fields {
            if !SEARCH_FIELDS.contains(&f.as_str()) {
                return Err(SearchError::Field(f.clone()));
            }
        }
        let pattern = if self.fixed {
            regex::escape(&self.pattern)
        } else {
            self.pattern.clone()
        };
        let re = regex::bytes::RegexBuilder::new(&pattern)
            .case_insensitive(self.ignore_case)
            .size_limit(64 << 20)
            .build()?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.threads.unwrap_or(0))
            .build()
            .expect("thread pool builds");
        // Work items: row groups of every file, so a store of few large files still spreads.
        let mut units = Vec::new();
        for file in store.manifest().event_files() {
            let (_, builder) = store.open_parquet(&file.path)?;
            for rg in 0..builder.metadata().num_row_groups() {
                units.push((file.path.clone(), rg));
            }
        }
        let parts: Vec<Part> = pool.install(|| {
            units
                .par_iter()
                .map(|(path, rg)| self.search_unit(store, path, *rg, &re))
                .collect::<Result<Vec<_>, QueryError>>()
        })?;
        let mut result = SearchResult {
            hits: Vec::new(),
            counts: BTreeMap::new(),
            matched_events: 0,
            scanned_events: 0,
            scanned_bytes: 0,
            elapsed: Duration::ZERO,
        };
        for p in parts {
            result.matched_events += p.matched;
            result.scanned_events += p.rows;
            result.scanned_bytes += p.bytes;
            result.hits.extend(p.hits);
            for (k, n) in p.counts {
                *result.counts.entry(k).or_default() += n;
            }
        }
        // Same order whatever the thread count.
        result
            .hits
            .sort_by(|a, b| (&a.session_id, a.seq).cmp(&(&b.session_id, b.seq)));
        result.elapsed = started.elapsed();
        Ok(result)
    }

    fn search_unit(
        &self,
        store: &Store,
        path: &str,
        rg: usize,
        re: &regex::bytes::Regex,
    ) -> Result<Part, QueryError> {
        let (full, builder) = store.open_parquet(path)?;
        let schema = builder.schema().clone();
        let mut wanted: Vec<&str> = vec![
            columns::SESSION_ID,
            columns::SEQ,
            columns::TS,
            columns::KIND,
            columns::TOOL_NAME,
            columns::AGENT_ID,
            columns::USER_ID,
            columns::SOURCE_FILE,
            columns::SOURCE_LINE,
            columns::SOURCE_POINTER,
        ];
        for f in &self.fields {
            if !wanted.contains(&f.as_str()) {
                wanted.push(f);
            }
        }
        let indices: Vec<usize> = wanted
            .iter()
            .filter_map(|c| schema.index_of(c).ok())
            .collect();
        let mask = ProjectionMask::roots(builder.parquet_schema(), indices);
        let reader = builder
            .with_row_groups(vec![rg])
            .with_projection(mask)
            .with_batch_size(8192)
            .build()
            .map_err(|source| QueryError::Read {
                path: full.clone(),
                source,
            })?;
        let mut part = Part::default();
        for batch in reader {
            let batch = batch.map_err(|e| QueryError::Read {
                path: full.clone(),
                source: e.into(),
            })?;
            self.search_batch(&batch, re, &mut part);
        }
        Ok(part)
    }

    fn search_batch(&self, batch: &RecordBatch, re: &regex::bytes::Regex, part: &mut Part) {
        let n = batch.num_rows();
        part.rows += n as u64;
        let col = |c: &str| batch.column_by_name(c).expect("projected");
        // First match per row: (field index, start, end).
        let mut first: Vec<Option<(usize, usize, usize)>> = vec![None; n];
        for (fi, field) in self.fields.iter().enumerate() {
            let values = col(field).as_string::<i32>();
            part.bytes += values.values().len() as u64;
            for_each_matching_row(values, re, |row, s, e| {
                if first[row].is_none() {
                    first[row] = Some((fi, s, e));
                }
            });
        }
        let kind = col(columns::KIND).as_string::<i32>();
        let ts = col(columns::TS).as_primitive::<TimestampMicrosecondType>();
        let session = col(columns::SESSION_ID).as_string::<i32>();
        let tool = col(columns::TOOL_NAME).as_string::<i32>();
        let agent = col(columns::AGENT_ID).as_string::<i32>();
        let opt = |a: &StringArray, i: usize| a.is_valid(i).then(|| a.value(i).to_string());
        for (i, m) in first.iter().enumerate() {
            let Some((fi, s, e)) = *m else { continue };
            if !self.kinds.is_empty() && !self.kinds.iter().any(|k| k == kind.value(i)) {
                continue;
            }
            let t = ts.is_valid(i).then(|| ts.value(i));
            if self.since.is_some() || self.until.is_some() {
                let Some(t) = t else { continue };
                if self.since.is_some_and(|s| t < s) || self.until.is_some_and(|u| t > u) {
                    continue;
                }
            }
            part.matched += 1;
            if let Some(by) = self.count_by {
                let key = match by {
                    CountBy::Session => session.value(i).to_string(),
                    CountBy::Tool => opt(tool, i).unwrap_or_else(|| "-".into()),
                    CountBy::Agent => opt(agent, i).unwrap_or_else(|| "-".into()),
                    CountBy::Day => t.map(crate::day_utc).unwrap_or_else(|| "-".into()),
                };
                *part.counts.entry(key).or_default() += 1;
                continue;
            }
            let field = &self.fields[fi];
            let text = col(field).as_string::<i32>().value(i);
            let line = col(columns::SOURCE_LINE).as_primitive::<UInt64Type>();
            part.hits.push(SearchHit {
                session_id: session.value(i).to_string(),
                seq: col(columns::SEQ).as_primitive::<UInt32Type>().value(i),
                ts: t,
                kind: kind.value(i).to_string(),
                tool_name: opt(tool, i),
                agent_id: opt(agent, i),
                user_id: opt(col(columns::USER_ID).as_string::<i32>(), i),
                field: field.clone(),
                start: s,
                end: e,
                excerpt: excerpt(text, s, e, 80),
                source_file: col(columns::SOURCE_FILE)
                    .as_string::<i32>()
                    .value(i)
                    .to_string(),
                source_line: line.is_valid(i).then(|| line.value(i)),
                source_pointer: col(columns::SOURCE_POINTER)
                    .as_string::<i32>()
                    .value(i)
                    .to_string(),
            });
        }
    }
}

#[derive(Default)]
struct Part {
    hits: Vec<SearchHit>,
    counts: BTreeMap<String, u64>,
    matched: u64,
    rows: u64,
    bytes: u64,
}

/// Calls `f(row, start, end)` for each non-null row of `values` the regex matches (first match, byte
/// span within the value). One regex pass over the concatenated values; each candidate is confirmed on
/// its own row so that anchors and boundaries mean what they mean for one value.
fn for_each_matching_row(
    values: &StringArray,
    re: &regex::bytes::Regex,
    mut f: impl FnMut(usize, usize, usize),
) {
    if has_assertions(re.as_str()) {
        // `^`, `$`, `\b` and the like see the neighbouring value in a concatenation: match row by row.
        for row in 0..values.len() {
            if values.is_valid(row) {
                if let Some(m) = re.find(values.value(row).as_bytes()) {
                    f(row, m.start(), m.end());
                }
            }
        }
        return;
    }
    let offsets = values.value_offsets();
    let base = offsets[0] as usize;
    let data = &values.values()[base..offsets[values.len()] as usize];
    let mut at = 0;
    while at <= data.len() {
        let Some(m) = re.find_at(data, at) else { break };
        // The row holding the match start: the last offset <= it.
        let pos = m.start() + base;
        let row = offsets.partition_point(|&o| (o as usize) <= pos) - 1;
        let row = row.min(values.len() - 1);
        let (rs, re_) = (
            offsets[row] as usize - base,
            offsets[row + 1] as usize - base,
        );
        if values.is_valid(row) {
            if let Some(hit) = re.find(&data[rs..re_]) {
                f(row, hit.start(), hit.end());
            }
        }
        // Next row (an empty match at a row's end must still advance).
        at = re_.max(at + 1);
        if rs == re_ {
            at = re_ + 1;
        }
    }
}

/// Whether a pattern contains look-around assertions (anchors, word boundaries), whose meaning depends on
/// the bytes next to a value. Patterns that fail to parse here already parsed as a `Regex`; treat
/// them as having assertions, the safe side.
fn has_assertions(pattern: &str) -> bool {
    regex_syntax::ParserBuilder::new()
        .build()
        .parse(pattern)
        .map(|hir| !hir.properties().look_set().is_empty())
        .unwrap_or(true)
}

/// The match with up to `ctx` bytes either side, cut at character boundaries, one line.
fn excerpt(text: &str, start: usize, end: usize, ctx: usize) -> String {
    let mut s = start.saturating_sub(ctx);
    while !text.is_char_boundary(s) {
        s -= 1;
    }
    let mut e = (end + ctx).min(text.len());
    while !text.is_char_boundary(e) {
        e += 1;
    }
    let mut out = String::new();
    if s > 0 {
        out.push('…');
    }
    out.push_str(&text[s..e].replace(['\n', '\r'], " "));
    if e < text.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_never_span_two_values_and_every_row_is_reported_once() {
        let values = StringArray::from(vec![
            Some("abc"),
            None,
            Some("defab"),
            Some("c and abc twice abc"),
            Some(""),
            Some("xyz"),
        ]);
        let re = regex::bytes::Regex::new("abc").unwrap();
        let mut rows = Vec::new();
        for_each_matching_row(&values, &re, |r, s, e| rows.push((r, s, e)));
        // "ab" + "c" across rows 2 and 3 is not a match; row 3 is reported once, at its first match.
        assert_eq!(rows, vec![(0, 0, 3), (3, 6, 9)]);

        let anchored = regex::bytes::Regex::new("^c").unwrap();
        let mut rows = Vec::new();
        for_each_matching_row(&values, &anchored, |r, _, _| rows.push(r));
        assert_eq!(rows, vec![3], "anchors apply per value");

        let sliced = values.slice(3, 3);
        let mut rows = Vec::new();
        for_each_matching_row(&sliced, &re, |r, s, _| rows.push((r, s)));
        assert_eq!(rows, vec![(0, 6)], "sliced arrays keep their offsets");
    }
}
