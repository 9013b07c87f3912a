//! Output helpers. Log content is written by attackers: anything from a log that reaches a terminal
//! goes through [`terminal_safe`].

/// Replaces control characters (C0 except tab, DEL, C1), and the bidi, zero-width and tag characters
/// that can hide or reorder text, so an escape sequence in a log cannot drive the reader's terminal.
pub(crate) fn terminal_safe(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\t' => c,
            c if c.is_control() || tracehound_query::is_deceptive_char(c) => '\u{FFFD}',
            c => c,
        })
        .collect()
}

/// A CSV cell: quoted, neutralised when a spreadsheet would read it as a formula, and with control,
/// bidi and invisible characters written as `<U+001B>` so that neither a terminal showing the file nor
/// a spreadsheet obeys them (line breaks and tabs stay: quoted cells hold them).
pub(crate) fn csv_cell(s: &str) -> String {
    let mut shown = String::with_capacity(s.len());
    for c in s.chars() {
        if tracehound_query::is_deceptive_char(c) {
            shown.push_str(&format!("<U+{:04X}>", c as u32));
        } else {
            shown.push(c);
        }
    }
    let s = shown.as_str();
    let guarded = match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
        _ => s.to_string(),
    };
    format!("\"{}\"", guarded.replace('"', "\"\""))
}

/// JSON that keeps every string exact but never carries a raw control, bidi or invisible character:
/// those are written as `\uXXXX` escapes (serde_json already escapes C0), so JSON printed to a
/// terminal cannot drive it and a JSON parser reads back the original text.
struct SafeStrings<F>(F);

impl<F: serde_json::ser::Formatter> serde_json::ser::Formatter for SafeStrings<F> {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        // Every character this escapes is outside ASCII, and most fragments are ASCII throughout.
        if fragment.is_ascii() {
            return w.write_all(fragment.as_bytes());
        }
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if tracehound_query::is_deceptive_char(c) {
                w.write_all(&fragment.as_bytes()[start..i])?;
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    write!(w, "\\u{:04x}", u)?;
                }
                start = i + c.len_utf8();
            }
        }
        w.write_all(&fragment.as_bytes()[start..])
    }
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object_value(w)
    }
}

/// One JSON value on one line, through [`SafeStrings`].
pub(crate) fn json_line<W: std::io::Write, T: serde::Serialize + ?Sized>(
    w: W,
    value: &T,
) -> serde_json::Result<()> {
    let mut ser =
        serde_json::Serializer::with_formatter(w, SafeStrings(serde_json::ser::CompactFormatter));
    value.serialize(&mut ser)
}

/// Redacts secrets in every string of a JSON value.
pub(crate) fn redact_json(v: serde_json::Value, show: bool) -> serde_json::Value {
    use serde_json::Value;
    if show {
        return v;
    }
    match v {
        Value::String(s) => Value::String(redact(&s, false)),
        Value::Array(a) => Value::Array(a.into_iter().map(|x| redact_json(x, false)).collect()),
        Value::Object(o) => Value::Object(
            o.into_iter()
                .map(|(k, x)| (k, redact_json(x, false)))
                .collect(),
        ),
        other => other,
    }
}

/// A finding as one JSON line (no newline), every string redacted unless `show`: byte for byte what
/// `json_line(redact_json(to_value(f)))` writes (keys in the alphabetical order of a JSON object's
/// map), without building that tree and copying every string, which was most of a large scan's
/// output time.
pub(crate) fn finding_line(
    w: &mut Vec<u8>,
    f: &tracehound_query::Finding,
    show: bool,
) -> serde_json::Result<()> {
    use std::borrow::Cow;
    let start = w.len();
    json_line(&mut *w, &FindingLine::of(f, &|s| Cow::Borrowed(s)))?;
    if show {
        return Ok(());
    }
    // The secret hints hold no character JSON escapes, so a string with a hint shows it verbatim in
    // the line: searched once here, not in each of the finding's strings. A line with none is final.
    let line = std::str::from_utf8(&w[start..]).expect("serde_json writes UTF-8");
    let candidates = tracehound_schema::features::secret_candidates(line);
    if candidates == 0 {
        return Ok(());
    }
    w.truncate(start);
    json_line(
        w,
        &FindingLine::of(f, &|s| tracehound_query::redacted_as(s, candidates)),
    )
}

