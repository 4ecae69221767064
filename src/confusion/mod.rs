//! The `confusion` stage: MCQM, the Multidimensional Confusion Quantification Model of
//! seed 001 (§3.2), for a target label set such as one CrossNER domain.
//!
//! In: the target types (`--types`: a taxonomy mapping, whose archetypes are the coarse
//! parents, or a list / `label: parent` map), their descriptions (embedded with
//! `--model`), and optionally a source model's predictions on the target data (the
//! hierarchy then comes from them) and the target model's dev predictions (the explicit
//! term), both as the `confusion.csv` that `nerprep eval` writes. [`mcqm`] computes every
//! term. Out, one directory written whole ([`report`]): `matrix.csv` (the total
//! confusion), `matrix.json` (every term), `heatmap.png`, `confusions.txt` (`A → B` lines
//! for the PBRC prompt), `hard-negatives.yaml` (what `emit --hard-negatives` reads, so the
//! most confusable labels are asked together) and `provenance.json`.

mod error;
pub mod mcqm;
mod params;
pub mod report;

pub use error::ConfusionError;
pub use mcqm::{quantify, Hierarchy, Mcqm, Weights};
pub use params::{ConfusionParams, ValidConfusionParams};

use crate::embed::Embedder;
use crate::io::IoError;
use crate::taxonomy::{file_kind, FileKind, Mapping};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The target types and their coarse parents (when the types file gives them).
#[derive(Debug, Clone, PartialEq)]
pub struct Types {
    /// Type names, in file order.
    pub names: Vec<String>,
    /// Each type's parent.
    pub parents: Vec<Option<String>>,
}

/// Reads `--types` (see [`ConfusionParams::types`]).
pub fn load_types(path: &Path) -> Result<Types, ConfusionError> {
    let text = std::fs::read_to_string(path).map_err(|e| IoError::new(path, e))?;
    let origin = path.display().to_string();
    if let Ok(FileKind::Mapping) = file_kind(&text, &origin) {
        let mapping = Mapping::load(path)?;
        let (names, parents) = mapping.entries().map(|e| (e.label.clone(), Some(e.archetype.clone()))).unzip();
        return Ok(Types { names, parents });
    }
    let bad = |message: String| ConfusionError::File { path: path.to_path_buf(), message };
    let json = path.extension().and_then(|e| e.to_str()) == Some("json");
    let value: serde_json::Value = if json {
        serde_json::from_str(&text).map_err(|e| bad(format!("not valid JSON: {e}")))?
    } else {
        serde_norway::from_str(&text).map_err(|e| bad(format!("not valid YAML: {e}")))?
    };
    let as_name = |v: &serde_json::Value| v.as_str().map(str::to_string).ok_or_else(|| bad(format!("expected a label, found {v}")));
    match value {
        serde_json::Value::Array(items) => {
            let names = items.iter().map(as_name).collect::<Result<Vec<_>, _>>()?;
            Ok(Types { parents: vec![None; names.len()], names })
        }
        serde_json::Value::Object(map) => {
            let mut types = Types { names: Vec::new(), parents: Vec::new() };
            for (label, parent) in map {
                types.parents.push(if parent.is_null() { None } else { Some(as_name(&parent)?) });
                types.names.push(label);
            }
            Ok(types)
        }
        other => Err(bad(format!("expected a mapping, a list of labels or a map label: parent, found {other}"))),
    }
}

/// Reads `--descriptions`: a directory of `LABEL.txt` files, or anything
/// [`crate::taxonomy::definitions`] reads.
pub fn load_descriptions(path: &Path) -> Result<BTreeMap<String, String>, ConfusionError> {
    if !path.is_dir() {
        return Ok(crate::taxonomy::definitions(path)?);
    }
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(path).map_err(|e| IoError::new(path, e))? {
        let file = entry.map_err(|e| IoError::new(path, e))?.path();
        if file.extension().and_then(|e| e.to_str()) == Some("txt")
            && let Some(stem) = file.file_stem().and_then(|s| s.to_str())
        {
            let text = std::fs::read_to_string(&file).map_err(|e| IoError::new(&file, e))?;
            out.insert(stem.to_string(), text.trim().to_string());
        }
    }
    Ok(out)
}

/// A gold × predicted count table as `nerprep eval` writes it in `confusion.csv`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CountTable {
    /// Predicted labels (columns, `O` included).
    pub cols: Vec<String>,
    /// Gold label → counts per column.
    pub rows: BTreeMap<String, Vec<u64>>,
}

impl CountTable {
    /// Reads `confusion.csv`: a header `gold\predicted,<labels…>`, then one row per gold label.
    pub fn load(path: &Path) -> Result<CountTable, ConfusionError> {
        let text = std::fs::read_to_string(path).map_err(|e| IoError::new(path, e))?;
        CountTable::parse(&text).map_err(|message| ConfusionError::File { path: path.to_path_buf(), message })
    }

    /// Parses the CSV text (RFC 4180 quoting).
    pub fn parse(text: &str) -> Result<CountTable, String> {
        let mut lines = text.lines().filter(|l| !l.trim().is_empty()).enumerate();
        let Some((_, header)) = lines.next() else { return Err("empty; expected the confusion.csv of nerprep eval".into()) };
        let cols: Vec<String> = csv_fields(header).into_iter().skip(1).collect();
        let mut rows = BTreeMap::new();
        for (i, line) in lines {
            let fields = csv_fields(line);
            if fields.len() != cols.len() + 1 {
                return Err(format!("line {}: {} fields, the header has {}", i + 1, fields.len(), cols.len() + 1));
            }
            let counts = fields[1..]
                .iter()
                .map(|f| f.trim().parse::<u64>().map_err(|_| format!("line {}: `{f}` is not a count", i + 1)))
                .collect::<Result<Vec<_>, _>>()?;
            rows.insert(fields[0].clone(), counts);
        }
        Ok(CountTable { cols, rows })
    }

