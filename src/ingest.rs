//! The ingest stage: run one reader over input files and write the canonical `samples`
//! table plus its `quarantine` side table.
//!
//! Inputs are files or directories (expanded to the files the reader wants, sorted by path,
//! so the output order never depends on the file system). Every sample is checked against
//! the table invariants before it is written; the counts are verified to balance and stored
//! in both tables' metadata.

use crate::io::{side_path, IoError};
use crate::model::{QuarantineRecord, Sample};
use crate::readers::{FileContext, LangPolicy, ReadError, Reader, Sink, VecSink};
use crate::report::Counts;
use crate::table::TableWriter;
use indicatif::ProgressBar;
use std::io::Read;
use std::path::{Path, PathBuf};

/// How many quarantined records an [`IngestOutcome`] keeps for messages.
const KEEP_PROBLEMS: usize = 20;

/// Options common to every format.
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    /// Dataset name for every sample; derived from file names when `None`.
    pub dataset: Option<String>,
    /// Split for every sample; derived from file names when `None`.
    pub split: Option<String>,
    /// How to fill the `lang` column.
    pub lang: LangPolicy,
}

/// What an ingest run did.
#[derive(Debug, Clone)]
pub struct IngestOutcome {
    /// Where every record went.
    pub counts: Counts,
    /// The samples table written.
    pub output: PathBuf,
    /// The quarantine table written next to it.
    pub quarantine: PathBuf,
    /// The first quarantined records, for messages.
    pub problems: Vec<QuarantineRecord>,
}

/// Writes samples and quarantined records to their tables, counting both.
struct TableSink {
    samples: TableWriter<Sample>,
    quarantine: TableWriter<QuarantineRecord>,
    counts: Counts,
    problems: Vec<QuarantineRecord>,
    file: String,
}

impl Sink for TableSink {
    fn sample(&mut self, sample: Sample) -> Result<(), ReadError> {
        if let Err(e) = sample.check() {
            // A reader bug must not corrupt the table; keep the record and say why.
            let raw = serde_json::to_string(&sample).unwrap_or_default();
            return self.quarantine(QuarantineRecord::new(&self.file, None, None, "invariant_violation", e.to_string(), &raw));
        }
        self.counts.written += 1;
        self.samples.push(sample)?;
        Ok(())
    }

    fn quarantine(&mut self, record: QuarantineRecord) -> Result<(), ReadError> {
        self.counts.quarantine(&record.reason);
        if self.problems.len() < KEEP_PROBLEMS {
            self.problems.push(record.clone());
        }
        self.quarantine.push(record)?;
        Ok(())
    }

    fn counts(&mut self) -> &mut Counts {
        &mut self.counts
    }
}

impl TableSink {
    fn create(output: &Path) -> Result<TableSink, ReadError> {
        Ok(TableSink {
            samples: TableWriter::create(output)?,
            quarantine: TableWriter::create(side_path(output, "quarantine"))?,
            counts: Counts::new("ingest"),
            problems: Vec::new(),
            file: String::new(),
        })
    }

    /// Takes over what a reader collected in memory for `file`: samples and quarantined
    /// records are written (and counted) here; `read`, `skipped` and `notes` are added.
    fn absorb(&mut self, file: &str, part: VecSink) -> Result<(), ReadError> {
        self.file = file.to_string();
        for s in part.samples {
            self.sample(s)?;
        }
        for q in part.quarantined {
            self.quarantine(q)?;
        }
        self.counts.read += part.counts.read;
        for (reason, n) in &part.counts.skipped {
            self.counts.skip(reason, *n);
        }
        for (what, n) in &part.counts.notes {
            self.counts.note(what, *n);
        }
        Ok(())
    }

    /// Checks the counts balance and writes both tables.
    fn finish(self, output: &Path) -> Result<IngestOutcome, ReadError> {
        let TableSink { samples, quarantine, counts, problems, .. } = self;
        counts.check().map_err(|e| ReadError::Input { path: output.to_path_buf(), line: None, message: e.to_string() })?;
        let mut provenance = crate::provenance::Provenance::new("ingest", serde_json::json!({}));
        provenance.counts = Some(counts.clone());
        let closed = vec![samples.close(provenance.clone())?, quarantine.close(provenance)?];
        crate::table::commit_all(closed).map_err(crate::table::TableError::from)?;
        Ok(IngestOutcome { counts, output: output.to_path_buf(), quarantine: side_path(output, "quarantine"), problems })
    }
}

/// Expands directories into the files `reader` wants, sorted; files are kept as given.
pub fn expand_inputs(reader: &dyn Reader, inputs: &[PathBuf]) -> Result<Vec<PathBuf>, ReadError> {
    let mut out = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let mut found = Vec::new();
            collect_files(input, &mut found)?;
            found.retain(|p| reader.wants(p));
            found.sort();
            out.extend(found);
        } else if input.exists() {
            out.push(input.clone());
        } else {
            return Err(IoError::new(input, std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or directory")).into());
        }
    }
    Ok(out)
}

/// Every file under `dir`, recursively, in no particular order.
pub(crate) fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), ReadError> {
    for entry in std::fs::read_dir(dir).map_err(|e| IoError::new(dir, e))? {
        let path = entry.map_err(|e| IoError::new(dir, e))?.path();
        if path.is_dir() {
            collect_files(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// Reads every input with `reader` and writes `output` and its quarantine side table.
/// Both tables are written (atomically) even when records were quarantined; the caller
/// decides the exit status from [`IngestOutcome::counts`].
pub fn ingest(
    reader: &dyn Reader,
    inputs: &[PathBuf],
    options: &IngestOptions,
    output: &Path,
    progress: &ProgressBar,
) -> Result<IngestOutcome, ReadError> {
    let files = expand_inputs(reader, inputs)?;
    let total: u64 = files.iter().filter_map(|f| std::fs::metadata(f).ok()).map(|m| m.len()).sum();
    progress.set_length(total);
    let mut sink = TableSink::create(output)?;
    for path in &files {
        let ctx = FileContext::derive(path, reader.format(), options.dataset.as_deref(), options.split.as_deref(), &options.lang);
        sink.file = ctx.display();
        let bar = progress.clone();
        let mut input = ctx.open(&move |f| Box::new(bar.wrap_read(f)) as Box<dyn Read>)?;
        reader.read(&ctx, &mut input, &mut sink)?;
    }
    progress.finish_and_clear();
    sink.finish(output)
}

/// Writes documents a reader parsed itself (in parallel, say): `produce` hands each
/// document's samples and quarantined records, collected in a [`VecSink`], to the callback
/// in output order, with the name its quarantine rows carry. Outputs, invariant checks and
/// accounting are those of [`ingest`].
pub fn ingest_with(
    output: &Path,
    produce: impl FnOnce(&mut dyn FnMut(&str, VecSink) -> Result<(), ReadError>) -> Result<(), ReadError>,
) -> Result<IngestOutcome, ReadError> {
    let mut sink = TableSink::create(output)?;
    produce(&mut |file, part| sink.absorb(file, part))?;
    sink.finish(output)
}
