//! The canonical data model: one sample of annotated text, the way every stage sees it.
//!
//! Readers turn each source format into [`Sample`]s; the table module writes them as the
//! canonical Arrow/Parquet table (schema in [`schema`]); every later stage reads them back.
//! Offsets are **Unicode code points, end-exclusive** everywhere (SPEC §1); conversions to
//! UTF-16 units or bytes happen at the edges, in the readers and writers that need them.

mod span;
pub mod schema;

pub use span::{CharIndex, Span, SpanError};

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The input format a sample was read from (the `source_format` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SourceFormat {
    /// IEPile JSON Lines (four-field envelope, test and pre-conversion variants).
    Iepile,
    /// UniversalNER / Pile-NER conversations.
    PileNer,
    /// B2NERD / InstructUIE split files (`sentence`, `entities[name,type,pos]`).
    B2nerd,
    /// CrossNER CoNLL-style `token<TAB>tag` files.
    Crossner,
    /// UIMA CAS XMI.
    Xmi,
}

impl SourceFormat {
    /// Every format, in the order of the dictionary stored in the table.
    pub const ALL: [SourceFormat; 5] = [
        SourceFormat::Iepile,
        SourceFormat::PileNer,
        SourceFormat::B2nerd,
        SourceFormat::Crossner,
        SourceFormat::Xmi,
    ];

    /// The name used on the command line and in the table.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceFormat::Iepile => "iepile",
            SourceFormat::PileNer => "pile-ner",
            SourceFormat::B2nerd => "b2nerd",
            SourceFormat::Crossner => "crossner",
            SourceFormat::Xmi => "xmi",
        }
    }
}

impl fmt::Display for SourceFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SourceFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SourceFormat::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<_> = SourceFormat::ALL.iter().map(|f| f.as_str()).collect();
                format!("unknown format `{s}`; expected one of {}", names.join(", "))
            })
    }
}

/// One annotated mention: a span of the sample text with its label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entity {
    /// Where the mention sits in the sample text (code points, end-exclusive).
    pub span: Span,
    /// The label exactly as the source spells it (`parent -> child` kept verbatim).
    pub label: String,
    /// The mention text; always equal to the text under `span`.
    pub text: String,
    /// The taxonomy archetype, filled by `nerprep map`; `None` before mapping.
    pub archetype: Option<String>,
    /// A knowledge-base identifier (e.g. a Wikidata IRI) when the source links one.
    pub identifier: Option<String>,
    /// The annotation layer the mention comes from, when the source has layers: for XMI the
    /// short name of the entity type it was read as (`NamedEntity`, `Content`), or of the
    /// coreference chain type for a chain link with no entity under it (`Coreference`).
    /// `None` for formats without layers and in tables from before issue 20.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
}

impl Entity {
    /// An entity with no archetype, identifier or layer.
    pub fn new(span: Span, label: impl Into<String>, text: impl Into<String>) -> Self {
        Entity { span, label: label.into(), text: text.into(), archetype: None, identifier: None, layer: None }
    }
}

/// A mention the source gave that could not be placed in the text, with the reason why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unaligned {
    /// The label the source gave the mention.
    pub label: String,
    /// The mention as the source wrote it.
    pub text: String,
    /// A short machine-readable reason (`not_found`, `offset_mismatch`, …).
    pub reason: String,
}

/// A directed, labelled link between two entities of the same sample (XMI relation layers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Relation {
    /// Index of the head entity in [`Sample::entities`].
    pub head: u32,
    /// Index of the tail entity in [`Sample::entities`].
    pub tail: u32,
    /// The relation label.
    pub label: String,
}

/// One passage with its annotations: a row of the canonical `samples` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Stable id: `{dataset}/{split}/{file-stem}:{record-index}` (+ `#n` for sub-samples).
    pub id: String,
    /// Dataset name (`crossner_politics`, IEPile's `source`, …).
    pub dataset: String,
    /// The format the sample was read from.
    pub source_format: SourceFormat,
    /// `train`, `dev`, `test` or `unknown`.
    pub split: String,
    /// A BCP-47-ish language code (`en`, `zh`).
    pub lang: String,
    /// The passage.
    pub text: String,
    /// Annotated spans, in the order the source gave them.
    pub entities: Vec<Entity>,
    /// The labels the source asked for in this sample (negatives included).
    pub label_set: Vec<String>,
    /// Mentions that could not be placed in the text.
    pub unaligned: Vec<Unaligned>,
    /// Links between entities, by index.
    pub relations: Vec<Relation>,
    /// Source extras worth keeping, as a JSON object (empty when there are none).
    pub meta: serde_json::Map<String, serde_json::Value>,
}

/// Why a sample breaks the canonical-table invariants.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SampleError {
    /// An entity's span runs past the end of the text.
    #[error("sample {id}: entity {index} span {span} is outside the text ({len} code points)")]
    SpanOutOfRange { id: String, index: usize, span: Span, len: usize },
    /// An entity's stored text differs from the text under its span.
    #[error("sample {id}: entity {index} says {expected:?} but the text at {span} is {found:?}")]
    TextMismatch { id: String, index: usize, span: Span, expected: String, found: String },
    /// A relation names an entity index that does not exist.
    #[error("sample {id}: relation {index} points at entity {entity}, but there are {count}")]
    BadRelation { id: String, index: usize, entity: u32, count: usize },
}

