//! Helpers over simd-json's borrowed DOM that every format adapter shares: taking mapped fields out of a
//! record (so what is left is exactly the unmapped rest, kept in `attributes`), text extraction, JSON
//! re-encoding and timestamps.

use std::borrow::Cow;
use std::fmt::Write as _;

pub(crate) use simd_json::borrowed::{Object, Value};
use simd_json::StaticNode;

// The nesting limit (`Limits::max_depth`) is checked before the DOM is built: the adapters and the
// DOM's destructor recurse, and 10,000-deep input would otherwise overflow a worker's stack.

/// True when `bytes` nests arrays/objects deeper than `limit`. Strings are skipped so brackets inside
/// text do not count. A quick count of opening brackets first keeps the common case (few brackets)
/// to one SIMD pass.
pub(crate) fn nesting_exceeds(bytes: &[u8], limit: usize) -> bool {
    if memchr::memchr2_iter(b'[', b'{', bytes)
        .take(limit + 1)
        .count()
        <= limit
    {
        return false;
    }
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in bytes {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

pub(crate) fn get<'a, 'v>(v: &'a Value<'v>, key: &str) -> Option<&'a Value<'v>> {
    match v {
        Value::Object(o) => o.get(key),
        _ => None,
    }
}

/// Follows a path of object keys.
pub(crate) fn get_path<'a, 'v>(v: &'a Value<'v>, path: &[&str]) -> Option<&'a Value<'v>> {
    path.iter().try_fold(v, |v, k| get(v, k))
}

pub(crate) fn as_str<'a>(v: &'a Value<'_>) -> Option<&'a str> {
    match v {
        Value::String(s) => Some(s),
        _ => None,
    }
}

pub(crate) fn str_at<'a>(v: &'a Value<'_>, key: &str) -> Option<&'a str> {
    get(v, key).and_then(as_str)
}

pub(crate) fn as_i64(v: &Value<'_>) -> Option<i64> {
    match v {
        Value::Static(StaticNode::I64(n)) => Some(*n),
        Value::Static(StaticNode::U64(n)) => i64::try_from(*n).ok(),
        Value::Static(StaticNode::F64(n)) if n.fract() == 0.0 => Some(*n as i64),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub(crate) fn as_f64(v: &Value<'_>) -> Option<f64> {
    match v {
        Value::Static(StaticNode::I64(n)) => Some(*n as f64),
        Value::Static(StaticNode::U64(n)) => Some(*n as f64),
        Value::Static(StaticNode::F64(n)) => Some(*n),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub(crate) fn as_bool(v: &Value<'_>) -> Option<bool> {
    match v {
        Value::Static(StaticNode::Bool(b)) => Some(*b),
        _ => None,
    }
}

pub(crate) fn is_null(v: &Value<'_>) -> bool {
    matches!(v, Value::Static(StaticNode::Null))
}

pub(crate) fn as_array<'a, 'v>(v: &'a Value<'v>) -> Option<&'a [Value<'v>]> {
    match v {
        Value::Array(a) => Some(a.as_slice()),
        _ => None,
    }
}

/// Removes and returns the first of `keys` present in the object.
pub(crate) fn take<'v>(obj: &mut Object<'v>, keys: &[&str]) -> Option<Value<'v>> {
    keys.iter().find_map(|k| obj.remove(*k))
}

/// Removes the first of `keys` present and returns it as text: strings as they are, anything else
/// (numbers, objects) JSON-encoded; `null` counts as absent.
pub(crate) fn take_text(obj: &mut Object<'_>, keys: &[&str]) -> Option<String> {
    let v = take(obj, keys)?;
    (!is_null(&v)).then(|| to_text(&v))
}

/// A value as text: a string verbatim, anything else as compact JSON.
pub(crate) fn to_text(v: &Value<'_>) -> String {
    match v {
        Value::String(s) => s.to_string(),
        other => encode(other),
    }
}

/// The human-readable text inside a message `content`: a string; or the texts of a list of content
/// blocks (`{"type":"text","text":..}`, `{"type":"text","content":..}`, `{"text":..}`) joined by newlines.
/// Anything else is JSON-encoded so nothing is lost.
pub(crate) fn content_text(v: &Value<'_>) -> Option<String> {
    match v {
        Value::Static(StaticNode::Null) => None,
        Value::String(s) => Some(s.to_string()),
        Value::Array(items) => {
            let mut out = String::new();
            for item in items.iter() {
                let piece = match item {
                    Value::String(s) => Some(Cow::Borrowed(s.as_ref())),
                    Value::Object(_) => ["text", "content", "output", "result"]
                        .iter()
                        .find_map(|k| get(item, k))
                        .map(|t| match content_text(t) {
                            Some(s) => Cow::Owned(s),
                            None => Cow::Borrowed(""),
                        }),
                    _ => None,
                };
                let piece = piece.unwrap_or_else(|| Cow::Owned(encode(item)));
                if !out.is_empty() {
                    out.push('\n');
                }
                out.push_str(&piece);
            }
            Some(out)
        }
        Value::Object(_) => ["text", "content", "output", "result"]
            .iter()
            .find_map(|k| get(v, k))
            .and_then(content_text)
            .or_else(|| Some(encode(v))),
        other => Some(encode(other)),
    }
}

/// Compact JSON encoding, keys in the DOM's order (insertion order for objects of up to 32 keys,
/// halfbrown's fixed-seed hash order beyond: deterministic either way).
pub(crate) fn encode(v: &Value<'_>) -> String {
    let mut out = String::new();
    encode_into(v, &mut out);
    out
}

pub(crate) fn encode_into(v: &Value<'_>, out: &mut String) {
    match v {
        Value::Static(StaticNode::Null) => out.push_str("null"),
        Value::Static(StaticNode::Bool(b)) => out.push_str(if *b { "true" } else { "false" }),
        Value::Static(StaticNode::I64(n)) => {
            let _ = write!(out, "{n}");
        }
        Value::Static(StaticNode::U64(n)) => {
            let _ = write!(out, "{n}");
        }
        Value::Static(StaticNode::F64(n)) => {
            if n.is_finite() {
                let _ = write!(out, "{n:?}");
            } else {
                out.push_str("null");
            }
        }
        Value::String(s) => encode_str(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                encode_into(item, out);
            }
            out.push(']');
        }
        Value::Object(obj) => encode_object(obj, out),
    }
}

pub(crate) fn encode_object(obj: &Object<'_>, out: &mut String) {
    out.push('{');
    for (i, (k, v)) in obj.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        encode_str(k, out);
        out.push(':');
        encode_into(v, out);
    }
    out.push('}');
}

pub(crate) fn encode_str(s: &str, out: &mut String) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape: Option<&str> = match b {
            b'"' => Some("\\\""),
            b'\\' => Some("\\\\"),
            b'\n' => Some("\\n"),
            b'\r' => Some("\\r"),
            b'\t' => Some("\\t"),
            0..=0x1f => None,
            _ => continue,
        };
        out.push_str(&s[start..i]);
        match escape {
            Some(e) => out.push_str(e),
            None => {
                let _ = write!(out, "\\u{b:04x}");
            }
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Parses JSON text into an owned DOM; text that is not JSON becomes a string value. Used to put a
/// partly-consumed sub-object back into a record's rest.
pub(crate) fn parse_owned(text: String) -> Value<'static> {
    let mut bytes = text.as_bytes().to_vec();
    let parsed = simd_json::to_borrowed_value(&mut bytes).map(|v| v.into_static());
    parsed.unwrap_or_else(|_| Value::String(text.into()))
}

/// The unmapped rest of a record, as a JSON object text; `None` when nothing is left.
pub(crate) fn rest(obj: &Object<'_>) -> Option<String> {
    if obj.is_empty() {
        return None;
    }
    let mut out = String::new();
    encode_object(obj, &mut out);
    Some(out)
}

/// Parses a timestamp into microseconds since the epoch (UTC): RFC 3339 text (with or without zone,
/// `T` or space), or a number of seconds, milliseconds, microseconds or nanoseconds since the epoch,
/// told apart by magnitude (a seconds value above 1e11 would be the year 5138).
pub(crate) fn parse_ts(v: &Value<'_>) -> Option<i64> {
    match v {
        Value::String(s) => parse_ts_str(s),
        other => as_f64(other).and_then(epoch_number_to_micros),
    }
}

pub(crate) fn parse_ts_str(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(dt.timestamp_micros());
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f%:z",
    ] {
        if let Ok(dt) = chrono::NaiveDateTime::parse_from_str(s, fmt) {
            return Some(dt.and_utc().timestamp_micros());
        }
        if let Ok(dt) = chrono::DateTime::parse_from_str(s, fmt) {
            return Some(dt.timestamp_micros());
        }
    }
    if let Ok(n) = s.parse::<f64>() {
        return epoch_number_to_micros(n);
    }
    None
}

