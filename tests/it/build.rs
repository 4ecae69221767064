//! `nerprep build`: caching, resuming after a kill, thread-count independence, and recipe
//! errors with their lines (issue 17).

use crate::common::{nerprep, nerprep_ok, scratch};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A recipe over a few real fixtures (three formats), writing into `out`.
fn recipe(dir: &Path, out: &Path, emit_extra: &str, map_extra: &str) -> PathBuf {
    let f = |rel: &str| Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(rel).display().to_string();
    let m = |rel: &str| Path::new(env!("CARGO_MANIFEST_DIR")).join("mappings").join(rel).display().to_string();
    let text = format!(
        "seed: 3\noutput: {out}\ninputs:\n  - name: crossner\n    paths: [{c}]\n    ingest: {{format: crossner}}\n  - name: b2nerd\n    paths: [{b}]\n    ingest: {{format: b2nerd}}\n  - name: pile\n    paths: [{p}]\n    ingest: {{format: pile-ner}}\nstages:\n  map:\n    mapping: [{mc}, {mi}]\n{map_extra}  stats: {{}}\n  embed: {{model: \"hash:64\"}}\n  cluster:\n    input: crossner\n    params: {{k: \"2..5\", restarts: 2, refs: 2}}\n  prune: {{per_type: 20}}\n  emit:\n    - template: b2ner\n      dynamic_label_set: true\n{emit_extra}    - template: iepile\n      neg_ratio: 0.5\n",
        out = out.display(),
        c = f("crossner/politics_train.txt"),
        b = f("b2nerd/CrossNER_AI"),
        p = f("pile-ner/mit-restaurant_head.json"),
        mc = m("crossner.yaml"),
        mi = m("iepile.yaml"),
    );
    let path = dir.join("recipe.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Every file under `dir` with its bytes (the manifest's timings left out when `timings` is false).
fn snapshot(dir: &Path, with_manifest: bool) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if with_manifest || p.file_name().is_some_and(|n| n != "manifest.json") {
                out.insert(p.strip_prefix(dir).unwrap().to_path_buf(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// The status of every step, from the summary `nerprep build` prints.
fn statuses(stderr: &str) -> BTreeMap<String, String> {
    stderr
        .lines()
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            let id = parts.next()?;
            let status = parts.next()?;
            (id.contains('/') || id == "publish").then(|| (id.to_string(), status.to_string()))
        })
        .collect()
}

#[test]
fn a_second_run_does_no_work_and_a_changed_parameter_reruns_only_what_follows() {
    let dir = scratch("build-cache");
    let out = dir.join("data");
    let r = recipe(&dir, &out, "", "");
    let first = statuses(&nerprep_ok(&["build", r.to_str().unwrap()], 0));
    assert!(first.values().all(|s| s == "ran"), "{first:?}");
    assert!(out.join("samples/dataset=crossner_politics/split=train/part-0.parquet").exists());
    assert!(out.join("train/dataset_info.json").exists() && out.join("README.md").exists());
    let before = snapshot(&out, true);
    let second = statuses(&nerprep_ok(&["build", r.to_str().unwrap()], 0));
    assert!(second.values().all(|s| s == "cached"), "{second:?}");
    assert_eq!(snapshot(&out, true), before, "a cached run changes no byte");

    let dry = statuses(&nerprep_ok(&["build", r.to_str().unwrap(), "--dry-run"], 0));
    assert!(dry.values().all(|s| s == "would"), "{dry:?}"); // "would skip (cached)"
    recipe(&dir, &out, "      label_dropout: 0.2\n", "");
    let third = statuses(&nerprep_ok(&["build", r.to_str().unwrap()], 0));
    for (id, status) in &third {
        let expected = if id.starts_with("emit/") && id.ends_with("/b2ner") { "ran" } else { "cached" };
        assert_eq!(status, expected, "{id}: {third:?}");
    }
    recipe(&dir, &out, "      label_dropout: 0.2\n", "    normalize: true\n");
    let fourth = statuses(&nerprep_ok(&["build", r.to_str().unwrap()], 0));
    for (id, status) in &fourth {
        let expected = if id.starts_with("ingest/") { "cached" } else { "ran" };
        // A step whose inputs come out byte-identical is cached again: stats of an unchanged table.
        if status != expected {
            // embed reads the text only, so its vectors (and cluster after it) come out the same.
            assert!(["stats/", "emit/", "embed/", "cluster/", "prune/"].iter().any(|p| id.starts_with(p)) || id == "publish", "{id}: {fourth:?}");
        }
    }
    assert_eq!(fourth["map/crossner"], "ran");
    let out_v = nerprep(&["build", r.to_str().unwrap(), "--verify"]);
    assert!(out_v.status.success(), "{}", String::from_utf8_lossy(&out_v.stderr));
    let jsonl = out.join("train/crossner_b2ner.jsonl");
    let mut bytes = std::fs::read(&jsonl).unwrap();
    bytes[10] ^= 1;
    std::fs::write(&jsonl, bytes).unwrap();
    let stderr = nerprep_ok(&["build", r.to_str().unwrap(), "--verify"], 1);
    assert!(stderr.contains("crossner_b2ner.jsonl"), "{stderr}");
    let rerun = statuses(&nerprep_ok(&["build", r.to_str().unwrap()], 0));
    assert_eq!(rerun["emit/crossner/b2ner"], "ran", "an edited output is rebuilt");
}

#[test]
fn builds_are_identical_at_one_and_two_jobs_and_after_a_kill() {
    let dir = scratch("build-jobs");
    let out = dir.join("data");
    let r = recipe(&dir, &out, "", "");
    let r = r.to_str().unwrap();
    nerprep_ok(&["build", r, "--jobs", "1"], 0);
    let one = snapshot(&out, false);
    std::fs::remove_dir_all(&out).unwrap();
    nerprep_ok(&["build", r, "--jobs", "2"], 0);
    assert_eq!(snapshot(&out, false), one, "--jobs 1 and --jobs 2 write the same bytes");
    for delay_ms in [150u64, 400, 900] {
        std::fs::remove_dir_all(&out).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_nerprep")).args(["--quiet", "build", r]).spawn().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        nerprep_ok(&["build", r], 0);
        let after = snapshot(&out, false);
        let leftovers: Vec<_> = after.keys().filter(|p| p.to_string_lossy().contains(".nerprep-")).collect();
        assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
        assert_eq!(after, one, "killed after {delay_ms} ms and resumed: same outputs");
    }
}

#[test]
fn a_broken_recipe_reports_every_problem_with_its_line() {
    let dir = scratch("build-broken");
    let path = dir.join("broken.yaml");
    std::fs::write(
        &path,
        "seed: 1\nouptut: data\ninputs:\n  - name: a\n    paths: [nowhere]\n    ingest: {format: conll}\n  - name: a\n    paths: [x]\n    ingest: {format: crossner}\nstages:\n  map:\n    unmapped: sometimes\n  prune_everything: {}\n  emit:\n    - template: b2ner\n      label_dropout: 2\n    - template: iepile\n      seed: 4\n",
    )
    .unwrap();
    let stderr = nerprep_ok(&["build", path.to_str().unwrap()], 1);
    for expected in [
        ":2: recipe.ouptut is not a known key",
        ":6: inputs[0].ingest.format is invalid",
        ":7: inputs[1].name \"a\" names two inputs",
        ":12: map.unmapped is invalid",
        ":13: stages.prune_everything is not a stage",
        ":16: emit[0].label_dropout must be in [0, 1), got 2",
        ":18: emit[1].seed is set once, at the top of the recipe",
    ] {
        assert!(stderr.contains(expected), "missing {expected:?} in:\n{stderr}");
    }
}

#[test]
fn real_clients_read_what_a_build_writes() {
    let dir = scratch("build-clients");
    let out = dir.join("data");
    let r = recipe(&dir, &out, "", "");
    nerprep_ok(&["build", r.to_str().unwrap()], 0);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/read_build.py");
    let run = Command::new(crate::common::client_python()).arg(script).arg(&out).output().unwrap();
    assert!(run.status.success(), "client script failed:\n{}", String::from_utf8_lossy(&run.stderr));
    let seen: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();

    let mut expected: BTreeMap<(String, String), u64> = BTreeMap::new();
    for input in ["crossner", "b2nerd", "pile"] {
        for s in nerprep::table::read_all::<nerprep::model::Sample>(out.join(format!("stages/{input}/prune.parquet"))).unwrap() {
            *expected.entry((s.dataset, s.split)).or_default() += 1;
        }
    }
    let polars: BTreeMap<(String, String), u64> = seen["polars"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| ((r["dataset"].as_str().unwrap().to_string(), r["split"].as_str().unwrap().to_string()), r["len"].as_u64().unwrap()))
        .collect();
    assert_eq!(polars, expected, "Polars sees every published row in its partition");
    assert_eq!(seen["arrow_rows"].as_u64().unwrap(), expected.values().sum::<u64>());

    let datasets = seen["datasets"].as_object().unwrap();
    assert_eq!(datasets.len(), 6, "two styles for three inputs: {datasets:?}");
    for (name, d) in datasets {
        let lines = std::fs::read_to_string(out.join(format!("train/{name}.jsonl"))).unwrap().lines().count() as u64;
        assert_eq!(d["rows"].as_u64().unwrap(), lines, "{name}");
        assert_eq!(d["mapped"], true, "{name}: LLaMA-Factory's column mapping finds every field");
    }
}

/// `make data`'s recipe itself, with only its output moved: every input it names (directories
/// after other inputs among them) ingests and every stage runs.
#[test]
fn the_default_recipe_builds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = scratch("build-default");
    let text = std::fs::read_to_string(root.join("recipes/default.yaml")).unwrap();
    assert!(text.contains("\noutput: data\n"), "recipes/default.yaml no longer writes to data/");
    let recipe = dir.join("default.yaml");
    std::fs::write(&recipe, text.replace("\noutput: data\n", &format!("\noutput: {}\n", dir.join("data").display()))).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_nerprep"))
        .args(["build", recipe.to_str().unwrap()])
        .current_dir(root)
        .env("NERPREP_CACHE", dir.join("cache"))
        .output()
        .expect("run nerprep");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "nerprep build recipes/default.yaml\n{stderr}");
    assert!(dir.join("data/manifest.json").is_file(), "{stderr}");
}
