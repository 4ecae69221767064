//! `nerprep build`: run a recipe's stages in order, skipping what is already up to date.
//!
//! A recipe ([`recipe::Recipe`]) becomes a list of steps: ingest each input, then per input
//! the table stages (map), reports (stats), training files (emit, one per instruction
//! style), and finally the published, partitioned tables
//! (`OUT/samples/dataset=…/split=…/part-N.parquet`). Every step has a cache key: the SHA-256
//! of the tool version, the stage, its canonical parameters and the digests of its inputs —
//! the same ingredients as the provenance its outputs carry, and an input nerprep wrote is
//! identified by the digest recorded in it, so nothing is hashed twice. A step whose key and
//! outputs match `OUT/manifest.json` is skipped ("cached"); every output is written under a
//! temporary name and renamed, and the manifest is rewritten after every step, so a build
//! killed half-way resumes where it stopped and never leaves a half-written file.
//!
//! The manifest is the one file that holds timings (each step's duration when it last ran);
//! everything else is byte-identical for the same recipe, inputs and seed, whatever the
//! thread count.

pub mod card;
pub mod ingest_step;
pub mod manifest;
pub mod recipe;

use crate::emit::{emit, EmitParams};
use crate::io::IoError;
use crate::model::Sample;
use crate::params::{canonical_json, StageParams};
use crate::progress::Progress;
use crate::provenance::{sha256_file, tool_version, InputDigest};
use crate::report::Counts;
use crate::table::{TableReader, TableWriter};
use manifest::{Manifest, StepRecord};
use recipe::{InputSpec, Recipe, STAGE_ORDER};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// A build could not go on.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The recipe or a file could not be read or written.
    #[error(transparent)]
    Io(#[from] IoError),
    /// A recipe input matched no file.
    #[error("input {input:?}: {pattern:?} matches no file")]
    NoFiles {
        /// The input's name.
        input: String,
        /// The path or glob that matched nothing.
        pattern: String,
    },
    /// A stage failed; its own error says where.
    #[error("step {step}: {message}")]
    Step {
        /// The step (`map/crossner`).
        step: String,
        /// The stage's error, with its file and line.
        message: String,
    },
    /// `--force` or `--until` names no stage of the build.
    #[error("{flag} {stage:?}: not a stage; expected one of {}", STAGE_ORDER.join(", "))]
    UnknownStage {
        /// The flag.
        flag: &'static str,
        /// What it named.
        stage: String,
    },
}

/// How to run a build.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Print the plan (and what would rerun) without running anything.
    pub dry_run: bool,
    /// Stages to rerun even when cached.
    pub force: Vec<String>,
    /// Stop after this stage.
    pub until: Option<String>,
}

/// What happened to one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepStatus {
    /// It ran.
    Ran,
    /// Its outputs were up to date.
    Cached,
    /// `--dry-run`: it would run.
    WouldRun,
    /// `--dry-run`: its key matches, it would be skipped.
    WouldSkip,
}

impl StepStatus {
    /// The word in the summary table.
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Ran => "ran",
            StepStatus::Cached => "cached",
            StepStatus::WouldRun => "would run",
            StepStatus::WouldSkip => "would skip (cached)",
        }
    }
}

/// One step's line in the summary.
#[derive(Debug, Clone)]
pub struct StepOutcome {
    /// The step id (`emit/crossner/b2ner`).
    pub id: String,
    /// What happened.
    pub status: StepStatus,
    /// Its counts (from this run or the manifest).
    pub counts: Option<Counts>,
    /// Seconds it took when it last ran.
    pub seconds: f64,
}

/// What a build did.
#[derive(Debug, Clone)]
pub struct BuildReport {
    /// Every step, in order.
    pub steps: Vec<StepOutcome>,
    /// The manifest written (or that would be).
    pub manifest: PathBuf,
}

/// What a step does when it runs.
#[derive(Debug, Clone)]
enum Action {
    Ingest { input: usize, files: Vec<PathBuf> },
    Map { table: PathBuf },
    Stats { table: PathBuf },
    Embed { table: PathBuf },
    Cluster { embeddings: PathBuf },
    Prune { table: PathBuf, embeddings: PathBuf },
    Emit { params: Box<EmitParams>, table: PathBuf, name: String },
    Publish { tables: Vec<PathBuf> },
}