impl Sample {
    /// A sample with the given identity and text and no annotations yet.
    pub fn new(
        id: impl Into<String>,
        dataset: impl Into<String>,
        source_format: SourceFormat,
        split: impl Into<String>,
        lang: impl Into<String>,
        text: impl Into<String>,
    ) -> Self {
        Sample {
            id: id.into(),
            dataset: dataset.into(),
            source_format,
            split: split.into(),
            lang: lang.into(),
            text: text.into(),
            entities: Vec::new(),
            label_set: Vec::new(),
            unaligned: Vec::new(),
            relations: Vec::new(),
            meta: serde_json::Map::new(),
        }
    }

    /// Checks the invariants every stage relies on: each entity's span lies inside the text
    /// and slices exactly to its `text`, and relations point at existing entities.
    pub fn check(&self) -> Result<(), SampleError> {
        let index = CharIndex::new(&self.text);
        for (i, e) in self.entities.iter().enumerate() {
            let found = index.slice(&self.text, e.span).ok_or_else(|| SampleError::SpanOutOfRange {
                id: self.id.clone(),
                index: i,
                span: e.span,
                len: index.len_chars(),
            })?;
            if found != e.text {
                return Err(SampleError::TextMismatch {
                    id: self.id.clone(),
                    index: i,
                    span: e.span,
                    expected: e.text.clone(),
                    found: found.to_string(),
                });
            }
        }
        let count = self.entities.len();
        for (i, r) in self.relations.iter().enumerate() {
            for entity in [r.head, r.tail] {
                if entity as usize >= count {
                    return Err(SampleError::BadRelation { id: self.id.clone(), index: i, entity, count });
                }
            }
        }
        Ok(())
    }
}

/// A record that could not be read, kept with the reason instead of being dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantineRecord {
    /// The input file.
    pub file: String,
    /// 1-based line where the record starts, when the format has lines.
    pub line: Option<u64>,
    /// 0-based record index in the file, when the format has records.
    pub record: Option<u64>,
    /// A short machine-readable reason code (`bad_field_count`, `json_syntax`, …).
    pub reason: String,
    /// A human-readable message saying what was expected.
    pub message: String,
    /// The raw record, truncated to [`QuarantineRecord::RAW_LIMIT`] bytes.
    pub raw: String,
}

impl QuarantineRecord {
    /// How many bytes of the raw record are kept.
    pub const RAW_LIMIT: usize = 4096;

    /// A quarantine record; `raw` is truncated on a char boundary to [`Self::RAW_LIMIT`] bytes.
    pub fn new(
        file: impl Into<String>,
        line: Option<u64>,
        record: Option<u64>,
        reason: impl Into<String>,
        message: impl Into<String>,
        raw: &str,
    ) -> Self {
        let mut cut = raw.len().min(Self::RAW_LIMIT);
        while !raw.is_char_boundary(cut) {
            cut -= 1;
        }
        QuarantineRecord {
            file: file.into(),
            line,
            record,
            reason: reason.into(),
            message: message.into(),
            raw: raw[..cut].to_string(),
        }
    }

    /// `file:line` (or `file:record N`) for messages.
    pub fn location(&self) -> String {
        match (self.line, self.record) {
            (Some(line), _) => format!("{}:{}", self.file, line),
            (None, Some(rec)) => format!("{}: record {}", self.file, rec),
            (None, None) => self.file.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_with(text: &str, start: u32, end: u32, mention: &str) -> Sample {
        let mut s = Sample::new("d/train/f:0", "d", SourceFormat::Crossner, "train", "en", text);
        s.entities.push(Entity::new(Span::new(start, end).unwrap(), "x", mention));
        s
    }

    #[test]
    fn check_accepts_code_point_spans() {
        assert!(sample_with("Zürich is nice", 0, 6, "Zürich").check().is_ok());
        assert!(sample_with("在青岛海牛队", 1, 6, "青岛海牛队").check().is_ok());
    }

    #[test]
    fn check_rejects_byte_offsets_and_overruns() {
        let err = sample_with("Zürich is nice", 0, 7, "Zürich").check().unwrap_err();
        assert!(matches!(err, SampleError::TextMismatch { .. }));
        let err = sample_with("abc", 1, 9, "bc").check().unwrap_err();
        assert!(matches!(err, SampleError::SpanOutOfRange { .. }));
    }

    #[test]
    fn quarantine_truncates_on_char_boundary() {
        let raw = "é".repeat(3000);
        let q = QuarantineRecord::new("f", Some(1), None, "r", "m", &raw);
        assert!(q.raw.len() <= QuarantineRecord::RAW_LIMIT);
        assert_eq!(q.location(), "f:1");
    }

    #[test]
    fn source_format_round_trips_through_its_name() {
        for f in SourceFormat::ALL {
            assert_eq!(f.as_str().parse::<SourceFormat>().unwrap(), f);
        }
        assert!("conll".parse::<SourceFormat>().is_err());
    }
}
