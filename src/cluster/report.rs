//! The output directory of `nerprep cluster`, written whole or not at all ([`AtomicDir`]):
//!
//! - `scores.csv`, `scores.json`: one row per k (inertia, silhouette, gap, s_k, and ARI and
//!   purity with `--compare`); the JSON adds the choices and what was run.
//! - `scores.png`, `scores.svg`: silhouette (top) and gap with ±s_k bars (bottom) against
//!   k, like SAM-NER's Figure 4(a), the assigned k marked; drawn by plotters with the
//!   embedded font ([`crate::plot`]). The SVG names that font; a viewer without it
//!   substitutes its own sans-serif.
//! - `assignments.parquet`: a side table keyed by `id` (unit id → `cluster`, `distance` to
//!   the centroid on the unit vectors, `rank` by closeness within the cluster, 1 = closest)
//!   for the assigned k, with the stage provenance.
//! - `draft-mapping.yaml`: the same clusters in the taxonomy mapping format, one
//!   `cluster_NN` group per cluster (largest first), members by closeness, every entry
//!   unreviewed: ready for a person to name the groups and review them.
//! - `provenance.json`: parameters, inputs, counts, and a digest over the other files.

use super::compare::Reference;
use super::kmeans::{self, KMeansFit, Matrix};
use super::{ClusterError, Sweep, ValidClusterParams};
use crate::io::{write_atomic, AtomicDir};
use crate::plot::PlotError;
use crate::provenance::Provenance;
use crate::report::Counts;
use crate::table::side::KEY;
use crate::table::BatchWriter;
use arrow_array::{ArrayRef, Float32Array, RecordBatch, StringArray, UInt32Array};
use arrow_schema::{DataType, Field, Schema};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

/// What the outputs record about where they came from.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// The embeddings table.
    pub embeddings: &'a Path,
    /// The parameters.
    pub params: &'a ValidClusterParams,
    /// The curated classes of the units, with `--compare`.
    pub reference: Option<&'a Reference>,
}

/// The clusters of one fit, renumbered largest first (ties: the cluster of the earlier
/// unit first), each with its members sorted by distance to the centroid (ties by row).
#[derive(Debug, Clone, PartialEq)]
pub struct Clusters {
    /// The new number of each unit's cluster.
    pub labels: Vec<u32>,
    /// Each unit's Euclidean distance to its centroid.
    pub distances: Vec<f32>,
    /// Each unit's rank by closeness within its cluster (1 = closest).
    pub ranks: Vec<u32>,
    /// The rows of each cluster, closest first.
    pub members: Vec<Vec<usize>>,
}

impl Clusters {
    /// Renumbers and sorts `fit` over the rows of `m`.
    pub fn of(fit: &KMeansFit, m: &Matrix) -> Clusters {
        let k = fit.centroids.len() / m.dim();
        let distances = kmeans::distances(m, &fit.centroids, &fit.labels);
        let mut by_old: Vec<Vec<usize>> = vec![Vec::new(); k];
        for (i, &l) in fit.labels.iter().enumerate() {
            by_old[l as usize].push(i);
        }
        by_old.retain(|rows| !rows.is_empty());
        by_old.sort_by(|a, b| b.len().cmp(&a.len()).then(a[0].cmp(&b[0])));
        let mut labels = vec![0u32; m.len()];
        let mut ranks = vec![0u32; m.len()];
        for (c, rows) in by_old.iter_mut().enumerate() {
            rows.sort_by(|&a, &b| distances[a].total_cmp(&distances[b]).then(a.cmp(&b)));
            for (r, &i) in rows.iter().enumerate() {
                labels[i] = c as u32;
                ranks[i] = r as u32 + 1;
            }
        }
        Clusters { labels, distances, ranks, members: by_old }
    }
}