/// One unit of a build.
#[derive(Debug, Clone)]
struct Step {
    id: String,
    stage: &'static str,
    params: serde_json::Value,
    inputs: Vec<PathBuf>,
    outputs: Vec<PathBuf>,
    action: Action,
}

/// Runs `recipe` (loaded from `recipe_path`) with `options`; `progress` makes one reporter
/// per step.
pub fn build(
    recipe: &Recipe,
    recipe_path: &Path,
    options: &BuildOptions,
    progress: &dyn Fn(&str) -> Box<dyn Progress>,
) -> Result<BuildReport, BuildError> {
    for (flag, stage) in options.force.iter().map(|s| ("--force", s)).chain(options.until.iter().map(|s| ("--until", s))) {
        if !STAGE_ORDER.contains(&stage.as_str()) && stage != "publish" {
            return Err(BuildError::UnknownStage { flag, stage: stage.clone() });
        }
    }
    let out = &recipe.output;
    let manifest_path = out.join("manifest.json");
    let previous = Manifest::read(&manifest_path)?;
    let mut manifest = Manifest::new(recipe_path, recipe)?;
    let steps = plan(recipe)?;
    let mut outcomes = Vec::new();
    for step in &steps {
        if past_until(step.stage, options.until.as_deref()) {
            break;
        }
        let old = previous.as_ref().and_then(|m| m.step(&step.id));
        let missing_input = step.inputs.iter().any(|p| !p.exists());
        let key = if missing_input { None } else { Some(step_key(step)?) };
        let forced = options.force.iter().any(|f| f == step.stage);
        let up_to_date = !forced && key.is_some() && old.is_some_and(|o| Some(&o.key) == key.as_ref() && outputs_match(o, step));
        if options.dry_run {
            let status = if up_to_date { StepStatus::WouldSkip } else { StepStatus::WouldRun };
            outcomes.push(StepOutcome { id: step.id.clone(), status, counts: old.and_then(|o| o.counts.clone()), seconds: 0.0 });
            continue;
        }
        if up_to_date {
            let o = old.cloned().unwrap_or_else(StepRecord::default);
            outcomes.push(StepOutcome { id: step.id.clone(), status: StepStatus::Cached, counts: o.counts.clone(), seconds: o.seconds });
            manifest.steps.push(o);
            manifest.write(&manifest_path)?;
            continue;
        }
        let key = match key {
            Some(k) => k,
            None => return Err(BuildError::Step { step: step.id.clone(), message: "an input is missing".into() }),
        };
        let started = Instant::now();
        let reporter = progress(&step.id);
        let (counts, outputs) = run_step(recipe, step, old, reporter.as_ref())?;
        reporter.finish();
        let seconds = started.elapsed().as_secs_f64();
        let record = StepRecord {
            id: step.id.clone(),
            stage: step.stage.to_string(),
            key,
            params: step.params.clone(),
            inputs: digests(&step.inputs)?,
            outputs: digests(&outputs)?,
            counts: counts.clone(),
            seconds,
        };
        outcomes.push(StepOutcome { id: step.id.clone(), status: StepStatus::Ran, counts, seconds });
        manifest.steps.push(record);
        manifest.write(&manifest_path)?;
    }
    if !options.dry_run {
        card::write_card(recipe, &manifest, &out.join("README.md"))?;
    }
    Ok(BuildReport { steps: outcomes, manifest: manifest_path })
}

/// Whether `stage` comes after the `--until` stage.
fn past_until(stage: &str, until: Option<&str>) -> bool {
    let rank = |s: &str| STAGE_ORDER.iter().position(|x| *x == s).unwrap_or(STAGE_ORDER.len());
    until.is_some_and(|u| rank(stage) > rank(u))
}

/// The digests of `paths`, as provenance records them.
fn digests(paths: &[PathBuf]) -> Result<Vec<InputDigest>, BuildError> {
    Ok(paths.iter().map(|p| InputDigest::of(p)).collect::<Result<Vec<_>, _>>()?)
}

