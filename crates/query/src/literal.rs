//! Literal passes that decide which patterns can match a text (instruction trigger words, secret
//! hints): one Aho-Corasick search whose matches say which regexes are worth running.

use aho_corasick::{AhoCorasick, Input, Match};

/// Every match of `ac` in `text`, each search resuming one byte after the last match's start instead
/// of at its end, so a literal cannot hide another that overlaps it ("must do not tell",
/// "sk-----BEGIN "). At one start only one match is reported, so no literal may be a prefix of another
/// owner's ([`prefix_clash`] checks).
pub(crate) fn match_starts<'a>(
    ac: &'a AhoCorasick,
    text: &'a (impl AsRef<[u8]> + ?Sized),
) -> impl Iterator<Item = Match> + 'a {
    let text = text.as_ref();
    let mut at = 0;
    std::iter::from_fn(move || {
        let m = ac.find(Input::new(text).span(at..text.len()))?;
        at = m.start() + 1;
        Some(m)
    })
}

/// A literal that is a prefix of a literal of another owner, which [`match_starts`] would hide where
/// both start: `(shorter, longer)`.
#[cfg(test)]
pub(crate) fn prefix_clash<'a, O: PartialEq>(
    literals: &[(&'a str, O)],
) -> Option<(&'a str, &'a str)> {
    literals.iter().find_map(|(a, oa)| {
        literals
            .iter()
            .find(|(b, ob)| oa != ob && b.starts_with(a))
            .map(|(b, _)| (*a, *b))
    })
}
