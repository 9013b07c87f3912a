//! OpenTelemetry traces: OTLP/JSON exports (`resourceSpans[].scopeSpans[].spans[]`, one document or one
//! export per JSONL line) and bare span-attribute maps. Understood conventions:
//! - GenAI, all three naming generations: per-message span events (`gen_ai.user.message`,
//!   `gen_ai.choice`...), `gen_ai.input.messages` / `gen_ai.output.messages` (and the deprecated
//!   `gen_ai.prompt` / `gen_ai.completion`), and tool execution spans (`gen_ai.tool.call.arguments` /
//!   `.result`);
//! - OpenInference: `openinference.span.kind`, `llm.input_messages.N.message.*`, `tool.*`, `session.id`.
//!
//! Chat spans resend the whole history; within one record a message already emitted for the same
//! trace is not emitted again, so a tool call is counted once.

use std::collections::{BTreeMap, HashSet};

use tracehound_schema::{Event, EventKind, LinkMethod, SourceFormat};

use super::messages::{emit_message, kind_of_role};
use super::{Base, FileCtx, Format};
use crate::json::{self, take, Object, Value};

pub(crate) struct Otel;

impl Format for Otel {
    fn id(&self) -> SourceFormat {
        SourceFormat::Otel
    }

    fn sniff(&self, record: &Value<'_>) -> u8 {
        if json::get(record, "resourceSpans").is_some() {
            return 100;
        }
        let Value::Object(obj) = record else { return 0 };
        let genai = obj.keys().filter(|k| {
            k.starts_with("gen_ai.") || k.starts_with("llm.") || k.starts_with("openinference.")
        });
        if genai.count() >= 1 {
            90
        } else {
            0
        }
    }

    fn convert(
        &self,
        record: Value<'_>,
        file: &FileCtx,
        out: &mut Vec<Event>,
    ) -> Result<(), String> {
        let Value::Object(mut obj) = record else {
            return Err("expected a JSON object".into());
        };
        let mut seen = HashSet::new();
        let Some(resource_spans) = take(&mut obj, &["resourceSpans"]) else {
            // A bare attribute map: one span with no envelope.
            let attrs: BTreeMap<String, Value<'_>> = obj
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect();
            let span = Span {
                attrs,
                ..Span::default()
            };
            span.emit("", file, &mut seen, out);
            return Ok(());
        };
        for (r, rs) in json::as_array(&resource_spans)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let resource = json::get_path(rs, &["resource", "attributes"])
                .map(flatten_attributes)
                .unwrap_or_default();
            let scope_spans = json::get(rs, "scopeSpans")
                .and_then(json::as_array)
                .unwrap_or_default();
            for (s, ss) in scope_spans.iter().enumerate() {
                let spans = json::get(ss, "spans")
                    .and_then(json::as_array)
                    .unwrap_or_default();
                for (i, raw) in spans.iter().enumerate() {
                    let pointer = format!("/resourceSpans/{r}/scopeSpans/{s}/spans/{i}");
                    let span = Span::from_otlp(raw, &resource);
                    span.emit(&pointer, file, &mut seen, out);
                }
            }
        }
        Ok(())
    }
}

#[derive(Default)]
struct Span<'v> {
    trace_id: Option<String>,
    span_id: Option<String>,
    parent_span_id: Option<String>,
    name: Option<String>,
    start: Option<i64>,
    attrs: BTreeMap<String, Value<'v>>,
    resource: BTreeMap<String, Value<'v>>,
    events: Vec<(String, Option<i64>, BTreeMap<String, Value<'v>>)>,
    status_error: bool,
    rest: Option<String>,
}

