//! The output directory of `nerprep screen`, written whole or not at all:
//!
//! - `conflicts.parquet`: one row per kept occurrence (at most `max_rows_per_pair` per
//!   directed pair, the ones with the smallest seeded keys), ordered by pair, sample and
//!   offset: `id` (`{pair}:{sample id}@{start}-{end}`), `pair` (the row of pairs.csv),
//!   `source_dataset`, `source_label`, `target_dataset`, `target_label`, `mention`,
//!   `sample_id` (of the target dataset), `start`, `end` (code points), `kind`, and the
//!   target entity that decided the kind (`found_label`, `found_text`, `found_start`,
//!   `found_end`; null when none).
//! - `pairs.csv`: per directed pair, the reason it was paired, the source type's distinct
//!   mentions and how many of them were found, the occurrences by kind, `conflict_ratio` =
//!   errors / checked, and the rows kept.
//! - `report.md`: the worst pairs (highest ratio among pairs with at least `min_matched`
//!   checked occurrences), each with its most conflicting mentions and examples.
//! - `heatmap-NN-LABEL.png`: for each label name shared by two or more datasets, the
//!   conflict ratio of every (source dataset, target dataset).
//! - `knn.csv` (with `--knn`): the agreement of each dataset's labels with another's.
//! - `provenance.json`: parameters, inputs, counts and a digest over the other files.