/// Writes the whole output directory `out` (see the module docs) for the sweep, with the
/// assignments of `assigned_k`.
pub fn write_all(
    out: &Path,
    inputs: &Inputs<'_>,
    ids: &[String],
    m: &Matrix,
    sweep: &Sweep,
    assigned_k: usize,
) -> Result<(), ClusterError> {
    let dir = AtomicDir::create(out)?;
    let root = dir.path();
    let fit = sweep.fit_of(assigned_k).expect("the assigned k was tried");
    let clusters = Clusters::of(fit, m);
    write_atomic(root.join("scores.csv"), scores_csv(sweep).as_bytes())?;
    write_atomic(root.join("scores.json"), scores_json(inputs, ids.len(), m.dim(), sweep, assigned_k).as_bytes())?;
    figure::write(root, sweep, assigned_k, ids.len())?;
    let mut provenance = Provenance::of(&inputs.params.to_params());
    provenance.input(inputs.embeddings)?;
    if let Some(path) = &inputs.params.compare {
        provenance.input(path)?;
    }
    let mut counts = Counts::new("cluster");
    counts.read = ids.len() as u64;
    counts.written = ids.len() as u64;
    counts.note("assigned_k", assigned_k as u64);
    counts.note("clusters", clusters.members.len() as u64);
    provenance.counts = Some(counts);
    write_assignments(&root.join("assignments.parquet"), ids, &clusters, provenance.clone())?;
    let draft = draft_mapping(inputs, ids, &clusters, sweep, assigned_k);
    write_atomic(root.join("draft-mapping.yaml"), draft.as_bytes())?;
    let (digest, size) = crate::provenance::directory_digest(root)?;
    provenance.output = Some(digest);
    provenance.output_size = Some(size);
    write_atomic(root.join("provenance.json"), provenance.to_pretty_json().as_bytes())?;
    dir.commit()?;
    Ok(())
}

/// A float as CSV/JSON text: shortest round-trip form, `NaN` as empty.
fn num(v: f64) -> String {
    if v.is_finite() { format!("{v}") } else { String::new() }
}

/// `scores.csv`: `k,inertia,silhouette,gap,s_k` (+ `ari,purity` with `--compare`).
pub fn scores_csv(sweep: &Sweep) -> String {
    let compared = sweep.scores.iter().any(|s| s.ari.is_some());
    let mut out = String::from("k,inertia,silhouette,gap,s_k");
    out.push_str(if compared { ",ari,purity\n" } else { "\n" });
    for s in &sweep.scores {
        let _ = write!(out, "{},{},{},{},{}", s.k, num(s.inertia), num(s.silhouette), num(s.gap), num(s.s_k));
        if compared {
            let _ = write!(out, ",{},{}", s.ari.map(num).unwrap_or_default(), s.purity.map(num).unwrap_or_default());
        }
        out.push('\n');
    }
    out
}

/// `scores.json`: what was run, the choices side by side, and the rows.
pub fn scores_json(inputs: &Inputs<'_>, units: usize, dim: usize, sweep: &Sweep, assigned_k: usize) -> String {
    let p = inputs.params;
    let mut doc = serde_json::json!({
        "units": units,
        "dim": dim,
        "silhouette_units": sweep.silhouette_units,
        "restarts": p.restarts,
        "refs": p.refs,
        "refs_box": p.refs_box.as_str(),
        "seed": p.seed,
        "choices": sweep.choices,
        "assigned_k": assigned_k,
        "scores": sweep.scores,
    });
    if let (Some(path), Some(r)) = (&p.compare, inputs.reference) {
        doc["compare"] = serde_json::json!({
            "mapping": path.display().to_string(),
            "matched": r.matched(),
            "unmatched": units - r.matched(),
        });
    }
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

/// Writes the assignments side table.
fn write_assignments(path: &Path, ids: &[String], clusters: &Clusters, provenance: Provenance) -> Result<(), ClusterError> {
    let schema = Arc::new(Schema::new(vec![
        Field::new(KEY, DataType::Utf8, false),
        Field::new("cluster", DataType::UInt32, false),
        Field::new("distance", DataType::Float32, false),
        Field::new("rank", DataType::UInt32, false),
    ]));
    let mut writer = BatchWriter::create(path, schema.clone(), &BTreeMap::new())?;
    for start in (0..ids.len()).step_by(crate::table::BATCH_ROWS) {
        let rows = start..(start + crate::table::BATCH_ROWS).min(ids.len());
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(ids[rows.clone()].iter())),
            Arc::new(UInt32Array::from(clusters.labels[rows.clone()].to_vec())),
            Arc::new(Float32Array::from(clusters.distances[rows.clone()].to_vec())),
            Arc::new(UInt32Array::from(clusters.ranks[rows].to_vec())),
        ];
        let batch = RecordBatch::try_new(schema.clone(), columns)
            .map_err(|e| crate::table::TableError::Schema { path: path.to_path_buf(), source: e })?;
        writer.write(&batch)?;
    }
    writer.finish(provenance)?;
    Ok(())
}

