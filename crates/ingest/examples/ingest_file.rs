//! Ingests inputs into a store with the CLI's defaults, without the CLI: the quick loop for measuring
//! the ingest (builds without DataFusion).
//!
//!     cargo run --release -p tracehound-ingest --example ingest_file -- STORE INPUT...

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let store = args.next().ok_or("usage: ingest_file STORE INPUT...")?;
    let inputs: Vec<std::path::PathBuf> = args.map(Into::into).collect();
    let summary = tracehound_ingest::IngestBuilder::new()
        .memory_budget(64 << 20)
        .threads(2)
        .build()
        .run(&inputs, std::path::Path::new(&store))?;
    println!("{summary:?}");
    Ok(())
}
