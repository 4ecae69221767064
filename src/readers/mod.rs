//! Readers: one per input format, all behind the [`Reader`] trait.
//!
//! A reader does two things. It *finds units* in an input file ([`Reader::units`]): pieces
//! that parse on their own — a run of raw JSON records cut by [`json_stream`] (JSON Lines,
//! concatenated objects or an array's elements), a block of whole CoNLL sentences, an XMI
//! document (a file or a zip member). Finding is sequential and cheap (it only looks for
//! record boundaries). Then it *parses* one unit at a time ([`Reader::parse`]): a pure
//! function of the unit, safe to run on any thread, giving a [`Part`] — samples, quarantined
//! records and counts. It never drops a record silently: anything it cannot turn into a
//! sample goes to quarantine with a reason, and anything it skips on purpose is counted.
//!
//! The ingest stage (`crate::ingest`) parses units in parallel and writes them in input
//! order; it also stitches IEPile and Pile-NER passages that repeat across unit boundaries
//! ([`mentions::Stitcher`]). Readers are chosen by [`for_format`].

pub mod b2nerd;
mod byte_search;
pub mod crossner;
pub mod iepile;
pub mod json_scan;
pub mod json_stream;
pub mod lines;
pub mod mentions;
pub mod pile_ner;
pub mod xmi;

use crate::io::IoError;
use crate::model::{QuarantineRecord, Sample, SourceFormat};
use crate::report::Counts;
use crate::table::TableError;
use arrow_array::RecordBatch;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// A failure that stops reading a file (unlike a bad record, which is quarantined).
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The input could not be opened or read.
    #[error(transparent)]
    Io(#[from] IoError),
    /// The output table could not be written.
    #[error(transparent)]
    Table(#[from] TableError),
    /// The input is unusable as a whole (wrong format, missing companion file, …).
    #[error("{path}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Input {
        /// The file.
        path: PathBuf,
        /// The line, when one is to blame.
        line: Option<u64>,
        /// What was expected.
        message: String,
    },
}

/// Where a reader sends what it reads, and the counts it keeps.
pub trait Sink {
    /// Accepts one sample (counted as written).
    fn sample(&mut self, sample: Sample) -> Result<(), ReadError>;
    /// Accepts one record that could not be read (counted as quarantined under its reason).
    fn quarantine(&mut self, record: QuarantineRecord) -> Result<(), ReadError>;
    /// The counts; readers add to `read`, `skipped` and `notes` through it.
    fn counts(&mut self) -> &mut Counts;
    /// Says which file the records that follow come from (for the rows a sink writes
    /// itself, such as a sample that breaks the table invariants).
    fn file(&mut self, _name: &str) {}
    /// Whether this sink takes a unit's samples as one batch of the samples table
    /// ([`Sink::samples_batch`]). The ingest driver then checks and converts them on the
    /// thread that parsed them, which frees their memory where it was allocated, and a
    /// table's writer thread is left with encoding.
    fn takes_batches(&self) -> bool {
        false
    }
    /// Accepts samples that passed [`Sample::check`], as one batch of the samples table,
    /// counted as written. The driver calls it only when [`Sink::takes_batches`]; this
    /// default reads the rows back and takes them one by one.
    fn samples_batch(&mut self, batch: RecordBatch) -> Result<(), ReadError> {
        let samples = crate::model::schema::batch_to_samples(&batch).map_err(|e| ReadError::Input {
            path: PathBuf::from("(a batch of samples)"),
            line: None,
            message: format!("expected rows of the samples table: {e}"),
        })?;
        samples.into_iter().try_for_each(|s| self.sample(s))
    }
}

/// The quarantine record of a sample a reader made that breaks the table invariants: a
/// reader bug must not corrupt the table, so the sample is kept with the reason.
pub fn invariant_violation(file: &str, sample: &Sample, problem: &crate::model::SampleError) -> QuarantineRecord {
    let raw = serde_json::to_string(sample).unwrap_or_default();
    QuarantineRecord::new(file, None, None, "invariant_violation", problem.to_string(), &raw)
}

