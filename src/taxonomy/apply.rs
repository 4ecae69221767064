//! `nerprep map`: fill `entities.archetype` of a samples table from one or more mappings,
//! and report how much of the data the mappings cover.
//!
//! The table is streamed batch by batch into a new table (atomic, like every output), so
//! memory stays bounded. Labels are looked up exactly first (label or alias, mappings in
//! the order given, the first that knows a label wins); with `normalize`, a label that
//! differs only in case, spaces or underscores from a mapped one is accepted and reported.

use super::files::Mapping;
use super::{normalize_label, TaxonomyError, MISC};
use crate::io::side_path;
use crate::model::schema::{batch_to_sample_rows, check_samples_schema, samples_schema, samples_to_batch};
use crate::model::{QuarantineRecord, Sample};
use crate::provenance::Provenance;
use crate::report::Counts;
use crate::table::{open_batches, BatchWriter, TableError, TableWriter, BATCH_ROWS};
use arrow_array::{BooleanArray, RecordBatch};
use arrow_schema::SchemaRef;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// What to do with an entity whose label no mapping knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum UnmappedPolicy {
    /// Refuse: write no table, report the unmapped types (exit 1).
    Error,
    /// Give it the `Misc` archetype (counted separately from real mappings).
    Misc,
    /// Leave its archetype as it was (null unless mapped before).
    Keep,
}

impl FromStr for UnmappedPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "error" => Ok(UnmappedPolicy::Error),
            "misc" => Ok(UnmappedPolicy::Misc),
            "keep" => Ok(UnmappedPolicy::Keep),
            _ => Err(format!("unknown policy `{s}`; expected error, misc or keep")),
        }
    }
}

/// Parameters of `map` (flags and the recipe's `map` section).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct MapParams {
    /// Mapping files (mappings/*.yaml), consulted in order: the first that knows a label wins.
    #[arg(long, short, required = true)]
    pub mapping: Vec<PathBuf>,
    /// Entities whose label no mapping knows: error (write nothing, exit 1), misc (give
    /// them Misc), keep (leave their archetype as it was, usually empty).
    #[arg(long, default_value = "keep")]
    pub unmapped: UnmappedPolicy,
    /// Also match labels differing only in case, whitespace or underscores (each such hit
    /// is listed in the report).
    #[arg(long)]
    pub normalize: bool,
    /// How many unmapped types the Markdown report lists.
    #[arg(long, default_value_t = 20)]
    pub top: usize,
}

impl Default for MapParams {
    fn default() -> Self {
        MapParams { mapping: Vec::new(), unmapped: UnmappedPolicy::Keep, normalize: false, top: 20 }
    }
}

impl crate::params::StageParams for MapParams {
    const STAGE: &'static str = "map";
    type Valid = MapParams;

    fn check(&self) -> Result<MapParams, crate::params::ParamsError> {
        let mut c = crate::params::Checker::new(Self::STAGE);
        c.require(!self.mapping.is_empty(), "mapping", "needs at least one mapping file");
        let mut seen = BTreeSet::new();
        for m in &self.mapping {
            c.require(seen.insert(m), "mapping", format!("names {} twice", m.display()));
        }
        c.finish().map(|()| self.clone())
    }
}

/// Settings of the map stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapOptions {
    /// What happens to entities no mapping knows.
    pub unmapped: UnmappedPolicy,
    /// Also match labels that differ only in case, whitespace or underscores.
    pub normalize: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    archetype: String,
    spelling: String,
    mapping: String,
    reviewed: bool,
}

/// How one label resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Resolution {
    Exact(Target),
    Normalized(Target),
    /// Normalised variants exist but map to different archetypes.
    Ambiguous(Vec<String>),
    Unmapped,
}

/// Looks labels up in several mappings at once.
///
/// # Example
/// ```
/// use nerprep::taxonomy::{Mapping, Resolver};
/// let root = env!("CARGO_MANIFEST_DIR");
/// let iepile = Mapping::load(format!("{root}/mappings/iepile.yaml")).unwrap();
/// let r = Resolver::new(&[iepile]);
/// assert_eq!(r.archetype_of("machanical property", false), Some("Computer_Science"));
/// assert_eq!(r.archetype_of("Machanical_Property", false), None);
/// assert_eq!(r.archetype_of("Machanical_Property", true), Some("Computer_Science"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Resolver {
    exact: BTreeMap<String, Target>,
    normalized: BTreeMap<String, Vec<Target>>,
    conflicts: Vec<String>,
}