impl<'v> Span<'v> {
    fn from_otlp(raw: &Value<'v>, resource: &BTreeMap<String, Value<'v>>) -> Span<'v> {
        let id = |k: &str| {
            json::str_at(raw, k)
                .filter(|s| !s.is_empty())
                .map(normalize_id)
        };
        let events = json::get(raw, "events")
            .and_then(json::as_array)
            .unwrap_or_default()
            .iter()
            .map(|ev| {
                (
                    json::str_at(ev, "name").unwrap_or("").to_string(),
                    json::get(ev, "timeUnixNano").and_then(json::parse_ts),
                    json::get(ev, "attributes")
                        .map(flatten_attributes)
                        .unwrap_or_default(),
                )
            })
            .collect();
        let mut rest = Object::default();
        if let Value::Object(o) = raw {
            for (k, v) in o.iter() {
                if !matches!(
                    k.as_ref(),
                    "traceId"
                        | "spanId"
                        | "parentSpanId"
                        | "name"
                        | "startTimeUnixNano"
                        | "attributes"
                        | "events"
                ) {
                    rest.insert(k.clone(), v.clone());
                }
            }
        }
        Span {
            trace_id: id("traceId"),
            span_id: id("spanId"),
            parent_span_id: id("parentSpanId"),
            name: json::str_at(raw, "name").map(str::to_string),
            start: json::get(raw, "startTimeUnixNano").and_then(json::parse_ts),
            attrs: json::get(raw, "attributes")
                .map(flatten_attributes)
                .unwrap_or_default(),
            resource: resource.clone(),
            events,
            status_error: json::get_path(raw, &["status", "code"]).is_some_and(|c| {
                json::as_i64(c) == Some(2) || json::as_str(c) == Some("STATUS_CODE_ERROR")
            }),
            rest: json::rest(&rest),
        }
    }

    fn attr(&self, keys: &[&str]) -> Option<&Value<'v>> {
        keys.iter()
            .find_map(|k| self.attrs.get(*k).or_else(|| self.resource.get(*k)))
    }

    fn text(&self, keys: &[&str]) -> Option<String> {
        self.attr(keys).map(json::to_text)
    }

    fn emit(
        &self,
        pointer: &str,
        file: &FileCtx,
        seen: &mut HashSet<(String, String)>,
        out: &mut Vec<Event>,
    ) {
        let first = out.len();
        let session = self
            .text(&[
                "session.id",
                "gen_ai.conversation.id",
                "langsmith.trace.session_id",
            ])
            .or_else(|| self.trace_id.clone())
            .unwrap_or_else(|| file.session().to_string());
        let base = Base {
            session_id: session.clone(),
            ts: self.start,
            event_id: self.span_id.clone(),
            parent_id: self.parent_span_id.clone(),
            user_id: self.text(&["user.id", "enduser.id"]),
            agent_id: self.text(&["gen_ai.agent.name", "gen_ai.agent.id", "agent.name"]),
            model: self.text(&[
                "gen_ai.response.model",
                "gen_ai.request.model",
                "llm.model_name",
            ]),
            provider: self.text(&[
                "gen_ai.provider.name",
                "gen_ai.system",
                "llm.provider",
                "llm.system",
            ]),
            message_id: self.text(&["gen_ai.response.id"]),
        };
        let attrs_ptr = format!("{pointer}/attributes");
        let op = self.text(&["gen_ai.operation.name"]).unwrap_or_default();
        let oi_kind = self.text(&["openinference.span.kind"]).unwrap_or_default();
        if op == "execute_tool" || oi_kind.eq_ignore_ascii_case("TOOL") {
            let call_id = self.text(&["gen_ai.tool.call.id", "tool_call.id"]);
            let (call_id, link) = match call_id {
                Some(id) => (Some(id), LinkMethod::ExplicitId),
                None => (self.span_id.clone(), LinkMethod::ParentSpan),
            };
            let mut call = base.event(EventKind::ToolCall, attrs_ptr.clone());
            call.tool_name = self
                .text(&["gen_ai.tool.name", "tool.name"])
                .or(self.name.clone());
            call.call_id = call_id.clone();
            call.args = self.text(&[
                "gen_ai.tool.call.arguments",
                "tool.parameters",
                "input.value",
                "input",
            ]);
            let mut result = base.event(EventKind::ToolResult, attrs_ptr.clone());
            result.tool_name = call.tool_name.clone();
            result.call_id = call_id;
            result.link_method = Some(link);
            result.content = self.text(&["gen_ai.tool.call.result", "output.value", "output"]);
            result.is_error = Some(self.status_error);
            // A chat span's output already announced this call: the execution span adds its result,
            // not a second call.
            let announced = call
                .call_id
                .as_ref()
                .is_some_and(|id| seen.contains(&("call".to_string(), id.clone())));
            if !announced {
                out.push(call);
            }
            out.push(result);
        } else {
            let trace = self.trace_id.clone().unwrap_or_default();
            let mut emit_once = |m: Value<'_>, ptr: String, out: &mut Vec<Event>| {
                let key = (trace.clone(), json::encode(&m));
                if seen.insert(key) {
                    let from = out.len();
                    emit_message(m, &ptr, &base, out);
                    for e in &out[from..] {
                        if let (tracehound_schema::EventKind::ToolCall, Some(id)) =
                            (e.kind, &e.call_id)
                        {
                            seen.insert(("call".to_string(), id.clone()));
                        }
                    }
                }
            };
            // Newest generation first; a span carries one of them.
            if let Some(input) = self.attr(&[
                "gen_ai.input.messages",
                "gen_ai.prompt",
                "input.value",
                "input",
            ]) {
                let key = self.attrs.keys().find(|k| {
                    [
                        "gen_ai.input.messages",
                        "gen_ai.prompt",
                        "input.value",
                        "input",
                    ]
                    .contains(&k.as_str())
                });
                let ptr = format!(
                    "{attrs_ptr}/{}",
                    super::pointer_token(key.map(String::as_str).unwrap_or("input"))
                );
                for (i, m) in messages_of(input).into_iter().enumerate() {
                    emit_once(m, format!("{ptr}/{i}"), out);
                }
            } else {
                for (i, m) in indexed_messages(&self.attrs, "llm.input_messages.")
                    .into_iter()
                    .enumerate()
                {
                    emit_once(m, format!("{attrs_ptr}/llm.input_messages.{i}"), out);
                }
            }
            let outputs = self.attr(&[
                "gen_ai.output.messages",
                "gen_ai.completion",
                "output.value",
                "output",
            ]);
            let indexed_out = indexed_messages(&self.attrs, "llm.output_messages.");
            if !indexed_out.is_empty() {
                for (i, m) in indexed_out.into_iter().enumerate() {
                    emit_once(m, format!("{attrs_ptr}/llm.output_messages.{i}"), out);
                }
            } else if let Some(output) = outputs {
                for (i, mut m) in messages_of(output).into_iter().enumerate() {
                    if let Value::Object(o) = &mut m {
                        if !o.contains_key("role") {
                            o.insert("role".into(), Value::String("assistant".into()));
                        }
                    }
                    emit_once(m, format!("{attrs_ptr}/output/{i}"), out);
                }
            }
            for (i, (name, ts, attrs)) in self.events.iter().enumerate() {
                let role = name
                    .strip_prefix("gen_ai.")
                    .and_then(|r| r.strip_suffix(".message"));
                let kind = match (name.as_str(), role) {
                    ("gen_ai.choice", _) => EventKind::AssistantMessage,
                    (_, Some(role)) => kind_of_role(role),
                    _ => EventKind::Other,
                };
                let mut e = base.event(kind, format!("{pointer}/events/{i}"));
                e.ts = ts.or(base.ts);
                e.content = attrs
                    .get("content")
                    .or_else(|| attrs.get("gen_ai.event.content"))
                    .and_then(json::content_text);
                e.call_id = attrs.get("id").map(json::to_text);
                if kind == EventKind::ToolResult && e.call_id.is_some() {
                    e.link_method = Some(LinkMethod::ExplicitId);
                }
                let others: Object<'_> = attrs
                    .iter()
                    .filter(|(k, _)| !matches!(k.as_str(), "content" | "id"))
                    .map(|(k, v)| (k.clone().into(), v.clone()))
                    .collect();
                e.attributes = json::rest(&others);
                if kind == EventKind::Other {
                    e.attributes = Some(format!(
                        "{{\"event\":{}}}",
                        json::encode(&Value::String(name.clone().into()))
                    ));
                }
                out.push(e);
            }
        }
        // Tokens once per span, on its first event.
        let tokens = |keys: &[&str]| self.attr(keys).and_then(json::as_i64);
        let input = tokens(&[
            "gen_ai.usage.input_tokens",
            "gen_ai.usage.prompt_tokens",
            "llm.token_count.prompt",
        ]);
        let output = tokens(&[
            "gen_ai.usage.output_tokens",
            "gen_ai.usage.completion_tokens",
            "llm.token_count.completion",
        ]);
        if out.len() == first {
            let mut e = base.event(EventKind::Other, pointer);
            e.content = self.name.clone();
            out.push(e);
        }
        let e = &mut out[first];
        e.input_tokens = input;
        e.output_tokens = output;
        // Everything the span said, so nothing is lost: attributes, resource and the envelope's rest.
        let mut all = Object::default();
        for (k, v) in &self.attrs {
            all.insert(k.clone().into(), v.clone());
        }
        if let Some(name) = &self.name {
            all.insert("span.name".into(), Value::String(name.clone().into()));
        }
        if let Some(t) = &self.trace_id {
            all.insert("trace_id".into(), Value::String(t.clone().into()));
        }
        let mut text = json::rest(&all).unwrap_or_else(|| "{}".into());
        if !self.resource.is_empty() {
            let res: Object<'_> = self
                .resource
                .iter()
                .map(|(k, v)| (k.clone().into(), v.clone()))
                .collect();
            text = format!(
                "{},\"resource\":{}}}",
                &text[..text.len() - 1],
                json::rest(&res).unwrap_or_default()
            );
        }
        if let Some(rest) = &self.rest {
            text = format!("{},\"span\":{}}}", &text[..text.len() - 1], rest);
        }
        e.attributes = Some(match e.attributes.take() {
            Some(own) if own.len() > 2 => format!("{},{}", &text[..text.len() - 1], &own[1..]),
            _ => text,
        });
    }
}

