//! Criterion benchmark of the ingest pipeline on a generated archive: throughput in input bytes.
//! The macro benchmark against DuckDB and zstd is `benches/run.sh`.

use std::process::Command;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tracehound_ingest::IngestBuilder;

fn ingest(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("archive.jsonl");
    let status = Command::new(env!("CARGO_BIN_EXE_gen-archive"))
        .args(["--bytes", &(16u64 << 20).to_string(), "--out"])
        .arg(&input)
        .status()
        .expect("run gen-archive");
    assert!(status.success());
    let size = std::fs::metadata(&input).unwrap().len();
    let mut group = c.benchmark_group("ingest");
    group.throughput(Throughput::Bytes(size));
    group.sample_size(10);
    for threads in [1, 2] {
        group.bench_function(format!("flat_jsonl_16MiB_{threads}_threads"), |b| {
            b.iter(|| {
                let store = dir.path().join(format!("store-{threads}"));
                let _ = std::fs::remove_dir_all(&store);
                IngestBuilder::new()
                    .threads(threads)
                    .build()
                    .run(std::slice::from_ref(&input), &store)
                    .unwrap()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, ingest);
criterion_main!(benches);