impl Resolver {
    /// Indexes the labels and aliases of `mappings`; earlier mappings win.
    pub fn new(mappings: &[Mapping]) -> Resolver {
        let mut r = Resolver::default();
        for m in mappings {
            for (spelling, e) in m.spellings() {
                let t = Target {
                    archetype: e.archetype.clone(),
                    spelling: spelling.to_string(),
                    mapping: m.name.clone(),
                    reviewed: e.reviewed,
                };
                match r.exact.get(spelling) {
                    Some(first) if first.archetype != t.archetype => r.conflicts.push(format!(
                        "`{spelling}`: {} says {}, {} says {}; using {}",
                        first.mapping, first.archetype, t.mapping, t.archetype, first.archetype
                    )),
                    Some(_) => {}
                    None => {
                        r.normalized.entry(normalize_label(spelling)).or_default().push(t.clone());
                        r.exact.insert(spelling.to_string(), t);
                    }
                }
            }
        }
        r
    }

    fn resolve(&self, label: &str, normalize: bool) -> Resolution {
        if let Some(t) = self.exact.get(label) {
            return Resolution::Exact(t.clone());
        }
        if !normalize {
            return Resolution::Unmapped;
        }
        let Some(candidates) = self.normalized.get(&normalize_label(label)) else {
            return Resolution::Unmapped;
        };
        let archetypes: BTreeSet<&str> = candidates.iter().map(|t| t.archetype.as_str()).collect();
        if archetypes.len() > 1 {
            let mut names: Vec<String> = candidates.iter().map(|t| format!("{} ({})", t.spelling, t.archetype)).collect();
            names.sort();
            return Resolution::Ambiguous(names);
        }
        let best = candidates.iter().min_by(|a, b| a.spelling.cmp(&b.spelling)).cloned();
        best.map(Resolution::Normalized).unwrap_or(Resolution::Unmapped)
    }

    /// The archetype of `label`, exactly or (with `normalize`) up to case/space/underscore.
    pub fn archetype_of(&self, label: &str, normalize: bool) -> Option<&str> {
        match self.resolve(label, normalize) {
            Resolution::Exact(t) | Resolution::Normalized(t) => {
                self.exact.get(&t.spelling).map(|t| t.archetype.as_str())
            }
            _ => None,
        }
    }

    /// Labels the mappings disagree on (the first mapping given wins).
    pub fn conflicts(&self) -> &[String] {
        &self.conflicts
    }
}

/// A data label matched only after normalisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NormalizedHit {
    /// The label as the data spells it.
    pub label: String,
    /// The mapping's spelling it matched.
    pub matched: String,
    /// The archetype given.
    pub archetype: String,
    /// The mapping that has it.
    pub mapping: String,
    /// Entities mapped this way.
    pub entities: u64,
}

/// A data label no mapping covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnmappedType {
    /// The label as the data spells it.
    pub label: String,
    /// Entities with it.
    pub entities: u64,
    /// Samples with at least one such entity.
    pub samples: u64,
    /// The first sample (table order) that has it, to look it up.
    pub first_sample: String,
    /// Normalised variants that map to different archetypes (why `--normalize` did not help).
    pub ambiguous: Vec<String>,
}

