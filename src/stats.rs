//! Descriptive statistics of a samples table: how much there is, how it is labelled, and
//! where the data is awkward (overlapping and nested spans, unaligned mentions, quarantined
//! records). Streams the table once; memory grows with the number of groups, not rows.

use crate::io::side_path;
use crate::model::{QuarantineRecord, Sample};
use crate::report::Counts;
use crate::table::{read_counts, TableError, TableReader};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// A column to group the per-group table by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum GroupKey {
    /// The `dataset` column.
    Dataset,
    /// The `split` column.
    Split,
    /// The `lang` column.
    Lang,
    /// Entity labels: a sample counts once in every label it has entities of.
    Label,
}

impl std::str::FromStr for GroupKey {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "dataset" => Ok(GroupKey::Dataset),
            "split" => Ok(GroupKey::Split),
            "lang" => Ok(GroupKey::Lang),
            "label" => Ok(GroupKey::Label),
            _ => Err(format!("unknown group key `{s}`; expected dataset, split, lang or label")),
        }
    }
}

/// How a report is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize, schemars::JsonSchema, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ReportFormat {
    /// Markdown tables, for people and pull requests.
    #[default]
    Md,
    /// Pretty-printed JSON, for programs.
    Json,
}

/// Parameters of `stats` (flags and the recipe's `stats` section).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct StatsParams {
    /// Group the detail table by these columns: dataset, split, lang, label.
    #[arg(long, value_delimiter = ',', default_value = "label")]
    pub by: Vec<GroupKey>,
    /// Report format: md or json.
    #[arg(long, value_enum, default_value = "md")]
    pub format: ReportFormat,
}

impl Default for StatsParams {
    fn default() -> Self {
        StatsParams { by: vec![GroupKey::Label], format: ReportFormat::Md }
    }
}

impl crate::params::StageParams for StatsParams {
    const STAGE: &'static str = "stats";
    type Valid = StatsParams;

    fn check(&self) -> Result<StatsParams, crate::params::ParamsError> {
        let mut c = crate::params::Checker::new(Self::STAGE);
        let mut seen = std::collections::BTreeSet::new();
        for key in &self.by {
            c.require(seen.insert(*key), "by", format!("names {key:?} twice").to_lowercase());
        }
        c.finish().map(|()| self.clone())
    }
}

/// A distribution of lengths in code points, kept as a histogram.
#[derive(Debug, Clone, Default)]
pub struct Lengths(BTreeMap<u32, u64>);

/// Summary of a [`Lengths`] histogram.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LengthSummary {
    /// Shortest.
    pub min: u32,
    /// Median.
    pub p50: u32,
    /// 90th percentile.
    pub p90: u32,
    /// 99th percentile.
    pub p99: u32,
    /// Longest.
    pub max: u32,
    /// Mean, rounded to two decimals.
    pub mean: f64,
}

impl Lengths {
    fn add(&mut self, len: u32) {
        *self.0.entry(len).or_default() += 1;
    }

    fn count(&self) -> u64 {
        self.0.values().sum()
    }

    fn quantile(&self, q: f64) -> u32 {
        let n = self.count();
        let rank = ((q * n as f64).ceil() as u64).clamp(1, n.max(1));
        let mut seen = 0;
        for (&len, &c) in &self.0 {
            seen += c;
            if seen >= rank {
                return len;
            }
        }
        0
    }

    /// Min, percentiles (nearest rank), max and mean.
    pub fn summary(&self) -> LengthSummary {
        let n = self.count();
        if n == 0 {
            return LengthSummary::default();
        }
        let total: u64 = self.0.iter().map(|(&l, &c)| l as u64 * c).sum();
        LengthSummary {
            min: *self.0.keys().next().unwrap_or(&0),
            p50: self.quantile(0.5),
            p90: self.quantile(0.9),
            p99: self.quantile(0.99),
            max: *self.0.keys().next_back().unwrap_or(&0),
            mean: ((total as f64 / n as f64) * 100.0).round() / 100.0,
        }
    }
}

