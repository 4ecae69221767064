//! The ingest stage: run one reader over input files and write the canonical `samples`
//! table plus its `quarantine` side table.
//!
//! Inputs are files or directories (expanded to the files the reader wants, sorted by path,
//! so the output order never depends on the file system). One driver serves every format:
//! a finder thread cuts each file into units ([`crate::readers::Unit`]) and hands them over
//! a window at a time; the units of a window are parsed in parallel on the rayon pool (for a
//! table, each unit's samples are checked and made into one Arrow batch there too) and
//! their parts written in input order, so memory is bounded by a few windows whatever the
//! input size and the output is the same at any thread count. Passages that merge across
//! units (IEPile, Pile-NER) are stitched here, in order ([`Stitcher`]).
//!
//! With a [`Shard`], only the units the shard owns are parsed (ownership depends on the
//! file's name and the unit's index alone), so n processes given `i/n` split a corpus and
//! the union of their outputs is the unsharded output, sample for sample.
//!
//! Every sample is checked against the table invariants before it is written; the counts
//! are verified to balance and stored, with the run's provenance, in both tables' metadata.

mod params;

pub use params::{IngestParams, Shard, ValidIngestParams};

use crate::io::side_path;
use crate::model::{QuarantineRecord, Sample};
use crate::progress::{NoProgress, Progress, Unit as ProgressUnit};
use crate::provenance::{InputDigest, Provenance};
use crate::readers::mentions::{emit, finish_all, MergeMode, Stitcher};
use crate::model::schema::samples_to_batch;
use crate::readers::{self, invariant_violation, FileContext, FileState, Part, ReadError, Reader, Sink, Unit, Units, VecSink};
use crate::report::Counts;
use crate::table::{TableError, TableWriter};
use arrow_array::RecordBatch;
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::Arc;

/// How many quarantined records an [`IngestOutcome`] keeps for messages.
const KEEP_PROBLEMS: usize = 20;
/// Units parsed together per thread of the pool: enough to even out units of different
/// cost between threads, few enough to keep memory small.
const UNITS_PER_THREAD: usize = 4;
/// Most input bytes in one window (XMI documents can be large).
const WINDOW_BYTES: u64 = 64 << 20;

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
            return self.quarantine(invariant_violation(&self.file, &sample, &e));
        }
        self.counts.written += 1;
        self.samples.push(sample)?;
        Ok(())
    }

    fn takes_batches(&self) -> bool {
        true
    }

    fn samples_batch(&mut self, batch: RecordBatch) -> Result<(), ReadError> {
        self.counts.written += batch.num_rows() as u64;
        self.samples.push_batch(batch)?;
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

    fn file(&mut self, name: &str) {
        if self.file != name {
            self.file = name.to_string();
        }
    }
}

impl TableSink {
    fn create(output: &Path) -> Result<TableSink, ReadError> {
        // Two windows of unit batches may wait for the encoder, so handing over a parsed
        // window does not hold up the parsing of the next one.
        let queue = 2 * window_units();
        Ok(TableSink {
            samples: TableWriter::with_queue(output, queue)?,
            quarantine: TableWriter::create(side_path(output, "quarantine"))?,
            counts: Counts::new("ingest"),
            problems: Vec::new(),
            file: String::new(),
        })
    }

    /// Checks the counts balance and writes both tables, which appear together.
    fn finish(self, output: &Path, mut provenance: Provenance) -> Result<IngestOutcome, ReadError> {
        let TableSink { samples, quarantine, counts, problems, .. } = self;
        counts.check().map_err(|e| ReadError::Input { path: output.to_path_buf(), line: None, message: e.to_string() })?;
        provenance.counts = Some(counts.clone());
        let closed = vec![samples.close(provenance.clone())?, quarantine.close(provenance)?];
        crate::table::commit_all(closed).map_err(crate::table::TableError::from)?;
        Ok(IngestOutcome { counts, output: output.to_path_buf(), quarantine: side_path(output, "quarantine"), problems })
    }
}

