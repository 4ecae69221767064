//! The model-based check (`--knn`), the cheap and reproducible stand-in for B2NER's
//! cross-trained BERT models (seed 002 §3.1, App. A.2): each dataset's mention embeddings
//! (`nerprep embed --what mentions`, mentions in context) go into an HNSW index (hnsw_rs,
//! cosine distance); each mention of another dataset is labelled with the majority label
//! of its k nearest neighbours there. Vectors are scaled to unit length when read, so the
//! index compares them by `1 − a·b` ([`UnitCosine`]). The agreement matrix says, per (reference dataset,
//! query dataset), which of the reference's labels each query label is "called".
//!
//! Indexes are built by inserting points one at a time (hnsw_rs draws levels from a fixed
//! seed, so the graph, and every search on it, is the same on every run and thread count);
//! queries run in parallel. At most `sample` mentions per (dataset, label) are queried, a
//! seeded pick, which bounds the time on large corpora.

use super::corpus::Corpus;
use super::ScreenError;
use crate::embed::stage::read_embeddings;
use crate::eval::confusion::csv_field;
use crate::rng::Rng;
use crate::vector::UnitCosine;
use hnsw_rs::prelude::Hnsw;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

/// Links per node of the HNSW graph.
const MAX_CONNECTIONS: usize = 16;
/// Layers of the graph (hnsw_rs saves indexes of 16 layers).
const MAX_LAYER: usize = 16;
/// Candidate list size while building.
const EF_CONSTRUCTION: usize = 64;
/// Candidate list size while searching (at least k).
const EF_SEARCH: usize = 64;
/// Lines of the agreement listed in report.md.
const REPORT_LINES: usize = 200;

/// Mention vectors of one dataset.
#[derive(Debug, Clone, Default)]
struct Points {
    labels: Vec<u32>,
    ids: Vec<String>,
    values: Vec<f32>,
}

/// How often a query label was called each reference label.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Agreement {
    /// Label names, by id.
    pub labels: Vec<String>,
    /// (reference dataset, query dataset, query label) → called label → count.
    pub cells: BTreeMap<(String, String, u32), BTreeMap<u32, u64>>,
    /// k.
    pub k: usize,
    /// Rows of the embeddings tables read.
    pub read: u64,
    /// Rows left out: not finite or all zeros, or of a dataset not among the inputs.
    pub left_out: u64,
}

/// Reads the mention embeddings `emb` and computes the agreement for every ordered pair of
/// the corpus's datasets that both have mentions.
pub fn agreement(corpus: &Corpus, emb: &[PathBuf], k: usize, seed: u64, sample: usize) -> Result<Agreement, ScreenError> {
    let mut out = Agreement { k, ..Agreement::default() };
    let points = read_points(corpus, emb, &mut out)?;
    let names: Vec<&String> = points.keys().collect();
    // Each index is built by one thread, in row order; the datasets' indexes in parallel.
    let indexes: Vec<Hnsw<'_, f32, UnitCosine>> = names.par_iter().map(|n| build_index(&points[*n], dim_of(&points[*n]))).collect();
    for (&reference, index) in names.iter().zip(&indexes) {
        let a = &points[reference];
        for &query in &names {
            if query == reference {
                continue;
            }
            let b = &points[query];
            let picked = pick(b, seed, query, sample);
            let called: Vec<(u32, u32)> = picked
                .par_iter()
                .map(|&i| {
                    let dim = dim_of(b);
                    let v = &b.values[i * dim..(i + 1) * dim];
                    let hits = index.search(v, k, EF_SEARCH.max(k));
                    (b.labels[i], majority(&hits.iter().map(|h| (a.labels[h.d_id], h.distance)).collect::<Vec<_>>()))
                })
                .collect();
            for (lb, la) in called {
                *out.cells.entry((reference.clone(), query.clone(), lb)).or_default().entry(la).or_default() += 1;
            }
        }
    }
    Ok(out)
}

fn dim_of(p: &Points) -> usize {
    if p.labels.is_empty() { 0 } else { p.values.len() / p.labels.len() }
}

/// The mention vectors of every input dataset, grouped by dataset.
fn read_points(corpus: &Corpus, emb: &[PathBuf], out: &mut Agreement) -> Result<BTreeMap<String, Points>, ScreenError> {
    let known: std::collections::BTreeSet<&str> = corpus.datasets.iter().map(|d| d.name.as_str()).collect();
    let mut label_ids: BTreeMap<String, u32> = BTreeMap::new();
    let mut points: BTreeMap<String, Points> = BTreeMap::new();
    let mut dim = None;
    for path in emb {
        let bad = |message: String| ScreenError::BadEmbeddings { path: path.clone(), message };
        let table = read_embeddings(path)?;
        let (Some(datasets), Some(labels)) = (&table.dataset, &table.label) else {
            return Err(bad("not mention embeddings (no `dataset` and `label` columns); embed with --what mentions".into()));
        };
        let d = table.vectors.dim();
        if *dim.get_or_insert(d) != d {
            return Err(bad(format!("vectors of {d}, the first table's have {}", dim.unwrap_or(0))));
        }
        for (i, row) in table.vectors.rows().enumerate() {
            out.read += 1;
            let norm = row.iter().map(|v| v * v).sum::<f32>();
            if !known.contains(datasets[i].as_str()) || !norm.is_finite() || norm == 0.0 {
                out.left_out += 1;
                continue;
            }
            let next = label_ids.len() as u32;
            let label = *label_ids.entry(labels[i].clone()).or_insert(next);
            let p = points.entry(datasets[i].clone()).or_default();
            p.labels.push(label);
            p.ids.push(table.ids[i].clone());
            // Unit length once here, so each comparison is a single dot product.
            let scale = norm.sqrt().recip();
            p.values.extend(row.iter().map(|v| v * scale));
        }
    }
    let mut names = vec![String::new(); label_ids.len()];
    for (name, id) in label_ids {
        names[id as usize] = name;
    }
    out.labels = names;
    Ok(points)
}

