use std::path::{Path, PathBuf};

/// Version of the store format (schema plus layout). Bumped on any change a reader must know about.
/// 2: the `text_features` column (files of version 1 have none; readers recompute).
pub const SCHEMA_VERSION: u32 = 2;

/// The oldest version this tracehound reads. A store of version 1 is read as it is, and an ingest into
/// it adds files of the current version.
pub const OLDEST_READABLE_SCHEMA_VERSION: u32 = 1;

/// Buckets of a new store. Fixed for the store's life (recorded in the manifest) because the bucket of a
/// session must not move between ingests. 32 keeps a 1 GiB archive at roughly 10 MB of Parquet per bucket
/// file, so a one-session read touches a small file, while a sample store stays at a handful of files.
pub const DEFAULT_BUCKETS: u32 = 32;

/// FNV-1a, 64 bit. Chosen because it is trivially specified and stable across platforms, Rust versions
/// and crate upgrades: bucket assignment is part of the on-disk format and must never change. It only has
/// to spread session ids, not resist an adversary: a skewed bucket costs speed, never correctness.
pub fn stable_hash(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// The bucket a session lives in.
pub fn bucket_of(session_id: &str, buckets: u32) -> u32 {
    (stable_hash(session_id.as_bytes()) % u64::from(buckets.max(1))) as u32
}

/// Directory of one bucket, relative to the store root: `events/bucket=07`. The `key=value` form lets
/// DuckDB, pyarrow and Polars read the store as a hive-partitioned dataset unchanged.
pub fn bucket_dir(bucket: u32) -> String {
    format!("events/bucket={bucket:02}")
}

/// Paths inside a store directory.
#[derive(Debug, Clone)]
pub struct StoreLayout {
    root: PathBuf,
}

impl StoreLayout {
    pub fn new(root: impl Into<PathBuf>) -> StoreLayout {
        StoreLayout { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn manifest(&self) -> PathBuf {
        self.root.join("manifest.json")
    }

    /// Relative path of the part file generation `generation` writes for `bucket`.
    pub fn part_file(bucket: u32, generation: u32) -> String {
        format!("{}/part-{generation:06}.parquet", bucket_dir(bucket))
    }

    /// Relative path of the rejects written by generation `generation`.
    pub fn rejects_file(generation: u32) -> String {
        format!("rejects/rejects-{generation:06}.jsonl")
    }

    /// Scratch space of an ingest in progress; removed at the end, and at the start of the next ingest
    /// if a previous one was killed.
    pub fn scratch(&self) -> PathBuf {
        self.root.join(".tmp")
    }

    pub fn resolve(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_the_documented_fnv1a() {
        // Reference values of FNV-1a 64: the empty string is the offset basis; "a" is a published vector.
        assert_eq!(stable_hash(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(stable_hash(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn buckets_are_in_range_and_stable() {
        for id in ["", "s1", "019b2ea4-aaaa-bbbb-cccc-58208e1f0000", "ünïcödé"] {
            let b = bucket_of(id, DEFAULT_BUCKETS);
            assert!(b < DEFAULT_BUCKETS);
            assert_eq!(b, bucket_of(id, DEFAULT_BUCKETS));
        }
        assert_eq!(bucket_dir(7), "events/bucket=07");
        assert_eq!(
            StoreLayout::part_file(3, 12),
            "events/bucket=03/part-000012.parquet"
        );
    }
}