/// Reads every input with the reader `params` choose and writes `output` and its
/// quarantine side table, recording the parameters and every input file (with its digest)
/// in both. Both tables are written (atomically, together) even when records were
/// quarantined; the caller decides the exit status from [`IngestOutcome::counts`].
///
/// Parsing runs on the current rayon pool (`ThreadPool::install` chooses another).
pub fn ingest(
    params: &ValidIngestParams,
    inputs: &[PathBuf],
    output: &Path,
    progress: &dyn Progress,
) -> Result<IngestOutcome, ReadError> {
    let mut reader = readers::for_format(params)?;
    let mut sink = TableSink::create(output)?;
    let files = reader.files(inputs, &mut sink.counts)?;
    let total: u64 = files.iter().filter_map(|f| std::fs::metadata(f).ok()).map(|m| m.len()).sum();
    progress.start(Some(total), ProgressUnit::Bytes);
    let reader = reader.as_ref();
    // Inputs are digested as they are read; for a reader that cannot, on a thread of their
    // own while they are parsed.
    let (apart, read) = std::thread::scope(|scope| {
        let apart = (!reader.digests_while_reading()).then(|| scope.spawn(|| digest_all(&files)));
        let read = drive(reader, &files, params.shard, &mut sink, progress);
        (apart.map(|h| h.join()), read)
    });
    let read = read?;
    let digests = match apart {
        Some(joined) => joined.map_err(|_| thread_panicked(output))??,
        // Such a reader reads every file to its end; a file it did not is read again here.
        None => files.iter().zip(read).map(|(f, d)| d.map_or_else(|| InputDigest::of(f), Ok)).collect::<Result<_, _>>()?,
    };
    progress.finish();
    let mut provenance = Provenance::of(&params.params);
    provenance.inputs = digests;
    sink.finish(output, provenance)
}

/// The digests of `files`, each read for it.
fn digest_all(files: &[PathBuf]) -> Result<Vec<InputDigest>, crate::io::IoError> {
    files.iter().map(|f| InputDigest::of(f)).collect()
}

fn thread_panicked(path: &Path) -> ReadError {
    ReadError::Input { path: path.to_path_buf(), line: None, message: "a worker thread panicked".into() }
}

/// Reads `files` (as [`Reader::files`] gave them) into `sink`, file after file, parsing
/// only the units `shard` owns (all when `None`). Returns each file's digest where the
/// reader made it while reading ([`Reader::digests_while_reading`]).
pub fn drive(
    reader: &dyn Reader,
    files: &[PathBuf],
    shard: Option<Shard>,
    sink: &mut dyn Sink,
    progress: &dyn Progress,
) -> Result<Vec<Option<InputDigest>>, ReadError> {
    let mut digests = Vec::with_capacity(files.len());
    for path in files {
        if reader.format() != crate::model::SourceFormat::Xmi {
            readers::check_text_encoding(path)?;
        }
        let file = drive_units(reader, reader.units(path)?, shard, sink, progress)?;
        let digest = file.and_then(|f| f.digest.get().cloned());
        digests.push(digest.map(|(size, sha256)| InputDigest { path: path.display().to_string(), size, sha256 }));
    }
    Ok(digests)
}

/// Reads the units of one file into memory, unsharded (reader tests, small inputs).
pub fn read_units(reader: &dyn Reader, units: Units<'_>) -> Result<VecSink, ReadError> {
    let mut sink = VecSink { counts: Counts::new("ingest"), ..VecSink::default() };
    drive_units(reader, units, None, &mut sink, &NoProgress)?;
    Ok(sink)
}

/// Whether this run parses `unit`. Global merging spans a file, so it shards by file.
fn owns(shard: Option<Shard>, mode: MergeMode, unit: &Unit) -> bool {
    let index = if mode == MergeMode::Global { 0 } else { unit.index };
    shard.is_none_or(|s| s.owns(&unit.file.ctx.display(), index))
}

/// The driver proper, for the units of one file: see the module docs. Returns the state of
/// the file its last unit came from (none when it had no unit).
pub fn drive_units(
    reader: &dyn Reader,
    units: Units<'_>,
    shard: Option<Shard>,
    sink: &mut dyn Sink,
    progress: &dyn Progress,
) -> Result<Option<Arc<FileState>>, ReadError> {
    let mode = reader.merge();
    let batches = sink.takes_batches();
    let window = window_units();
    let mut writer = OrderedWriter { reader, stitcher: Stitcher::new(mode), file: None, sink };
    std::thread::scope(|scope| -> Result<(), ReadError> {
        let (tx, rx) = sync_channel(1);
        scope.spawn(move || find_windows(units, window, tx));
        for found in rx {
            let units = found?;
            let parts: Vec<Result<(Option<Prepared>, bool), ReadError>> = units
                .par_iter()
                .map(|unit| match owns(shard, mode, unit) {
                    true => reader.parse(unit).and_then(|p| prepare(p, batches, &unit.file.ctx)).map(|p| (Some(p), true)),
                    false if mode == MergeMode::Consecutive => Ok((reader.edges(unit).map(Prepared::from), false)),
                    false => Ok((None, false)),
                })
                .collect();
            for (unit, part) in units.iter().zip(parts) {
                let (part, owned) = part?;
                writer.write(unit, part, owned)?;
                progress.advance(unit.size);
            }
        }
        Ok(())
    })?;
    writer.end()
}

