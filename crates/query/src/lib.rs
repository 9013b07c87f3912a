//! This crate answers questions over a tracehound store: what it holds (`info`), and, as the
//! investigation features land, timelines, detectors, hunting and reports. It reads the store through
//! its manifest only, so files of an uncommitted ingest are never seen.

mod info;
mod store;

pub use info::{info, StoreInfo};
pub use store::{QueryError, Store};