use super::corpus::{Corpus, ScreenSample};
use super::scan::{Kind, Occurrence, PairTally};
use super::{DirectedPair, Screen, ScreenError, ValidScreenParams};
use crate::eval::confusion::csv_field;
use crate::io::{write_atomic, AtomicDir};
use crate::plot::Heatmap;
use crate::provenance::Provenance;
use crate::report::Counts;
use crate::table::BatchWriter;
use arrow_array::builder::{StringBuilder, UInt32Builder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

/// Characters of context either side of an example.
const CONTEXT_CHARS: usize = 40;
/// Mentions listed per pair in the report.
const TOP_MENTIONS: usize = 5;

static EMPTY: LazyLock<PairTally> = LazyLock::new(PairTally::default);

/// The tally of pair `p` (empty when its target dataset had nothing to search).
pub fn tally_of(screen: &Screen, p: usize) -> &PairTally {
    let d = screen.corpus.types[screen.pairs[p].target].dataset;
    screen.targets[d].tallies.get(&p).unwrap_or(&*EMPTY)
}

/// `music person → politics person`.
pub fn pair_title(screen: &Screen, pair: &DirectedPair) -> String {
    let c = &screen.corpus;
    let side = |t: usize| format!("{} {}", c.datasets[c.types[t].dataset].name, c.types[t].name());
    format!("{} → {}", side(pair.source), side(pair.target))
}

/// The `n` pairs with the highest conflict ratio among those with at least `min_matched`
/// checked occurrences (ties: more conflicts first, then pair order).
pub fn worst(screen: &Screen, n: usize, min_matched: u64) -> Vec<(usize, &PairTally)> {
    let mut ranked: Vec<(usize, &PairTally)> =
        (0..screen.pairs.len()).map(|p| (p, tally_of(screen, p))).filter(|(_, t)| t.matched() >= min_matched.max(1)).collect();
    ranked.sort_by(|a, b| {
        let (ra, rb) = (a.1.ratio().unwrap_or(0.0), b.1.ratio().unwrap_or(0.0));
        rb.total_cmp(&ra).then(b.1.conflicts().cmp(&a.1.conflicts())).then(a.0.cmp(&b.0))
    });
    ranked.truncate(n);
    ranked
}

/// Writes the whole directory `out` (see the module docs); returns the counts recorded.
pub fn write_all(out: &Path, screen: &Screen, inputs: &[PathBuf], emb: &[PathBuf], params: &ValidScreenParams) -> Result<Counts, ScreenError> {
    let dir = AtomicDir::create(out)?;
    let root = dir.path();
    let mut counts = screen.corpus.counts.clone();
    let rows: u64 = (0..screen.pairs.len()).map(|p| tally_of(screen, p).rows_kept() as u64).sum();
    let checked: u64 = (0..screen.pairs.len()).map(|p| tally_of(screen, p).matched()).sum();
    counts.note("occurrences_checked", checked);
    counts.note("occurrence_rows", rows);
    counts.note("over_row_cap", checked - rows);
    counts.note("inside_longer", (0..screen.pairs.len()).map(|p| tally_of(screen, p).count(Kind::InsideLonger)).sum());
    counts.note("directed_pairs", screen.pairs.len() as u64);
    let mut provenance = Provenance::of(&params.params);
    provenance.inputs(inputs.iter().chain(&params.params.mapping).chain(emb).map(PathBuf::as_path))?;
    provenance.counts = Some(counts.clone());
    write_conflicts(&root.join("conflicts.parquet"), screen, provenance.clone())?;
    write_atomic(root.join("pairs.csv"), pairs_csv(screen).as_bytes())?;
    write_atomic(root.join("report.md"), report_md(screen, params, &counts).as_bytes())?;
    for (name, map) in heatmaps(screen) {
        map.write_png(root.join(name))?;
    }
    if let Some(a) = &screen.knn {
        write_atomic(root.join("knn.csv"), a.to_csv().as_bytes())?;
    }
    let (digest, size) = crate::provenance::directory_digest(root)?;
    provenance.output = Some(digest);
    provenance.output_size = Some(size);
    write_atomic(root.join("provenance.json"), provenance.to_pretty_json().as_bytes())?;
    crate::provenance::commit_report_dir(dir, out, "screen", owns)?;
    Ok(counts)
}

/// Whether `name` is a file the screen writes into its directory.
fn owns(name: &str) -> bool {
    matches!(name, "conflicts.parquet" | "pairs.csv" | "report.md" | "knn.csv" | "provenance.json")
        || (name.starts_with("heatmap-") && name.ends_with(".png"))
}

/// The ratio as CSV text (empty when nothing was checked).
fn ratio_text(t: &PairTally) -> String {
    t.ratio().map(|r| format!("{r:.4}")).unwrap_or_default()
}

/// `pairs.csv` (see the module docs).
pub fn pairs_csv(screen: &Screen) -> String {
    let c = &screen.corpus;
    let mut out = String::from("pair,source_dataset,source_label,target_dataset,target_label,reason,mentions,mentions_found,");
    out.push_str("matched,consistent,wrong_category,not_extracted,partially_extracted,inside_longer,conflict_ratio,rows\n");
    for (p, pair) in screen.pairs.iter().enumerate() {
        let t = tally_of(screen, p);
        let (s, g) = (&c.types[pair.source], &c.types[pair.target]);
        let fields = [
            p.to_string(),
            csv_field(&c.datasets[s.dataset].name),
            csv_field(s.name()),
            csv_field(&c.datasets[g.dataset].name),
            csv_field(g.name()),
            csv_field(&pair.why()),
            s.mentions.len().to_string(),
            t.mentions.len().to_string(),
            t.matched().to_string(),
            t.count(Kind::Consistent).to_string(),
            t.count(Kind::WrongCategory).to_string(),
            t.count(Kind::NotExtracted).to_string(),
            t.count(Kind::PartiallyExtracted).to_string(),
            t.count(Kind::InsideLonger).to_string(),
            ratio_text(t),
            t.rows_kept().to_string(),
        ];
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

/// The code-point offset of byte `b` of the sample text.
fn char_offset(s: &ScreenSample, b: u32) -> u32 {
    let b = b as usize;
    if s.text.is_ascii() { b as u32 } else { s.text[..b].chars().count() as u32 }
}

/// The conflicts table's schema.
pub fn conflicts_schema() -> SchemaRef {
    let text = |name: &str, nullable: bool| Field::new(name, DataType::Utf8, nullable);
    let num = |name: &str, nullable: bool| Field::new(name, DataType::UInt32, nullable);
    Arc::new(Schema::new(vec![
        text(crate::table::side::KEY, false),
        num("pair", false),
        text("source_dataset", false),
        text("source_label", false),
        text("target_dataset", false),
        text("target_label", false),
        text("mention", false),
        text(crate::table::side::SAMPLE_ID, false),
        num("start", false),
        num("end", false),
        text("kind", false),
        text("found_label", true),
        text("found_text", true),
        num("found_start", true),
        num("found_end", true),
    ]))
}

/// Column builders of one batch of conflict rows.
#[derive(Default)]
struct Columns {
    id: StringBuilder,
    pair: UInt32Builder,
    source_dataset: StringBuilder,
    source_label: StringBuilder,
    target_dataset: StringBuilder,
    target_label: StringBuilder,
    mention: StringBuilder,
    sample_id: StringBuilder,
    start: UInt32Builder,
    end: UInt32Builder,
    kind: StringBuilder,
    found_label: StringBuilder,
    found_text: StringBuilder,
    found_start: UInt32Builder,
    found_end: UInt32Builder,
    rows: usize,
}

impl Columns {
    fn push(&mut self, screen: &Screen, p: usize, o: &Occurrence) {
        let c = &screen.corpus;
        let pair = &screen.pairs[p];
        let (s, g) = (&c.types[pair.source], &c.types[pair.target]);
        let sample = &c.datasets[g.dataset].samples[o.sample as usize];
        let (start, end) = (char_offset(sample, o.start), char_offset(sample, o.end));
        self.id.append_value(format!("{p}:{}@{start}-{end}", sample.id));
        self.pair.append_value(p as u32);
        self.source_dataset.append_value(&c.datasets[s.dataset].name);
        self.source_label.append_value(s.name());
        self.target_dataset.append_value(&c.datasets[g.dataset].name);
        self.target_label.append_value(g.name());
        self.mention.append_value(&sample.text[o.start as usize..o.end as usize]);
        self.sample_id.append_value(&sample.id);
        self.start.append_value(start);
        self.end.append_value(end);
        self.kind.append_value(o.kind.as_str());
        let found = o.found.map(|i| sample.entities[i as usize]);
        self.found_label.append_option(found.map(|e| c.spellings[e.label as usize].as_str()));
        self.found_text.append_option(found.map(|e| &sample.text[e.start as usize..e.end as usize]));
        self.found_start.append_option(found.map(|e| char_offset(sample, e.start)));
        self.found_end.append_option(found.map(|e| char_offset(sample, e.end)));
        self.rows += 1;
    }

    fn finish(mut self, schema: &SchemaRef) -> Result<RecordBatch, arrow_schema::ArrowError> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.id.finish()),
            Arc::new(self.pair.finish()),
            Arc::new(self.source_dataset.finish()),
            Arc::new(self.source_label.finish()),
            Arc::new(self.target_dataset.finish()),
            Arc::new(self.target_label.finish()),
            Arc::new(self.mention.finish()),
            Arc::new(self.sample_id.finish()),
            Arc::new(self.start.finish()),
            Arc::new(self.end.finish()),
            Arc::new(self.kind.finish()),
            Arc::new(self.found_label.finish()),
            Arc::new(self.found_text.finish()),
            Arc::new(self.found_start.finish()),
            Arc::new(self.found_end.finish()),
        ];
        RecordBatch::try_new(schema.clone(), columns)
    }
}

