//! Characters that log content must never carry raw into a reader's terminal, spreadsheet or page:
//! one definition for every output format.

/// True for a character that can drive a terminal or hide and reorder text: C0 and C1 controls and
/// DEL (tab and line feed excepted: outputs deal with line breaks themselves), zero-width and bidi
/// controls, the byte-order mark, line and paragraph separators, and Unicode tag characters (text
/// invisible to a human that a model still reads).
pub fn is_deceptive_char(c: char) -> bool {
    match c {
        '\t' | '\n' => false,
        c if c.is_control() => true,
        '\u{200B}'..='\u{200F}'
        | '\u{2028}'..='\u{202E}'
        | '\u{2060}'..='\u{2069}'
        | '\u{FEFF}'
        | '\u{E0000}'..='\u{E007F}' => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn terminal_drivers_and_hidden_text_are_caught_and_ordinary_text_is_not() {
        for c in [
            '\x1b',
            '\x07',
            '\r',
            '\u{9b}',
            '\u{7f}',
            '\u{202E}',
            '\u{2066}',
            '\u{200B}',
            '\u{FEFF}',
            '\u{E0041}',
            '\u{2028}',
        ] {
            assert!(super::is_deceptive_char(c), "{c:?}");
        }
        for c in ['a', '\t', '\n', 'é', '€', '中', '🙂', ' '] {
            assert!(!super::is_deceptive_char(c), "{c:?}");
        }
    }
}