/// A YAML double-quoted scalar (JSON string syntax is valid YAML).
fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// `draft-mapping.yaml` (see the module docs).
pub fn draft_mapping(inputs: &Inputs<'_>, ids: &[String], clusters: &Clusters, sweep: &Sweep, assigned_k: usize) -> String {
    let how = if inputs.params.assign_k == Some(assigned_k) {
        "as asked with --assign-k"
    } else if sweep.choices.gap_1se == Some(assigned_k) {
        "the gap statistic's 1-SE choice"
    } else {
        "the largest gap; the 1-SE rule chose no k of the range"
    };
    let source = format!("nerprep cluster of {}: k = {assigned_k} ({how}), seed {}", inputs.embeddings.display(), inputs.params.seed);
    let width = clusters.members.len().to_string().len().max(2);
    let mut out = String::new();
    out.push_str("# Draft mapping written by `nerprep cluster`, for human review. Each group is one\n");
    out.push_str("# k-means cluster (largest first), its labels sorted by closeness to the centroid\n");
    out.push_str("# (rank 1 = closest; the note gives the distance). Rename each cluster_NN group to the\n");
    out.push_str("# archetype it stands for, move or merge entries, then mark them reviewed. The\n");
    out.push_str("# taxonomy path assumes the file is moved to mappings/.\n");
    out.push_str("kind: mapping\nname: draft\nversion: \"0.1.0\"\ntaxonomy: ../taxonomy/archetypes.yaml\n");
    let _ = writeln!(out, "source: {}", quoted(&source));
    out.push_str("reviewed: false\narchetypes:\n");
    for (c, rows) in clusters.members.iter().enumerate() {
        let _ = write!(out, "  cluster_{:0width$}:  # {} unit{}", c + 1, rows.len(), if rows.len() == 1 { "" } else { "s" });
        if let Some(r) = inputs.reference {
            out.push_str(&curated_note(rows, r));
        }
        out.push('\n');
        for &i in rows {
            let _ = writeln!(out, "    - label: {}", quoted(&ids[i]));
            let _ = writeln!(out, "      rank: {}", clusters.ranks[i]);
            let _ = writeln!(out, "      note: \"distance {:.4}\"", clusters.distances[i]);
        }
    }
    out
}

/// `; curated: Vehicle 10, Person 2, unmapped 1`: the mapping's archetypes of a cluster.
fn curated_note(rows: &[usize], r: &Reference) -> String {
    let mut counts: BTreeMap<Option<usize>, usize> = BTreeMap::new();
    for &i in rows {
        *counts.entry(r.classes[i]).or_default() += 1;
    }
    let mut parts: Vec<(usize, String)> = counts
        .iter()
        .map(|(c, &n)| (n, c.map_or_else(|| "unmapped".to_string(), |c| r.names[c].clone())))
        .collect();
    parts.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let listed: Vec<String> = parts.iter().map(|(n, name)| format!("{name} {n}")).collect();
    format!("; curated: {}", listed.join(", "))
}

/// The figure: silhouette and gap against k.
mod figure {
    use super::{PlotError, Sweep};
    use plotters::coord::Shift;
    use plotters::prelude::*;
    use plotters::style::FontStyle;
    use std::path::Path;

    const WIDTH: u32 = 800;
    const HEIGHT: u32 = 640;

    /// Writes `scores.png` and `scores.svg` into `dir`.
    pub fn write(dir: &Path, sweep: &Sweep, assigned_k: usize, units: usize) -> Result<(), PlotError> {
        let family = crate::plot::font_family()?;
        let png = dir.join("scores.png");
        let mut pixels = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
        {
            let root = BitMapBackend::with_buffer(&mut pixels, (WIDTH, HEIGHT)).into_drawing_area();
            draw(root, family, sweep, assigned_k, units).map_err(|message| PlotError::Draw { path: png.clone(), message })?;
        }
        crate::plot::write_rgb_png(&png, WIDTH, HEIGHT, &pixels)?;
        let svg = dir.join("scores.svg");
        let mut text = String::new();
        {
            let root = SVGBackend::with_string(&mut text, (WIDTH, HEIGHT)).into_drawing_area();
            draw(root, family, sweep, assigned_k, units).map_err(|message| PlotError::Draw { path: svg.clone(), message })?;
        }
        crate::io::write_atomic(&svg, text.as_bytes())?;
        Ok(())
    }

