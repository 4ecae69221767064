//! Inter-annotator agreement (`nerprep agreement`): how far annotators of the same documents
//! agree, the figure a dataset paper reports.
//!
//! Data enters as a samples table in which samples carry `meta.annotator` and
//! `meta.document` (what the XMI reader records for an INCEpTION project export read with
//! `--annotators all` or a list of users). Samples are versions of one *unit* when they share
//! dataset, document and record suffix (the view or sentence: the id after its last `:`).
//! For every pair of annotators (sorted by name, the first taken as the reference) and every
//! unit both annotated, the entities are compared as sets of `(span, label)`: strict span +
//! label matching, as in `nerprep eval` ([`crate::eval::metrics`]). Precision is the share of
//! the second annotator's entities the first has, recall the converse, F1 is symmetric.
//! Scores are given overall, per label and per layer; every disagreement is listed with both
//! versions; label confusions on the same span go into a matrix ([`ConfusionMatrix`]) pooled
//! over the pairs. [`report`] writes Markdown, JSON, CSV (`first\second` header) and a heatmap.
//!
//! Accounting: `read` = samples, `written` = samples compared with at least one other
//! annotator's version, skipped: `no_annotator` (no `meta.annotator`/`meta.document`),
//! `single_annotator` (nobody else annotated the unit), `invalid_row:<reason>`. A unit whose
//! versions have different texts cannot be compared (note `text_differs`).

pub mod report;

use crate::eval::confusion::{ConfusionMatrix, ConfusionTable};
use crate::eval::metrics::{Prf, Scores, Tally, TypeTallies};
use crate::io::IoError;
use crate::model::{Sample, Span};
use crate::params::{Checker, ParamsError, StageParams};
use crate::provenance::Provenance;
use crate::report::Counts;
use crate::table::{TableError, TableReader};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layer name of entities that have none (tables of formats without layers).
pub const NO_LAYER: &str = "-";

/// Parameters of `agreement` (flags and the recipe's `agreement` section).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct AgreementParams {
    /// The most disagreements per pair of annotators listed in report.md (report.json lists
    /// them all).
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub max_listed: usize,
}

impl Default for AgreementParams {
    fn default() -> Self {
        AgreementParams { max_listed: 100 }
    }
}

/// Checked agreement parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidAgreementParams {
    /// See [`AgreementParams::max_listed`].
    pub max_listed: usize,
    /// The parameters as given, for provenance.
    pub params: AgreementParams,
}

impl StageParams for AgreementParams {
    const STAGE: &'static str = "agreement";
    type Valid = ValidAgreementParams;

    fn check(&self) -> Result<ValidAgreementParams, ParamsError> {
        let c = Checker::new(Self::STAGE);
        c.finish()?;
        Ok(ValidAgreementParams { max_listed: self.max_listed, params: self.clone() })
    }
}

/// A failure that stops the agreement report.
#[derive(Debug, thiserror::Error)]
pub enum AgreementError {
    /// The table could not be read.
    #[error(transparent)]
    Table(#[from] TableError),
    /// The report could not be written.
    #[error(transparent)]
    Report(#[from] report::ReportError),
    /// Nothing to compare: no unit was annotated by two annotators.
    #[error("{path}: no document was annotated by two annotators ({annotators} annotator(s) found); ingest the project with --annotators all (or a list of users) so that samples carry meta.annotator and meta.document")]
    NothingToCompare {
        /// The table.
        path: PathBuf,
        /// How many distinct annotators the table has.
        annotators: usize,
    },
}

impl From<IoError> for AgreementError {
    fn from(e: IoError) -> Self {
        AgreementError::Report(report::ReportError::Io(e))
    }
}

/// One annotation in a disagreement: label and layer.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Version {
    /// The label.
    pub label: String,
    /// The layer ([`NO_LAYER`] when the entity has none).
    pub layer: String,
}

/// A span the two annotators labelled differently (or only one of them marked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Disagreement {
    /// The document.
    pub document: String,
    /// The unit within it (view or sentence suffix of the sample id).
    pub unit: String,
    /// The span (code points).
    pub span: Span,
    /// The text under the span.
    pub text: String,
    /// What the first annotator has on the span (empty: nothing).
    pub first: Vec<Version>,
    /// What the second annotator has on it.
    pub second: Vec<Version>,
}

