//! `verify`: recompute every recorded hash of an evidence archive or a store and report each file that
//! was changed, removed or added.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Serialize;
use tracehound_schema::{Manifest, StoreLayout};

use crate::{
    io_err, sha256_file, ArchiveManifest, EvidenceError, ARCHIVE_FORMAT, ARCHIVE_MANIFEST,
    SHA256SUMS,
};

/// What is wrong with one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// Present, but its bytes differ from the recorded hash.
    Changed,
    /// Recorded, but gone.
    Removed,
    /// Present, but recorded nowhere.
    Added,
    /// The manifest itself is not the one sealed, or the two hash lists disagree.
    Manifest,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    pub kind: ProblemKind,
    pub path: String,
    pub detail: String,
}

/// The outcome of a verification: clean when `problems` is empty.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerifyReport {
    pub root: String,
    /// `archive` or `store`.
    pub what: &'static str,
    /// Files whose hash was recomputed.
    pub checked: u64,
    pub problems: Vec<Problem>,
    /// For an archive: the SHA-256 of its manifest as found.
    pub seal: Option<String>,
}

impl VerifyReport {
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Verifies an evidence archive: every file listed in its manifest, files not listed, the
/// `SHA256SUMS` list against the manifest, and, when given, the seal recorded at preservation.
pub fn verify_archive(root: &Path, seal: Option<&str>) -> Result<VerifyReport, EvidenceError> {
    let manifest_path = root.join(ARCHIVE_MANIFEST);
    let text = std::fs::read(&manifest_path).map_err(|e| EvidenceError::NotAnArchive {
        path: root.to_path_buf(),
        reason: format!("cannot read {ARCHIVE_MANIFEST}: {e}"),
    })?;
    let manifest: ArchiveManifest =
        serde_json::from_slice(&text).map_err(|e| EvidenceError::NotAnArchive {
            path: root.to_path_buf(),
            reason: format!("{ARCHIVE_MANIFEST} does not parse: {e}"),
        })?;
    if manifest.format != ARCHIVE_FORMAT {
        return Err(EvidenceError::NotAnArchive {
            path: root.to_path_buf(),
            reason: format!("format is `{}`", manifest.format),
        });
    }
    let (found_seal, _) = sha256_file(&manifest_path).map_err(io_err(&manifest_path))?;
    let mut report = VerifyReport {
        root: root.display().to_string(),
        what: "archive",
        checked: 0,
        problems: Vec::new(),
        seal: Some(found_seal.clone()),
    };
    if let Some(expected) = seal {
        if !expected.eq_ignore_ascii_case(&found_seal) {
            report.problems.push(Problem {
                kind: ProblemKind::Manifest,
                path: ARCHIVE_MANIFEST.into(),
                detail: format!(
                    "seal mismatch: manifest hashes to {found_seal}, the recorded seal is {expected}"
                ),
            });
        }
    }
    let mut known: BTreeSet<String> = [ARCHIVE_MANIFEST.to_string(), SHA256SUMS.to_string()].into();
    for f in &manifest.files {
        known.insert(f.path.clone());
        report.checked += 1;
        check_file(
            &root.join(&f.path),
            &f.path,
            &f.sha256,
            Some(f.bytes),
            &mut report,
        );
    }
    check_sums(root, &manifest, &found_seal, &mut report);
    for rel in walk(root, root)? {
        if !known.contains(&rel) {
            report.problems.push(Problem {
                kind: ProblemKind::Added,
                detail: "not listed in the manifest".into(),
                path: rel,
            });
        }
    }
    Ok(report)
}

/// `SHA256SUMS` must list exactly the manifest's hashes plus the manifest's own.
fn check_sums(root: &Path, manifest: &ArchiveManifest, seal: &str, report: &mut VerifyReport) {
    let path = root.join(SHA256SUMS);
    let Ok(text) = std::fs::read_to_string(&path) else {
        report.problems.push(Problem {
            kind: ProblemKind::Removed,
            path: SHA256SUMS.into(),
            detail: "missing or unreadable".into(),
        });
        return;
    };
    let listed: BTreeSet<(String, String)> = text
        .lines()
        .filter_map(|l| l.split_once("  "))
        .map(|(h, p)| (p.to_string(), h.to_string()))
        .collect();
    let mut expected: BTreeSet<(String, String)> = manifest
        .files
        .iter()
        .map(|f| (f.path.clone(), f.sha256.clone()))
        .collect();
    expected.insert((ARCHIVE_MANIFEST.to_string(), seal.to_string()));
    for (p, h) in listed.symmetric_difference(&expected) {
        report.problems.push(Problem {
            kind: ProblemKind::Manifest,
            path: SHA256SUMS.into(),
            detail: if listed.contains(&(p.clone(), h.clone())) {
                format!("lists {p} as {h}, which the manifest does not")
            } else {
                format!("lacks {p} {h}, which the manifest records")
            },
        });
    }
}

/// Verifies a store: every file its manifest lists (hash and size), event and reject files it does
/// not list, and with `inputs`, every raw input against the hash it had at ingest.
pub fn verify_store(
    root: &Path,
    inputs: bool,
    input_root: Option<&Path>,
) -> Result<VerifyReport, EvidenceError> {
    let layout = StoreLayout::new(root);
    let manifest = Manifest::read(&layout.manifest())
        .map_err(|e| EvidenceError::NotAnArchive {
            path: root.to_path_buf(),
            reason: e.to_string(),
        })?
        .ok_or_else(|| EvidenceError::NotAnArchive {
            path: root.to_path_buf(),
            reason: "no manifest.json: not a tracehound store".into(),
        })?;
    let mut report = VerifyReport {
        root: root.display().to_string(),
        what: "store",
        checked: 0,
        problems: Vec::new(),
        seal: None,
    };
    let mut known = BTreeSet::new();
    for f in &manifest.files {
        known.insert(f.path.clone());
        report.checked += 1;
        check_file(
            &layout.resolve(&f.path),
            &f.path,
            &f.sha256,
            Some(f.bytes),
            &mut report,
        );
    }
    // Only the data directories: the scratch directory of a running or killed ingest holds files no
    // manifest lists by design (they are invisible to readers and cleaned by the next ingest).
    for dir in ["events", "rejects"] {
        let d = root.join(dir);
        if !d.is_dir() {
            continue;
        }
        for rel in walk(root, &d)? {
            if !known.contains(&rel) {
                report.problems.push(Problem {
                    kind: ProblemKind::Added,
                    detail: "in the store's data directories but not in its manifest (put there \
                             by hand, or left by an interrupted ingest, which the next ingest removes)"
                        .into(),
                    path: rel,
                });
            }
        }
    }
    if inputs {
        for i in &manifest.inputs {
            let p = match (Path::new(&i.path).is_absolute(), input_root) {
                (false, Some(r)) => r.join(&i.path),
                _ => PathBuf::from(&i.path),
            };
            report.checked += 1;
            check_file(&p, &i.path, &i.sha256, Some(i.size), &mut report);
        }
    }
    Ok(report)
}

fn check_file(path: &Path, rel: &str, sha: &str, bytes: Option<u64>, report: &mut VerifyReport) {
    match sha256_file(path) {
        Ok((found, n)) if found == sha => {
            if bytes.is_some_and(|b| b != n) {
                report.problems.push(Problem {
                    kind: ProblemKind::Changed,
                    path: rel.into(),
                    detail: format!(
                        "hash matches but size is {n}, recorded {}",
                        bytes.unwrap_or(0)
                    ),
                });
            }
        }
        Ok((found, n)) => report.problems.push(Problem {
            kind: ProblemKind::Changed,
            path: rel.into(),
            detail: format!(
                "SHA-256 is {found} ({n} bytes), recorded {sha}{}",
                bytes.map(|b| format!(" ({b} bytes)")).unwrap_or_default()
            ),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => report.problems.push(Problem {
            kind: ProblemKind::Removed,
            path: rel.into(),
            detail: "recorded but not found".into(),
        }),
        Err(e) => report.problems.push(Problem {
            kind: ProblemKind::Changed,
            path: rel.into(),
            detail: format!("cannot be read: {e}"),
        }),
    }
}

/// Every file below `dir`, relative to `root`, `/`-separated, sorted.
fn walk(root: &Path, dir: &Path) -> Result<Vec<String>, EvidenceError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).map_err(io_err(&d))? {
            let entry = entry.map_err(io_err(&d))?;
            let path = entry.path();
            if entry.file_type().map_err(io_err(&path))?.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(root).unwrap_or(&path);
                let parts: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                out.push(parts.join("/"));
            }
        }
    }
    out.sort();
    Ok(out)
}