/// How a sample's spans relate to each other, counted in pairs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SpanRelations {
    /// Pairs that cross (share code points, neither contains the other).
    pub overlapping: u64,
    /// Pairs where one strictly contains the other.
    pub nested: u64,
    /// Pairs with the same span but different labels.
    pub same_span_other_label: u64,
    /// Pairs with the same span and label.
    pub duplicate: u64,
}

impl SpanRelations {
    /// Counts the relations among one sample's entities.
    pub fn of(sample: &Sample) -> SpanRelations {
        let mut r = SpanRelations::default();
        let mut order: Vec<usize> = (0..sample.entities.len()).collect();
        order.sort_by_key(|&i| (sample.entities[i].span.start(), std::cmp::Reverse(sample.entities[i].span.end())));
        for (k, &i) in order.iter().enumerate() {
            let a = &sample.entities[i];
            for &j in &order[k + 1..] {
                let b = &sample.entities[j];
                if b.span.start() >= a.span.end() {
                    break;
                }
                if a.span == b.span {
                    if a.label == b.label { r.duplicate += 1 } else { r.same_span_other_label += 1 }
                } else if a.span.contains(b.span) {
                    r.nested += 1;
                } else {
                    r.overlapping += 1;
                }
            }
        }
        r
    }

    fn add(&mut self, o: SpanRelations) {
        self.overlapping += o.overlapping;
        self.nested += o.nested;
        self.same_span_other_label += o.same_span_other_label;
        self.duplicate += o.duplicate;
    }
}

#[derive(Debug, Clone, Default)]
struct Acc {
    samples: u64,
    entities: u64,
    unaligned: u64,
    mention: Lengths,
}

/// One row of the per-group table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupRow {
    /// The group's values, in the order of the requested keys.
    pub key: Vec<String>,
    /// Samples in the group (for label groups: samples with an entity of that label).
    pub samples: u64,
    /// Entities in the group.
    pub entities: u64,
    /// Unaligned mentions in the group.
    pub unaligned: u64,
    /// Mention lengths in code points.
    pub mention_length: LengthSummary,
}

/// Everything `nerprep stats` reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stats {
    /// The table described.
    pub file: String,
    /// Rows of the table.
    pub samples: u64,
    /// Samples with at least one entity.
    pub samples_with_entities: u64,
    /// Entities in all samples.
    pub entities: u64,
    /// Distinct entity labels.
    pub labels: u64,
    /// Distinct datasets.
    pub datasets: u64,
    /// Unaligned mentions, by reason.
    pub unaligned: BTreeMap<String, u64>,
    /// Pairwise span relations within samples.
    pub spans: SpanRelations,
    /// Mention lengths over all entities, in code points.
    pub mention_length: LengthSummary,
    /// Text lengths over all samples, in code points.
    pub text_length: LengthSummary,
    /// Quarantined records by reason, from the quarantine side table when it exists.
    pub quarantined: BTreeMap<String, u64>,
    /// Rows of the table that are not valid samples (an edited span, a null key…), by
    /// reason; they are not counted in `samples`.
    pub invalid_rows: BTreeMap<String, u64>,
    /// The counts the writing stage recorded, if any.
    pub stage_counts: Option<Counts>,
    /// The grouping used for `groups`.
    pub by: Vec<GroupKey>,
    /// The per-group table, sorted by key.
    pub groups: Vec<GroupRow>,
}