/// [`finding_line`]'s shape: `Finding`'s fields in alphabetical order.
#[derive(serde::Serialize)]
struct FindingLine<'a> {
    agent_id: Option<std::borrow::Cow<'a, str>>,
    detector: std::borrow::Cow<'a, str>,
    evidence: Vec<EvidenceLine<'a>>,
    id: std::borrow::Cow<'a, str>,
    related: &'a [u32],
    score: Option<f64>,
    seq: u32,
    session_id: std::borrow::Cow<'a, str>,
    severity: &'static str,
    source_file: std::borrow::Cow<'a, str>,
    source_line: Option<u64>,
    source_pointer: std::borrow::Cow<'a, str>,
    summary: std::borrow::Cow<'a, str>,
    tool_name: Option<std::borrow::Cow<'a, str>>,
    ts: Option<i64>,
    user_id: Option<std::borrow::Cow<'a, str>>,
}

impl<'a> FindingLine<'a> {
    fn of(
        f: &'a tracehound_query::Finding,
        text: &dyn Fn(&'a str) -> std::borrow::Cow<'a, str>,
    ) -> FindingLine<'a> {
        // Destructured whole, so a field added to `Finding` or `Evidence` fails to compile here
        // instead of going missing from the output.
        let tracehound_query::Finding {
            id,
            detector,
            severity,
            session_id,
            seq,
            ts,
            source_file,
            source_line,
            source_pointer,
            summary,
            score,
            evidence,
            related,
            tool_name,
            user_id,
            agent_id,
        } = f;
        let evidence = evidence
            .iter()
            .map(|e| {
                let tracehound_query::Evidence {
                    seq,
                    field,
                    start,
                    end,
                    label,
                    text: span,
                } = e;
                EvidenceLine {
                    end: *end,
                    field: text(field),
                    label: text(label),
                    seq: *seq,
                    start: *start,
                    text: text(span),
                }
            })
            .collect();
        FindingLine {
            agent_id: agent_id.as_deref().map(text),
            detector: text(detector),
            evidence,
            id: text(id),
            related,
            // A non-finite score is `null` either way: serde_json writes no NaN.
            score: *score,
            seq: *seq,
            session_id: text(session_id),
            severity: severity.as_str(),
            source_file: text(source_file),
            source_line: *source_line,
            source_pointer: text(source_pointer),
            summary: text(summary),
            tool_name: tool_name.as_deref().map(text),
            ts: *ts,
            user_id: user_id.as_deref().map(text),
        }
    }
}

/// `Evidence`'s fields in alphabetical order.
#[derive(serde::Serialize)]
struct EvidenceLine<'a> {
    end: usize,
    field: std::borrow::Cow<'a, str>,
    label: std::borrow::Cow<'a, str>,
    seq: u32,
    start: usize,
    text: std::borrow::Cow<'a, str>,
}

/// One JSON value, indented, through [`SafeStrings`].
pub(crate) fn json_pretty<W: std::io::Write, T: serde::Serialize + ?Sized>(
    w: W,
    value: &T,
) -> serde_json::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(
        w,
        SafeStrings(serde_json::ser::PrettyFormatter::new()),
    );
    value.serialize(&mut ser)
}

/// One CSV record: every cell through [`csv_cell`], comma-separated.
pub(crate) fn csv_row(cells: &[String]) -> String {
    cells
        .iter()
        .map(|c| csv_cell(c))
        .collect::<Vec<_>>()
        .join(",")
}

/// Log text with credentials redacted, unless the user asked to see them.
pub(crate) fn redact(text: &str, show_secrets: bool) -> String {
    tracehound_query::redact_secrets(text, show_secrets)
}