/// A sink that keeps everything in memory (tests, small inputs, parallel readers).
#[derive(Debug, Default)]
pub struct VecSink {
    /// Samples received, in order.
    pub samples: Vec<Sample>,
    /// Quarantined records, in order.
    pub quarantined: Vec<QuarantineRecord>,
    /// Counts so far.
    pub counts: Counts,
}

impl Sink for VecSink {
    fn sample(&mut self, sample: Sample) -> Result<(), ReadError> {
        self.counts.written += 1;
        self.samples.push(sample);
        Ok(())
    }
    fn quarantine(&mut self, record: QuarantineRecord) -> Result<(), ReadError> {
        self.counts.quarantine(&record.reason);
        self.quarantined.push(record);
        Ok(())
    }
    fn counts(&mut self) -> &mut Counts {
        &mut self.counts
    }
}

/// How the `lang` column is filled.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum LangPolicy {
    /// Guess per sample from the script: Han → `zh`, kana → `ja`, Hangul → `ko`, else `en`.
    #[default]
    Auto,
    /// Use this code for every sample.
    Fixed(String),
}

impl LangPolicy {
    /// Parses `auto` or a language code.
    pub fn parse(s: &str) -> LangPolicy {
        if s == "auto" { LangPolicy::Auto } else { LangPolicy::Fixed(s.to_string()) }
    }

    /// The language for `text` under this policy.
    pub fn lang_for(&self, text: &str) -> String {
        match self {
            LangPolicy::Fixed(code) => code.clone(),
            LangPolicy::Auto => guess_lang(text).to_string(),
        }
    }
}

pub use crate::script::guess_lang;

/// Everything a reader needs to know about the file it reads, besides its bytes.
#[derive(Debug, Clone)]
pub struct FileContext {
    /// The input file.
    pub path: PathBuf,
    /// The dataset name for the `dataset` column and ids.
    pub dataset: String,
    /// The split for the `split` column and ids.
    pub split: String,
    /// The file stem used in ids.
    pub stem: String,
    /// How to fill `lang`.
    pub lang: LangPolicy,
}

/// Split names recognised in file names, and what they normalise to.
const SPLITS: [(&str, &str); 6] =
    [("train", "train"), ("dev", "dev"), ("valid", "dev"), ("validation", "dev"), ("val", "dev"), ("test", "test")];

/// The split named by a token of a file stem (`music_dev` → `dev`), if any.
pub fn split_from_stem(stem: &str) -> Option<&'static str> {
    stem.split(['_', '-', '.'])
        .filter_map(|tok| SPLITS.iter().find(|(name, _)| tok.eq_ignore_ascii_case(name)).map(|(_, s)| *s))
        .next_back()
}

/// The stem with its split token removed (`music_dev` → `music`).
fn stem_without_split(stem: &str) -> String {
    let kept: Vec<&str> = stem
        .split(['_', '-'])
        .filter(|tok| !SPLITS.iter().any(|(name, _)| tok.eq_ignore_ascii_case(name)))
        .collect();
    kept.join("_")
}

