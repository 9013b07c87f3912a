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