/// One line of log text for a table: redacted, control characters replaced, newlines shown as `⏎`,
/// cut to `max` characters.
pub(crate) fn one_line(text: &str, max: usize, show_secrets: bool) -> String {
    let red = redact(text, show_secrets);
    let flat: String = red
        .chars()
        .map(|c| if c == '\n' { '⏎' } else { c })
        .collect();
    let safe = terminal_safe(&flat);
    if safe.chars().count() > max {
        let cut: String = safe.chars().take(max).collect();
        format!("{cut}…")
    } else {
        safe
    }
}

/// Microseconds since the epoch as `YYYY-MM-DD HH:MM:SS.mmm` UTC.
pub(crate) fn fmt_ts(micros: Option<i64>) -> String {
    match micros {
        Some(m) => tracehound_query::format_utc(m),
        None => "-".repeat(23),
    }
}

/// Parses a time into microseconds since the epoch: RFC 3339, or relative to now (`90s`, `30m`, `24h`,
/// `7d`, `2w`: that long ago), the way a nightly job asks for "the last day".
pub(crate) fn parse_time(s: &str) -> Option<i64> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0);
    parse_time_at(s, now)
}

/// A `--since`/`--until` style option parsed, or an error that says what is accepted.
pub(crate) fn time_arg(value: Option<&str>, flag: &str) -> anyhow::Result<Option<i64>> {
    value
        .map(|t| {
            parse_time(t).ok_or_else(|| {
                anyhow::anyhow!(
                    "{flag} `{}` is not a time: use RFC 3339 (2026-11-20T08:00:00Z) or a relative time (24h, 7d)",
                    terminal_safe(t)
                )
            })
        })
        .transpose()
}

fn parse_time_at(s: &str, now: i64) -> Option<i64> {
    let t = s.trim();
    if let Some(unit) = t.chars().last().filter(|c| "smhdw".contains(*c)) {
        if let Ok(n) = t[..t.len() - 1].parse::<i64>() {
            let secs = match unit {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86_400,
                _ => 7 * 86_400,
            };
            return Some(now - n.checked_mul(secs)?.checked_mul(1_000_000)?);
        }
    }
    parse_rfc3339(t)
}

/// Parses an RFC 3339 time into microseconds since the epoch.
fn parse_rfc3339(s: &str) -> Option<i64> {
    // Accept `YYYY-MM-DDTHH:MM:SS[.f][Z|±HH:MM]` without a date library in the binary.
    let s = s.trim();
    let (date, rest) = s.split_once(['T', ' '])?;
    let mut dp = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, mo, d) = (dp.next()??, dp.next()??, dp.next()??);
    let (time, offset) = match rest.find(['Z', 'z', '+']).or_else(|| rest.rfind('-')) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let mut tp = time.split(':');
    let (h, mi) = (
        tp.next()?.parse::<i64>().ok()?,
        tp.next()?.parse::<i64>().ok()?,
    );
    let sec: f64 = tp.next().unwrap_or("0").parse().ok()?;
    let off_min = match offset.chars().next() {
        Some(sign @ ('+' | '-')) => {
            let (oh, om) = offset[1..].split_once(':').unwrap_or((&offset[1..], "0"));
            let m = oh.parse::<i64>().ok()? * 60 + om.parse::<i64>().ok()?;
            if sign == '-' {
                -m
            } else {
                m
            }
        }
        _ => 0,
    };
    let (yy, mm) = if mo <= 2 {
        (y - 1, mo + 9)
    } else {
        (y, mo - 3)
    };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let doy = (153 * mm + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + mi * 60 - off_min * 60;
    Some(secs * 1_000_000 + (sec * 1e6).round() as i64)
}

pub(crate) fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