impl FileContext {
    /// Derives the context of `path`: `dataset` and `split` default to what the file and
    /// directory names say (`ner_data/music/dev.txt` and `music_dev.txt` both give dataset
    /// `music`, split `dev`), prefixed for formats whose names are bare domains.
    pub fn derive(
        path: &Path,
        format: SourceFormat,
        dataset: Option<&str>,
        split: Option<&str>,
        lang: &LangPolicy,
    ) -> FileContext {
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let split = split
            .map(str::to_string)
            .or_else(|| split_from_stem(&stem).map(str::to_string))
            .unwrap_or_else(|| "unknown".to_string());
        let dataset = dataset.map(str::to_string).unwrap_or_else(|| {
            let from_stem = stem_without_split(&stem);
            let base = if from_stem.is_empty() {
                path.parent()
                    .and_then(|p| p.file_name())
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "unknown".to_string())
            } else {
                from_stem
            };
            match format {
                SourceFormat::Crossner if !base.starts_with("crossner") => format!("crossner_{base}"),
                _ => base,
            }
        });
        FileContext { path: path.to_path_buf(), dataset, split, stem, lang: lang.clone() }
    }

    /// The id of record `index` of this file: `{dataset}/{split}/{stem}:{index}`.
    pub fn sample_id(&self, index: u64) -> String {
        // Put together by hand: through `format!` it took more instructions than the rest of
        // making a CrossNER sample.
        let mut id = String::with_capacity(self.dataset.len() + self.split.len() + self.stem.len() + 23);
        for part in [&self.dataset, "/", &self.split, "/", &self.stem, ":"] {
            id.push_str(part);
        }
        push_decimal(&mut id, index);
        id
    }

    /// The path as shown in messages and quarantine rows.
    pub fn display(&self) -> String {
        self.path.display().to_string()
    }

    /// A new sample of this file with the given record index and text.
    pub fn new_sample(&self, format: SourceFormat, index: u64, text: String) -> Sample {
        let lang = self.lang.lang_for(&text);
        Sample::new(self.sample_id(index), &self.dataset, format, &self.split, lang, text)
    }

    /// A quarantine record of this file.
    pub fn quarantine(
        &self,
        line: Option<u64>,
        record: Option<u64>,
        reason: &str,
        message: impl Into<String>,
        raw: &str,
    ) -> QuarantineRecord {
        QuarantineRecord::new(self.display(), line, record, reason, message, raw)
    }
}

/// Appends `n` in decimal.
fn push_decimal(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.push_str(std::str::from_utf8(&digits[at..]).unwrap_or_default());
}

/// What ingest says about every file, whatever its format: the `dataset`, `split` and
/// `lang` choices of the run. Each reader holds one and derives a [`FileContext`] from it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Naming {
    /// Dataset name for every sample; derived from file names when `None`.
    pub dataset: Option<String>,
    /// Split for every sample; derived from file names when `None`.
    pub split: Option<String>,
    /// How to fill the `lang` column.
    pub lang: LangPolicy,
}

impl Naming {
    /// The context of input file `path` read as `format`.
    pub fn context(&self, path: &Path, format: SourceFormat) -> FileContext {
        FileContext::derive(path, format, self.dataset.as_deref(), self.split.as_deref(), &self.lang)
    }
}

/// A label list from a file beside the data (B2NERD's `labels.json`, IEPile's
/// `schema.json`), loaded once per input file, on first need, by whichever unit needs it.
#[derive(Debug)]
pub struct Companion {
    path: Option<PathBuf>,
    read: fn(&Path) -> Result<Vec<String>, ReadError>,
    loaded: OnceLock<Result<Option<Vec<String>>, String>>,
}

impl Companion {
    /// No companion file.
    pub fn none() -> Companion {
        Companion { path: None, read: |_| Ok(Vec::new()), loaded: OnceLock::from(Ok(None)) }
    }

    /// The companion at `path` (none when `None`), read with `read` when first asked for.
    pub fn at(path: Option<PathBuf>, read: fn(&Path) -> Result<Vec<String>, ReadError>) -> Companion {
        Companion { path, read, loaded: OnceLock::new() }
    }

    /// Records labels already read (so that an unreadable file fails before any unit).
    pub fn set(&self, labels: Option<Vec<String>>) {
        let _ = self.loaded.set(Ok(labels));
    }

    /// The companion's path, if there is one.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The labels (`Ok(None)` when there is no companion file), loading them on first call;
    /// a file that cannot be read gives its error message, every time.
    pub fn get(&self) -> &Result<Option<Vec<String>>, String> {
        self.loaded.get_or_init(|| match &self.path {
            Some(p) => (self.read)(p).map(Some).map_err(|e| e.to_string()),
            None => Ok(None),
        })
    }

    /// What [`Companion::get`] gave, if any unit asked.
    pub fn asked(&self) -> Option<&Result<Option<Vec<String>>, String>> {
        self.loaded.get()
    }
}

/// One input file (or XMI document) as its units see it: its identity and what its units
/// share. Units of one file hold the same `Arc<FileState>`.
#[derive(Debug)]
pub struct FileState {
    /// Dataset, split, id stem and language policy of the file.
    pub ctx: FileContext,
    /// The file's companion label list, if its format has one.
    pub labels: Companion,
    /// The file's size and SHA-256, set when a reader opened with [`open_digested`] has
    /// read it to its end.
    pub digest: OnceLock<(u64, String)>,
}

