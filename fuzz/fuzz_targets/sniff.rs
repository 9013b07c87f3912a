//! The format sniffer and whichever parser it picks.
#![no_main]
mod common;
libfuzzer_sys::fuzz_target!(|data: &[u8]| common::check(data, None));
