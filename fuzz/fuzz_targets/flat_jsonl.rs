//! The `flat-jsonl` parser, forced as with `--format flat-jsonl`.
#![no_main]
mod common;
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    common::check(data, Some(tracehound_schema::SourceFormat::FlatJsonl))
});
