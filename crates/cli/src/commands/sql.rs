use std::io::Write;

use anyhow::Context;
use tracehound_query::Store;
use tracehound_sql::datafusion::arrow::array::{Array, RecordBatch};
use tracehound_sql::datafusion::arrow::datatypes::DataType;
use tracehound_sql::datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use tracehound_sql::SqlOptions;

use super::ExitStatus;
use crate::args::{ListFormat, SqlArgs};
use crate::output::{csv_cell, one_line, redact};

pub(crate) fn run(args: SqlArgs) -> anyhow::Result<ExitStatus> {
    let store = Store::open(&args.store)
        .with_context(|| format!("cannot open store `{}`", args.store.display()))?;
    let opts = SqlOptions {
        policy: super::policy::load(args.policy.as_deref())?,
        threads: crate::ui::ui().threads,
    };
    let (schema, batches) = match &args.cluster {
        None => tracehound_sql::run_blocking(&store, &args.query, &opts)?,
        Some(address) => {
            if tracehound_sql::names_findings(&args.query) {
                anyhow::bail!(
                    "the `findings` table is the local scan's result and is not available on a cluster; \
                     use `tracehound scan --cluster {address}`, or the `session_findings` and \
                     `scan_findings` functions (docs/distributed.md)"
                );
            }
            tracehound_sql::runtime(opts.threads)?.block_on(async {
                let ctx = tracehound_cluster::connect(address, &store, opts.threads).await?;
                tracehound_cluster::sql(&ctx, &args.query).await
            })?
        }
    };
    let show = args.show_secrets;
    let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let rows = cells(&batches)?;
    let mut out = std::io::stdout().lock();
    match args.format {
        ListFormat::Table => {
            const MAX: usize = 60;
            let shown: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    r.iter()
                        .map(|c| one_line(c.as_deref().unwrap_or("NULL"), MAX, show))
                        .collect()
                })
                .collect();
            let mut widths: Vec<usize> = names.iter().map(|n| n.chars().count()).collect();
            for r in &shown {
                for (w, c) in widths.iter_mut().zip(r) {
                    *w = (*w).max(c.chars().count());
                }
            }
            let line = |cells: &[String]| -> String {
                cells
                    .iter()
                    .zip(&widths)
                    .map(|(c, w)| format!("{c:<w$}"))
                    .collect::<Vec<_>>()
                    .join("  ")
                    .trim_end()
                    .to_string()
            };
            writeln!(
                out,
                "{}",
                line(
                    &names
                        .iter()
                        .map(|n| crate::output::terminal_safe(n))
                        .collect::<Vec<_>>()
                )
            )?;
            writeln!(
                out,
                "{}",
                line(&widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>())
            )?;
            for r in &shown {
                writeln!(out, "{}", line(r))?;
            }
            drop(out);
            crate::ui::status!(
                "{} row{}",
                rows.len(),
                if rows.len() == 1 { "" } else { "s" }
            );
        }
        ListFormat::Csv => {
            let header: Vec<String> = names.iter().map(|n| csv_cell(n)).collect();
            writeln!(out, "{}", header.join(","))?;
            for r in &rows {
                let line: Vec<String> = r
                    .iter()
                    .map(|c| {
                        c.as_deref()
                            .map(|v| csv_cell(&redact(v, show)))
                            .unwrap_or_default()
                    })
                    .collect();
                writeln!(out, "{}", line.join(","))?;
            }
        }
        ListFormat::Json | ListFormat::Jsonl => {
            let types: Vec<DataType> = schema
                .fields()
                .iter()
                .map(|f| f.data_type().clone())
                .collect();
            let objects: Vec<serde_json::Value> = rows
                .iter()
                .map(|r| {
                    let map: serde_json::Map<String, serde_json::Value> = names
                        .iter()
                        .zip(r)
                        .zip(&types)
                        .map(|((n, c), t)| (n.clone(), json_value(c.as_deref(), t, show)))
                        .collect();
                    serde_json::Value::Object(map)
                })
                .collect();
            if args.format == ListFormat::Json {
                crate::output::json_pretty(&mut out, &objects)?;
                writeln!(out)?;
            } else {
                for o in &objects {
                    crate::output::json_line(&mut out, o)?;
                    writeln!(out)?;
                }
            }
        }
    }
    Ok(ExitStatus::Clean)
}

/// Every cell as text (`None` for NULL), by Arrow's own display rules.
fn cells(batches: &[RecordBatch]) -> anyhow::Result<Vec<Vec<Option<String>>>> {
    let options = FormatOptions::default();
    let mut rows = Vec::new();
    for b in batches {
        let formatters: Vec<ArrayFormatter<'_>> = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<Result<_, _>>()?;
        for i in 0..b.num_rows() {
            rows.push(
                b.columns()
                    .iter()
                    .zip(&formatters)
                    .map(|(c, f)| c.is_valid(i).then(|| f.value(i).to_string()))
                    .collect(),
            );
        }
    }
    Ok(rows)
}

/// Numbers and booleans as JSON numbers and booleans; everything else as (redacted) text.
fn json_value(cell: Option<&str>, t: &DataType, show: bool) -> serde_json::Value {
    let Some(v) = cell else {
        return serde_json::Value::Null;
    };
    if t.is_numeric() {
        if let Ok(n) = v.parse::<serde_json::Number>() {
            return serde_json::Value::Number(n);
        }
    }
    if *t == DataType::Boolean {
        return serde_json::Value::Bool(v == "true");
    }
    serde_json::Value::String(redact(v, show))
}
