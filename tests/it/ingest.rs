//! The reader driver over every format: the same bytes at any thread count, and shards
//! that together give exactly the unsharded samples.

use crate::common::fixture;
use nerprep::ingest::{ingest, IngestOutcome, IngestParams};
use nerprep::model::{Sample, SourceFormat};
use nerprep::params::StageParams;
use nerprep::progress::NoProgress;
use std::path::{Path, PathBuf};

/// Ingests `inputs` as `format` on a pool of `threads`, optionally one shard.
fn run(format: SourceFormat, inputs: &[PathBuf], out: &Path, threads: usize, shard: Option<&str>) -> IngestOutcome {
    let params = IngestParams { format: Some(format), shard: shard.map(str::to_string), ..IngestParams::default() };
    let valid = params.check().unwrap();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    pool.install(|| ingest(&valid, inputs, out, &NoProgress)).unwrap_or_else(|e| panic!("{e}"))
}

/// The corpora: every format's fixtures, and a generated IEPile file whose repeated
/// passages cross unit boundaries.
fn corpora(dir: &Path) -> Vec<(SourceFormat, Vec<PathBuf>)> {
    let big = dir.join("big_train.json");
    let mut lines = Vec::new();
    for i in 0..2600 {
        // Runs of three records of one sentence, each asking another type (1024 % 3 != 0).
        let passage = i / 3;
        let text = format!("Ann {passage} met Bob in Paris");
        let ins = serde_json::json!({"instruction": "x", "schema": [format!("t{}", i % 3)], "input": text}).to_string();
        let out = serde_json::json!({format!("t{}", i % 3): ["Ann", "Paris"]}).to_string();
        let task = if i % 97 == 0 { "RE" } else { "NER" };
        lines.push(serde_json::json!({"task": task, "source": "s", "instruction": ins, "output": out}).to_string());
    }
    lines.insert(1500, "{\"task\": \"NER\", \"instruction\": \"broken".into());
    std::fs::write(&big, lines.join("\n")).unwrap();
    vec![
        (SourceFormat::Crossner, vec![fixture("crossner")]),
        (SourceFormat::B2nerd, vec![fixture("b2nerd")]),
        (SourceFormat::Iepile, vec![fixture("iepile")]),
        (SourceFormat::Iepile, vec![big]),
        (SourceFormat::PileNer, vec![fixture("pile-ner")]),
        (SourceFormat::Xmi, vec![fixture("xmi/edge")]),
    ]
}

fn sorted_samples(path: &Path) -> Vec<String> {
    let samples = nerprep::table::read_all::<Sample>(path).unwrap();
    let mut rows: Vec<String> = samples.iter().map(|s| serde_json::to_string(s).unwrap()).collect();
    rows.sort();
    rows
}

#[test]
fn one_and_two_threads_write_the_same_bytes_for_every_format() {
    let dir = tempfile::tempdir().unwrap();
    for (i, (format, inputs)) in corpora(dir.path()).into_iter().enumerate() {
        let mut files = Vec::new();
        for threads in [1, 2] {
            let out = dir.path().join(format!("c{i}_t{threads}.parquet"));
            let outcome = run(format, &inputs, &out, threads, None);
            files.push((std::fs::read(&out).unwrap(), std::fs::read(&outcome.quarantine).unwrap()));
        }
        assert!(files[0] == files[1], "{format}: tables differ between 1 and 2 threads");
    }
}

#[test]
fn three_shards_together_are_the_unsharded_output() {
    let dir = tempfile::tempdir().unwrap();
    for (i, (format, inputs)) in corpora(dir.path()).into_iter().enumerate() {
        let whole_path = dir.path().join(format!("c{i}.parquet"));
        let whole = run(format, &inputs, &whole_path, 2, None);
        let mut union = Vec::new();
        let (mut read, mut written, mut quarantined) = (0, 0, 0);
        for shard in 0..3 {
            let out = dir.path().join(format!("c{i}_s{shard}.parquet"));
            let part = run(format, &inputs, &out, 2, Some(&format!("{shard}/3")));
            part.counts.check().unwrap();
            (read, written, quarantined) = (read + part.counts.read, written + part.counts.written, quarantined + part.counts.quarantined_total());
            union.extend(sorted_samples(&out));
        }
        union.sort();
        let expected = sorted_samples(&whole_path);
        assert!(!expected.is_empty(), "{format}");
        assert_eq!(union.len(), expected.len(), "{format} corpus {i}: sample count");
        assert!(union == expected, "{format} corpus {i}: the shards' samples differ from the unsharded ones");
        assert_eq!((read, written, quarantined), (whole.counts.read, whole.counts.written, whole.counts.quarantined_total()), "{format}");
    }
}

#[test]
fn both_tables_record_the_parameters_and_every_input() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("music.parquet");
    let outcome = run(SourceFormat::Crossner, &[fixture("crossner")], &out, 1, None);
    for table in [&out, &outcome.quarantine] {
        let p = nerprep::table::read_provenance(table).unwrap().unwrap();
        assert_eq!((p.stage.as_str(), p.params["format"].as_str()), ("ingest", Some("crossner")));
        assert_eq!(p.inputs.len(), 3, "every file of the directory");
        assert!(p.inputs[0].path.ends_with("music_dev.txt"), "{:?}", p.inputs[0]);
        assert_eq!(p.counts.as_ref().unwrap().read, 680);
    }
}