/// How much of a table the mappings cover.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coverage {
    /// The table mapped.
    pub input: String,
    /// The mappings used, in precedence order (`name (path)`).
    pub mappings: Vec<String>,
    /// The unmapped policy.
    pub unmapped_policy: UnmappedPolicy,
    /// Whether normalised matching was on.
    pub normalize: bool,
    /// Samples read.
    pub samples: u64,
    /// Entities read.
    pub entities: u64,
    /// Entities mapped by exact label or alias.
    pub entities_exact: u64,
    /// Entities mapped after normalisation.
    pub entities_normalized: u64,
    /// Entities given `Misc` by the unmapped policy.
    pub entities_defaulted_misc: u64,
    /// Entities left without a mapping of their label.
    pub entities_unmapped: u64,
    /// Mapped entities whose entry is an unreviewed draft.
    pub entities_via_unreviewed: u64,
    /// Share of entities mapped (exact + normalised), 0..1, four decimals.
    pub entity_share: f64,
    /// Distinct labels in the data.
    pub types: u64,
    /// Distinct labels mapped (exact or normalised).
    pub types_mapped: u64,
    /// Share of distinct labels mapped, 0..1, four decimals.
    pub type_share: f64,
    /// Entities per archetype after mapping (the policy's `Misc` included).
    pub by_archetype: BTreeMap<String, u64>,
    /// Labels matched only after normalisation.
    pub normalized_hits: Vec<NormalizedHit>,
    /// Unmapped labels, most frequent first.
    pub unmapped_types: Vec<UnmappedType>,
    /// Labels the mappings disagree on.
    pub conflicts: Vec<String>,
}

/// What [`map_table`] did.
#[derive(Debug, Clone)]
pub struct MapOutcome {
    /// Samples in, out, skipped; entity tallies as notes.
    pub counts: Counts,
    /// The coverage report.
    pub coverage: Coverage,
    /// False when the policy was `error` and some label was unmapped: nothing was written.
    pub written: bool,
}

#[derive(Default)]
struct Tally {
    entities: u64,
    samples: u64,
    first_sample: String,
}

fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 { 1.0 } else { ((part as f64 / whole as f64) * 10_000.0).round() / 10_000.0 }
}

/// Maps every entity of the samples table at `input` and writes the result to `output`.
///
/// `mappings` are consulted in order. With [`UnmappedPolicy::Error`], an unmapped label
/// leaves `output` untouched and [`MapOutcome::written`] false; the coverage report says
/// which labels are missing.
pub fn map_table(
    input: &Path,
    output: &Path,
    mappings: &[(Mapping, String)],
    options: MapOptions,
    mut provenance: Provenance,
) -> Result<MapOutcome, TaxonomyError> {
    let mut mapper = Mapper::new(input, mappings, options);
    let mut counts = Counts::new("map");
    let builder = open_batches(input)?;
    check_samples_schema(builder.schema()).map_err(|message| TableError::Layout { path: input.to_path_buf(), message })?;
    let out_schema = mapped_schema(builder.schema());
    let reader = builder.with_batch_size(BATCH_ROWS).build().map_err(|e| TableError::Parquet { path: input.to_path_buf(), source: e })?;
    let mut writer = BatchWriter::create(output, out_schema.clone(), &BTreeMap::new())?;
    let mut quarantine = TableWriter::<QuarantineRecord>::create(side_path(output, "quarantine"))?;
    let schema_error = |e| TableError::Schema { path: input.to_path_buf(), source: e };
    let mut row = 0u64;
    for batch in reader {
        let batch = batch.map_err(schema_error)?;
        let rows = batch_to_sample_rows(&batch).map_err(schema_error)?;
        let mut keep = Vec::with_capacity(rows.len());
        let mut samples = Vec::with_capacity(rows.len());
        for r in rows {
            counts.read += 1;
            match r {
                Ok(mut s) => {
                    mapper.map(&mut s);
                    keep.push(true);
                    samples.push(s);
                }
                Err(e) => {
                    keep.push(false);
                    counts.quarantine(e.reason);
                    quarantine.push(QuarantineRecord::new(input.display().to_string(), None, Some(row + keep.len() as u64 - 1), e.reason, e.message, ""))?;
                }
            }
        }
        row += keep.len() as u64;
        let mapped = with_mapped_entities(&batch, &keep, &samples, &out_schema).map_err(schema_error)?;
        writer.write(&mapped)?;
    }
    let cov = mapper.finish(&mut counts);
    let refuse = options.unmapped == UnmappedPolicy::Error && !cov.unmapped_types.is_empty();
    if refuse {
        counts.skip("not_written:unmapped_types", counts.read - counts.quarantined_total());
        // The temporary files are removed; `output` is left as it was.
    } else {
        counts.written = counts.read - counts.quarantined_total();
        provenance.counts = Some(counts.clone());
        let closed = vec![writer.close(provenance.clone())?, quarantine.close(provenance)?];
        crate::table::commit_all(closed)?;
    }
    Ok(MapOutcome { counts, coverage: cov, written: !refuse })
}