/// The agreement of one pair of annotators.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairAgreement {
    /// The first annotator (the reference of precision and recall).
    pub first: String,
    /// The second annotator.
    pub second: String,
    /// Units both annotated.
    pub units: u64,
    /// Micro, macro and per-label scores.
    pub scores: Scores,
    /// Scores per layer (entities matched within the layer).
    pub per_layer: BTreeMap<String, Prf>,
    /// Every disagreement, by document, unit and span.
    pub disagreements: Vec<Disagreement>,
    /// First × second labels on the same span (`O`: none).
    pub confusion: ConfusionTable,
}

/// Everything `nerprep agreement` reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgreementReport {
    /// The annotators found, sorted.
    pub annotators: Vec<String>,
    /// Units annotated by at least two annotators.
    pub units: u64,
    /// Micro scores pooled over every pair.
    pub pooled: Prf,
    /// One entry per pair of annotators with a unit in common.
    pub pairs: Vec<PairAgreement>,
    /// The confusion matrix pooled over the pairs (rows: the pair's first annotator).
    pub confusion: ConfusionTable,
    /// Where the samples went.
    pub counts: Counts,
}

/// One annotator's version of a unit.
struct Annotated {
    annotator: String,
    text: String,
    /// (span, label, layer, text)
    entities: Vec<(Span, String, String, String)>,
}

type UnitKey = (String, String, String);

/// The unit of a sample: (dataset, document, record suffix), or `None` without annotator.
fn unit_of(s: &Sample) -> Option<(UnitKey, String)> {
    let annotator = s.meta.get("annotator")?.as_str()?.to_string();
    let document = s.meta.get("document")?.as_str()?.to_string();
    let suffix = s.id.rsplit_once(':').map(|(_, r)| r.to_string()).unwrap_or_default();
    Some(((s.dataset.clone(), document, suffix), annotator))
}

/// The distinct `(span, label)` pairs of `entities` in `layer` (all when `None`).
fn keys<'a>(entities: &'a [(Span, String, String, String)], layer: Option<&str>) -> BTreeSet<(Span, &'a str)> {
    entities.iter().filter(|e| layer.is_none_or(|l| e.2 == l)).map(|e| (e.0, e.1.as_str())).collect()
}

/// Adds the comparison of `b` against `a` to `tallies`, each pair counted under `key(label)`.
fn tally_into(tallies: &mut TypeTallies, a: &BTreeSet<(Span, &str)>, b: &BTreeSet<(Span, &str)>, key: impl Fn(&str) -> String) {
    for k in a.union(b) {
        let t = tallies.entry(&key(k.1));
        match (a.contains(k), b.contains(k)) {
            (true, true) => t.tp += 1,
            (false, true) => t.fp += 1,
            _ => t.fn_ += 1,
        }
    }
}

/// The spans on which `a` and `b` differ, with both versions.
fn disagreements(key: &UnitKey, a: &Annotated, b: &Annotated) -> Vec<Disagreement> {
    let mut by_span: BTreeMap<Span, (BTreeSet<Version>, BTreeSet<Version>, &str)> = BTreeMap::new();
    for (side, version) in [(0, a), (1, b)] {
        for (span, label, layer, text) in &version.entities {
            let slot = by_span.entry(*span).or_insert_with(|| (BTreeSet::new(), BTreeSet::new(), text.as_str()));
            let v = Version { label: label.clone(), layer: layer.clone() };
            if side == 0 { slot.0.insert(v) } else { slot.1.insert(v) };
        }
    }
    let labels = |set: &BTreeSet<Version>| set.iter().map(|v| v.label.clone()).collect::<BTreeSet<_>>();
    by_span
        .into_iter()
        .filter(|(_, (x, y, _))| labels(x) != labels(y))
        .map(|(span, (x, y, text))| Disagreement {
            document: key.1.clone(),
            unit: key.2.clone(),
            span,
            text: text.to_string(),
            first: x.into_iter().collect(),
            second: y.into_iter().collect(),
        })
        .collect()
}