fn epoch_number_to_micros(n: f64) -> Option<i64> {
    if !n.is_finite() || n < 0.0 {
        return None;
    }
    let micros = if n < 1e11 {
        n * 1e6
    } else if n < 1e14 {
        n * 1e3
    } else if n < 1e17 {
        n
    } else {
        n / 1e3
    };
    Some(micros as i64)
}

pub(crate) fn take_ts(obj: &mut Object<'_>, keys: &[&str]) -> Option<i64> {
    let v = take(obj, keys)?;
    match parse_ts(&v) {
        Some(ts) => Some(ts),
        None => {
            // Unparseable: keep the original under its own key so it is not lost.
            obj.insert(Cow::Borrowed("unparsed_timestamp"), v);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Value<'static> {
        let mut bytes = s.as_bytes().to_vec();
        let v = simd_json::to_borrowed_value(&mut bytes).unwrap();
        v.into_static()
    }

    #[test]
    fn nesting_limit_ignores_brackets_in_strings() {
        let deep = "[".repeat(300) + &"]".repeat(300);
        assert!(nesting_exceeds(deep.as_bytes(), 256));
        let shallow_with_text = format!("{{\"a\":\"{}\"}}", "[".repeat(1000));
        assert!(!nesting_exceeds(shallow_with_text.as_bytes(), 256));
    }

    #[test]
    fn encode_round_trips_escapes_and_unicode() {
        let src = r#"{"a":"line\nbreak \"q\" \u0001 ü 🦀","b":[1,-2,3.5,true,null],"c":{}}"#;
        let v = parse(src);
        let encoded = encode(&v);
        let back: serde_json::Value = serde_json::from_str(&encoded).unwrap();
        let orig: serde_json::Value = serde_json::from_str(src).unwrap();
        assert_eq!(back, orig);
    }

    #[test]
    fn content_text_joins_blocks() {
        let v = parse(r#"[{"type":"text","text":"a"},{"type":"text","content":"b"},"c"]"#);
        assert_eq!(content_text(&v).unwrap(), "a\nb\nc");
    }

    #[test]
    fn timestamps_in_all_shapes() {
        let want = 1_761_930_000_000_000; // 2025-10-31T17:00:00Z
        assert_eq!(parse_ts_str("2025-10-31T17:00:00.000Z"), Some(want));
        assert_eq!(parse_ts_str("2025-10-31T19:00:00+02:00"), Some(want));
        assert_eq!(parse_ts_str("2025-10-31 17:00:00"), Some(want));
        assert_eq!(parse_ts_str("1761930000"), Some(want));
        assert_eq!(parse_ts(&parse("1761930000000")), Some(want));
        assert_eq!(parse_ts(&parse("1761930000000000000")), Some(want));
        assert_eq!(parse_ts_str("yesterday"), None);
    }
}
