//! The `otel` parser, forced as with `--format otel`.
#![no_main]
mod common;
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    common::check(data, Some(tracehound_schema::SourceFormat::Otel))
});
