//! Stage parameters: the one contract between the command line, recipes and stage code.
//!
//! Every stage has one parameter struct (`EmitParams`, `PruneParams`, …) that is at the
//! same time a serde struct (recipe keys, `deny_unknown_fields`, every field defaulted), a
//! clap `Args` (flattened into the subcommand, so flags and recipe keys cannot drift) and a
//! JSON Schema (`schemas/params/`). [`StageParams::check`] turns it into the stage's
//! `Valid…Params`, the only type stage code accepts, reporting every problem at once as a
//! [`ParamsError`] whose [`Problem`]s name the field in recipe terms
//! (`emit.label_dropout must be in [0, 1), got 1.5`); the CLI rewords them as flags.
//!
//! [`from_yaml`] loads a stage's parameters from YAML text and reports unknown keys, bad
//! values and failed checks together, each with its line.

use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// One thing wrong with a stage's parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The stage (`emit`), the first part of the recipe key.
    pub stage: String,
    /// The field in recipe spelling (`label_dropout`); empty for the parameters as a whole.
    pub field: String,
    /// What is wrong, worded to follow the key (`must be in [0, 1), got 1.5`).
    pub message: String,
    /// Where the key stands, when the parameters came from a file.
    pub location: Option<(PathBuf, usize)>,
}

impl Problem {
    /// The key in recipe terms: `emit.label_dropout`.
    pub fn key(&self) -> String {
        if self.field.is_empty() { self.stage.clone() } else { format!("{}.{}", self.stage, self.field) }
    }

    /// The key as a command-line flag: `--label-dropout`.
    pub fn flag(&self) -> String {
        format!("--{}", self.field.replace('_', "-"))
    }

    /// The problem worded for the command line (flags instead of recipe keys).
    pub fn as_flag(&self) -> String {
        if self.field.is_empty() { self.message.clone() } else { format!("{} {}", self.flag(), self.message) }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some((file, line)) = &self.location {
            write!(f, "{}:{line}: ", file.display())?;
        }
        write!(f, "{} {}", self.key(), self.message)
    }
}

/// A stage's parameters are unusable; every problem found is listed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ParamsError {
    /// The problems, in the order they were found.
    pub problems: Vec<Problem>,
}

impl fmt::Display for ParamsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<String> = self.problems.iter().map(Problem::to_string).collect();
        f.write_str(&lines.join("\n"))
    }
}

impl ParamsError {
    /// The problems worded for the command line, one per line.
    pub fn as_flags(&self) -> String {
        let lines: Vec<String> = self.problems.iter().map(Problem::as_flag).collect();
        lines.join("\n")
    }

    /// Adds `file` and the line of each problem's key, found in `text` under `section`
    /// (the keys leading to the stage's mapping in the file, empty when it is the top).
    pub fn locate(mut self, file: &Path, text: &str, section: &[&str]) -> ParamsError {
        for p in &mut self.problems {
            if p.location.is_none() {
                let mut path: Vec<&str> = section.to_vec();
                if !p.field.is_empty() {
                    path.push(&p.field);
                }
                let line = line_of_key(text, &path).or_else(|| line_of_key(text, section)).unwrap_or(1);
                p.location = Some((file.to_path_buf(), line));
            }
        }
        self
    }
}

/// Collects the problems of one stage's parameters, so that all are reported together.
///
/// # Example
/// ```
/// use nerprep::params::Checker;
/// let dropout = 1.5;
/// let mut c = Checker::new("emit");
/// c.require((0.0..1.0).contains(&dropout), "label_dropout", format!("must be in [0, 1), got {dropout}"));
/// let err = c.finish().unwrap_err();
/// assert_eq!(err.to_string(), "emit.label_dropout must be in [0, 1), got 1.5");
/// assert_eq!(err.as_flags(), "--label-dropout must be in [0, 1), got 1.5");
/// ```
#[derive(Debug)]
pub struct Checker {
    stage: &'static str,
    problems: Vec<Problem>,
}

impl Checker {
    /// No problems yet, for `stage`.
    pub fn new(stage: &'static str) -> Checker {
        Checker { stage, problems: Vec::new() }
    }

    /// Records that `field` is wrong.
    pub fn problem(&mut self, field: &str, message: impl Into<String>) {
        self.problems.push(Problem { stage: self.stage.to_string(), field: field.to_string(), message: message.into(), location: None });
    }