    /// `count(gold, pred) / Σ count(gold, ·)` for every predicted column (the share of the
    /// gold label's entities, missed ones included); empty when the label has no row.
    pub fn rates(&self, gold: &str) -> BTreeMap<String, f64> {
        let Some(counts) = self.rows.get(gold) else { return BTreeMap::new() };
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return BTreeMap::new();
        }
        self.cols.iter().zip(counts).map(|(c, &n)| (c.clone(), n as f64 / total as f64)).collect()
    }
}

/// The fields of one CSV line (double quotes, `""` inside them).
fn csv_fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    out.push(field);
    out
}

/// What [`run`] computed and where it went.
#[derive(Debug, Clone)]
pub struct ConfusionOutcome {
    /// The model.
    pub mcqm: Mcqm,
    /// Types without a description (their label was embedded instead).
    pub undescribed: Vec<String>,
    /// Where the hierarchy came from: `parents`, `source predictions` or `none`.
    pub hierarchy_from: &'static str,
}

/// The whole stage: reads the inputs, embeds the descriptions with `embedder`, quantifies
/// and writes `out` (see the module docs).
pub fn run(params: &ValidConfusionParams, embedder: &mut dyn Embedder, out: &Path) -> Result<ConfusionOutcome, ConfusionError> {
    let p = &params.params;
    let types = select(load_types(&params.types)?, &p.labels, &params.types)?;
    if types.names.len() < 2 {
        return Err(ConfusionError::TooFewTypes { found: types.names.len() });
    }
    let descriptions = load_descriptions(&params.descriptions)?;
    let undescribed: Vec<String> = types.names.iter().filter(|t| !descriptions.contains_key(*t)).cloned().collect();
    let texts: Vec<String> = types.names.iter().map(|t| descriptions.get(t).cloned().unwrap_or_else(|| t.clone())).collect();
    let semantic = cosines(embedder, &texts)?;
    let (hierarchy, hierarchy_from) = match &p.source_predictions {
        Some(path) => {
            let table = CountTable::load(path)?;
            let rates = types.names.iter().map(|t| without_none(table.rates(t))).collect();
            (Hierarchy { rates }, "source predictions")
        }
        None if types.parents.iter().any(Option::is_some) => (Hierarchy::from_parents(&types.parents), "parents"),
        None => (Hierarchy { rates: vec![BTreeMap::new(); types.names.len()] }, "none"),
    };
    let explicit = match &p.dev_predictions {
        Some(path) => Some(explicit_rates(&CountTable::load(path)?, &types.names)),
        None => None,
    };
    let weights = Weights { alpha: p.alpha, beta: p.beta, w0: p.w0, delta: p.delta };
    let mcqm = quantify(types.names, &hierarchy, semantic, explicit, weights);
    let outcome = ConfusionOutcome { mcqm, undescribed, hierarchy_from };
    let mut inputs: Vec<PathBuf> = vec![params.types.clone()];
    if params.descriptions.is_file() {
        inputs.push(params.descriptions.clone());
    }
    inputs.extend(p.source_predictions.iter().chain(&p.dev_predictions).cloned());
    report::write_all(out, &outcome, params, embedder.info(), &inputs)?;
    Ok(outcome)
}

/// The types of `labels` (all when empty), in the file's order.
fn select(types: Types, labels: &[String], path: &Path) -> Result<Types, ConfusionError> {
    if labels.is_empty() {
        return Ok(types);
    }
    if let Some(l) = labels.iter().find(|l| !types.names.contains(l)) {
        return Err(ConfusionError::UnknownLabel { label: l.clone(), types: path.to_path_buf() });
    }
    let (names, parents) = types.names.into_iter().zip(types.parents).filter(|(n, _)| labels.contains(n)).unzip();
    Ok(Types { names, parents })
}

/// The rates without the `O` column (a miss is no coarse type).
fn without_none(mut rates: BTreeMap<String, f64>) -> BTreeMap<String, f64> {
    rates.remove(crate::eval::confusion::NONE);
    rates
}

/// `R_M(i, j)` over the target types.
fn explicit_rates(table: &CountTable, types: &[String]) -> Vec<Vec<f64>> {
    types
        .iter()
        .map(|gold| {
            let rates = table.rates(gold);
            types.iter().map(|pred| rates.get(pred).copied().unwrap_or(0.0)).collect()
        })
        .collect()
}

/// The cosine matrix of the embeddings of `texts`.
fn cosines(embedder: &mut dyn Embedder, texts: &[String]) -> Result<Vec<Vec<f64>>, ConfusionError> {
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let m = embedder.embed(&refs)?;
    let rows: Vec<&[f32]> = m.rows().collect();
    let norm = |v: &[f32]| v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    Ok(rows
        .iter()
        .map(|a| {
            rows.iter()
                .map(|b| {
                    let d: f64 = a.iter().zip(*b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum();
                    let n = norm(a) * norm(b);
                    if n > 0.0 { d / n } else { 0.0 }
                })
                .collect()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_confusion_csv_of_eval() {
        let t = CountTable::parse("gold\\predicted,LOC,\"a,b\",O\nLOC,3,1,0\n\"a,b\",0,2,2\nO,1,0,0\n").unwrap();
        assert_eq!(t.cols, vec!["LOC", "a,b", "O"]);
        assert_eq!(t.rates("a,b")["O"], 0.5);
        assert_eq!(t.rates("LOC")["LOC"], 0.75);
        assert!(t.rates("nope").is_empty());
        assert!(CountTable::parse("h,a\nx,1,2\n").unwrap_err().contains("line 2"));
    }
}