/// A parsed unit, its samples checked and made into a batch of the samples table when the
/// sink takes batches ([`Sink::takes_batches`]).
struct Prepared {
    part: Part,
    /// The samples that passed [`Sample::check`] and the quarantine records of those that
    /// did not, in order; `part.samples` is then empty.
    batch: Option<(RecordBatch, Vec<QuarantineRecord>)>,
}

impl From<Part> for Prepared {
    fn from(part: Part) -> Prepared {
        Prepared { part, batch: None }
    }
}

/// Runs on the parsing thread: see [`Prepared`].
fn prepare(mut part: Part, batches: bool, file: &FileContext) -> Result<Prepared, ReadError> {
    if !batches || part.samples.is_empty() {
        return Ok(part.into());
    }
    let mut samples = std::mem::take(&mut part.samples);
    let mut failed = Vec::new();
    let name = file.display();
    samples.retain(|s| match s.check() {
        Ok(()) => true,
        Err(e) => {
            failed.push(invariant_violation(&name, s, &e));
            false
        }
    });
    let batch = samples_to_batch(&samples).map_err(|e| TableError::Schema { path: file.path.clone(), source: e })?;
    Ok(Prepared { part, batch: Some((batch, failed)) })
}

/// Units parsed together: [`UNITS_PER_THREAD`] for each thread of the current pool.
fn window_units() -> usize {
    rayon::current_num_threads().max(1) * UNITS_PER_THREAD
}

/// Sends the units to the parsing side a window at a time; stops at the first error (which
/// is sent too) or when the receiver is gone.
fn find_windows(units: Units<'_>, size: usize, tx: SyncSender<Result<Vec<Unit>, ReadError>>) {
    let mut window = Vec::with_capacity(size);
    let mut bytes = 0;
    for unit in units {
        match unit {
            Ok(unit) => {
                bytes += unit.size;
                window.push(unit);
                if window.len() >= size || bytes >= WINDOW_BYTES {
                    bytes = 0;
                    if tx.send(Ok(std::mem::replace(&mut window, Vec::with_capacity(size)))).is_err() {
                        return;
                    }
                }
            }
            Err(e) => {
                if !window.is_empty() && tx.send(Ok(std::mem::take(&mut window))).is_err() {
                    return;
                }
                let _ = tx.send(Err(e));
                return;
            }
        }
    }
    if !window.is_empty() {
        let _ = tx.send(Ok(window));
    }
}

/// Writes the parts of one file's units in unit order, stitching open passages.
struct OrderedWriter<'r, 's> {
    reader: &'r dyn Reader,
    stitcher: Stitcher,
    /// The file being written (set by its first unit).
    file: Option<Arc<FileState>>,
    sink: &'s mut dyn Sink,
}

impl OrderedWriter<'_, '_> {
    /// Writes one unit's part: counts (when this run owns the unit), passages that became
    /// final, samples and quarantined records.
    fn write(&mut self, unit: &Unit, part: Option<Prepared>, owned: bool) -> Result<(), ReadError> {
        if self.file.as_ref().is_none_or(|f| !Arc::ptr_eq(f, &unit.file)) {
            self.file = Some(unit.file.clone());
            self.sink.file(&unit.file.ctx.display());
        }
        let Some(Prepared { part: Part { samples, quarantined, counts, open }, batch }) = part else { return Ok(()) };
        if owned {
            absorb(self.sink.counts(), &counts);
            for note in &unit.notes {
                self.sink.counts().note(note, 1);
            }
        }
        let (head, tail) = open.map(|o| (o.head, o.tail)).unwrap_or_default();
        let mut ready = self.stitcher.head(head, owned);
        if tail.is_some() {
            ready.extend(self.stitcher.close());
        }
        if !ready.is_empty() {
            emit(finish_all(ready, &unit.file.ctx, self.reader.format()), self.sink)?;
        }
        for s in samples {
            self.sink.sample(s)?;
        }
        if let Some((batch, failed)) = batch {
            self.sink.samples_batch(batch)?;
            for q in failed {
                self.sink.quarantine(q)?;
            }
        }
        for q in quarantined {
            self.sink.quarantine(q)?;
        }
        if let Some(t) = tail {
            self.stitcher.tail(t, owned);
        }
        Ok(())
    }