/// Computes statistics of the samples table at `path`, grouped `by` the given keys.
pub fn compute(path: &Path, by: &[GroupKey]) -> Result<Stats, TableError> {
    let mut samples = 0u64;
    let mut with_entities = 0u64;
    let mut entities = 0u64;
    let mut labels = BTreeMap::<String, ()>::new();
    let mut datasets = BTreeMap::<String, ()>::new();
    let mut unaligned = BTreeMap::<String, u64>::new();
    let mut spans = SpanRelations::default();
    let mut mention = Lengths::default();
    let mut text = Lengths::default();
    let mut groups = BTreeMap::<Vec<String>, Acc>::new();

    let mut invalid_rows = BTreeMap::<String, u64>::new();
    let mut reader = TableReader::<Sample>::open(path)?;
    while let Some(batch) = reader.next_checked() {
        let batch = batch?;
        for q in batch.rejected {
            *invalid_rows.entry(q.reason).or_default() += 1;
        }
        for s in batch.rows {
            samples += 1;
            with_entities += u64::from(!s.entities.is_empty());
            entities += s.entities.len() as u64;
            datasets.entry(s.dataset.clone()).or_default();
            text.add(s.text.chars().count() as u32);
            spans.add(SpanRelations::of(&s));
            for u in &s.unaligned {
                *unaligned.entry(u.reason.clone()).or_default() += 1;
            }
            for e in &s.entities {
                labels.entry(e.label.clone()).or_default();
                mention.add(e.span.len());
            }
            accumulate_groups(&s, by, &mut groups);
        }
    }

    let quarantine_path = side_path(path, "quarantine");
    let mut quarantined = BTreeMap::new();
    if quarantine_path.exists() {
        for batch in TableReader::<QuarantineRecord>::open(&quarantine_path)? {
            for q in batch? {
                *quarantined.entry(q.reason).or_default() += 1;
            }
        }
    }

    Ok(Stats {
        file: path.display().to_string(),
        samples,
        samples_with_entities: with_entities,
        entities,
        labels: labels.len() as u64,
        datasets: datasets.len() as u64,
        unaligned,
        spans,
        mention_length: mention.summary(),
        text_length: text.summary(),
        quarantined,
        invalid_rows,
        stage_counts: read_counts(path)?,
        by: by.to_vec(),
        groups: groups
            .into_iter()
            .map(|(key, a)| GroupRow {
                key,
                samples: a.samples,
                entities: a.entities,
                unaligned: a.unaligned,
                mention_length: a.mention.summary(),
            })
            .collect(),
    })
}

/// Adds one sample to the groups it belongs to.
fn accumulate_groups(s: &Sample, by: &[GroupKey], groups: &mut BTreeMap<Vec<String>, Acc>) {
    if by.is_empty() {
        return;
    }
    let fixed = |k: GroupKey| match k {
        GroupKey::Dataset => s.dataset.clone(),
        GroupKey::Split => s.split.clone(),
        GroupKey::Lang => s.lang.clone(),
        GroupKey::Label => String::new(),
    };
    if !by.contains(&GroupKey::Label) {
        let acc = groups.entry(by.iter().map(|&k| fixed(k)).collect()).or_default();
        acc.samples += 1;
        acc.entities += s.entities.len() as u64;
        acc.unaligned += s.unaligned.len() as u64;
        s.entities.iter().for_each(|e| acc.mention.add(e.span.len()));
        return;
    }
    let key_for = |label: &str| -> Vec<String> {
        by.iter().map(|&k| if k == GroupKey::Label { label.to_string() } else { fixed(k) }).collect()
    };
    let mut seen: Vec<&str> = Vec::new();
    for e in &s.entities {
        let acc = groups.entry(key_for(&e.label)).or_default();
        acc.entities += 1;
        acc.mention.add(e.span.len());
        if !seen.contains(&e.label.as_str()) {
            seen.push(&e.label);
            acc.samples += 1;
        }
    }
    for u in &s.unaligned {
        groups.entry(key_for(&u.label)).or_default().unaligned += 1;
    }
}

fn reasons_cell(map: &BTreeMap<String, u64>) -> String {
    if map.is_empty() {
        return "0".into();
    }
    let total: u64 = map.values().sum();
    let parts: Vec<String> = map.iter().map(|(k, v)| format!("{k} {v}")).collect();
    format!("{total} ({})", parts.join(", "))
}

