//! Recipes: the YAML file `nerprep build` runs (SPEC §5).
//!
//! A recipe names its inputs (paths or globs, with the ingest parameters of their format),
//! the stages to run and their parameters (each section is exactly that stage's `*Params`,
//! the struct its subcommand flattens into flags), one seed for every random choice and the
//! output directory. Loading reports every problem of the file at once, each with its line:
//! unknown keys, values of the wrong type, failed stage checks, and rules of the recipe
//! itself (a stage that needs another, a seed set inside a stage).

use crate::cluster::ClusterParams;
use crate::embed::EmbedParams;
use crate::emit::EmitParams;
use crate::prune::PruneParams;
use crate::params::{from_yaml_value, line_of_key, Checker, ParamsError, Problem, StageParams};
use crate::stats::StatsParams;
use crate::taxonomy::MapParams;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The ingest parameters of one input, as a recipe gives them (the stage's own struct).
pub type InputIngest = crate::build::ingest_step::InputIngestParams;

/// One input of a recipe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    /// A short name: the directory of this input's stage outputs and the prefix of its
    /// training files (letters, digits, `-`, `_`).
    pub name: String,
    /// Files, directories or glob patterns (`*`, `?`), relative to the working directory.
    pub paths: Vec<String>,
    /// How to read them (`format` and the format's options).
    pub ingest: InputIngest,
    /// Where the data comes from, for the dataset card (a URL or citation).
    #[serde(default)]
    pub source: Option<String>,
    /// The data's licence, for the dataset card.
    #[serde(default)]
    pub licence: Option<String>,
}

/// The stages a recipe runs, in pipeline order; any subset.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Stages {
    /// Fill `entities.archetype` from taxonomy mappings.
    pub map: Option<MapParams>,
    /// Describe each table (Markdown report per input).
    pub stats: Option<StatsParams>,
    /// Embed each input's table (the side table later stages read).
    pub embed: Option<EmbedParams>,
    /// Sweep k over one input's embeddings (needs `embed`).
    pub cluster: Option<ClusterStage>,
    /// Prune each input for diversity on its embeddings (needs `embed` of `what: text`);
    /// emit then reads the pruned tables.
    pub prune: Option<PruneParams>,
    /// Training JSONL: one entry per instruction style wanted, each written for every input.
    pub emit: Vec<EmitParams>,
}

/// The cluster stage of a recipe: which input's embeddings, and the stage's parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClusterStage {
    /// The input whose embeddings are clustered.
    pub input: String,
    /// The cluster stage's parameters (`nerprep cluster`'s flags); the seed is the recipe's.
    #[serde(default)]
    pub params: ClusterParams,
}

/// A whole recipe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Recipe {
    /// The seed of every random choice in every stage (stages do not set their own).
    #[serde(default)]
    pub seed: u64,
    /// The output directory (default `data`).
    #[serde(default = "default_output")]
    pub output: PathBuf,
    /// The inputs, each ingested into its own table.
    pub inputs: Vec<InputSpec>,
    /// The stages after ingest.
    #[serde(default)]
    pub stages: Stages,
}

fn default_output() -> PathBuf {
    PathBuf::from("data")
}

/// The stage names a recipe knows, in the order a build runs them.
pub const STAGE_ORDER: [&str; 7] = ["ingest", "map", "stats", "embed", "cluster", "prune", "emit"];

