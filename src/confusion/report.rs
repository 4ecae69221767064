//! The output directory of `nerprep confusion`, written whole or not at all:
//! `matrix.csv` (v_conf, rows confused with columns, diagonal empty), `matrix.json` (every
//! term, the prefixes and the ranking), `heatmap.png` (v_conf), `confusions.txt`
//! (`A → B` per type and each of its `top` most confused types, as the PBRC prompt lists
//! them), `hard-negatives.yaml` (`label: [most confused, …]`, what `emit --hard-negatives`
//! reads) and `provenance.json`.

use super::{ConfusionError, ConfusionOutcome, Mcqm, ValidConfusionParams};
use crate::embed::EmbedderInfo;
use crate::eval::confusion::csv_field;
use crate::io::{write_atomic, AtomicDir};
use crate::plot::Heatmap;
use crate::provenance::Provenance;
use crate::report::Counts;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The files of the directory, besides `provenance.json`.
pub const FILES: [&str; 5] = ["matrix.csv", "matrix.json", "heatmap.png", "confusions.txt", "hard-negatives.yaml"];

/// Writes the directory `out`.
pub fn write_all(out: &Path, o: &ConfusionOutcome, params: &ValidConfusionParams, model: &EmbedderInfo, inputs: &[PathBuf]) -> Result<(), ConfusionError> {
    let m = &o.mcqm;
    let top = params.params.top;
    let dir = AtomicDir::create(out)?;
    let root = dir.path();
    write_atomic(root.join("matrix.csv"), matrix_csv(m).as_bytes())?;
    write_atomic(root.join("matrix.json"), matrix_json(o, model).as_bytes())?;
    heatmap(m).write_png(root.join("heatmap.png"))?;
    write_atomic(root.join("confusions.txt"), confusions_txt(m, top).as_bytes())?;
    write_atomic(root.join("hard-negatives.yaml"), hard_negatives_yaml(m, top).as_bytes())?;
    let mut provenance = Provenance::of(&params.params);
    provenance.inputs(inputs.iter().map(PathBuf::as_path))?;
    let mut counts = Counts::new("confusion");
    counts.read = m.types.len() as u64;
    counts.written = m.types.len() as u64;
    counts.note("undescribed", o.undescribed.len() as u64);
    provenance.counts = Some(counts);
    let (digest, size) = crate::provenance::directory_digest(root)?;
    provenance.output = Some(digest);
    provenance.output_size = Some(size);
    write_atomic(root.join("provenance.json"), provenance.to_pretty_json().as_bytes())?;
    let owns = |name: &str| FILES.contains(&name) || name == "provenance.json";
    crate::provenance::commit_report_dir(dir, out, "confusion", owns)?;
    Ok(())
}

/// `matrix.csv`: header `from\to,<types>`, one row per type, `v_conf` with 6 decimals.
pub fn matrix_csv(m: &Mcqm) -> String {
    let mut out = String::from("from\\to");
    for t in &m.types {
        let _ = write!(out, ",{}", csv_field(t));
    }
    out.push('\n');
    for (i, row) in m.total.iter().enumerate() {
        out.push_str(&csv_field(&m.types[i]));
        for (j, v) in row.iter().enumerate() {
            if i == j { out.push(',') } else { let _ = write!(out, ",{v:.6}"); }
        }
        out.push('\n');
    }
    out
}

/// `matrix.json`: every term, the model that embedded the descriptions, and the ranking.
fn matrix_json(o: &ConfusionOutcome, model: &EmbedderInfo) -> String {
    let m = &o.mcqm;
    let most: serde_json::Map<String, serde_json::Value> =
        m.types.iter().zip(&m.ranked).map(|(t, r)| (t.clone(), r.first().map(|&j| m.types[j].clone()).into())).collect();
    let doc = serde_json::json!({
        "model": model.model_id,
        "hierarchy_from": o.hierarchy_from,
        "undescribed": o.undescribed,
        "most_confused": most,
        "terms": m,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}

/// `confusions.txt`: `A → B` lines, each type's most confused types first.
pub fn confusions_txt(m: &Mcqm, top: usize) -> String {
    let mut out = String::new();
    for (i, ranked) in m.ranked.iter().enumerate() {
        for &j in ranked.iter().take(top) {
            let _ = writeln!(out, "{} → {}", m.types[i], m.types[j]);
        }
    }
    out
}

/// `hard-negatives.yaml`: a flat map `label: [confused, …]` for `emit --hard-negatives`.
pub fn hard_negatives_yaml(m: &Mcqm, top: usize) -> String {
    let mut out = String::from("# Written by `nerprep confusion`: each label's most confused labels (MCQM), for emit --hard-negatives.\n");
    let quoted = |s: &str| serde_json::to_string(s).unwrap_or_default();
    for (i, ranked) in m.ranked.iter().enumerate() {
        let list: Vec<String> = ranked.iter().take(top).map(|&j| quoted(&m.types[j])).collect();
        let _ = writeln!(out, "{}: [{}]", quoted(&m.types[i]), list.join(", "));
    }
    out
}

/// The heatmap of `v_conf`, each row coloured relative to its largest value.
fn heatmap(m: &Mcqm) -> Heatmap {
    let intensity = m
        .total
        .iter()
        .map(|row| {
            let max = row.iter().copied().fold(0.0, f64::max);
            row.iter().map(|v| if max > 0.0 { v / max } else { 0.0 }).collect()
        })
        .collect();
    let annotations = m
        .total
        .iter()
        .enumerate()
        .map(|(i, row)| row.iter().enumerate().map(|(j, v)| if i == j { String::new() } else { format!("{v:.2}") }).collect())
        .collect();
    Heatmap {
        title: "MCQM confusion v_conf (row type confused with column type)".into(),
        row_axis: "type".into(),
        col_axis: "confused with (colour: share of the row's largest)".into(),
        rows: m.types.clone(),
        cols: m.types.clone(),
        intensity,
        annotations,
    }
}
