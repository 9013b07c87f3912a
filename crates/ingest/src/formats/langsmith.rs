//! LangSmith run exports: runs with `id`, `trace_id`, `parent_run_id`, `run_type` (`llm`, `tool`,
//! `chain`, `retriever`...), `inputs`, `outputs`, `start_time`, `error`. Accepted as a JSON array of
//! runs, one run per JSONL line, or the SDK's recorded batches `{"post": [...], "patch": [...]}`, where a
//! patch completes the run of the same `id` (outputs, end time) and is merged into it.
//! The session is the run's trace: `trace_id`, else the run's own id.

use std::collections::HashSet;

use tracehound_schema::{Event, EventKind, LinkMethod, SourceFormat};

use super::messages::{emit_message, tool_call_event};
use super::{finish_record, Base, FileCtx, Format};
use crate::json::{self, take, take_text, take_ts, Object, Value};

pub(crate) struct LangSmith;

fn is_run(v: &Value<'_>) -> bool {
    json::get(v, "run_type").is_some()
        || (json::get(v, "trace_id").is_some() && json::get(v, "dotted_order").is_some())
}

impl Format for LangSmith {
    fn id(&self) -> SourceFormat {
        SourceFormat::LangSmith
    }

    fn sniff(&self, record: &Value<'_>) -> u8 {
        if is_run(record) {
            return 90;
        }
        for key in ["post", "patch", "runs"] {
            if json::get(record, key)
                .and_then(json::as_array)
                .is_some_and(|a| a.iter().any(is_run))
            {
                return 95;
            }
        }
        if json::as_array(record).is_some_and(|a| !a.is_empty() && a.iter().all(is_run)) {
            return 90;
        }
        0
    }

