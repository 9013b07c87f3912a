//! The literal search every pass that decides which patterns can match a text shares (instruction
//! trigger words and secret hints, in `tracehound_schema::features`; argument values, in provenance).

/// Every match, each search resuming one byte after the last match's start, so a literal cannot hide
/// another that overlaps it. Shared with ingest, which runs the same passes into `text_features`.
pub(crate) use tracehound_schema::features::{match_starts, match_starts_by};

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
