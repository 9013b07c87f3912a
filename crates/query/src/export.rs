//! Events out of the store for the tools an investigation team already uses: every event, or the named
//! sessions', or a time window's, in store order (bucket, session, seq: the same order whatever the
//! thread count), and the Timesketch mapping of one event.

use crate::{format_utc, redact_secrets, time::rfc3339_utc, EventRow, QueryError, Store};

/// Which events to export. Empty `sessions` means every session.
#[derive(Debug, Clone, Default)]
pub struct ExportSelection {
    pub sessions: Vec<String>,
    /// Microseconds since the epoch, inclusive. Events without a time are outside any window.
    pub since: Option<i64>,
    pub until: Option<i64>,
}

impl ExportSelection {
    fn keeps(&self, e: &EventRow) -> bool {
        if self.since.is_none() && self.until.is_none() {
            return true;
        }
        match e.ts {
            Some(ts) => self.since.is_none_or(|s| ts >= s) && self.until.is_none_or(|u| ts <= u),
            None => false,
        }
    }
}

/// Calls `f` with each selected event in store order and returns how many it was given. Stops at the
/// first error `f` returns (a closed pipe, a full disk) and hands it back.
pub fn export_events<E: From<QueryError>>(
    store: &Store,
    selection: &ExportSelection,
    mut f: impl FnMut(&EventRow) -> Result<(), E>,
) -> Result<u64, E> {
    let mut n = 0u64;
    if !selection.sessions.is_empty() {
        for id in &selection.sessions {
            let session = store.session(id)?;
            if session.events.is_empty() {
                return Err(QueryError::Invalid(format!(
                    "no session `{id}` in the store; `tracehound scan` lists sessions with findings"
                ))
                .into());
            }
            for e in session.events.iter().filter(|e| selection.keeps(e)) {
                f(e)?;
                n += 1;
            }
        }
        return Ok(n);
    }
    for bucket in store.buckets() {
        let mut failed: Option<E> = None;
        store.bucket_sessions(bucket, |session| {
            if failed.is_some() {
                return;
            }
            for e in session.events.iter().filter(|e| selection.keeps(e)) {
                if let Err(err) = f(e) {
                    failed = Some(err);
                    return;
                }
                n += 1;
            }
        })?;
        if let Some(err) = failed {
            return Err(err);
        }
    }
    Ok(n)
}

/// One event as a Timesketch JSONL record: `message`, `datetime`, `timestamp` (microseconds) and
/// `timestamp_desc` as Timesketch requires, the rest as attributes. `None` for an event without a
/// time, which Timesketch cannot place. Log text is redacted unless `show_secrets`.
pub fn timesketch_record(e: &EventRow, show_secrets: bool) -> Option<serde_json::Value> {
    let ts = e.ts?;
    let red = |s: &str| redact_secrets(s, show_secrets);
    let text = e
        .content
        .as_deref()
        .filter(|c| !c.is_empty())
        .or(e.args.as_deref())
        .unwrap_or("");
    let flat: String = text.chars().take(400).collect();
    let flat = red(&flat).replace(['\n', '\r'], " ");
    let mut message = format!("[{}]", e.kind);
    if let Some(tool) = &e.tool_name {
        message.push(' ');
        message.push_str(tool);
    }
    message.push_str(&format!(" {}#{}", e.session_id, e.seq));
    if !flat.is_empty() {
        message.push_str(": ");
        message.push_str(&flat);
        if text.chars().count() > 400 {
            message.push('…');
        }
    }
    let mut v = serde_json::json!({
        "message": message,
        "datetime": rfc3339_utc(ts),
        "timestamp": ts,
        "timestamp_desc": timestamp_desc(&e.kind),
        "data_type": format!("tracehound:agent:{}", e.kind),
        "session_id": e.session_id,
        "seq": e.seq,
        "kind": e.kind,
        "source_format": e.source_format,
        "source_file": e.source_file,
        "source_offset": e.source_offset,
        "source_pointer": e.source_pointer,
        "tracehound_time": format_utc(ts),
    });
    let obj = v.as_object_mut().expect("object");
    let mut put = |k: &str, val: Option<serde_json::Value>| {
        if let Some(val) = val {
            obj.insert(k.to_string(), val);
        }
    };
    let texts = [
        ("event_id", e.event_id.as_deref()),
        ("parent_id", e.parent_id.as_deref()),
        ("role", e.role.as_deref()),
        ("user_id", e.user_id.as_deref()),
        ("agent_id", e.agent_id.as_deref()),
        ("model", e.model.as_deref()),
        ("provider", e.provider.as_deref()),
        ("tool_name", e.tool_name.as_deref()),
        ("call_id", e.call_id.as_deref()),
        ("args", e.args.as_deref()),
        ("content", e.content.as_deref()),
        ("attributes", e.attributes.as_deref()),
    ];
    for (k, text) in texts {
        put(k, text.map(|v| serde_json::Value::from(red(v))));
    }
    put("is_error", e.is_error.map(Into::into));
    put("input_tokens", e.input_tokens.map(Into::into));
    put("output_tokens", e.output_tokens.map(Into::into));
    put("cost_usd", e.cost_usd.map(Into::into));
    put("source_line", e.source_line.map(Into::into));
    Some(v)
}

/// What the time of an event of this kind means, in Timesketch's `timestamp_desc` sense.
fn timestamp_desc(kind: &str) -> &'static str {
    match kind {
        "tool_call" => "Tool Call Time",
        "tool_result" => "Tool Result Time",
        "user_message" | "assistant_message" | "system_prompt" => "Message Time",
        "approval" => "Approval Time",
        _ => "Event Recorded",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timesketch_record_has_the_required_fields_and_redacts() {
        let e = EventRow {
            session_id: "s1".into(),
            seq: 3,
            ts: Some(1_763_629_210_250_000),
            kind: "tool_result".into(),
            tool_name: Some("read_file".into()),
            content: Some("line one\naws_access_key_id = AKIAZ7QF3RT5KX2M9W4Q".into()),
            source_format: "flat-jsonl".into(),
            source_file: "a.jsonl".into(),
            source_line: Some(4),
            ..Default::default()
        };
        let v = timesketch_record(&e, false).unwrap();
        assert_eq!(v["datetime"], "2025-11-20T09:00:10.250000+00:00");
        assert_eq!(v["timestamp"], 1_763_629_210_250_000i64);
        assert_eq!(v["timestamp_desc"], "Tool Result Time");
        let msg = v["message"].as_str().unwrap();
        assert!(
            msg.starts_with("[tool_result] read_file s1#3: line one aws"),
            "{msg}"
        );
        assert!(!v.to_string().contains("AKIAZ7QF3RT5KX2M9W4Q"), "{v}");
        let shown = timesketch_record(&e, true).unwrap();
        assert!(shown["content"]
            .as_str()
            .unwrap()
            .contains("AKIAZ7QF3RT5KX2M9W4Q"));
        assert!(timesketch_record(&EventRow { ts: None, ..e }, false).is_none());
    }
}
