use std::collections::{BTreeMap, HashSet};

use arrow_array::cast::AsArray;
use serde::Serialize;
use tracehound_schema::columns;

use crate::{QueryError, Store};

/// What a store holds, from its manifest and one pass over two small columns.
#[derive(Debug, Clone, Serialize)]
pub struct StoreInfo {
    pub schema_version: u32,
    pub tool_version: String,
    pub created: String,
    pub updated: String,
    pub buckets: u32,
    pub runs: usize,
    pub inputs: usize,
    pub input_bytes: u64,
    pub store_bytes: u64,
    pub events: u64,
    pub rejects: u64,
    pub sessions: u64,
    /// Files and events per source format.
    pub formats: BTreeMap<String, FormatCount>,
    pub kinds: BTreeMap<String, u64>,
    pub last_command: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct FormatCount {
    pub files: u64,
    pub events: u64,
    pub rejects: u64,
}

pub fn info(store: &Store) -> Result<StoreInfo, QueryError> {
    let m = store.manifest();
    let mut formats: BTreeMap<String, FormatCount> = BTreeMap::new();
    for i in &m.inputs {
        let f = formats
            .entry(i.format.clone().unwrap_or_else(|| "unknown".into()))
            .or_default();
        f.files += 1;
        f.events += i.events;
        f.rejects += i.rejects;
    }
    let mut kinds = BTreeMap::new();
    let mut sessions = HashSet::new();
    store.scan_columns(&[columns::SESSION_ID, columns::KIND], |batch| {
        let s = batch.column(0).as_string::<i32>();
        let k = batch.column(1).as_string::<i32>();
        for i in 0..batch.num_rows() {
            if !sessions.contains(s.value(i)) {
                sessions.insert(s.value(i).to_string());
            }
            *kinds.entry(k.value(i).to_string()).or_insert(0) += 1;
        }
    })?;
    Ok(StoreInfo {
        schema_version: m.schema_version,
        tool_version: m.tool_version.clone(),
        created: m.created.clone(),
        updated: m.updated.clone(),
        buckets: m.buckets,
        runs: m.runs.len(),
        inputs: m.inputs.len(),
        input_bytes: m.inputs.iter().map(|i| i.size).sum(),
        store_bytes: m.files.iter().map(|f| f.bytes).sum(),
        events: m.total_events(),
        rejects: m.inputs.iter().map(|i| i.rejects).sum(),
        sessions: sessions.len() as u64,
        formats,
        kinds,
        last_command: m
            .runs
            .last()
            .map(|r| r.command_line.clone())
            .unwrap_or_default(),
    })
}