    /// Records a problem with `field` unless `ok`.
    pub fn require(&mut self, ok: bool, field: &str, message: impl Into<String>) {
        if !ok {
            self.problem(field, message);
        }
    }

    /// Whether nothing was found wrong so far.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }

    /// Every problem so far plus a last one with `field`, for a check that cannot go on.
    pub fn fail(mut self, field: &str, message: impl Into<String>) -> ParamsError {
        self.problem(field, message);
        ParamsError { problems: self.problems }
    }

    /// `Ok` when nothing was wrong, else every problem.
    pub fn finish(self) -> Result<(), ParamsError> {
        if self.problems.is_empty() { Ok(()) } else { Err(ParamsError { problems: self.problems }) }
    }
}

/// A stage's parameters: serde (recipe), clap (flags) and JSON Schema in one struct.
///
/// Implementations are `#[serde(default, deny_unknown_fields)]` so that any subset of keys
/// is a valid recipe section; a field the stage cannot do without is an `Option` that
/// [`check`](StageParams::check) requires.
pub trait StageParams: Serialize + DeserializeOwned + schemars::JsonSchema + Default + Clone {
    /// The stage's name: the recipe section and the first part of every problem key.
    const STAGE: &'static str;
    /// The checked parameters the stage code takes.
    type Valid;

    /// Checks every rule, reporting all problems at once.
    fn check(&self) -> Result<Self::Valid, ParamsError>;

    /// The parameters as canonical JSON (keys sorted at every level), for provenance and
    /// cache keys: equal parameters give equal bytes.
    fn canonical(&self) -> serde_json::Value {
        canonical_json(self)
    }
}

/// A list of strings that a recipe may also give as a single string (`entity_type: X` or
/// `entity_type: [X, Y]`); the schema of such a field.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum OneOrMany {
    /// One value.
    One(String),
    /// Several values.
    Many(Vec<String>),
}

/// Deserialises a [`OneOrMany`] field into a list (use with `#[serde(deserialize_with)]`).
pub fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    use serde::Deserialize;
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

/// `value` serialised to JSON with the keys of every object sorted.
pub fn canonical_json<T: Serialize + ?Sized>(value: &T) -> serde_json::Value {
    sort_keys(serde_json::to_value(value).unwrap_or(serde_json::Value::Null))
}

/// Rebuilds every object of `value` with its keys in sorted order (the crate keeps insertion
/// order in `serde_json::Map`, so sorting has to be explicit).
fn sort_keys(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sort_keys(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sort_keys).collect()),
        other => other,
    }
}

/// The JSON Schema of a stage's parameters (what `schemas/params/STAGE.schema.json` holds).
pub fn schema_of<P: StageParams>() -> serde_json::Value {
    canonical_json(&schemars::schema_for!(P))
}

/// Every stage's name and parameter JSON Schema, as `schemas/params/STAGE.schema.json`
/// holds them (a test keeps the files current; `make schemas` rewrites them).
pub fn stage_schemas() -> Vec<(&'static str, serde_json::Value)> {
    fn entry<P: StageParams>() -> (&'static str, serde_json::Value) {
        (P::STAGE, schema_of::<P>())
    }
    vec![
        entry::<crate::agreement::AgreementParams>(),
        entry::<crate::cluster::ClusterParams>(),
        entry::<crate::confusion::ConfusionParams>(),
        entry::<crate::consensus::ConsensusParams>(),
        entry::<crate::embed::EmbedParams>(),
        entry::<crate::emit::EmitParams>(),
        entry::<crate::eval::EvalParams>(),
        entry::<crate::ingest::IngestParams>(),
        entry::<crate::writers::ExportParams>(),
        entry::<crate::taxonomy::MapParams>(),
        entry::<crate::prune::PruneParams>(),
        entry::<crate::screen::ScreenParams>(),
        entry::<crate::stats::StatsParams>(),
    ]
}

/// Parses a stage's parameters from a YAML mapping and checks them. Unknown keys, values of
/// the wrong type and failed checks are all reported together, each with its line in `file`.
pub fn from_yaml<P: StageParams>(text: &str, file: &Path) -> Result<(P, P::Valid), ParamsError> {
    let value: serde_norway::Value = match serde_norway::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            let line = e.location().map(|l| l.line()).unwrap_or(1);
            let problem = Problem { stage: P::STAGE.into(), field: String::new(), message: format!("is not valid YAML: {e}"), location: Some((file.to_path_buf(), line)) };
            return Err(ParamsError { problems: vec![problem] });
        }
    };
    from_yaml_value::<P>(value, text, file, &[])
}