    /// Ends the file: passages still open are written, then the reader's file-level notes.
    fn end(mut self) -> Result<Option<Arc<FileState>>, ReadError> {
        let Some(file) = self.file.take() else { return Ok(None) };
        let last = self.stitcher.finish();
        if !last.is_empty() {
            emit(finish_all(last, &file.ctx, self.reader.format()), self.sink)?;
        }
        self.reader.end_file(&file, self.sink.counts())?;
        Ok(Some(file))
    }
}

/// Adds what a part's records count for (`read`, `skipped`, `notes`): samples and
/// quarantined records are counted as the sink takes them.
fn absorb(into: &mut Counts, part: &Counts) {
    into.read += part.read;
    for (reason, n) in &part.skipped {
        into.skip(reason, *n);
    }
    for (what, n) in &part.notes {
        into.note(what, *n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SourceFormat;
    use crate::readers::crossner::{ends_sentence, CrossnerReader};
    use crate::readers::lines::LineUnits;
    use crate::table::read_all;

    /// CrossNER in small units, except that every other sample with entities claims a
    /// wrong entity text: a reader bug the driver must catch on the parsing thread.
    struct Corrupting(CrossnerReader);

    impl Reader for Corrupting {
        fn format(&self) -> SourceFormat {
            self.0.format()
        }
        fn wants(&self, path: &Path) -> bool {
            self.0.wants(path)
        }
        fn units<'a>(&'a self, path: &Path) -> Result<Units<'a>, ReadError> {
            // Small units: many of them, over several windows.
            let units = LineUnits::new(self.0.file_state(path), readers::open_file(path)?, ends_sentence);
            Ok(Box::new(units.with_unit_bytes(2048)))
        }
        fn parse(&self, unit: &Unit) -> Result<Part, ReadError> {
            let mut part = self.0.parse(unit)?;
            for s in part.samples.iter_mut().filter(|s| !s.entities.is_empty()).step_by(2) {
                s.entities[0].text.push_str(" (not in the text)");
            }
            Ok(part)
        }
    }

    #[test]
    fn samples_that_break_the_invariants_are_quarantined_in_order_and_the_rest_written() {
        let input = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/crossner/politics_train.txt");
        let reader = Corrupting(CrossnerReader::default());
        // What the reader makes, read without a table (and so without the check).
        let all = read_units(&reader, reader.units(&input).unwrap()).unwrap().samples;
        let (good, bad): (Vec<Sample>, Vec<Sample>) = all.into_iter().partition(|s| s.check().is_ok());
        assert!(!good.is_empty() && !bad.is_empty());

        let dir = tempfile::tempdir().unwrap();
        let output = dir.path().join("samples.parquet");
        let mut sink = TableSink::create(&output).unwrap();
        assert!(sink.takes_batches());
        drive(&reader, std::slice::from_ref(&input), None, &mut sink, &NoProgress).unwrap();
        let outcome = sink.finish(&output, Provenance::new("ingest", serde_json::json!({}))).unwrap();

        assert_eq!(outcome.counts.written, good.len() as u64);
        assert_eq!(outcome.counts.quarantined.get("invariant_violation").copied(), Some(bad.len() as u64));
        assert_eq!(read_all::<Sample>(&output).unwrap(), good);
        let quarantined = read_all::<QuarantineRecord>(&outcome.quarantine).unwrap();
        let ids: Vec<&str> = bad.iter().map(|s| s.id.as_str()).collect();
        assert!(quarantined.iter().all(|q| q.reason == "invariant_violation" && q.file == input.display().to_string()));
        assert!(quarantined.iter().zip(&ids).all(|(q, id)| q.raw.contains(id)), "in input order");
        assert_eq!(quarantined.len(), ids.len());
    }

    #[test]
    fn readers_that_digest_while_reading_record_each_file_s_size_and_sha256() {
        use crate::readers::{b2nerd::B2nerdReader, iepile::IepileReader, pile_ner::PileNerReader};
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let cases: Vec<(Box<dyn Reader>, &str)> = vec![
            (Box::new(CrossnerReader::default()), "crossner/politics_train.txt"),
            (Box::new(IepileReader::default()), "iepile/data_NER_train.json"),
            (Box::new(PileNerReader::default()), "pile-ner/mit-restaurant_head.json"),
            (Box::new(B2nerdReader::default()), "b2nerd/CoNLL2003/train.json"),
        ];
        for (reader, file) in cases {
            assert!(reader.digests_while_reading(), "{file}");
            let path = fixtures.join(file);
            let mut sink = VecSink::default();
            let digests = drive(reader.as_ref(), std::slice::from_ref(&path), None, &mut sink, &NoProgress).unwrap();
            // Read apart, by the function every other input goes through.
            assert_eq!(digests, vec![Some(InputDigest::of(&path).unwrap())], "{file}");
        }
    }
}