/// OTLP attribute lists `[{key, value: {stringValue|intValue|doubleValue|boolValue|arrayValue|kvlistValue}}]`
/// to a map; an already-flat object is taken as it is.
fn flatten_attributes<'v>(v: &Value<'v>) -> BTreeMap<String, Value<'v>> {
    match v {
        Value::Array(items) => items
            .iter()
            .filter_map(|kv| {
                let key = json::str_at(kv, "key")?.to_string();
                Some((key, any_value(json::get(kv, "value")?)))
            })
            .collect(),
        Value::Object(o) => o.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
        _ => BTreeMap::new(),
    }
}

fn any_value<'v>(v: &Value<'v>) -> Value<'v> {
    if let Value::Object(o) = v {
        if let Some((k, inner)) = o.iter().next() {
            return match k.as_ref() {
                "intValue" => json::as_i64(inner)
                    .map(Value::from)
                    .unwrap_or_else(|| inner.clone()),
                "arrayValue" => Value::Array(Box::new(
                    json::get(inner, "values")
                        .and_then(json::as_array)
                        .unwrap_or_default()
                        .iter()
                        .map(any_value)
                        .collect(),
                )),
                "kvlistValue" => {
                    let map = json::get(inner, "values")
                        .map(flatten_attributes)
                        .unwrap_or_default();
                    Value::Object(Box::new(
                        map.into_iter().map(|(k, v)| (k.into(), v)).collect(),
                    ))
                }
                _ => inner.clone(),
            };
        }
    }
    v.clone()
}

