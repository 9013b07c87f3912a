//! This crate defines the contract between `tracehound-ingest` and `tracehound-query`: the normalized
//! event schema (one Arrow row per agent event), the on-disk store layout, and the store manifest.
//!
//! Ingest and query never import each other; both depend on this crate only, so a change here is a change
//! of the store format and bumps [`SCHEMA_VERSION`]. The one exception is the literal lists of
//! [`features`], versioned inside the stored value by [`features::FEATURES_VERSION`] instead.

mod event;
pub mod features;
mod layout;
mod manifest;

pub use event::{arrow_schema, columns, Event, EventKind, LinkMethod, SourceFormat};
pub use layout::{
    bucket_dir, bucket_of, stable_hash, StoreLayout, DEFAULT_BUCKETS,
    OLDEST_READABLE_SCHEMA_VERSION, SCHEMA_VERSION,
};
pub use manifest::{InputEntry, Manifest, ManifestError, RunEntry, StoreFile};
