//! The `claude-code` parser, forced as with `--format claude-code`.
#![no_main]
mod common;
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    common::check(data, Some(tracehound_schema::SourceFormat::ClaudeCode))
});