impl FileState {
    /// A file without companion.
    pub fn new(ctx: FileContext) -> Arc<FileState> {
        FileState::with_labels(ctx, Companion::none())
    }

    /// A file with its companion label list.
    pub fn with_labels(ctx: FileContext, labels: Companion) -> Arc<FileState> {
        Arc::new(FileState { ctx, labels, digest: OnceLock::new() })
    }
}

/// A piece of input that parses on its own. See the module docs.
#[derive(Debug)]
pub struct Unit {
    /// The file it belongs to.
    pub file: Arc<FileState>,
    /// 0-based position among the units of its file: with the file's name, the unit's
    /// identity (what `--shard` is decided on).
    pub index: u64,
    /// Input bytes it covers, for progress.
    pub size: u64,
    /// Things the finder noticed about the file, counted with the unit (`bom`, …).
    pub notes: Vec<&'static str>,
    /// What to parse.
    pub body: UnitBody,
}

/// The content of a [`Unit`].
#[derive(Debug)]
pub enum UnitBody {
    /// Raw JSON records, in file order, each with its index and line.
    Records(Vec<Result<json_stream::RawRecord, json_stream::SplitError>>),
    /// Whole lines of a line-based file, ending after a sentence break.
    Lines {
        /// The bytes, `\n`-separated.
        bytes: Vec<u8>,
        /// The 1-based file line of the first byte.
        first_line: u64,
        /// The record index of the first sentence in the file.
        first_record: u64,
        /// How many records (sentences) the unit holds, as the finder counted them.
        records: u64,
    },
    /// One XMI document.
    Document {
        /// Which document.
        doc: xmi::XmiDocument,
        /// Its bytes when the finder read them already (a zip member, or why it could not
        /// be read); a file is read by the parse.
        bytes: Option<Result<Vec<u8>, xmi::MemberError>>,
    },
}

/// What parsing one unit gave. `counts` holds `read`, `skipped` and `notes`; the driver
/// counts samples and quarantined records as it writes them.
#[derive(Debug, Default)]
pub struct Part {
    /// Finished samples, in record order.
    pub samples: Vec<Sample>,
    /// Records that could not be read, in record order.
    pub quarantined: Vec<QuarantineRecord>,
    /// What the unit's records count for.
    pub counts: Counts,
    /// IEPile, Pile-NER: passages that may still merge with other units' (see
    /// [`mentions::Open`]); they come before (`head`) and after (`tail`) `samples`.
    pub open: Option<mentions::Open>,
}

impl Sink for Part {
    fn sample(&mut self, sample: Sample) -> Result<(), ReadError> {
        self.samples.push(sample);
        Ok(())
    }
    fn quarantine(&mut self, record: QuarantineRecord) -> Result<(), ReadError> {
        self.quarantined.push(record);
        Ok(())
    }
    fn counts(&mut self) -> &mut Counts {
        &mut self.counts
    }
}

/// The units of one file, found as they are asked for.
pub type Units<'a> = Box<dyn Iterator<Item = Result<Unit, ReadError>> + Send + 'a>;

/// One input format. Implementations hold their options (see [`for_format`]).
pub trait Reader: Sync {
    /// The format this reader reads.
    fn format(&self) -> SourceFormat;

    /// Whether a file found while expanding an input directory belongs to this format.
    fn wants(&self, path: &Path) -> bool;

    /// The files of `inputs` to read, in output order: files as given, directories searched
    /// for the files this format [`wants`](Reader::wants), sorted by path. A reader may
    /// prepare what its units need here (XMI loads its type systems).
    /// What the search passed over is counted in `counts` ([`expand_inputs`]).
    fn files(&mut self, inputs: &[PathBuf], counts: &mut Counts) -> Result<Vec<PathBuf>, ReadError> {
        expand_inputs(&|p| self.wants(p), inputs, counts)
    }