/// Like [`from_yaml`], for a mapping found at `section` inside a larger file (a recipe):
/// `text` is the whole file, for the lines of the problems.
pub fn from_yaml_value<P: StageParams>(
    value: serde_norway::Value,
    text: &str,
    file: &Path,
    section: &[&str],
) -> Result<(P, P::Valid), ParamsError> {
    let value = match value {
        serde_norway::Value::Null => serde_norway::Value::Mapping(Default::default()),
        v => v,
    };
    let mut checker = Checker::new(P::STAGE);
    match &value {
        serde_norway::Value::Mapping(map) => {
            // One key at a time, so that every bad key is found, not only the first.
            for (key, item) in map {
                let Some(name) = key.as_str() else {
                    checker.problem("", format!("has a key that is not a string: {key:?}"));
                    continue;
                };
                let mut single = serde_norway::Mapping::new();
                single.insert(key.clone(), item.clone());
                if let Err(e) = serde_norway::from_value::<P>(serde_norway::Value::Mapping(single)) {
                    checker.problem(name, reword_serde(&e.to_string(), name));
                }
            }
        }
        other => checker.problem("", format!("must be a mapping of parameters, got {}", yaml_kind(other))),
    }
    checker.finish().map_err(|e| e.locate(file, text, section))?;
    let params: P = serde_norway::from_value(value).map_err(|e| {
        ParamsError { problems: vec![Problem { stage: P::STAGE.into(), field: String::new(), message: e.to_string(), location: None }] }
            .locate(file, text, section)
    })?;
    let valid = params.check().map_err(|e| e.locate(file, text, section))?;
    Ok((params, valid))
}

/// serde's message for one key, without the key repeated in front of it.
fn reword_serde(message: &str, key: &str) -> String {
    let message = message.strip_prefix(&format!("{key}: ")).unwrap_or(message);
    if message.starts_with("unknown field") {
        // `unknown field `x`, expected one of …` reads well after the key as "is unknown".
        let expected = message.split_once(", expected ").map(|(_, e)| e).unwrap_or("");
        if expected.is_empty() { "is not a known key".into() } else { format!("is not a known key; expected {expected}") }
    } else {
        format!("is invalid: {message}")
    }
}

fn yaml_kind(value: &serde_norway::Value) -> &'static str {
    use serde_norway::Value;
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