/// Writes `conflicts.parquet`, pair by pair, each pair's rows by (sample, start, end).
fn write_conflicts(path: &Path, screen: &Screen, provenance: Provenance) -> Result<(), ScreenError> {
    let schema = conflicts_schema();
    let mut writer = BatchWriter::create(path, schema.clone(), &BTreeMap::new())?;
    let arrow = |e| crate::table::TableError::Schema { path: path.to_path_buf(), source: e };
    let mut columns = Columns::default();
    for p in 0..screen.pairs.len() {
        let mut rows = tally_of(screen, p).rows_sorted();
        rows.sort_by_key(|o| (o.sample, o.start, o.end));
        for o in &rows {
            columns.push(screen, p, o);
            if columns.rows == crate::table::BATCH_ROWS {
                writer.write(&std::mem::take(&mut columns).finish(&schema).map_err(arrow)?)?;
            }
        }
    }
    if columns.rows > 0 {
        writer.write(&columns.finish(&schema).map_err(arrow)?)?;
    }
    writer.finish(provenance)?;
    Ok(())
}

/// The sample text around an occurrence, the occurrence in brackets, on one line.
fn in_context(sample: &ScreenSample, start: u32, end: u32) -> String {
    let text = &sample.text;
    let (start, end) = (start as usize, end as usize);
    let from = text[..start].char_indices().rev().nth(CONTEXT_CHARS - 1).map_or(0, |(i, _)| i);
    let to = text[end..].char_indices().nth(CONTEXT_CHARS).map_or(text.len(), |(i, _)| end + i);
    let flat = |s: &str| s.replace(['\n', '\r', '\t'], " ");
    let (pre, post) = (if from > 0 { "…" } else { "" }, if to < text.len() { "…" } else { "" });
    format!("{pre}{}[{}]{}{post}", flat(&text[from..start]), flat(&text[start..end]), flat(&text[end..to]))
}