/// Accumulates one pair of annotators.
#[derive(Default)]
struct PairState {
    units: u64,
    labels: TypeTallies,
    layers: TypeTallies,
    confusion: ConfusionMatrix,
    disagreements: Vec<Disagreement>,
}

impl PairState {
    fn add(&mut self, key: &UnitKey, a: &Annotated, b: &Annotated) {
        self.units += 1;
        let (ka, kb) = (keys(&a.entities, None), keys(&b.entities, None));
        tally_into(&mut self.labels, &ka, &kb, str::to_string);
        let layers: BTreeSet<&str> = a.entities.iter().chain(&b.entities).map(|e| e.2.as_str()).collect();
        for layer in layers {
            let (la, lb) = (keys(&a.entities, Some(layer)), keys(&b.entities, Some(layer)));
            tally_into(&mut self.layers, &la, &lb, |_| layer.to_string());
        }
        let (pa, pb): (Vec<(Span, &str)>, Vec<(Span, &str)>) = (ka.into_iter().collect(), kb.into_iter().collect());
        self.confusion.add_sample(&pa, &pb, &[]);
        self.disagreements.extend(disagreements(key, a, b));
    }
}

/// What [`agreement`] did.
#[derive(Debug, Clone)]
pub struct AgreementOutcome {
    /// The report (also written).
    pub report: AgreementReport,
    /// The files written.
    pub files: Vec<PathBuf>,
}