/// Messages held in an attribute: JSON text of a list, of `{messages: [...]}`, or of one message; plain
/// text is one user message.
fn messages_of(v: &Value<'_>) -> Vec<Value<'static>> {
    let parsed = match v {
        Value::String(s) => json::parse_owned(s.to_string()),
        other => other.clone().into_static(),
    };
    match parsed {
        Value::Array(items) => items.into_iter().collect(),
        Value::Object(mut o) => match o.remove("messages") {
            Some(Value::Array(items)) => items.into_iter().collect(),
            _ => vec![Value::Object(o)],
        },
        Value::String(s) => {
            let mut o = Object::default();
            o.insert("role".into(), Value::String("user".into()));
            o.insert("content".into(), Value::String(s));
            vec![Value::Object(Box::new(o))]
        }
        _ => Vec::new(),
    }
}

/// OpenInference flattened messages (`llm.input_messages.0.message.role`...) back into OpenAI-shaped
/// message objects.
fn indexed_messages(attrs: &BTreeMap<String, Value<'_>>, prefix: &str) -> Vec<Value<'static>> {
    let mut by_index: BTreeMap<usize, BTreeMap<String, Value<'static>>> = BTreeMap::new();
    for (k, v) in attrs {
        let Some(rest) = k.strip_prefix(prefix) else {
            continue;
        };
        let Some((idx, field)) = rest.split_once('.') else {
            continue;
        };
        let Ok(idx) = idx.parse::<usize>() else {
            continue;
        };
        let field = field.strip_prefix("message.").unwrap_or(field);
        by_index
            .entry(idx)
            .or_default()
            .insert(field.to_string(), v.clone().into_static());
    }
    by_index
        .into_values()
        .map(|fields| {
            let mut o = Object::default();
            let mut calls: BTreeMap<usize, Object<'static>> = BTreeMap::new();
            let mut texts: BTreeMap<usize, String> = BTreeMap::new();
            for (field, v) in fields {
                if let Some(rest) = field.strip_prefix("tool_calls.") {
                    if let Some((i, f)) = rest.split_once('.') {
                        let i: usize = i.parse().unwrap_or(0);
                        let call = calls.entry(i).or_default();
                        match f.strip_prefix("tool_call.") {
                            Some("id") => {
                                call.insert("id".into(), v);
                            }
                            Some("function.name") => {
                                call.insert("name".into(), v);
                            }
                            Some("function.arguments") => {
                                call.insert("arguments".into(), v);
                            }
                            _ => {
                                call.insert(f.to_string().into(), v);
                            }
                        }
                    }
                } else if let Some(rest) = field.strip_prefix("contents.") {
                    if let Some((i, f)) = rest.split_once('.') {
                        if f.ends_with("text") {
                            texts.insert(i.parse().unwrap_or(0), json::to_text(&v));
                        }
                    }
                } else {
                    o.insert(field.into(), v);
                }
            }
            if !texts.is_empty() && !o.contains_key("content") {
                o.insert(
                    "content".into(),
                    Value::String(texts.into_values().collect::<Vec<_>>().join("\n").into()),
                );
            }
            if !calls.is_empty() {
                o.insert(
                    "tool_calls".into(),
                    Value::Array(Box::new(
                        calls
                            .into_values()
                            .map(|c| Value::Object(Box::new(c)))
                            .collect(),
                    )),
                );
            }
            Value::Object(Box::new(o))
        })
        .collect()
}

/// Trace and span ids are hex in OTLP/JSON by the spec, base64 in some exporters (protobuf JSON
/// mapping). Normalized to lowercase hex so the same span has one id whatever exported it.
fn normalize_id(s: &str) -> String {
    let is_hex = s.len().is_multiple_of(2) && s.bytes().all(|b| b.is_ascii_hexdigit());
    if is_hex {
        return s.to_ascii_lowercase();
    }
    match base64_decode(s) {
        Some(bytes) if bytes.len() == 16 || bytes.len() == 8 => {
            bytes.iter().map(|b| format!("{b:02x}")).collect()
        }
        _ => s.to_string(),
    }
}

/// Standard or URL-safe alphabet, padded or not: exporters differ.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    use base64::Engine as _;
    let s = s.trim_end_matches('=');
    STANDARD_NO_PAD
        .decode(s)
        .or_else(|_| URL_SAFE_NO_PAD.decode(s))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::normalize_id;

    #[test]
    fn ids_normalize_to_hex() {
        assert_eq!(
            normalize_id("5B8EFFF798038103D269B633813FC60C"),
            "5b8efff798038103d269b633813fc60c"
        );
        // base64 of the 16 bytes 0x00..0x0f
        assert_eq!(
            normalize_id("AAECAwQFBgcICQoLDA0ODw=="),
            "000102030405060708090a0b0c0d0e0f"
        );
    }
}