/// A recipe could not be loaded: every problem, with its line.
#[derive(Debug, thiserror::Error)]
pub enum RecipeError {
    /// The file could not be read.
    #[error(transparent)]
    Io(#[from] crate::io::IoError),
    /// The recipe breaks rules; all problems are listed.
    #[error(transparent)]
    Invalid(#[from] ParamsError),
}

impl Recipe {
    /// Loads and checks `path`, reporting every problem at once with its line.
    pub fn load(path: &Path) -> Result<Recipe, RecipeError> {
        let text = std::fs::read_to_string(path).map_err(|e| crate::io::IoError::new(path, e))?;
        Ok(Recipe::parse(&text, path)?)
    }

    /// Parses and checks recipe `text` (from `file`, for messages).
    pub fn parse(text: &str, file: &Path) -> Result<Recipe, ParamsError> {
        let value: serde_norway::Value = serde_norway::from_str(text).map_err(|e| {
            let line = e.location().map(|l| l.line()).unwrap_or(1);
            one_problem("recipe", "", format!("is not valid YAML: {e}"), file, line)
        })?;
        let mut problems = Vec::new();
        let mut c = Checker::new("recipe");
        let Some(map) = value.as_mapping() else {
            return Err(one_problem("recipe", "", "must be a mapping with `inputs` and `stages`", file, 1));
        };
        for key in map.keys() {
            let name = key.as_str().unwrap_or_default();
            c.require(["seed", "output", "inputs", "stages"].contains(&name), name, "is not a known key; expected seed, output, inputs or stages");
        }
        let seed = match map.get("seed") {
            None => 0,
            Some(v) => v.as_u64().unwrap_or_else(|| {
                c.problem("seed", "must be a whole number ≥ 0");
                0
            }),
        };
        let output = match map.get("output") {
            None => default_output(),
            Some(v) => v.as_str().map(PathBuf::from).unwrap_or_else(|| {
                c.problem("output", "must be a path");
                default_output()
            }),
        };
        let inputs = parse_inputs(map.get("inputs"), text, file, &mut c, &mut problems);
        let stages = parse_stages(map.get("stages"), text, file, seed, &mut problems);
        if let Some(cluster) = &stages.cluster {
            c.require(inputs.iter().any(|i| i.name == cluster.input), "stages", format!("cluster.input {:?} names no input", cluster.input));
            c.require(stages.embed.is_some(), "stages", "cluster needs an embed stage (it clusters the embeddings)");
        }
        if stages.prune.is_some() {
            let text_units = stages.embed.as_ref().is_some_and(|e| e.what == crate::embed::What::Text);
            c.require(text_units, "stages", "prune needs an embed stage with `what: text` (one vector per sample)");
        }
        if let Err(e) = c.finish() {
            problems.extend(e.locate(file, text, &[]).problems);
        }
        if !problems.is_empty() {
            return Err(ParamsError { problems });
        }
        Ok(Recipe { seed, output, inputs, stages })
    }

    /// The recipe's JSON Schema (`schemas/recipe.schema.json`).
    pub fn schema() -> serde_json::Value {
        crate::params::canonical_json(&schemars::schema_for!(Recipe))
    }
}

fn one_problem(stage: &str, field: &str, message: impl Into<String>, file: &Path, line: usize) -> ParamsError {
    ParamsError {
        problems: vec![Problem {
            stage: stage.into(),
            field: field.into(),
            message: message.into(),
            location: Some((file.to_path_buf(), line)),
        }],
    }
}

/// The `inputs` list: each entry's own keys, its name and paths, and its ingest section.
fn parse_inputs(
    value: Option<&serde_norway::Value>,
    text: &str,
    file: &Path,
    c: &mut Checker,
    problems: &mut Vec<Problem>,
) -> Vec<InputSpec> {
    let Some(list) = value.and_then(|v| v.as_sequence()) else {
        c.problem("inputs", "must be a list of inputs (name, paths, ingest)");
        return Vec::new();
    };
    c.require(!list.is_empty(), "inputs", "must name at least one input");
    let mut out = Vec::new();
    let mut names = std::collections::BTreeSet::new();
    for (i, item) in list.iter().enumerate() {
        let name = item.get("name").and_then(|n| n.as_str()).unwrap_or_default().to_string();
        let line = nth_item_line(text, "inputs", i).unwrap_or(1);
        let here = |field: &str, message: String| Problem {
            stage: format!("inputs[{i}]"),
            field: field.into(),
            message,
            location: Some((file.to_path_buf(), line_below(text, line, field).unwrap_or(line))),
        };
        if let Some(m) = item.as_mapping() {
            for key in m.keys() {
                let k = key.as_str().unwrap_or_default();
                if !["name", "paths", "ingest", "source", "licence"].contains(&k) {
                    problems.push(here(k, "is not a known key; expected name, paths, ingest, source or licence".into()));
                }
            }
        }
        let valid_name = !name.is_empty() && name.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_');
        if !valid_name {
            problems.push(here("name", format!("must be letters, digits, `-` or `_`, got {name:?}")));
        } else if !names.insert(name.clone()) {
            problems.push(here("name", format!("{name:?} names two inputs")));
        }
        let paths: Vec<String> = match item.get("paths") {
            Some(serde_norway::Value::Sequence(ps)) => ps.iter().filter_map(|p| p.as_str().map(str::to_string)).collect(),
            Some(serde_norway::Value::String(p)) => vec![p.clone()],
            _ => Vec::new(),
        };
        if paths.is_empty() {
            problems.push(here("paths", "must list at least one path or glob".into()));
        }
        let section = item.get("ingest").cloned().unwrap_or(serde_norway::Value::Null);
        let ingest = match from_yaml_value::<InputIngest>(section, text, file, &[]) {
            Ok((p, _)) => Some(p),
            Err(e) => {
                let ingest_line = line_below(text, line, "ingest").unwrap_or(line);
                for mut p in e.problems {
                    p.stage = format!("inputs[{i}].ingest");
                    p.location = Some((file.to_path_buf(), line_below(text, ingest_line, &p.field).unwrap_or(ingest_line)));
                    problems.push(p);
                }
                None
            }
        };
        let get_str = |k: &str| item.get(k).and_then(|v| v.as_str()).map(str::to_string);
        if let Some(ingest) = ingest {
            out.push(InputSpec { name, paths, ingest, source: get_str("source"), licence: get_str("licence") });
        }
    }
    out
}

/// The `stages` mapping: each section checked as its stage's parameters.
fn parse_stages(
    value: Option<&serde_norway::Value>,
    text: &str,
    file: &Path,
    seed: u64,
    problems: &mut Vec<Problem>,
) -> Stages {
    let mut stages = Stages::default();
    let Some(value) = value else { return stages };
    let Some(map) = value.as_mapping() else {
        problems.push(Problem {
            stage: "stages".into(),
            field: String::new(),
            message: "must be a mapping of stage name to parameters".into(),
            location: Some((file.to_path_buf(), line_of_key(text, &["stages"]).unwrap_or(1))),
        });
        return stages;
    };
    for (key, section) in map {
        let name = key.as_str().unwrap_or_default();
        match name {
            "map" => stages.map = stage_section::<MapParams>(section, text, file, &["stages", "map"], problems),
            "stats" => stages.stats = stage_section::<StatsParams>(section, text, file, &["stages", "stats"], problems),
            "embed" => stages.embed = stage_section::<EmbedParams>(section, text, file, &["stages", "embed"], problems),
            "cluster" => stages.cluster = cluster_section(section, text, file, seed, problems),
            "prune" => stages.prune = seeded_section::<PruneParams>(section, text, file, seed, "prune", problems),
            "emit" => stages.emit = emit_sections(section, text, file, seed, problems),
            other => problems.push(Problem {
                stage: "stages".into(),
                field: other.into(),
                message: format!("is not a stage this build runs; expected one of {}", STAGE_ORDER[1..].join(", ")),
                location: Some((file.to_path_buf(), line_of_key(text, &["stages", other]).unwrap_or(1))),
            }),
        }
    }
    stages
}

/// The `cluster` section: `input` and `params` (a ClusterParams section, seeded by the recipe).
fn cluster_section(section: &serde_norway::Value, text: &str, file: &Path, seed: u64, problems: &mut Vec<Problem>) -> Option<ClusterStage> {
    let at = |key: &str| Some((file.to_path_buf(), line_of_key(text, &["stages", "cluster", key]).or_else(|| line_of_key(text, &["stages", "cluster"])).unwrap_or(1)));
    let problem = |field: &str, message: &str| Problem { stage: "cluster".into(), field: field.into(), message: message.into(), location: at(field) };
    let Some(map) = section.as_mapping() else {
        problems.push(problem("", "must be a mapping with `input` and `params`"));
        return None;
    };
    for key in map.keys().filter_map(|k| k.as_str()) {
        if key != "input" && key != "params" {
            problems.push(problem(key, "is not a known key; expected input or params"));
        }
    }
    let Some(input) = map.get("input").and_then(|v| v.as_str()).map(str::to_string) else {
        problems.push(problem("input", "is required: the name of the input whose embeddings are clustered"));
        return None;
    };
    let mut params = map.get("params").cloned().unwrap_or(serde_norway::Value::Null);
    if let Some(m) = params.as_mapping_mut() {
        if m.contains_key("seed") {
            problems.push(problem("params", "sets a seed; the seed is set once, at the top of the recipe"));
            return None;
        }
        m.insert("seed".into(), seed.into());
    } else if params.is_null() {
        params = serde_norway::Value::Mapping([("seed".into(), seed.into())].into_iter().collect());
    }
    let params = stage_section::<ClusterParams>(&params, text, file, &["stages", "cluster", "params"], problems)?;
    Some(ClusterStage { input, params })
}

/// A stage section whose parameters have a `seed`: the recipe's goes in (a seed set in the
/// section is a problem: the seed is set once).
fn seeded_section<P: StageParams>(
    section: &serde_norway::Value,
    text: &str,
    file: &Path,
    seed: u64,
    name: &str,
    problems: &mut Vec<Problem>,
) -> Option<P> {
    let mut section = if section.is_null() { serde_norway::Value::Mapping(Default::default()) } else { section.clone() };
    if let Some(m) = section.as_mapping_mut() {
        if m.contains_key("seed") {
            problems.push(Problem {
                stage: name.into(),
                field: "seed".into(),
                message: "is set once, at the top of the recipe".into(),
                location: Some((file.to_path_buf(), line_of_key(text, &["stages", name, "seed"]).unwrap_or(1))),
            });
            return None;
        }
        m.insert("seed".into(), seed.into());
    }
    stage_section::<P>(&section, text, file, &["stages", name], problems)
}

/// One stage's section, or `None` with its problems recorded.
fn stage_section<P: StageParams>(
    section: &serde_norway::Value,
    text: &str,
    file: &Path,
    at: &[&str],
    problems: &mut Vec<Problem>,
) -> Option<P> {
    match from_yaml_value::<P>(section.clone(), text, file, at) {
        Ok((p, _)) => Some(p),
        Err(e) => {
            problems.extend(e.problems);
            None
        }
    }
}

/// The `emit` section: one mapping or a list of them; the recipe's seed goes into each.
fn emit_sections(section: &serde_norway::Value, text: &str, file: &Path, seed: u64, problems: &mut Vec<Problem>) -> Vec<EmitParams> {
    let items: Vec<serde_norway::Value> = match section {
        serde_norway::Value::Sequence(s) => s.clone(),
        other => vec![other.clone()],
    };
    let mut out = Vec::new();
    for (i, mut item) in items.into_iter().enumerate() {
        let line = nth_item_line(text, "emit", i).or_else(|| line_of_key(text, &["stages", "emit"])).unwrap_or(1);
        if let Some(m) = item.as_mapping_mut() {
            if m.contains_key("seed") {
                problems.push(Problem {
                    stage: format!("emit[{i}]"),
                    field: "seed".into(),
                    message: "is set once, at the top of the recipe".into(),
                    location: Some((file.to_path_buf(), line_below(text, line, "seed").unwrap_or(line))),
                });
                continue;
            }
            m.insert("seed".into(), seed.into());
        }
        match from_yaml_value::<EmitParams>(item, text, file, &[]) {
            Ok((p, _)) => out.push(p),
            Err(e) => {
                for mut p in e.problems {
                    p.stage = format!("emit[{i}]");
                    p.location = Some((file.to_path_buf(), line_below(text, line, &p.field).unwrap_or(line)));
                    problems.push(p);
                }
            }
        }
    }
    out
}

/// The line (1-based) of the `n`th `- ` item under the key `list`.
fn nth_item_line(text: &str, list: &str, n: usize) -> Option<usize> {
    let start = text.lines().position(|l| l.trim_start().starts_with(&format!("{list}:")))?;
    let indent = |l: &str| l.len() - l.trim_start().len();
    let list_indent = indent(text.lines().nth(start)?);
    let mut seen = 0;
    for (i, line) in text.lines().enumerate().skip(start + 1) {
        let body = line.trim_start();
        if body.is_empty() || body.starts_with('#') {
            continue;
        }
        if indent(line) <= list_indent && !body.starts_with("- ") {
            break;
        }
        if body.starts_with("- ") && indent(line) >= list_indent {
            if seen == n {
                return Some(i + 1);
            }
            seen += 1;
        }
    }
    None
}

/// The first line at or after `from` (1-based) that defines `key`, within the next few
/// lines of the same item.
fn line_below(text: &str, from: usize, key: &str) -> Option<usize> {
    if key.is_empty() {
        return None;
    }
    text.lines().enumerate().skip(from - 1).take(40).find_map(|(i, line)| {
        let body = line.trim_start().trim_start_matches("- ");
        body.split_once(':').filter(|(k, _)| k.trim() == key).map(|_| i + 1)
    })
}