/// The output schema of `map`: the input's columns, in order, with `entities` in the
/// canonical type (which has the `archetype` field map fills).
fn mapped_schema(input: &arrow_schema::Schema) -> SchemaRef {
    let canonical = samples_schema();
    let fields: Vec<arrow_schema::FieldRef> = input
        .fields()
        .iter()
        .map(|f| match canonical.field_with_name(f.name()) {
            Ok(c) if f.name() == "entities" => std::sync::Arc::new(c.clone()),
            _ => f.clone(),
        })
        .collect();
    std::sync::Arc::new(arrow_schema::Schema::new_with_metadata(fields, input.metadata().clone()))
}

/// `batch` without the rows `keep` rejects, its `entities` column replaced by the mapped
/// entities of `samples` (the kept rows, in order); every other column passes unchanged.
fn with_mapped_entities(
    batch: &RecordBatch,
    keep: &[bool],
    samples: &[Sample],
    schema: &SchemaRef,
) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let kept = if keep.iter().all(|&k| k) {
        batch.clone()
    } else {
        arrow_select::filter::filter_record_batch(batch, &BooleanArray::from(keep.to_vec()))?
    };
    let entities = samples_to_batch(samples)?.column_by_name("entities").cloned().ok_or_else(|| {
        arrow_schema::ArrowError::SchemaError("the canonical schema has an entities column".into())
    })?;
    let columns = kept
        .schema()
        .fields()
        .iter()
        .zip(kept.columns())
        .map(|(f, c)| if f.name() == "entities" { entities.clone() } else { c.clone() })
        .collect();
    RecordBatch::try_new(schema.clone(), columns)
}

/// Fills archetypes sample by sample and gathers the coverage report.
struct Mapper {
    resolver: Resolver,
    options: MapOptions,
    cache: BTreeMap<String, Resolution>,
    cov: Coverage,
    normalized: BTreeMap<String, NormalizedHit>,
    unmapped: BTreeMap<String, (Tally, Vec<String>)>,
}

impl Mapper {
    fn new(input: &Path, mappings: &[(Mapping, String)], options: MapOptions) -> Mapper {
        let resolver = Resolver::new(&mappings.iter().map(|(m, _)| m.clone()).collect::<Vec<_>>());
        let cov = Coverage {
            input: input.display().to_string(),
            mappings: mappings.iter().map(|(m, p)| format!("{} ({p})", m.name)).collect(),
            unmapped_policy: options.unmapped,
            normalize: options.normalize,
            samples: 0,
            entities: 0,
            entities_exact: 0,
            entities_normalized: 0,
            entities_defaulted_misc: 0,
            entities_unmapped: 0,
            entities_via_unreviewed: 0,
            entity_share: 0.0,
            types: 0,
            types_mapped: 0,
            type_share: 0.0,
            by_archetype: BTreeMap::new(),
            normalized_hits: Vec::new(),
            unmapped_types: Vec::new(),
            conflicts: resolver.conflicts().to_vec(),
        };
        Mapper { resolver, options, cache: BTreeMap::new(), cov, normalized: BTreeMap::new(), unmapped: BTreeMap::new() }
    }