/// Computes the agreement of the annotators of `table` (see the module docs) and writes the
/// report files into `out_dir`.
pub fn agreement(table: &Path, params: &ValidAgreementParams, out_dir: &Path) -> Result<AgreementOutcome, AgreementError> {
    let mut counts = Counts::new("agreement");
    let mut units: BTreeMap<UnitKey, Vec<Annotated>> = BTreeMap::new();
    let mut reader = TableReader::<Sample>::open(table)?;
    while let Some(batch) = reader.next_checked() {
        let batch = batch?;
        for q in &batch.rejected {
            counts.read += 1;
            counts.skip(&format!("invalid_row:{}", q.reason), 1);
        }
        for s in batch.rows {
            counts.read += 1;
            let Some((key, annotator)) = unit_of(&s) else {
                counts.skip("no_annotator", 1);
                continue;
            };
            let entities = s
                .entities
                .into_iter()
                .map(|e| (e.span, e.label, e.layer.unwrap_or_else(|| NO_LAYER.to_string()), e.text))
                .collect();
            units.entry(key).or_default().push(Annotated { annotator, text: s.text, entities });
        }
    }
    let annotators: BTreeSet<String> = units.values().flatten().map(|v| v.annotator.clone()).collect();
    let mut pairs: BTreeMap<(String, String), PairState> = BTreeMap::new();
    let mut shared = 0;
    for (key, mut versions) in units {
        versions.sort_by(|x, y| x.annotator.cmp(&y.annotator));
        versions.dedup_by(|x, y| {
            let same = x.annotator == y.annotator;
            if same {
                counts.skip("duplicate_annotator_version", 1);
            }
            same
        });
        if versions.len() < 2 {
            counts.skip("single_annotator", versions.len() as u64);
            continue;
        }
        shared += 1;
        counts.written += versions.len() as u64;
        for (i, a) in versions.iter().enumerate() {
            for b in &versions[i + 1..] {
                if a.text != b.text {
                    counts.note("text_differs", 1);
                    continue;
                }
                pairs.entry((a.annotator.clone(), b.annotator.clone())).or_default().add(&key, a, b);
            }
        }
    }
    if pairs.is_empty() {
        return Err(AgreementError::NothingToCompare { path: table.to_path_buf(), annotators: annotators.len() });
    }
    let mut pooled = Tally::default();
    let mut confusion = ConfusionMatrix::default();
    let pairs: Vec<PairAgreement> = pairs
        .into_iter()
        .map(|((first, second), state)| {
            pooled.add(state.labels.pooled());
            confusion.absorb(&state.confusion);
            PairAgreement {
                first,
                second,
                units: state.units,
                scores: state.labels.scores(),
                per_layer: state.layers.scores().per_type,
                disagreements: state.disagreements,
                confusion: state.confusion.table(),
            }
        })
        .collect();
    let report = AgreementReport {
        annotators: annotators.into_iter().collect(),
        units: shared,
        pooled: pooled.scores(),
        pairs,
        confusion: confusion.table(),
        counts,
    };
    let mut provenance = Provenance::of(&params.params);
    provenance.input(table)?;
    provenance.counts = Some(report.counts.clone());
    let files = report::write_report(out_dir, &report, &confusion, params.max_listed, provenance)?;
    Ok(AgreementOutcome { report, files })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Entity, SourceFormat};

    fn version(annotator: &str, doc: &str, ents: &[(u32, u32, &str, &str)]) -> Sample {
        let text = "Ada met Bob in Rome";
        let mut s = Sample::new(format!("p/unknown/{doc}/{annotator}:0"), "p", SourceFormat::Xmi, "unknown", "en", text);
        for &(a, b, label, layer) in ents {
            let mut e = Entity::new(Span::new(a, b).unwrap(), label, &text[a as usize..b as usize]);
            e.layer = Some(layer.into());
            s.entities.push(e);
        }
        s.meta.insert("annotator".into(), annotator.into());
        s.meta.insert("document".into(), doc.into());
        s
    }

    #[test]
    fn pairs_score_strict_span_and_label_per_label_and_layer() {
        let dir = tempfile::tempdir().unwrap();
        let table = dir.path().join("t.parquet");
        let samples = vec![
            version("bob", "d", &[(0, 3, "PER", "NE"), (8, 11, "LOC", "NE"), (15, 19, "LOC", "Place")]),
            version("alice", "d", &[(0, 3, "PER", "NE"), (8, 11, "PER", "NE"), (15, 19, "LOC", "Place")]),
            version("carol", "other", &[(0, 3, "PER", "NE")]),
            Sample::new("x", "p", SourceFormat::Xmi, "unknown", "en", "no annotator"),
        ];
        let mut w = crate::table::TableWriter::<Sample>::create(&table).unwrap();
        for s in samples {
            w.push(s).unwrap();
        }
        w.finish(Provenance::new("test", serde_json::json!({}))).unwrap();
        let params = AgreementParams::default().check().unwrap();
        let out = agreement(&table, &params, &dir.path().join("report")).unwrap();
        let r = &out.report;
        assert_eq!(r.annotators, vec!["alice", "bob", "carol"]);
        assert_eq!((r.counts.read, r.counts.written), (4, 2));
        assert_eq!((r.counts.skipped["no_annotator"], r.counts.skipped["single_annotator"]), (1, 1));
        r.counts.check().unwrap();
        let p = &r.pairs[0];
        assert_eq!((p.first.as_str(), p.second.as_str(), p.units), ("alice", "bob", 1));
        assert_eq!(p.scores.micro.tally, Tally { tp: 2, fp: 1, fn_: 1 });
        assert_eq!(p.scores.micro.f1, 2.0 / 3.0);
        assert_eq!(p.per_layer["Place"].f1, 1.0);
        assert_eq!(p.per_layer["NE"].tally, Tally { tp: 1, fp: 1, fn_: 1 });
        assert_eq!(p.disagreements.len(), 1);
        let d = &p.disagreements[0];
        assert_eq!((d.text.as_str(), d.first[0].label.as_str(), d.second[0].label.as_str()), ("Bob", "PER", "LOC"));
        for f in report::FILES.iter().chain(&["provenance.json"]) {
            assert!(dir.path().join("report").join(f).exists(), "{f}");
        }
    }
}
