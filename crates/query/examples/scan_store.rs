//! Times the whole native scan of a store without the CLI's output phase: the quick loop for
//! profiling the detectors (builds without DataFusion).
//!
//!     cargo run --release -p tracehound-query --example scan_store -- STORE [THREADS]
//!
//! With `SCAN_DUMP=FILE` it also writes the findings as JSON lines, to compare two builds.

use tracehound_query::{ScanBuilder, Store};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // As the CLI runs.
    tracehound_query::tune_allocator();
    let mut args = std::env::args().skip(1);
    let store = args.next().ok_or("usage: scan_store STORE [THREADS]")?;
    let threads: usize = args.next().map_or(Ok(2), |t| t.parse())?;
    let store = Store::open(std::path::Path::new(&store))?;
    let result = ScanBuilder::new().threads(threads).build().run(&store)?;
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    writeln!(
        stdout,
        "{} sessions, {} events, {} findings in {:.2} s",
        result.sessions,
        result.events,
        result.findings.len(),
        result.elapsed.as_secs_f64()
    )?;
    if let Ok(path) = std::env::var("SCAN_DUMP") {
        let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
        for f in &result.findings {
            serde_json::to_writer(&mut out, f)?;
            out.write_all(b"\n")?;
        }
        for p in &result.payloads {
            serde_json::to_writer(&mut out, p)?;
            out.write_all(b"\n")?;
        }
    }
    for (detector, by) in &result.counts {
        writeln!(stdout, "  {detector} {by:?}")?;
    }
    Ok(())
}