    fn font(family: &str, size: f64) -> TextStyle<'_> {
        FontDesc::new(FontFamily::Name(family), size, FontStyle::Normal).color(&BLACK)
    }

    /// `lo..hi` padded by 8 %, never empty.
    fn padded(values: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
        let (lo, hi) = values.filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
        if !lo.is_finite() {
            return 0.0..1.0;
        }
        let pad = if hi > lo { (hi - lo) * 0.08 } else { 0.5 };
        (lo - pad)..(hi + pad)
    }

    fn draw<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, family: &str, sweep: &Sweep, assigned_k: usize, units: usize) -> Result<(), String> {
        let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        root.fill(&WHITE).map_err(err)?;
        let title = format!("Cluster analysis: {units} units, k-means (assigned k = {assigned_k})");
        let root = root.titled(&title, font(family, 18.0)).map_err(err)?;
        let panels = root.split_evenly((2, 1));
        let ks: Vec<i32> = sweep.scores.iter().map(|s| s.k as i32).collect();
        let x = (ks[0] - 1)..(ks[ks.len() - 1] + 1);
        let series = [
            ("Silhouette (cosine)", sweep.scores.iter().map(|s| (s.silhouette, 0.0)).collect::<Vec<_>>(), RGBColor(31, 119, 180)),
            ("Gap statistic (±s_k)", sweep.scores.iter().map(|s| (s.gap, s.s_k)).collect(), RGBColor(214, 39, 40)),
        ];
        for (area, (name, values, colour)) in panels.iter().zip(series) {
            let y = padded(values.iter().flat_map(|&(v, e)| [v - e, v + e]));
            let mut chart = ChartBuilder::on(area)
                .margin(12)
                .x_label_area_size(36)
                .y_label_area_size(64)
                .caption(name, font(family, 15.0))
                .build_cartesian_2d(x.clone(), y)
                .map_err(err)?;
            chart
                .configure_mesh()
                .x_desc("k")
                .label_style(font(family, 12.0))
                .axis_desc_style(font(family, 13.0))
                .x_labels(ks.len().min(30))
                .light_line_style(RGBColor(235, 235, 235))
                .draw()
                .map_err(err)?;
            let points: Vec<(i32, f64)> = ks.iter().zip(&values).filter(|(_, v)| v.0.is_finite()).map(|(&k, v)| (k, v.0)).collect();
            chart.draw_series(std::iter::once(PathElement::new(points.clone(), colour.stroke_width(2)))).map_err(err)?;
            chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, colour.filled()))).map_err(err)?;
            let bars = ks.iter().zip(&values).filter(|(_, v)| v.1 > 0.0 && v.0.is_finite());
            chart.draw_series(bars.map(|(&k, &(v, e))| PathElement::new(vec![(k, v - e), (k, v + e)], colour.stroke_width(1)))).map_err(err)?;
            let chosen = points.iter().filter(|p| p.0 == assigned_k as i32);
            chart.draw_series(chosen.map(|&p| Circle::new(p, 6, BLACK.stroke_width(2)))).map_err(err)?;
        }
        root.present().map_err(err)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clusters_are_renumbered_largest_first_and_members_sorted_by_distance() {
        let m = Matrix::new(1, vec![0.0, 10.0, 10.5, 9.0, 0.2]);
        let fit = KMeansFit { centroids: vec![0.1, 10.0], labels: vec![0, 1, 1, 1, 0], inertia: 0.0, iterations: 1 };
        let c = Clusters::of(&fit, &m);
        assert_eq!(c.labels, vec![1, 0, 0, 0, 1]);
        assert_eq!(c.members, vec![vec![1, 2, 3], vec![0, 4]]);
        assert_eq!(c.ranks, vec![1, 1, 2, 3, 2]);
        assert!((c.distances[3] - 1.0).abs() < 1e-6);
    }
}
