//! The allocator settings a process that reads a store should run with.

/// Keeps memory that the Parquet reader frees for its next pages instead of handing it back to the
/// kernel. Process-wide: a binary calls it once, first thing (the CLI does, for every command).
///
/// Why: a scan decompresses about a megabyte per `content` page, hundreds of times per bucket. glibc
/// serves such blocks with `mmap` (or trims them off the top of an arena) and gives them back on
/// free, so every page cost fresh zeroed pages from the kernel: page faults were 6 % of a scan's CPU.
/// Serving blocks up to 32 MiB from the arenas and trimming an arena only past 512 MiB of free top
/// made the 1 GiB scan about 10 % faster. Peak memory moved by less than its run-to-run spread: the
/// blocks are reused, not added (and ingest still returns its parse phase's memory explicitly, with
/// `malloc_trim`).
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes two thresholds of glibc's allocator; no memory is touched, and a
    // rejected value leaves the default in place.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 512 << 20);
    }
}