    /// Fills the archetypes of one sample's entities.
    fn map(&mut self, s: &mut Sample) {
        let Mapper { resolver, options, cache, cov, normalized, unmapped } = self;
        cov.samples += 1;
        let mut seen_unmapped = BTreeSet::<String>::new();
        for e in &mut s.entities {
            cov.entities += 1;
            let r: &Resolution = cache.entry(e.label.clone()).or_insert_with(|| resolver.resolve(&e.label, options.normalize));
            match r {
                Resolution::Exact(t) | Resolution::Normalized(t) => {
                    if matches!(r, Resolution::Exact(_)) {
                        cov.entities_exact += 1;
                    } else {
                        cov.entities_normalized += 1;
                        normalized
                            .entry(e.label.clone())
                            .or_insert_with(|| NormalizedHit {
                                label: e.label.clone(),
                                matched: t.spelling.clone(),
                                archetype: t.archetype.clone(),
                                mapping: t.mapping.clone(),
                                entities: 0,
                            })
                            .entities += 1;
                    }
                    if !t.reviewed {
                        cov.entities_via_unreviewed += 1;
                    }
                    e.archetype = Some(t.archetype.clone());
                }
                Resolution::Ambiguous(_) | Resolution::Unmapped => {
                    let ambiguous = match r {
                        Resolution::Ambiguous(a) => a.clone(),
                        _ => Vec::new(),
                    };
                    let (tally, _) = unmapped
                        .entry(e.label.clone())
                        .or_insert_with(|| (Tally { first_sample: s.id.clone(), ..Tally::default() }, ambiguous));
                    tally.entities += 1;
                    if seen_unmapped.insert(e.label.clone()) {
                        tally.samples += 1;
                    }
                    match options.unmapped {
                        UnmappedPolicy::Misc => {
                            cov.entities_defaulted_misc += 1;
                            e.archetype = Some(MISC.to_string());
                        }
                        _ => cov.entities_unmapped += 1,
                    }
                }
            }
            if let Some(a) = &e.archetype {
                *cov.by_archetype.entry(a.clone()).or_default() += 1;
            }
        }
    }

    /// The coverage report, with the entity tallies noted in `counts`.
    fn finish(self, counts: &mut Counts) -> Coverage {
        let Mapper { cache, mut cov, normalized, unmapped, .. } = self;
        let mapped_entities = cov.entities_exact + cov.entities_normalized;
        cov.entity_share = share(mapped_entities, cov.entities);
        cov.types = cache.len() as u64;
        cov.types_mapped = cache.values().filter(|r| matches!(r, Resolution::Exact(_) | Resolution::Normalized(_))).count() as u64;
        cov.type_share = share(cov.types_mapped, cov.types);
        cov.normalized_hits = normalized.into_values().collect();
        cov.unmapped_types = unmapped
            .into_iter()
            .map(|(label, (t, ambiguous))| UnmappedType {
                label,
                entities: t.entities,
                samples: t.samples,
                first_sample: t.first_sample,
                ambiguous,
            })
            .collect();
        cov.unmapped_types.sort_by(|a, b| b.entities.cmp(&a.entities).then_with(|| a.label.cmp(&b.label)));

        counts.note("entities_mapped_exact", cov.entities_exact);
        counts.note("entities_mapped_normalized", cov.entities_normalized);
        counts.note("entities_defaulted_misc", cov.entities_defaulted_misc);
        counts.note("entities_unmapped", cov.entities_unmapped);
        counts.note("entities_via_unreviewed_entries", cov.entities_via_unreviewed);
        cov
    }
}