/// The 1-based line where the key `path` (outermost first) is defined in the YAML `text`:
/// each key is looked for below the previous one, at a deeper indentation. Good enough for
/// the block-style YAML recipes are written in; `None` when a key is not found.
pub fn line_of_key(text: &str, path: &[&str]) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let mut from = 0;
    let mut min_indent = 0usize;
    let mut found = None;
    for key in path {
        let mut hit = None;
        for (i, line) in lines.iter().enumerate().skip(from) {
            let body = line.trim_start();
            let indent = line.len() - body.len();
            if found.is_some() && !body.is_empty() && !body.starts_with('#') && indent < min_indent {
                break; // left the enclosing mapping
            }
            let body = body.strip_prefix("- ").unwrap_or(body);
            let name = body.split_once(':').map(|(k, _)| k.trim().trim_matches(['"', '\'']));
            if indent >= min_indent && name == Some(key) {
                hit = Some((i, indent));
                break;
            }
        }
        let (i, indent) = hit?;
        found = Some(i + 1);
        from = i + 1;
        min_indent = indent + 1;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
    #[serde(default, deny_unknown_fields)]
    struct Toy {
        /// A probability.
        ratio: f64,
        /// A count.
        size: usize,
    }

    impl StageParams for Toy {
        const STAGE: &'static str = "toy";
        type Valid = Toy;
        fn check(&self) -> Result<Toy, ParamsError> {
            let mut c = Checker::new("toy");
            c.require((0.0..=1.0).contains(&self.ratio), "ratio", format!("must be in [0, 1], got {}", self.ratio));
            c.require(self.size > 0, "size", "must be at least 1");
            c.finish().map(|()| self.clone())
        }
    }

    #[test]
    fn every_problem_of_a_file_is_reported_with_its_line() {
        let text = "ratio: 2.0\nsize: lots\ncolour: red\n";
        let err = from_yaml::<Toy>(text, Path::new("r.yaml")).unwrap_err();
        let shown = err.to_string();
        assert!(shown.contains("r.yaml:2: toy.size is invalid"), "{shown}");
        assert!(shown.contains("r.yaml:3: toy.colour is not a known key; expected `ratio` or `size`"), "{shown}");
        assert_eq!(err.problems.len(), 2, "type errors come before checks: {shown}");
        let err = from_yaml::<Toy>("ratio: 2.0\n", Path::new("r.yaml")).unwrap_err();
        assert_eq!(err.to_string(), "r.yaml:1: toy.ratio must be in [0, 1], got 2\nr.yaml:1: toy.size must be at least 1");
    }

    #[test]
    fn yaml_round_trips_and_canonical_json_sorts_keys() {
        let toy = Toy { ratio: 0.5, size: 3 };
        let text = serde_norway::to_string(&toy).unwrap();
        let (back, _) = from_yaml::<Toy>(&text, Path::new("x.yaml")).unwrap();
        assert_eq!(back, toy);
        assert_eq!(toy.canonical().to_string(), r#"{"ratio":0.5,"size":3}"#);
    }

    #[test]
    fn checked_in_parameter_schemas_are_current() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/params");
        let bless = std::env::var_os("NERPREP_BLESS").is_some();
        let mut stale = Vec::new();
        for (stage, schema) in stage_schemas() {
            let path = dir.join(format!("{stage}.schema.json"));
            let text = serde_json::to_string_pretty(&schema).unwrap() + "\n";
            if bless {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, &text).unwrap();
            } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                stale.push(path.display().to_string());
            }
        }
        let recipe = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/recipe.schema.json");
        let text = serde_json::to_string_pretty(&crate::build::recipe::Recipe::schema()).unwrap() + "\n";
        if bless {
            std::fs::write(&recipe, &text).unwrap();
        } else if std::fs::read_to_string(&recipe).ok().as_deref() != Some(text.as_str()) {
            stale.push(recipe.display().to_string());
        }
        assert!(stale.is_empty(), "stale parameter schemas (run `make schemas`): {stale:?}");
    }

    /// Every stage's defaults survive YAML, and an unknown key is named with its line.
    fn round_trips<P: StageParams + PartialEq + std::fmt::Debug>(value: P) {
        let text = serde_norway::to_string(&value).unwrap();
        assert_eq!(serde_norway::from_str::<P>(&text).unwrap(), value, "{}: {text}", P::STAGE);
        let base = if text.trim() == "{}" { String::new() } else { text };
        let bad = format!("{base}no_such_key: 1\n");
        let Err(err) = from_yaml::<P>(&bad, Path::new("s.yaml")) else { panic!("{}: an unknown key passed", P::STAGE) };
        let line = bad.lines().count();
        let expected = format!("s.yaml:{line}: {}.no_such_key is not a known key", P::STAGE);
        assert!(err.to_string().contains(&expected), "{}: {err}", P::STAGE);
    }

    #[test]
    fn every_stage_params_round_trip_through_yaml() {
        round_trips(crate::agreement::AgreementParams::default());
        round_trips(crate::consensus::ConsensusParams::default());
        round_trips(crate::embed::EmbedParams::default());
        round_trips(crate::emit::EmitParams::new(crate::emit::Template::Iepile));
        round_trips(crate::eval::EvalParams::for_format(crate::answer::AnswerFormat::JsonOffset));
        round_trips(crate::writers::ExportParams { format: Some(crate::writers::ExportFormat::Conll) });
        round_trips(crate::taxonomy::MapParams { mapping: vec!["m.yaml".into()], ..Default::default() });
        round_trips(crate::stats::StatsParams::default());
        round_trips(crate::cluster::ClusterParams::default());
        round_trips(crate::prune::PruneParams::default());
        round_trips(crate::screen::ScreenParams::default());
        round_trips(crate::confusion::ConfusionParams::default());
        round_trips(crate::ingest::IngestParams { format: Some(crate::model::SourceFormat::Crossner), ..Default::default() });
    }

    #[test]
    fn keys_are_found_below_their_section() {
        let text = "stages:\n  emit:\n    seed: 1\n  prune:\n    seed: 2\n";
        assert_eq!(line_of_key(text, &["stages", "prune", "seed"]), Some(5));
        assert_eq!(line_of_key(text, &["stages", "emit", "seed"]), Some(3));
        assert_eq!(line_of_key(text, &["stages", "emit", "nope"]), None);
    }
}