/// One example line of the report.
fn example_line(screen: &Screen, pair: &DirectedPair, o: &Occurrence) -> String {
    let c = &screen.corpus;
    let g = &c.types[pair.target];
    let sample = &c.datasets[g.dataset].samples[o.sample as usize];
    let mention = &sample.text[o.start as usize..o.end as usize];
    let found = o.found.map(|i| sample.entities[i as usize]);
    let what = match (o.kind, found) {
        (Kind::WrongCategory, Some(e)) => format!("labelled `{}`", c.spellings[e.label as usize]),
        (Kind::PartiallyExtracted, Some(e)) => {
            format!("only `{}` is annotated (`{}`)", &sample.text[e.start as usize..e.end as usize], c.spellings[e.label as usize])
        }
        _ => "not annotated".to_string(),
    };
    format!("- {}: '{mention}' {what} in `{}`: {}", o.kind.as_str().replace('_', " "), sample.id, in_context(sample, o.start, o.end))
}

/// Up to `n` examples, taking the error kinds in turn (the most frequent kind first).
fn examples(t: &PairTally, n: usize) -> Vec<Occurrence> {
    let mut kinds: Vec<(Kind, Vec<Occurrence>)> = Kind::ERRORS.iter().map(|&k| (k, t.examples_of(k))).collect();
    kinds.sort_by_key(|(k, _)| (std::cmp::Reverse(t.count(*k)), *k));
    let mut out = Vec::new();
    for round in 0.. {
        let before = out.len();
        for (_, list) in &kinds {
            if out.len() < n
                && let Some(o) = list.get(round)
            {
                out.push(*o);
            }
        }
        if out.len() == before || out.len() >= n {
            break;
        }
    }
    out
}

/// `'Belgium' 12 of 12`: the mentions of a pair with the most conflicts.
fn top_mentions(screen: &Screen, pair: &DirectedPair, t: &PairTally) -> String {
    let d = screen.corpus.types[pair.target].dataset;
    let patterns = &screen.targets[d].patterns;
    let mut ranked: Vec<(&u32, &(u64, u64))> = t.mentions.iter().filter(|(_, c)| c.1 > 0).collect();
    ranked.sort_by(|a, b| b.1.1.cmp(&a.1.1).then(patterns[*a.0 as usize].cmp(&patterns[*b.0 as usize])));
    let shown: Vec<String> = ranked.iter().take(TOP_MENTIONS).map(|(m, c)| format!("'{}' {} of {}", patterns[**m as usize], c.1, c.0)).collect();
    shown.join(", ")
}

/// `report.md` (see the module docs).
pub fn report_md(screen: &Screen, params: &ValidScreenParams, counts: &Counts) -> String {
    let c = &screen.corpus;
    let mut md = String::from("# Cross-dataset conflict screen\n\n");
    let names: Vec<String> = c.datasets.iter().map(|d| format!("{} ({} samples)", d.name, d.samples.len())).collect();
    let matched: u64 = (0..screen.pairs.len()).map(|p| tally_of(screen, p).matched()).sum();
    let conflicts: u64 = (0..screen.pairs.len()).map(|p| tally_of(screen, p).conflicts()).sum();
    let _ = writeln!(md, "Datasets: {}.\n", names.join(", "));
    let _ = writeln!(
        md,
        "{} directed label pairs; {matched} occurrences checked, {conflicts} conflicts. Each mention annotated with the source label is looked for in the target dataset's texts (token boundaries; any position in Chinese and Japanese); occurrences inside a longer annotated entity are skipped. Every pair is in `pairs.csv`, sampled occurrences in `conflicts.parquet`.\n",
        screen.pairs.len()
    );
    let worst = worst(screen, params.params.worst, params.params.min_matched);
    let _ = writeln!(md, "## Worst pairs\n");
    if worst.is_empty() {
        let _ = writeln!(md, "No pair has {} or more checked occurrences.\n", params.params.min_matched.max(1));
    } else {
        let _ = writeln!(md, "| # | pair | why | checked | consistent | wrong category | not extracted | partially extracted | conflict ratio |");
        let _ = writeln!(md, "|---:|---|---|---:|---:|---:|---:|---:|---:|");
        for (rank, (p, t)) in worst.iter().enumerate() {
            let pair = &screen.pairs[*p];
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {:.1} % |",
                rank + 1,
                pair_title(screen, pair),
                pair.why(),
                t.matched(),
                t.count(Kind::Consistent),
                t.count(Kind::WrongCategory),
                t.count(Kind::NotExtracted),
                t.count(Kind::PartiallyExtracted),
                t.ratio().unwrap_or(0.0) * 100.0
            );
        }
        md.push('\n');
        for (rank, (p, t)) in worst.iter().enumerate() {
            let pair = &screen.pairs[*p];
            let _ = writeln!(md, "### {}. {} ({})\n", rank + 1, pair_title(screen, pair), pair.why());
            let _ = writeln!(md, "{} of {} occurrences conflict. Most conflicting mentions: {}.\n", t.conflicts(), t.matched(), top_mentions(screen, pair, t));
            for o in examples(t, params.params.examples) {
                let _ = writeln!(md, "{}", example_line(screen, pair, &o));
            }
            md.push('\n');
        }
    }
    merged_spellings(&mut md, c);
    if let Some(a) = &screen.knn {
        md.push_str(&a.to_markdown());
    }
    let _ = writeln!(md, "## Records\n\n```\n{counts}\n```");
    md
}