    /// The units of `path` (one of [`files`](Reader::files)), in file order, cut lazily.
    fn units<'a>(&'a self, path: &Path) -> Result<Units<'a>, ReadError>;

    /// Parses one unit. Pure: it depends on the unit alone, so units parse in any order.
    fn parse(&self, unit: &Unit) -> Result<Part, ReadError>;

    /// How passages of this format merge across units (`None` for formats without
    /// passages): tells the driver how to stitch [`Part::open`] and how to shard.
    fn merge(&self) -> mentions::MergeMode {
        mentions::MergeMode::None
    }

    /// For a unit another shard owns: the passages at its edges, so that runs crossing it
    /// stitch the same as unsharded ([`mentions::Stitcher`]); `None` when the format has no
    /// runs.
    fn edges(&self, _unit: &Unit) -> Option<Part> {
        None
    }

    /// Called once after the last unit of a file: file-level notes and late errors.
    fn end_file(&self, _file: &FileState, _counts: &mut Counts) -> Result<(), ReadError> {
        Ok(())
    }

    /// Whether [`units`](Reader::units) reads each file once from start to end through
    /// [`open_digested`], so that its digest comes with the reading ([`FileState::digest`])
    /// and ingest need not read the file a second time to record it.
    fn digests_while_reading(&self) -> bool {
        false
    }
}

/// The reader for checked ingest parameters.
pub fn for_format(params: &crate::ingest::ValidIngestParams) -> Result<Box<dyn Reader>, ReadError> {
    let naming = params.naming.clone();
    Ok(match params.format {
        SourceFormat::Crossner => Box::new(crossner::CrossnerReader { naming }),
        SourceFormat::B2nerd => Box::new(b2nerd::B2nerdReader { naming, labels: params.labels.clone() }),
        SourceFormat::Iepile => {
            let source_as_dataset = naming.dataset.is_none();
            Box::new(iepile::IepileReader { naming, merge: params.merge, source_as_dataset })
        }
        SourceFormat::PileNer => Box::new(pile_ner::PileNerReader { naming, merge: params.merge }),
        SourceFormat::Xmi => {
            let options = params.xmi.clone().unwrap_or_default();
            Box::new(xmi::XmiReader::new(options, naming)?)
        }
    })
}

/// Expands directories into the files `wants` accepts, sorted; files are kept as given.
/// What the walk passed over is counted in `counts` as notes (see [`collect_files`]), and
/// so is every file of a directory that `wants` refuses (`unwanted_file`).
pub fn expand_inputs(wants: &dyn Fn(&Path) -> bool, inputs: &[PathBuf], counts: &mut Counts) -> Result<Vec<PathBuf>, ReadError> {
    let mut out = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let (wanted, unwanted): (Vec<PathBuf>, Vec<PathBuf>) =
                collect_files(input, counts)?.into_iter().partition(|p| wants(p));
            out.extend(wanted);
            counts.note(NOTE_UNWANTED_FILE, unwanted.len() as u64);
        } else if input.exists() {
            check_regular_file(input)?;
            out.push(input.clone());
        } else {
            return Err(IoError::new(input, std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or directory")).into());
        }
    }
    Ok(out)
}

/// Refuses an input that is not a regular file (a pipe such as `<(zcat x.gz)`, a device):
/// an input is opened more than once (the encoding check, the digest), and a pipe hands
/// its bytes over only once, so what the first opening read would be lost to the second.
pub fn check_regular_file(path: &Path) -> Result<(), ReadError> {
    let meta = std::fs::metadata(path).map_err(|e| IoError::new(path, e))?;
    if meta.is_file() {
        return Ok(());
    }
    let message = "not a regular file (a pipe or a device?): inputs are read more than once, so write it to a file first";
    Err(ReadError::Input { path: path.to_path_buf(), line: None, message: message.into() })
}

/// Note: a file found in an input directory that the format does not read.
pub const NOTE_UNWANTED_FILE: &str = "unwanted_file";
/// Note: a link to a directory that contains it, not followed again.
pub const NOTE_SYMLINK_LOOP: &str = "symlink_loop";
/// Note: a file reached a second time through a link, read once.
pub const NOTE_DUPLICATE_FILE: &str = "duplicate_file";