/// The cache key of a step: SHA-256 over the tool version, stage, canonical parameters and
/// input digests.
fn step_key(step: &Step) -> Result<String, BuildError> {
    let record = serde_json::json!({
        "tool": tool_version(),
        "stage": step.stage,
        "params": step.params,
        "inputs": digests(&step.inputs)?,
    });
    Ok(crate::provenance::hex(&Sha256::digest(canonical_json(&record).to_string().as_bytes())))
}

/// Whether the outputs `old` recorded are all still there, unchanged.
fn outputs_match(old: &StepRecord, step: &Step) -> bool {
    let fixed_outputs_listed = step.outputs.iter().all(|p| old.outputs.iter().any(|o| Path::new(&o.path) == p));
    fixed_outputs_listed
        && old.outputs.iter().all(|o| InputDigest::of(Path::new(&o.path)).is_ok_and(|d| d.sha256 == o.sha256))
        && match &step.action {
            Action::Emit { name, table, .. } => dataset_info_lists(table, &step.outputs[0], name),
            _ => true,
        }
}

/// Whether the `dataset_info.json` beside `jsonl` still has the entry `name`.
fn dataset_info_lists(_table: &Path, jsonl: &Path, name: &str) -> bool {
    let path = jsonl.with_file_name("dataset_info.json");
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .is_some_and(|v| v.get(name).is_some())
}

/// The steps of `recipe`, in the order they run.
fn plan(recipe: &Recipe) -> Result<Vec<Step>, BuildError> {
    let out = &recipe.output;
    let mut steps = Vec::new();
    let mut finals = Vec::new();
    for (i, input) in recipe.inputs.iter().enumerate() {
        let (files, hashed) = expand(input)?;
        let stage_dir = out.join("stages").join(&input.name);
        let samples = stage_dir.join("ingest.parquet");
        steps.push(Step {
            id: format!("ingest/{}", input.name),
            stage: "ingest",
            params: input.ingest.canonical(),
            inputs: hashed,
            outputs: vec![samples.clone(), crate::io::side_path(&samples, "quarantine")],
            action: Action::Ingest { input: i, files },
        });
        let mut table = samples;
        if let Some(map) = &recipe.stages.map {
            let mapped = stage_dir.join("map.parquet");
            let mut inputs = vec![table.clone()];
            inputs.extend(map.mapping.iter().cloned());
            steps.push(Step {
                id: format!("map/{}", input.name),
                stage: "map",
                params: map.canonical(),
                inputs,
                outputs: vec![mapped.clone(), crate::io::side_path(&mapped, "quarantine")],
                action: Action::Map { table: table.clone() },
            });
            table = mapped;
        }
        if let Some(stats) = &recipe.stages.stats {
            let report = out.join("stats").join(format!("{}.md", input.name));
            steps.push(Step {
                id: format!("stats/{}", input.name),
                stage: "stats",
                params: stats.canonical(),
                inputs: vec![table.clone()],
                outputs: vec![report],
                action: Action::Stats { table: table.clone() },
            });
        }
        if let Some(embed) = &recipe.stages.embed {
            let emb = stage_dir.join("embed.parquet");
            let mut inputs = vec![table.clone()];
            inputs.extend(embed.definitions.iter().cloned());
            steps.push(Step {
                id: format!("embed/{}", input.name),
                stage: "embed",
                params: embed.canonical(),
                inputs,
                outputs: vec![emb.clone()],
                action: Action::Embed { table: table.clone() },
            });
            if let Some(cluster) = recipe.stages.cluster.as_ref().filter(|c| c.input == input.name) {
                let dir = out.join("cluster").join(&input.name);
                let mut inputs = vec![emb.clone()];
                inputs.extend(cluster.params.compare.iter().cloned());
                steps.push(Step {
                    id: format!("cluster/{}", input.name),
                    stage: "cluster",
                    params: cluster.params.canonical(),
                    inputs,
                    outputs: ["scores.csv", "scores.json", "scores.png", "scores.svg", "assignments.parquet", "draft-mapping.yaml"]
                        .iter()
                        .map(|f| dir.join(f))
                        .collect(),
                    action: Action::Cluster { embeddings: emb },
                });
            }
        }
        if let (Some(prune), true) = (&recipe.stages.prune, recipe.stages.embed.is_some()) {
            let pruned = stage_dir.join("prune.parquet");
            let outputs = crate::prune::PruneOutputs::of(&pruned);
            steps.push(Step {
                id: format!("prune/{}", input.name),
                stage: "prune",
                params: prune.canonical(),
                inputs: vec![table.clone(), stage_dir.join("embed.parquet")],
                outputs: vec![outputs.samples.clone(), outputs.decisions, outputs.summary.clone(), crate::provenance::sidecar_path(&outputs.summary)],
                action: Action::Prune { table: table.clone(), embeddings: stage_dir.join("embed.parquet") },
            });
            table = pruned;
        }
        for (k, e) in recipe.stages.emit.iter().enumerate() {
            let template = e.template.map(|t| t.as_str()).unwrap_or("emit");
            let twice = recipe.stages.emit.iter().filter(|o| o.template == e.template).count() > 1;
            let name = if twice { format!("{}_{template}_{k}", input.name) } else { format!("{}_{template}", input.name) };
            let jsonl = out.join("train").join(format!("{name}.jsonl"));
            let p = &e;
            let mut inputs = vec![table.clone()];
            inputs.extend([&p.label_descriptions, &p.hard_negatives, &p.archetypes].into_iter().flatten().cloned());
            let mut params = (*e).clone();
            params.dataset_name = Some(p.dataset_name.clone().unwrap_or_else(|| name.clone()));
            steps.push(Step {
                id: format!("emit/{}/{template}{}", input.name, if twice { format!("_{k}") } else { String::new() }),
                stage: "emit",
                params: params.canonical(),
                inputs,
                outputs: vec![jsonl.clone(), crate::provenance::sidecar_path(&jsonl)],
                action: Action::Emit { name: params.dataset_name.clone().unwrap_or_default(), params: Box::new(params), table: table.clone() },
            });
        }
        finals.push(table);
    }
    steps.push(Step {
        id: "publish".into(),
        stage: "publish",
        params: serde_json::json!({"layout": "dataset=/split=/part-N.parquet"}),
        inputs: finals.clone(),
        outputs: Vec::new(),
        action: Action::Publish { tables: finals },
    });
    Ok(steps)
}

