//! The scan and SQL on an in-process Ballista cluster (scheduler and executor inside the test), every
//! run: the same findings as the local scan, row for row.

use std::path::{Path, PathBuf};

use tracehound_ingest::IngestBuilder;
use tracehound_query::{ScanBuilder, Store};
use tracehound_sql::datafusion::arrow::util::pretty::pretty_format_batches;
use tracehound_sql::ScanOptions;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn a_standalone_cluster_scans_and_queries_like_the_local_engine() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    IngestBuilder::new()
        .build()
        .run(
            &[
                root().join("testdata/sample"),
                root().join("testdata/fixtures"),
                root().join("testdata/hostile/flat.jsonl"),
            ],
            &store,
        )
        .unwrap();
    let store = Store::open(&store).unwrap();
    let local = ScanBuilder::new().build().run(&store).unwrap();
    assert!(local.findings.len() > 10);

    let rt = tracehound_sql::runtime(Some(2)).unwrap();
    rt.block_on(async {
        let ctx = tracehound_cluster::standalone(&store, Some(2)).await.unwrap();
        let remote = tracehound_cluster::scan(
            &ctx,
            &store,
            &ScanOptions::default(),
            tracehound_query::DEFAULT_MAX_FINDINGS,
        )
        .await
        .unwrap();
        assert_eq!(
            serde_json::to_value(&remote.findings).unwrap(),
            serde_json::to_value(&local.findings).unwrap()
        );
        assert_eq!(remote.counts, local.counts);
        assert_eq!((remote.sessions, remote.events), (local.sessions, local.events));

        // SQL with our functions and DataFusion's nested-array ones, planned and run on the cluster.
        let statement = "SELECT tool_name, count(*) AS calls, count(DISTINCT h) AS hosts \
             FROM (SELECT tool_name, unnest(hosts(args)) AS h FROM events WHERE kind = 'tool_call') \
             GROUP BY tool_name ORDER BY tool_name";
        let (_, cluster_rows) = tracehound_cluster::sql(&ctx, statement).await.unwrap();
        let local_rows = tracehound_sql::run(&store, statement, &Default::default())
            .await
            .unwrap()
            .1;
        let shown = pretty_format_batches(&cluster_rows).unwrap().to_string();
        assert_eq!(shown, pretty_format_batches(&local_rows).unwrap().to_string());
        assert!(shown.contains("http_post"), "{shown}");
    });
}
