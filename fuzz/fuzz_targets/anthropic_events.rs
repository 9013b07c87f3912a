//! The `anthropic-events` parser, forced as with `--format anthropic-events`.
#![no_main]
mod common;
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    common::check(data, Some(tracehound_schema::SourceFormat::AnthropicEvents))
});