/// The paths of an input as the reader gets them (files and directories as given, globs as
/// the sorted files they match), and every file under them (what the cache key hashes; the
/// reader still decides which files in a directory are its format's).
fn expand(input: &InputSpec) -> Result<(Vec<PathBuf>, Vec<PathBuf>), BuildError> {
    let mut given = Vec::new();
    for pattern in &input.paths {
        if !pattern.contains(['*', '?']) {
            let path = PathBuf::from(pattern);
            if !path.exists() {
                return Err(BuildError::NoFiles { input: input.name.clone(), pattern: pattern.clone() });
            }
            given.push(path);
            continue;
        }
        let base: PathBuf = Path::new(pattern).components().take_while(|c| !c.as_os_str().to_string_lossy().contains(['*', '?'])).collect();
        let root = if base.as_os_str().is_empty() { PathBuf::from(".") } else { base };
        let found: Vec<PathBuf> = expand_dir(&root)?.into_iter().filter(|p| glob_match(pattern, &p.to_string_lossy())).collect();
        if found.is_empty() {
            return Err(BuildError::NoFiles { input: input.name.clone(), pattern: pattern.clone() });
        }
        given.extend(found);
    }
    let mut hashed = Vec::new();
    for p in &given {
        hashed.extend(expand_dir(p)?);
    }
    hashed.sort();
    hashed.dedup();
    Ok((given, hashed))
}

