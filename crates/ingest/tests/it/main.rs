//! Integration tests of the ingest: real shared corpora, our own fixtures, hostile input, and the
//! store's guarantees (accounting, determinism, incremental ingest, atomic commit).

mod bad_input;
mod corpora;
mod fixtures;
mod store;
mod util;