/// The map stage: loads and checks the mappings `params` name (against the archetypes each
/// names), then maps `input` into `output` with provenance (parameters, the table and every
/// mapping file as inputs).
pub fn map_stage(params: &MapParams, input: &Path, output: &Path) -> Result<MapOutcome, TaxonomyError> {
    let mut mappings = Vec::new();
    for path in &params.mapping {
        let (m, _) = Mapping::load_checked(path)?;
        mappings.push((m, path.display().to_string()));
    }
    let mut provenance = Provenance::of(params);
    provenance.inputs(std::iter::once(input).chain(params.mapping.iter().map(PathBuf::as_path)))?;
    let options = MapOptions { unmapped: params.unmapped, normalize: params.normalize };
    map_table(input, output, &mappings, options, provenance)
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

impl Coverage {
    /// The report as Markdown: totals, entities per archetype, normalised hits, and the
    /// `top` most frequent unmapped types.
    pub fn to_markdown(&self, top: usize) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# Archetype coverage of `{}`\n", self.input);
        let _ = writeln!(out, "Mappings (first wins): {}", self.mappings.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", "));
        let policy = serde_json::to_value(self.unmapped_policy).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
        let _ = writeln!(out, "Unmapped policy: `{policy}`; normalised matching: {}\n", if self.normalize { "on" } else { "off" });
        let _ = writeln!(out, "| measure | value |\n|---|---|");
        let rows = [
            ("samples", self.samples.to_string()),
            ("entities", self.entities.to_string()),
            ("entities mapped", format!("{} ({})", self.entities_exact + self.entities_normalized, pct(self.entity_share))),
            ("… by exact label or alias", self.entities_exact.to_string()),
            ("… after normalisation", self.entities_normalized.to_string()),
            ("… through unreviewed entries", self.entities_via_unreviewed.to_string()),
            ("entities defaulted to Misc", self.entities_defaulted_misc.to_string()),
            ("entities left unmapped", self.entities_unmapped.to_string()),
            ("types (distinct labels)", self.types.to_string()),
            ("types mapped", format!("{} ({})", self.types_mapped, pct(self.type_share))),
        ];
        for (k, v) in rows {
            let _ = writeln!(out, "| {k} | {v} |");
        }
        if !self.by_archetype.is_empty() {
            let _ = writeln!(out, "\n## Entities per archetype\n\n| archetype | entities |\n|---|---|");
            for (a, n) in &self.by_archetype {
                let _ = writeln!(out, "| {a} | {n} |");
            }
        }
        if !self.normalized_hits.is_empty() {
            let _ = writeln!(out, "\n## Matched after normalisation\n\n| data label | mapping label | archetype | mapping | entities |\n|---|---|---|---|---|");
            for h in &self.normalized_hits {
                let _ = writeln!(out, "| `{}` | `{}` | {} | {} | {} |", h.label, h.matched, h.archetype, h.mapping, h.entities);
            }
        }
        if !self.unmapped_types.is_empty() {
            let shown = self.unmapped_types.len().min(top);
            let _ = writeln!(
                out,
                "\n## Unmapped types (top {shown} of {})\n\n| label | entities | samples | first sample | note |\n|---|---|---|---|---|",
                self.unmapped_types.len()
            );
            for u in &self.unmapped_types[..shown] {
                let note = if u.ambiguous.is_empty() { String::new() } else { format!("ambiguous: {}", u.ambiguous.join(", ")) };
                let _ = writeln!(out, "| `{}` | {} | {} | `{}` | {note} |", u.label, u.entities, u.samples, u.first_sample);
            }
        }
        if !self.conflicts.is_empty() {
            let _ = writeln!(out, "\n## Mappings that disagree\n");
            for c in &self.conflicts {
                let _ = writeln!(out, "- {c}");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(name: &str, body: &str) -> Mapping {
        let text = format!("kind: mapping\nname: {name}\nversion: '1'\ntaxonomy: a.yaml\narchetypes:\n{body}");
        Mapping::parse(&text, name).unwrap()
    }

    #[test]
    fn exact_first_then_normalised_and_ambiguity_is_refused() {
        let a = mapping("a", "  Person: [Musical_Artist]\n  Location: [place, Place X]\n  Misc: [placex]\n");
        let r = Resolver::new(&[a]);
        assert_eq!(r.resolve("Musical_Artist", false), Resolution::Exact(r.exact["Musical_Artist"].clone()));
        assert!(matches!(r.resolve("musical artist", true), Resolution::Normalized(t) if t.archetype == "Person"));
        assert_eq!(r.resolve("musical artist", false), Resolution::Unmapped);
        assert!(matches!(r.resolve("PLACE x", true), Resolution::Ambiguous(v) if v.len() == 2));
    }

    #[test]
    fn earlier_mappings_win_and_disagreements_are_recorded() {
        let a = mapping("a", "  Person: [x]\n");
        let b = mapping("b", "  Misc: [x, y]\n");
        let r = Resolver::new(&[a, b]);
        assert_eq!(r.archetype_of("x", false), Some("Person"));
        assert_eq!(r.archetype_of("y", false), Some("Misc"));
        assert_eq!(r.conflicts().len(), 1);
    }
}
