//! Readers: one per input format, all behind the [`Reader`] trait.
//!
//! A reader gets one input file at a time with its [`FileContext`] (dataset, split, language
//! policy, id scheme) and pushes [`Sample`]s and [`QuarantineRecord`]s into a [`Sink`],
//! counting what it read. It never drops a record silently: anything it cannot turn into a
//! sample goes to quarantine with a reason, and anything it skips on purpose is counted.
//! The ingest stage (`crate::ingest`) drives readers and writes the tables.

pub mod b2nerd;
pub mod crossner;
pub mod iepile;
pub mod json_stream;
pub mod lines;
pub mod mentions;
pub mod pile_ner;
pub mod xmi;

use crate::io::IoError;
use crate::model::{QuarantineRecord, Sample, SourceFormat};
use crate::report::Counts;
use crate::table::TableError;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

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
        .last()
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
        format!("{}/{}/{}:{}", self.dataset, self.split, self.stem, index)
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

    /// Opens the file for buffered reading; `wrap` may add progress reporting.
    pub fn open(&self, wrap: &dyn Fn(std::fs::File) -> Box<dyn Read>) -> Result<Box<dyn BufRead>, ReadError> {
        let file = std::fs::File::open(&self.path).map_err(|e| IoError::new(&self.path, e))?;
        Ok(Box::new(BufReader::with_capacity(1 << 20, wrap(file))))
    }
}

/// One input format. Implementations hold their format-specific options.
pub trait Reader: Sync {
    /// The format this reader reads.
    fn format(&self) -> SourceFormat;

    /// Whether a file found while expanding an input directory belongs to this format.
    fn wants(&self, path: &Path) -> bool;

    /// Reads `input` (opened from `ctx.path`), pushing samples and quarantined records into
    /// `sink` and counting every record it read there.
    fn read(&self, ctx: &FileContext, input: &mut dyn BufRead, sink: &mut dyn Sink) -> Result<(), ReadError>;
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn language_guess_by_script() {
        assert_eq!(guess_lang("Barak announced"), "en");
        assert_eq!(guess_lang("相比之下，青岛海牛队"), "zh");
        assert_eq!(guess_lang("ひらがな"), "ja");
        assert_eq!(LangPolicy::parse("de").lang_for("青岛"), "de");
    }
}