/// `path` itself, or every file under it, sorted (symlinked directories are not followed).
fn expand_dir(path: &Path) -> Result<Vec<PathBuf>, BuildError> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).map_err(|e| IoError::new(&dir, e))? {
            let entry = entry.map_err(|e| IoError::new(&dir, e))?;
            let kind = entry.file_type().map_err(|e| IoError::new(entry.path(), e))?;
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file() || (kind.is_symlink() && entry.path().is_file()) {
                out.push(entry.path());
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Whether `path` matches the glob `pattern`: `*` and `?` within one path component, `**`
/// across any number of them.
pub fn glob_match(pattern: &str, path: &str) -> bool {
    fn go(p: &[u8], s: &[u8]) -> bool {
        match p {
            [] => s.is_empty(),
            [b'*', b'*', rest @ ..] => {
                let rest = rest.strip_prefix(b"/").unwrap_or(rest);
                (0..=s.len()).any(|i| (i == 0 || s[i - 1] == b'/') && go(rest, &s[i..]))
            }
            [b'*', rest @ ..] => (0..=s.len()).take_while(|&i| i == 0 || s[i - 1] != b'/').any(|i| go(rest, &s[i..])),
            [b'?', rest @ ..] => !s.is_empty() && s[0] != b'/' && go(rest, &s[1..]),
            [c, rest @ ..] => s.first() == Some(c) && go(rest, &s[1..]),
        }
    }
    let strip = |x: &'_ str| x.strip_prefix("./").unwrap_or(x).to_string();
    go(strip(pattern).as_bytes(), strip(path).as_bytes())
}

/// Runs one step; returns its counts and every file it wrote.
fn run_step(
    recipe: &Recipe,
    step: &Step,
    old: Option<&StepRecord>,
    progress: &dyn Progress,
) -> Result<(Option<Counts>, Vec<PathBuf>), BuildError> {
    let fail = |e: &dyn std::fmt::Display| BuildError::Step { step: step.id.clone(), message: format!("{e:#}") };
    let counts = match &step.action {
        Action::Ingest { input, files } => {
            let spec = &recipe.inputs[*input];
            Some(ingest_step::run_ingest(&spec.ingest, files, &step.outputs[0], progress).map_err(|e| fail(&e))?)
        }
        Action::Map { table } => {
            let Some(params) = &recipe.stages.map else { return Ok((None, Vec::new())) };
            let outcome = crate::taxonomy::map_stage(params, table, &step.outputs[0]).map_err(|e| fail(&e))?;
            if !outcome.written {
                let labels: Vec<&str> = outcome.coverage.unmapped_types.iter().map(|u| u.label.as_str()).collect();
                return Err(fail(&format!("labels in no mapping (unmapped: error): {}", labels.join(", "))));
            }
            Some(outcome.counts)
        }
        Action::Stats { table } => {
            let Some(params) = &recipe.stages.stats else { return Ok((None, Vec::new())) };
            let stats = crate::stats::compute(table, &params.by).map_err(|e| fail(&e))?;
            let text = match params.format {
                crate::stats::ReportFormat::Json => serde_json::to_string_pretty(&stats).map_err(|e| fail(&e))? + "\n",
                crate::stats::ReportFormat::Md => crate::stats::to_markdown(&stats),
            };
            let report = &step.outputs[0];
            crate::io::write_atomic(report, text.as_bytes())?;
            let mut provenance = crate::provenance::Provenance::of(params);
            provenance.input(table)?;
            provenance.write_sidecar(report)?;
            None
        }
        Action::Embed { table } => {
            let Some(params) = &recipe.stages.embed else { return Ok((None, Vec::new())) };
            let valid = params.check().map_err(|e| fail(&e))?;
            let env = crate::embed::EmbedEnv::from_process();
            let outcome = crate::embed::stage::embed_table(&valid, &env, table, &step.outputs[0], progress).map_err(|e| fail(&e))?;
            Some(outcome.counts)
        }
        Action::Cluster { embeddings } => {
            let Some(stage) = &recipe.stages.cluster else { return Ok((None, Vec::new())) };
            let valid = stage.params.check().map_err(|e| fail(&e))?;
            let dir = step.outputs[0].parent().map(Path::to_path_buf).unwrap_or_default();
            let outcome = crate::cluster::run(embeddings, &dir, &valid, progress).map_err(|e| fail(&e))?;
            let mut counts = Counts::new("cluster");
            counts.read = outcome.units as u64;
            counts.written = outcome.units as u64;
            counts.note(&format!("assigned_k:{}", outcome.assigned_k), 1);
            Some(counts)
        }
        Action::Prune { table, embeddings } => {
            let Some(params) = &recipe.stages.prune else { return Ok((None, Vec::new())) };
            let valid = params.check().map_err(|e| fail(&e))?;
            crate::prune::prune_tables(std::slice::from_ref(table), std::slice::from_ref(embeddings), &step.outputs[0], &valid, progress).map_err(|e| fail(&e))?;
            crate::table::read_counts(&step.outputs[0]).map_err(|e| fail(&e))?
        }
        Action::Emit { params, table, .. } => {
            let config = params.load().map_err(|e| fail(&e))?;
            let outcome = emit(table, &step.outputs[0], &config, progress).map_err(|e| fail(&e))?;
            Some(outcome.counts)
        }
        Action::Publish { tables } => {
            let written = publish(tables, &recipe.output.join("samples"), old).map_err(|e| fail(&e))?;
            return Ok((None, written));
        }
    };
    Ok((counts, step.outputs.clone()))
}

/// Writes the final table of every input as `root/dataset=D/split=S/part-N.parquet` (N the
/// input's position), the layout Polars, DuckDB, Spark and HF datasets scan; partitions a
/// previous build published and this one does not are removed.
fn publish(tables: &[PathBuf], root: &Path, old: Option<&StepRecord>) -> Result<Vec<PathBuf>, BuildError> {
    let mut written = Vec::new();
    for (n, table) in tables.iter().enumerate() {
        let mut writers: BTreeMap<(String, String), TableWriter<Sample>> = BTreeMap::new();
        let mut reader = TableReader::<Sample>::open(table).map_err(|e| BuildError::Step { step: "publish".into(), message: e.to_string() })?;
        while let Some(batch) = reader.next_checked() {
            let batch = batch.map_err(|e| BuildError::Step { step: "publish".into(), message: e.to_string() })?;
            for s in batch.rows {
                let key = (s.dataset.clone(), s.split.clone());
                if !writers.contains_key(&key) {
                    let path = root.join(format!("dataset={}", partition_value(&key.0))).join(format!("split={}", partition_value(&key.1))).join(format!("part-{n}.parquet"));
                    let w = TableWriter::create(&path).map_err(|e| BuildError::Step { step: "publish".into(), message: e.to_string() })?;
                    writers.insert(key.clone(), w);
                }
                if let Some(w) = writers.get_mut(&key) {
                    w.push(s).map_err(|e| BuildError::Step { step: "publish".into(), message: e.to_string() })?;
                }
            }
        }
        for ((dataset, split), w) in writers {
            let path = root.join(format!("dataset={}", partition_value(&dataset))).join(format!("split={}", partition_value(&split))).join(format!("part-{n}.parquet"));
            let mut provenance = crate::provenance::Provenance::new("publish", serde_json::json!({"dataset": dataset, "split": split}));
            provenance.input(table)?;
            w.finish(provenance).map_err(|e| BuildError::Step { step: "publish".into(), message: e.to_string() })?;
            written.push(path);
        }
    }
    for stale in old.map(|o| o.outputs.as_slice()).unwrap_or_default() {
        let path = PathBuf::from(&stale.path);
        if !written.contains(&path) && path.starts_with(root) && path.exists() {
            std::fs::remove_file(&path).map_err(|e| IoError::new(&path, e))?;
        }
    }
    Ok(written)
}

/// A partition value as a directory name: `/` and characters file systems refuse are
/// percent-encoded, as Hive-style partitioning does.
fn partition_value(v: &str) -> String {
    v.chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' | '%' | '=' => format!("%{:02X}", c as u32),
            c if c.is_control() => format!("%{:02X}", c as u32),
            c => c.to_string(),
        })
        .collect()
}

/// Re-hashes every output the manifest lists; returns the ones whose bytes changed.
pub fn verify(manifest_path: &Path) -> Result<Vec<String>, BuildError> {
    let Some(m) = Manifest::read(manifest_path)? else {
        return Err(BuildError::Io(IoError::new(manifest_path, std::io::Error::new(std::io::ErrorKind::NotFound, "no manifest"))));
    };
    let mut changed = Vec::new();
    for step in &m.steps {
        for o in &step.outputs {
            let path = Path::new(&o.path);
            let actual = match crate::table::own_table_provenance(path) {
                Some((_, data_len)) => crate::provenance::sha256_prefix(path, data_len)?,
                None if path.exists() => sha256_file(path)?,
                None => "missing".into(),
            };
            if actual != o.sha256 {
                changed.push(format!("{} ({}): recorded {}, found {actual}", o.path, step.id, o.sha256));
            }
        }
    }
    Ok(changed)
}
