//! The `openai-chat` parser, forced as with `--format openai-chat`.
#![no_main]
mod common;
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    common::check(data, Some(tracehound_schema::SourceFormat::OpenAiChat))
});