fn lengths_cells(l: &LengthSummary) -> String {
    format!("{} | {} | {} | {} | {} | {}", l.min, l.p50, l.p90, l.p99, l.max, l.mean)
}

/// Renders statistics as a Markdown report.
pub fn to_markdown(s: &Stats) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Statistics of `{}`\n", s.file);
    let _ = writeln!(out, "| measure | value |\n|---|---|");
    for (k, v) in [
        ("samples", s.samples.to_string()),
        ("samples with entities", s.samples_with_entities.to_string()),
        ("entities", s.entities.to_string()),
        ("labels", s.labels.to_string()),
        ("datasets", s.datasets.to_string()),
        ("overlapping span pairs", s.spans.overlapping.to_string()),
        ("nested span pairs", s.spans.nested.to_string()),
        ("same span, other label", s.spans.same_span_other_label.to_string()),
        ("duplicate spans", s.spans.duplicate.to_string()),
        ("unaligned mentions", reasons_cell(&s.unaligned)),
        ("quarantined records", reasons_cell(&s.quarantined)),
        ("invalid rows (not counted above)", reasons_cell(&s.invalid_rows)),
    ] {
        let _ = writeln!(out, "| {k} | {v} |");
    }
    if let Some(c) = &s.stage_counts {
        let _ = writeln!(out, "\nRecorded by the writing stage: `{}`", c.to_string().replace("\n  ", "; "));
    }
    let _ = writeln!(out, "\n## Lengths (code points)\n");
    let _ = writeln!(out, "| of | min | p50 | p90 | p99 | max | mean |\n|---|---|---|---|---|---|---|");
    let _ = writeln!(out, "| mentions | {} |", lengths_cells(&s.mention_length));
    let _ = writeln!(out, "| texts | {} |", lengths_cells(&s.text_length));
    if !s.by.is_empty() {
        let names: Vec<String> = s.by.iter().map(|k| format!("{k:?}").to_lowercase()).collect();
        let _ = writeln!(out, "\n## By {}\n", names.join(", "));
        let _ = writeln!(
            out,
            "| {} | samples | entities | unaligned | len p50 | len max | len mean |\n|{}---|---|---|---|---|---|",
            names.join(" | "),
            "---|".repeat(names.len())
        );
        for g in &s.groups {
            let key: Vec<String> = g.key.iter().map(|k| k.replace('|', "\\|")).collect();
            let l = &g.mention_length;
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                key.join(" | "),
                g.samples,
                g.entities,
                g.unaligned,
                l.p50,
                l.max,
                l.mean
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Entity, SourceFormat, Span};

    fn ent(start: u32, end: u32, label: &str, text: &str) -> Entity {
        Entity::new(Span::new(start, end).unwrap(), label, &text[start as usize..end as usize])
    }

    #[test]
    fn span_relations_are_classified() {
        let t = "Kurdistan Party of Iran";
        let mut s = Sample::new("i", "d", SourceFormat::B2nerd, "train", "en", t);
        s.entities = vec![
            ent(0, 23, "org", t),
            ent(19, 23, "loc", t),  // nested in the org
            ent(10, 18, "misc", t), // nested too
            ent(15, 21, "x", t),    // crosses misc and Iran
            ent(19, 23, "gpe", t),  // same span as loc, other label
            ent(19, 23, "loc", t),  // duplicate
        ];
        let r = SpanRelations::of(&s);
        assert_eq!(r, SpanRelations { overlapping: 4, nested: 5, same_span_other_label: 2, duplicate: 1 });
    }

    #[test]
    fn length_summary_uses_nearest_rank() {
        let mut l = Lengths::default();
        for v in [1, 2, 3, 4, 100] {
            l.add(v);
        }
        let s = l.summary();
        assert_eq!((s.min, s.p50, s.p90, s.max, s.mean), (1, 3, 100, 100, 22.0));
    }
}