/// Every file under `dir`, recursively and sorted by path. Links are followed, but a link
/// back to a directory above it is not (counted as `symlink_loop`) and a file reached twice
/// (two links to one file) is listed once, at its first path (counted as `duplicate_file`),
/// so no input is ever read twice.
pub fn collect_files(dir: &Path, counts: &mut Counts) -> Result<Vec<PathBuf>, ReadError> {
    let (files, walked) = crate::io::walk_files(dir)?;
    counts.note(NOTE_SYMLINK_LOOP, walked.loops);
    counts.note(NOTE_DUPLICATE_FILE, walked.duplicates);
    Ok(files)
}

/// Refuses a text input that would be misread rather than read: one in UTF-16 or UTF-32
/// (a byte-order mark says so) or with classic Mac OS line endings (CRs but no LF in the
/// first block), whose lines would all run together. Only the first 64 KiB are looked at.
pub fn check_text_encoding(path: &Path) -> Result<(), ReadError> {
    let mut head = Vec::with_capacity(1 << 16);
    use std::io::Read;
    open_file(path)?.take(1 << 16).read_to_end(&mut head).map_err(|e| IoError::new(path, e))?;
    let refuse = |message: &str| Err(ReadError::Input { path: path.to_path_buf(), line: Some(1), message: message.to_string() });
    if head.starts_with(b"\xFF\xFE") || head.starts_with(b"\xFE\xFF") || head.starts_with(b"\x00\x00\xFE\xFF") {
        return refuse("UTF-16/UTF-32 is not supported (the file starts with its byte-order mark); convert it to UTF-8, e.g. `iconv -f UTF-16 -t UTF-8`");
    }
    if memchr::memchr_iter(b'\r', &head).nth(1).is_some() && memchr::memchr(b'\n', &head).is_none() {
        return refuse("the lines end in CR only (classic Mac OS line endings), which is not supported; convert them to LF, e.g. `tr '\\r' '\\n'`");
    }
    Ok(())
}

/// Opens `path` for reading, with the error naming it.
pub(crate) fn open_file(path: &Path) -> Result<std::fs::File, ReadError> {
    std::fs::File::open(path).map_err(|e| IoError::new(path, e).into())
}

/// Opens `path` (the file of `file`) for one pass from start to end that also digests it:
/// at the end of the input, its size and SHA-256 go into [`FileState::digest`].
pub(crate) fn open_digested(path: &Path, file: &Arc<FileState>) -> Result<Digesting<std::fs::File>, ReadError> {
    Ok(Digesting { inner: open_file(path)?, hasher: Some(Sha256::new()), size: 0, file: file.clone() })
}

/// A reader that hashes what passes through it; see [`open_digested`].
pub(crate) struct Digesting<R> {
    inner: R,
    /// `None` once the end was reached and the digest recorded.
    hasher: Option<Sha256>,
    size: u64,
    file: Arc<FileState>,
}