    fn convert(
        &self,
        record: Value<'_>,
        file: &FileCtx,
        out: &mut Vec<Event>,
    ) -> Result<(), String> {
        let mut seen = HashSet::new();
        match record {
            Value::Array(runs) => {
                for (i, run) in runs.into_iter().enumerate() {
                    emit_run(run, &format!("/{i}"), file, &mut seen, out);
                }
            }
            Value::Object(mut obj) if !is_run(&Value::Object(obj.clone())) => {
                // Recorded batches: merge each patch into its post by id.
                let mut runs: Vec<(String, Value<'_>)> = Vec::new();
                for key in ["post", "runs", "patch"] {
                    let Some(Value::Array(items)) = take(&mut obj, &[key]) else {
                        continue;
                    };
                    for (i, item) in items.into_iter().enumerate() {
                        let id = json::str_at(&item, "id").map(str::to_string);
                        let existing = id.as_ref().and_then(|id| {
                            runs.iter_mut()
                                .find(|(_, r)| json::str_at(r, "id") == Some(id.as_str()))
                        });
                        match (existing, item) {
                            (Some((_, Value::Object(target))), Value::Object(patch)) => {
                                for (k, v) in patch.into_iter() {
                                    target.insert(k, v);
                                }
                            }
                            (_, item) => runs.push((format!("/{key}/{i}"), item)),
                        }
                    }
                }
                let first = out.len();
                for (pointer, run) in runs {
                    emit_run(run, &pointer, file, &mut seen, out);
                }
                let base = Base {
                    session_id: file.session().into(),
                    ..Base::default()
                };
                finish_record(out, first, &base, json::rest(&obj));
            }
            run => emit_run(run, "", file, &mut seen, out),
        }
        Ok(())
    }
}

fn emit_run(
    run: Value<'_>,
    pointer: &str,
    file: &FileCtx,
    seen: &mut HashSet<String>,
    out: &mut Vec<Event>,
) {
    let Value::Object(mut run) = run else { return };
    let first = out.len();
    let id = take_text(&mut run, &["id"]);
    let trace = take_text(&mut run, &["trace_id"]);
    let parent = take_text(&mut run, &["parent_run_id"]).filter(|p| p != "None");
    let metadata = json::get_path(&Value::Object(run.clone()), &["extra", "metadata"]).cloned();
    let meta = |k: &str| {
        metadata
            .as_ref()
            .and_then(|m| json::str_at(m, k))
            .map(str::to_string)
    };
    let base = Base {
        session_id: trace
            .clone()
            .or(id.clone())
            .unwrap_or_else(|| file.session().into()),
        ts: take_ts(&mut run, &["start_time"]),
        event_id: id.clone(),
        parent_id: parent,
        user_id: meta("user_id"),
        agent_id: meta("agent_id").or_else(|| meta("ls_agent")),
        model: meta("ls_model_name"),
        provider: meta("ls_provider"),
        message_id: None,
    };
    let run_type = take_text(&mut run, &["run_type"]).unwrap_or_default();
    let name = take_text(&mut run, &["name"]);
    let inputs = take(&mut run, &["inputs"]).map(parse_if_text);
    let outputs = take(&mut run, &["outputs"]).map(parse_if_text);
    let error =
        take(&mut run, &["error"]).filter(|e| !json::is_null(e) && json::as_str(e) != Some("None"));
    match run_type.as_str() {
        "tool" => {
            let mut call = base.event(EventKind::ToolCall, format!("{pointer}/inputs"));
            call.tool_name = name.clone();
            call.call_id = id.clone();
            call.args = inputs.as_ref().map(json::to_text);
            let mut result = base.event(EventKind::ToolResult, format!("{pointer}/outputs"));
            result.tool_name = name.clone();
            result.call_id = id.clone();
            result.link_method = Some(LinkMethod::ParentSpan);
            result.content = outputs.as_ref().map(|o| {
                json::get(o, "output")
                    .map(json::to_text)
                    .unwrap_or_else(|| json::to_text(o))
            });
            result.is_error = Some(error.is_some());
            out.push(call);
            out.push(result);
        }
        "llm" => {
            let trace = trace.unwrap_or_default();
            if let Some(messages) = inputs
                .as_ref()
                .and_then(|i| json::get(i, "messages"))
                .and_then(json::as_array)
            {
                for (i, m) in messages.iter().enumerate() {
                    // Each call resends the history: emit a message once per trace.
                    if seen.insert(format!("{trace}\u{0}{}", json::encode(m))) {
                        emit_message(
                            m.clone(),
                            &format!("{pointer}/inputs/messages/{i}"),
                            &base,
                            out,
                        );
                    }
                }
            }
            if let Some(outputs) = &outputs {
                let choices = json::get(outputs, "choices")
                    .and_then(json::as_array)
                    .unwrap_or_default();
                for (i, choice) in choices.iter().enumerate() {
                    if let Some(msg) = json::get(choice, "message") {
                        let mut m = msg.clone();
                        if let Value::Object(o) = &mut m {
                            if let Some(calls) =
                                o.remove("tool_calls").filter(|c| !json::is_null(c))
                            {
                                emit_message(
                                    m.clone(),
                                    &format!("{pointer}/outputs/choices/{i}/message"),
                                    &base,
                                    out,
                                );
                                for (j, c) in json::as_array(&calls)
                                    .unwrap_or_default()
                                    .iter()
                                    .enumerate()
                                {
                                    out.push(tool_call_event(
                                        c.clone(),
                                        &format!(
                                            "{pointer}/outputs/choices/{i}/message/tool_calls/{j}"
                                        ),
                                        &base,
                                    ));
                                }
                                continue;
                            }
                        }
                        emit_message(
                            m,
                            &format!("{pointer}/outputs/choices/{i}/message"),
                            &base,
                            out,
                        );
                    }
                }
                if choices.is_empty() {
                    let mut e =
                        base.event(EventKind::AssistantMessage, format!("{pointer}/outputs"));
                    e.content = Some(json::to_text(outputs));
                    out.push(e);
                }
                if let (Some(usage), Some(e)) = (json::get(outputs, "usage"), out.get_mut(first)) {
                    e.input_tokens = json::get(usage, "prompt_tokens")
                        .or(json::get(usage, "input_tokens"))
                        .and_then(json::as_i64);
                    e.output_tokens = json::get(usage, "completion_tokens")
                        .or(json::get(usage, "output_tokens"))
                        .and_then(json::as_i64);
                }
            }
        }
        _ => {
            let mut e = base.event(EventKind::Other, pointer);
            e.tool_name = None;
            e.content = outputs.as_ref().map(json::to_text);
            e.args = inputs.as_ref().map(json::to_text);
            out.push(e);
        }
    }
    if let Some(err) = error {
        let mut e = base.event(EventKind::Error, format!("{pointer}/error"));
        e.is_error = Some(true);
        e.content = Some(json::to_text(&err));
        out.push(e);
    }
    let mut rest: Object<'_> = *run;
    rest.insert("run_type".into(), Value::String(run_type.into()));
    if let Some(name) = name {
        rest.insert("name".into(), Value::String(name.into()));
    }
    if out.len() > first && out[first].kind == EventKind::Other {
        // inputs/outputs already carried in args/content
    } else {
        if let Some(i) = inputs {
            rest.insert("inputs".into(), i);
        }
        if let Some(o) = outputs {
            rest.insert("outputs".into(), o);
        }
    }
    finish_record(out, first, &base, json::rest(&rest));
}

/// Some SDK recordings keep `inputs`/`outputs` as text; JSON text becomes the object it encodes,
/// anything else (Python reprs) stays text.
fn parse_if_text(v: Value<'_>) -> Value<'_> {
    match &v {
        Value::String(s) if s.trim_start().starts_with(['{', '[']) => {
            match json::parse_owned(s.to_string()) {
                parsed @ (Value::Object(_) | Value::Array(_)) => parsed,
                _ => v,
            }
        }
        _ => v,
    }
}