/// The HNSW index of one dataset's points, inserted in row order.
fn build_index(p: &Points, dim: usize) -> Hnsw<'_, f32, UnitCosine> {
    let index = Hnsw::new(MAX_CONNECTIONS, p.labels.len().max(1), MAX_LAYER, EF_CONSTRUCTION, UnitCosine);
    for i in 0..p.labels.len() {
        index.insert_slice((&p.values[i * dim..(i + 1) * dim], i));
    }
    index
}

/// At most `sample` rows per label (0 = all): those with the smallest seeded keys, in row order.
fn pick(p: &Points, seed: u64, dataset: &str, sample: usize) -> Vec<usize> {
    if sample == 0 {
        return (0..p.labels.len()).collect();
    }
    let mut by_label: BTreeMap<u32, Vec<(u64, usize)>> = BTreeMap::new();
    for (i, &l) in p.labels.iter().enumerate() {
        let key = Rng::for_sample(seed, &format!("knn/{dataset}/{}", p.ids[i])).next_u64();
        by_label.entry(l).or_default().push((key, i));
    }
    let mut out: Vec<usize> = by_label
        .into_values()
        .flat_map(|mut rows| {
            rows.sort_unstable();
            rows.truncate(sample);
            rows.into_iter().map(|(_, i)| i)
        })
        .collect();
    out.sort_unstable();
    out
}

/// The most frequent label among the neighbours; ties go to the label whose nearest
/// neighbour is closest (then the smaller label id).
fn majority(hits: &[(u32, f32)]) -> u32 {
    let mut votes: BTreeMap<u32, (usize, f32)> = BTreeMap::new();
    for &(label, distance) in hits {
        let v = votes.entry(label).or_insert((0, f32::INFINITY));
        v.0 += 1;
        v.1 = v.1.min(distance);
    }
    let best = votes.iter().max_by(|a, b| a.1.0.cmp(&b.1.0).then(b.1.1.total_cmp(&a.1.1)).then(b.0.cmp(a.0)));
    best.map(|(&l, _)| l).unwrap_or(u32::MAX)
}

impl Agreement {
    fn name(&self, label: u32) -> &str {
        self.labels.get(label as usize).map(String::as_str).unwrap_or("(none)")
    }

    /// `knn.csv`: `reference_dataset,query_dataset,query_label,called,count,share`, share =
    /// count / mentions of the query label queried.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("reference_dataset,query_dataset,query_label,called,count,share\n");
        for ((a, b, lb), called) in &self.cells {
            let total: u64 = called.values().sum();
            for (la, n) in called {
                let share = *n as f64 / total as f64;
                let _ = writeln!(out, "{},{},{},{},{n},{share:.4}", csv_field(a), csv_field(b), csv_field(self.name(*lb)), csv_field(self.name(*la)));
            }
        }
        out
    }

    /// The report section: per query label, the reference labels it is called most.
    pub fn to_markdown(&self) -> String {
        let mut md = format!("## kNN check\n\nEach mention of the query dataset labelled by the majority of its {} nearest neighbours among the reference dataset's mentions (cosine, HNSW); all rows in `knn.csv`.\n\n", self.k);
        md.push_str("| reference | query | query label | queried | called (share) |\n|---|---|---|---:|---|\n");
        for ((a, b, lb), called) in self.cells.iter().take(REPORT_LINES) {
            let total: u64 = called.values().sum();
            let mut ranked: Vec<(&u32, &u64)> = called.iter().collect();
            ranked.sort_by(|x, y| y.1.cmp(x.1).then(x.0.cmp(y.0)));
            let shown: Vec<String> = ranked.iter().take(3).map(|(l, n)| format!("{} {:.0} %", self.name(**l), **n as f64 * 100.0 / total as f64)).collect();
            let _ = writeln!(md, "| {a} | {b} | {} | {total} | {} |", self.name(*lb), shown.join(", "));
        }
        md.push('\n');
        md
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majority_breaks_ties_by_the_nearest_neighbour() {
        assert_eq!(majority(&[(1, 0.1), (2, 0.2), (2, 0.3)]), 2);
        assert_eq!(majority(&[(1, 0.3), (2, 0.1), (1, 0.4), (2, 0.5)]), 2);
        assert_eq!(majority(&[]), u32::MAX);
    }
}
