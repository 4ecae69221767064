//! The bad-input suite: every case of `tests/bad_input/cases.yaml` is run against the binary
//! in a scratch directory of its own (see that file's header for the case format).
//!
//! The expected counts in a case were worked out by whoever wrote it, from the input (lines,
//! records), not from the parser: a reader that stopped early, or split one record into two,
//! fails here even when its own books balance.

use crate::common::scratch;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// One part of an input file: `text` (with `\xNN` written for a raw byte), `repeat` times.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Part {
    Text(String),
    Repeated { text: String, repeat: usize },
}

/// A file of a case: one text, or parts put one after another.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum FileSpec {
    Text(String),
    Parts(Vec<Part>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    /// The issue-18 defect this case reproduces, if any (for the reader).
    #[serde(default)]
    #[allow(dead_code)]
    defect: Option<u32>,
    #[serde(default)]
    files: BTreeMap<String, FileSpec>,
    /// Fixtures copied in: name in the scratch directory → path under `fixtures/`.
    #[serde(default)]
    fixtures: BTreeMap<String, String>,
    /// Directories made, and symbolic links made (link → target).
    #[serde(default)]
    dirs: Vec<String>,
    #[serde(default)]
    symlinks: BTreeMap<String, String>,
    /// Commands run first, each expected to exit 0.
    #[serde(default)]
    setup: Vec<Vec<String>>,
    run: Vec<String>,
    exit: i32,
    /// Substrings stderr must contain.
    #[serde(default)]
    stderr: Vec<String>,
    /// Substrings stderr must not contain.
    #[serde(default)]
    not_stderr: Vec<String>,
    /// The counts line(s) stderr must contain, `read N = written N + …`.
    #[serde(default)]
    counts: Vec<String>,
    /// Rows each Parquet output holds: every good record was written.
    #[serde(default)]
    rows: BTreeMap<String, i64>,
    /// Lines each text output holds.
    #[serde(default)]
    lines: BTreeMap<String, usize>,
    /// Paths that must not exist afterwards (no partial output).
    #[serde(default)]
    absent: Vec<String>,
    /// Input files that must be byte-identical afterwards.
    #[serde(default)]
    unchanged: Vec<String>,
}

/// The bytes of `text`, where `\xNN` stands for the raw byte NN.
fn unescape(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && bytes.get(i + 1) == Some(&b'x') && i + 4 <= bytes.len()
            && let Ok(b) = u8::from_str_radix(&text[i + 2..i + 4], 16) {
                out.push(b);
                i += 4;
                continue;
            }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

fn file_bytes(spec: &FileSpec) -> Vec<u8> {
    match spec {
        FileSpec::Text(t) => unescape(t),
        FileSpec::Parts(parts) => parts
            .iter()
            .flat_map(|p| match p {
                Part::Text(t) => unescape(t),
                Part::Repeated { text, repeat } => unescape(text).repeat(*repeat),
            })
            .collect(),
    }
}

fn run_in(dir: &Path, args: &[String]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_nerprep")).args(args).current_dir(dir).output().expect("run nerprep")
}

fn parquet_rows(path: &Path) -> Result<i64, String> {
    use parquet::file::reader::FileReader;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let reader = parquet::file::reader::SerializedFileReader::new(file).map_err(|e| e.to_string())?;
    Ok(reader.metadata().file_metadata().num_rows())
}

/// Runs one case; returns what went wrong, if anything.
fn check(case: &Case) -> Result<(), String> {
    let dir = scratch(&format!("bad-input-{}", case.name));
    for d in &case.dirs {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    for (name, spec) in &case.files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, file_bytes(spec)).unwrap();
    }
    for (name, rel) in &case.fixtures {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::copy(crate::common::fixture(rel), &path).unwrap_or_else(|e| panic!("fixture {rel}: {e}"));
    }
    for (link, target) in &case.symlinks {
        std::os::unix::fs::symlink(target, dir.join(link)).unwrap();
    }
    let before: Vec<Vec<u8>> = case.unchanged.iter().map(|p| std::fs::read(dir.join(p)).unwrap()).collect();
    for args in &case.setup {
        let out = run_in(&dir, args);
        if out.status.code() != Some(0) {
            return Err(format!("setup {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr)));
        }
    }
    let out = run_in(&dir, &case.run);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut problems = Vec::new();
    if out.status.code() != Some(case.exit) {
        problems.push(format!("exit {:?}, expected {}", out.status.code(), case.exit));
    }
    for want in case.stderr.iter().chain(&case.counts) {
        if !stderr.contains(want.as_str()) {
            problems.push(format!("stderr lacks `{want}`"));
        }
    }
    for unwanted in &case.not_stderr {
        if stderr.contains(unwanted.as_str()) {
            problems.push(format!("stderr has `{unwanted}`"));
        }
    }
    if stderr.contains("panicked") {
        problems.push("nerprep panicked".into());
    }
    for (name, rows) in &case.rows {
        match parquet_rows(&dir.join(name)) {
            Ok(got) if got == *rows => {}
            Ok(got) => problems.push(format!("{name} holds {got} rows, expected {rows}")),
            Err(e) => problems.push(format!("{name}: {e}")),
        }
    }
    for (name, lines) in &case.lines {
        let got = std::fs::read_to_string(dir.join(name)).map(|t| t.lines().count()).unwrap_or(usize::MAX);
        if got != *lines {
            problems.push(format!("{name} holds {got} lines, expected {lines}"));
        }
    }
    for name in &case.absent {
        if dir.join(name).exists() {
            problems.push(format!("{name} exists"));
        }
    }
    for (name, bytes) in case.unchanged.iter().zip(&before) {
        if std::fs::read(dir.join(name)).ok().as_ref() != Some(bytes) {
            problems.push(format!("{name} was changed"));
        }
    }
    match problems.is_empty() {
        true => Ok(()),
        false => Err(format!("{}\nstderr:\n{stderr}", problems.join("\n"))),
    }
}

fn cases() -> Vec<Case> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_input/cases.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_suite_has_sixty_distinct_cases() {
    let cases = cases();
    assert!(cases.len() >= 60, "{} cases", cases.len());
    let names: std::collections::BTreeSet<_> = cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names.len(), cases.len(), "case names are unique");
}

#[test]
fn every_bad_input_case_behaves_as_written() {
    let cases = cases();
    let failures: Vec<String> = std::thread::scope(|scope| {
        let chunks: Vec<_> = cases.chunks(cases.len().div_ceil(4).max(1)).collect();
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| scope.spawn(move || chunk.iter().filter_map(|c| check(c).err().map(|e| format!("case {}: {e}", c.name))).collect::<Vec<_>>()))
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    assert!(failures.is_empty(), "{} of {} cases failed:\n\n{}", failures.len(), cases.len(), failures.join("\n\n"));
}

#[test]
fn raw_bytes_are_written_as_escaped() {
    assert_eq!(unescape("a\\xffb\\x0A"), b"a\xffb\n");
    assert_eq!(unescape("\\xZZ"), b"\\xZZ");
}
