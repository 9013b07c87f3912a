//! The `gemini-cli` parser, forced as with `--format gemini-cli`.
#![no_main]
mod common;
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    common::check(data, Some(tracehound_schema::SourceFormat::GeminiCli))
});