impl<R: std::io::Read> std::io::Read for Digesting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0 {
            if let Some(hasher) = &mut self.hasher {
                hasher.update(&buf[..n]);
                self.size += n as u64;
            }
        } else if !buf.is_empty()
            && let Some(hasher) = self.hasher.take()
        {
            let _ = self.file.digest.set((self.size, crate::provenance::hex(&hasher.finalize())));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pipe_is_refused_before_anything_reads_it() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("in.json");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if !made.is_ok_and(|s| s.success()) {
            return; // no mkfifo here: nothing to check
        }
        // Opening a pipe without a writer would block: refusing it must not open it.
        let err = expand_inputs(&|_| true, &[fifo], &mut Counts::new("ingest")).unwrap_err().to_string();
        assert!(err.contains("in.json") && err.contains("not a regular file"), "{err}");
    }

    #[test]
    fn sample_ids_are_dataset_split_stem_and_index() {
        let ctx = FileContext::derive(Path::new("dir/music_dev.txt"), SourceFormat::Crossner, None, None, &LangPolicy::parse("auto"));
        for index in [0, 7, 10, 99, 1_000_003, u64::MAX] {
            assert_eq!(ctx.sample_id(index), format!("crossner_music/dev/music_dev:{index}"));
        }
    }

    #[test]
    fn a_digest_is_recorded_only_at_the_end_of_the_input() {
        use std::io::Read;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.txt");
        std::fs::write(&path, b"abc\ndef\n").unwrap();
        let file = FileState::new(FileContext::derive(&path, SourceFormat::Crossner, None, None, &LangPolicy::parse("auto")));
        let mut input = open_digested(&path, &file).unwrap();
        let mut buf = [0u8; 4];
        assert_eq!(input.read(&mut buf).unwrap(), 4);
        assert_eq!(input.read(&mut []).unwrap(), 0, "an empty read is not the end");
        assert!(file.digest.get().is_none(), "not before the end");
        let mut rest = Vec::new();
        input.read_to_end(&mut rest).unwrap();
        let expected = (8, crate::provenance::sha256_file(&path).unwrap());
        assert_eq!(file.digest.get(), Some(&expected));
    }

    #[test]
    fn a_sink_that_takes_rows_gets_a_batch_row_by_row() {
        let samples: Vec<Sample> = (0..3)
            .map(|i| Sample::new(format!("d/train/f:{i}"), "d", SourceFormat::Crossner, "train", "en", format!("text {i}")))
            .collect();
        let mut sink = VecSink::default();
        assert!(!sink.takes_batches());
        sink.samples_batch(crate::model::schema::samples_to_batch(&samples).unwrap()).unwrap();
        assert_eq!((sink.samples, sink.counts.written), (samples, 3));
    }

    #[test]
    fn context_from_upstream_and_flat_names() {
        let auto = LangPolicy::Auto;
        let c = FileContext::derive(Path::new("ner_data/music/dev.txt"), SourceFormat::Crossner, None, None, &auto);
        assert_eq!((c.dataset.as_str(), c.split.as_str()), ("crossner_music", "dev"));
        let c = FileContext::derive(Path::new("x/politics_train.txt"), SourceFormat::Crossner, None, None, &auto);
        assert_eq!((c.dataset.as_str(), c.split.as_str()), ("crossner_politics", "train"));
        assert_eq!(c.sample_id(3), "crossner_politics/train/politics_train:3");
        let c = FileContext::derive(Path::new("CrossNER_AI/train.json"), SourceFormat::B2nerd, None, None, &auto);
        assert_eq!((c.dataset.as_str(), c.split.as_str()), ("CrossNER_AI", "train"));
        let c = FileContext::derive(Path::new("a/b.json"), SourceFormat::B2nerd, Some("X"), Some("test"), &auto);
        assert_eq!((c.dataset.as_str(), c.split.as_str()), ("X", "test"));
    }

    #[test]
    fn unwanted_files_are_counted_per_directory_after_other_inputs() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        for (dir, files) in [(&a, ["1.json", "2.json", "x.txt"]), (&b, ["3.json", "y.txt", "z.txt"])] {
            std::fs::create_dir(dir).unwrap();
            for f in files {
                std::fs::write(dir.join(f), "[]").unwrap();
            }
        }
        let single = tmp.path().join("single.json");
        std::fs::write(&single, "[]").unwrap();
        let mut counts = Counts::new("ingest");
        let wants = |p: &Path| p.extension().is_some_and(|e| e == "json");
        let found = expand_inputs(&wants, &[single.clone(), a.clone(), b.clone()], &mut counts).unwrap();
        assert_eq!(found, vec![single, a.join("1.json"), a.join("2.json"), b.join("3.json")]);
        assert_eq!(counts.notes.get(NOTE_UNWANTED_FILE), Some(&3));
    }

    #[test]
    fn language_guess_by_script() {
        assert_eq!(guess_lang("Barak announced"), "en");
        assert_eq!(guess_lang("相比之下，青岛海牛队"), "zh");
        assert_eq!(guess_lang("ひらがな"), "ja");
        assert_eq!(LangPolicy::parse("de").lang_for("青岛"), "de");
    }
}