/// Lists the types of a dataset that several label spellings fell into.
fn merged_spellings(md: &mut String, c: &Corpus) {
    let merged: Vec<String> = c
        .types
        .iter()
        .filter(|t| t.spellings.len() > 1)
        .map(|t| {
            let spellings: Vec<String> = t.spellings.iter().map(|(s, n)| format!("`{s}` ({n})")).collect();
            format!("- {}: {}", c.datasets[t.dataset].name, spellings.join(", "))
        })
        .collect();
    if !merged.is_empty() {
        let _ = writeln!(md, "## Labels merged\n\nLabels of one dataset that differ only by case, spacing or spelling are screened as one type:\n\n{}\n", merged.join("\n"));
    }
}

/// One heatmap per label name shared by two or more datasets: the conflict ratio of each
/// (source dataset, target dataset), named `heatmap-NN-LABEL.png`.
pub fn heatmaps(screen: &Screen) -> Vec<(String, Heatmap)> {
    let c = &screen.corpus;
    let mut by_key: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (p, pair) in screen.pairs.iter().enumerate() {
        if pair.reasons.contains(&super::Reason::SameName) {
            by_key.entry(c.types[pair.source].key.as_str()).or_default().push(p);
        }
    }
    by_key
        .into_iter()
        .enumerate()
        .map(|(i, (key, pairs))| {
            let mut datasets: Vec<usize> = pairs.iter().flat_map(|&p| [screen.pairs[p].source, screen.pairs[p].target]).map(|t| c.types[t].dataset).collect();
            datasets.sort_unstable();
            datasets.dedup();
            let mut cells: BTreeMap<(usize, usize), &PairTally> = BTreeMap::new();
            for &p in &pairs {
                let pair = &screen.pairs[p];
                cells.insert((c.types[pair.source].dataset, c.types[pair.target].dataset), tally_of(screen, p));
            }
            let label = c.types[screen.pairs[pairs[0]].source].name();
            let grid = |f: &dyn Fn(Option<&&PairTally>) -> String| -> Vec<Vec<String>> {
                datasets.iter().map(|&a| datasets.iter().map(|&b| f(cells.get(&(a, b)))).collect()).collect()
            };
            let annotations = grid(&|t| t.and_then(|t| t.ratio()).map(|r| format!("{r:.2}")).unwrap_or_default());
            let intensity = datasets
                .iter()
                .map(|&a| datasets.iter().map(|&b| cells.get(&(a, b)).and_then(|t| t.ratio()).unwrap_or(0.0)).collect())
                .collect();
            let names: Vec<String> = datasets.iter().map(|&d| c.datasets[d].name.clone()).collect();
            let map = Heatmap {
                title: format!("Conflict ratio of `{label}`: mentions of the row dataset screened in the column dataset"),
                row_axis: "source dataset".into(),
                col_axis: "target dataset (colour: conflicts / checked)".into(),
                rows: names.clone(),
                cols: names,
                intensity,
                annotations,
            };
            (format!("heatmap-{:02}-{}.png", i + 1, file_part(key)), map)
        })
        .collect()
}

/// `key` as a file-name part: ASCII letters, digits and `-`, other characters as `_`.
fn file_part(key: &str) -> String {
    let part: String = key.chars().take(40).map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
    if part.is_empty() { "label".into() } else { part }
}