pub(crate) fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_cannot_become_formulas() {
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("-2+3"), "\"'-2+3\"");
        assert_eq!(csv_cell("plain"), "\"plain\"");
    }

    #[test]
    fn times_round_trip() {
        let t = parse_time("2026-11-20T09:00:04Z").unwrap();
        assert_eq!(fmt_ts(Some(t)), "2026-11-20 09:00:04.000");
        assert_eq!(parse_time("2026-11-20T11:00:04+02:00"), Some(t));
        assert_eq!(parse_time_at("24h", t), Some(t - 86_400_000_000));
        assert_eq!(parse_time_at("90s", t), Some(t - 90_000_000));
        assert_eq!(parse_time_at("2w", t), Some(t - 14 * 86_400_000_000));
        assert_eq!(parse_time_at("yesterday", t), None);
    }

    #[test]
    fn a_finding_line_is_the_redacted_json_tree_written_out() {
        use tracehound_query::{Evidence, Finding, Severity};
        let token = "ghp_0123456789abcdefghijABCDEFGHIJ012345";
        let hostile = "ok\x1b[2J\u{202E}txt\u{200B} \"quoted\" \\ back";
        let evidence = |text: &str| Evidence {
            seq: 3,
            field: "args".into(),
            start: 7,
            end: 19,
            label: format!("/to {token}"),
            text: text.into(),
        };
        let full = Finding {
            id: "8c00d4d5aa92e4d7".into(),
            detector: "secret_exposed".into(),
            severity: Severity::High,
            session_id: format!("sess-{token}"),
            seq: 4,
            ts: Some(1_767_225_631_153_639),
            source_file: "/logs/a.jsonl".into(),
            source_line: Some(157),
            source_pointer: "/messages/3".into(),
            summary: format!("send_email called with {token} and {hostile}"),
            score: Some(0.8125),
            evidence: vec![evidence(token), evidence(hostile)],
            related: vec![1, 2],
            tool_name: Some(token.into()),
            user_id: Some("user-2604".into()),
            agent_id: Some(hostile.into()),
        };
        let bare = Finding {
            ts: None,
            source_line: None,
            score: Some(f64::NAN),
            evidence: vec![],
            related: vec![],
            tool_name: None,
            user_id: None,
            agent_id: None,
            ..full.clone()
        };
        // Hint-free: the line written once, unredacted.
        let clean = Finding {
            session_id: "sess-1".into(),
            summary: "read_file called with /srv/data/734.txt".into(),
            evidence: vec![evidence("/srv/data/734.txt")],
            tool_name: Some("read_file".into()),
            agent_id: Some(hostile.into()),
            ..full.clone()
        };
        // A case-insensitive pattern, and a hint (`://`) in a string with no secret.
        let aws = Finding {
            summary: "env: Aws_Secret_Access_Key = wJalrXUtnFEMIK7MDENGbPxRfiCYzQWERTYKEY01 at \
                      https://docs.example.com/api/v2"
                .into(),
            ..clean.clone()
        };
        for f in [&full, &bare, &clean, &aws] {
            for show in [false, true] {
                let mut tree = Vec::new();
                let value = serde_json::to_value(f).unwrap();
                json_line(&mut tree, &redact_json(value, show)).unwrap();
                let mut direct = Vec::new();
                finding_line(&mut direct, f, show).unwrap();
                assert_eq!(
                    String::from_utf8(direct).unwrap(),
                    String::from_utf8(tree).unwrap()
                );
            }
        }
        let mut line = Vec::new();
        finding_line(&mut line, &full, false).unwrap();
        let line = String::from_utf8(line).unwrap();
        assert!(!line.contains("ghp_0123") && line.contains("github_token redacted"));
        assert!(!line.contains('\u{202E}') && line.contains("\\u202e"));
        let mut line = Vec::new();
        finding_line(&mut line, &aws, false).unwrap();
        let line = String::from_utf8(line).unwrap();
        assert!(!line.contains("wJalr") && line.contains("aws_secret_access_key redacted"));
        assert!(line.contains("https://docs.example.com/api/v2"));
    }

    #[test]
    fn secrets_are_redacted_unless_asked() {
        let text = "token ghp_0123456789abcdefghijABCDEFGHIJ012345 here";
        assert!(!redact(text, false).contains("ghp_0123"));
        assert!(redact(text, true).contains("ghp_0123"));
    }

    #[test]
    fn escape_sequences_never_reach_the_terminal() {
        let hostile = "ok\x1b[2J\x1b]0;pwned\x07\u{202E}txt.exe\u{200B}";
        let safe = terminal_safe(hostile);
        assert!(!safe.chars().any(|c| c.is_control()));
        assert!(!safe.contains('\u{202E}'));
        assert!(safe.starts_with("ok"));
    }
}
