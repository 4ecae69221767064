//! Helpers shared by the integration tests.

use nerprep::model::Sample;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Path of a file under `fixtures/`.
pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(rel)
}

/// Runs the `nerprep` binary with `args`.
pub fn nerprep(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nerprep")).args(args).output().expect("run nerprep")
}

/// Runs `nerprep` and asserts it exited with `code`; returns stderr.
pub fn nerprep_ok(args: &[&str], code: i32) -> String {
    let out = nerprep(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "nerprep {args:?}\nstderr:\n{stderr}");
    stderr
}

/// Ingests `inputs` with `format` into `dir/name.parquet`, expecting exit `code`.
pub fn ingest(dir: &Path, name: &str, format: &str, inputs: &[PathBuf], code: i32) -> (PathBuf, String) {
    let out = dir.join(format!("{name}.parquet"));
    let mut args = vec!["ingest", "--format", format];
    let inputs: Vec<String> = inputs.iter().map(|p| p.display().to_string()).collect();
    args.extend(inputs.iter().map(String::as_str));
    let out_s = out.display().to_string();
    args.extend(["-o", &out_s]);
    let stderr = nerprep_ok(&args, code);
    (out, stderr)
}

/// Reads a samples table and asserts every sample satisfies the table invariants.
pub fn read_checked(path: &Path) -> Vec<Sample> {
    let samples = nerprep::table::read_all::<Sample>(path).expect("read samples");
    for s in &samples {
        s.check().unwrap_or_else(|e| panic!("{e}"));
    }
    samples
}

/// Counts entities per label.
pub fn label_counts(samples: &[Sample]) -> std::collections::BTreeMap<String, usize> {
    let mut m = std::collections::BTreeMap::new();
    for s in samples {
        for e in &s.entities {
            *m.entry(e.label.clone()).or_default() += 1;
        }
    }
    m
}

/// The Python of the test-client venv (`make test-clients`: dkpro-cassis, pyarrow, Polars),
/// or `NERPREP_TEST_PYTHON`.
pub fn client_python() -> PathBuf {
    let path = std::env::var_os("NERPREP_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-test/bin/python"));
    assert!(path.exists(), "the real-client tests need {}: run `make test-clients` (or `make test`)", path.display());
    path
}

/// A fresh scratch directory for one test, under cargo's per-target temporary directory.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a scratch directory");
    dir
}
