//! Ingest's parameters: the `ingest` recipe section and the `nerprep ingest` flags.

use crate::model::SourceFormat;
use crate::params::{Checker, ParamsError, StageParams};
use crate::readers::mentions::MergeMode;
use crate::readers::xmi::{ViewSelection, XmiOptions};
use crate::uima::inception::Annotators;
use crate::readers::{LangPolicy, Naming};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// How to read a corpus into the samples table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct IngestParams {
    /// Input format: crossner, b2nerd, iepile, pile-ner, xmi (required).
    #[arg(long, short)]
    #[schemars(with = "Option<String>")]
    pub format: Option<SourceFormat>,
    /// Dataset name; default: IEPile's `source` field, else from the file name (`music_dev.txt`, `music/dev.txt` → music;
    /// CrossNER names get a `crossner_` prefix; XMI: the input folder's or zip's name).
    #[arg(long)]
    pub dataset: Option<String>,
    /// Split (train, dev, test, …); default: from the file name, else `unknown`.
    #[arg(long)]
    pub split: Option<String>,
    /// Language code, or `auto` to guess per sample from the script (Han → zh, else en).
    #[arg(long, default_value = "auto")]
    pub lang: String,
    /// B2NERD: the dataset's labels.json; default: `labels.json` beside the split file, or
    /// the split name in the file name replaced by `labels`.
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// IEPile, Pile-NER: which records repeating one passage become one sample (entities and
    /// label sets united): `consecutive` runs (constant memory), `global` over the whole file
    /// (memory grows with the number of distinct passages; samples are written at the end of
    /// each file), or `none` (one sample per record).
    #[arg(long, default_value = "consecutive")]
    pub merge: MergeMode,
    /// XMI: TypeSystem XML; repeat to merge several. Default: TypeSystem.xml inside the zip,
    /// or beside the XMI files (or in a parent directory of the input).
    #[arg(long, value_name = "FILE")]
    pub typesystem: Vec<PathBuf>,
    /// XMI: an entity annotation type (a span layer); its subtypes count too. Repeat it to read
    /// several layers into one sample: each entity keeps its layer (the short type name),
    /// relations between layers are kept. A recipe may give one type or a list [default:
    /// de.tudarmstadt.ukp.dkpro.core.api.ner.type.NamedEntity].
    #[arg(long, value_name = "TYPE")]
    #[serde(deserialize_with = "crate::params::one_or_many")]
    #[schemars(with = "crate::params::OneOrMany")]
    pub entity_type: Vec<String>,
    /// XMI, INCEpTION project exports: whose annotations to read: `curation` (the curated
    /// documents; the default when the project has any), `all` (every annotator, not the
    /// curation; the default otherwise), or user names, comma-separated or repeated
    /// (`curation` may be one of them). Every sample records its `annotator` and `document`.
    #[arg(long, value_name = "WHO", value_delimiter = ',')]
    #[serde(deserialize_with = "crate::params::one_or_many")]
    #[schemars(with = "crate::params::OneOrMany")]
    pub annotators: Vec<String>,
    /// XMI: the feature holding the label; when absent or empty the short type name is used
    /// (and counted) [default: value].
    #[arg(long, value_name = "FEATURE")]
    pub label_feature: Option<String>,
    /// XMI: read the view with this sofa ID instead of the initial view.
    #[arg(long, value_name = "NAME")]
    pub view: Option<String>,
    /// XMI: one sample per view that has text.
    #[arg(long)]
    pub all_views: bool,
    /// XMI: one sample per sentence annotation, offsets rebased to the sentence.
    #[arg(long)]
    pub split_sentences: bool,
    /// XMI: token type for token-boundary checks [default: DKPro Core Token, if present].
    #[arg(long, value_name = "TYPE")]
    pub token_type: Option<String>,
    /// XMI: sentence type for --split-sentences [default: DKPro Core Sentence, if present].
    #[arg(long, value_name = "TYPE")]
    pub sentence_type: Option<String>,
    /// XMI: the largest zip member read, in MiB; a bigger one is quarantined
    /// (`zip_member_too_large`) and the archive's other documents are still read
    /// [default: 256].
    #[arg(long, value_name = "MIB")]
    pub max_member_size: Option<u64>,
    /// Read only shard I of N (`I/N`, 0 ≤ I < N): a stable share of the input's units, so
    /// that N runs split a corpus and together write exactly the unsharded samples.
    /// IEPile/Pile-NER runs merged across units belong to the shard of the unit they start
    /// in; `merge: global` shards whole files.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
}

impl Default for IngestParams {
    fn default() -> Self {
        IngestParams {
            format: None,
            dataset: None,
            split: None,
            lang: "auto".into(),
            labels: None,
            merge: MergeMode::default(),
            typesystem: Vec::new(),
            entity_type: Vec::new(),
            annotators: Vec::new(),
            label_feature: None,
            view: None,
            all_views: false,
            split_sentences: false,
            token_type: None,
            sentence_type: None,
            max_member_size: None,
            shard: None,
        }
    }
}

/// Checked ingest parameters: what [`crate::ingest::ingest`] and
/// [`crate::readers::for_format`] take.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidIngestParams {
    /// The input format.
    pub format: SourceFormat,
    /// Dataset, split and language choices.
    pub naming: Naming,
    /// B2NERD: an explicit labels.json.
    pub labels: Option<PathBuf>,
    /// IEPile, Pile-NER: how records repeating a passage merge.
    pub merge: MergeMode,
    /// XMI: the reader's options (`None` for other formats).
    pub xmi: Option<XmiOptions>,
    /// The share of the units to read (`None`: all).
    pub shard: Option<Shard>,
    /// The parameters as given, for provenance.
    pub params: IngestParams,
}

/// One of `count` stable shares of a corpus's units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Which share, `0..count`.
    pub index: u64,
    /// How many shares.
    pub count: u64,
}

impl Shard {
    /// Parses `I/N`; the message says what is wrong, to follow the key.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let bad = || format!("must be I/N with 0 ≤ I < N, got {text:?}");
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let (index, count) = (i.trim().parse::<u64>().map_err(|_| bad())?, n.trim().parse::<u64>().map_err(|_| bad())?);
        if index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// Whether unit `unit` of the file named `name` belongs to this shard: a hash of the
    /// two alone, so the answer never depends on threads, timing or the other files.
    pub fn owns(&self, name: &str, unit: u64) -> bool {
        stable_hash(name, unit) % self.count == self.index
    }
}

/// FNV-1a over the name and the unit index, finished with a SplitMix64 mix so that
/// consecutive units spread evenly over the shards.
fn stable_hash(name: &str, unit: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes().chain(unit.to_le_bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

impl IngestParams {
    /// The XMI-only options that were given, by field name.
    fn xmi_fields_given(&self) -> Vec<&'static str> {
        let given = [
            ("typesystem", !self.typesystem.is_empty()),
            ("entity_type", !self.entity_type.is_empty()),
            ("annotators", !self.annotators.is_empty()),
            ("label_feature", self.label_feature.is_some()),
            ("view", self.view.is_some()),
            ("all_views", self.all_views),
            ("split_sentences", self.split_sentences),
            ("token_type", self.token_type.is_some()),
            ("sentence_type", self.sentence_type.is_some()),
            ("max_member_size", self.max_member_size.is_some()),
        ];
        given.into_iter().filter(|(_, g)| *g).map(|(f, _)| f).collect()
    }

    /// The XMI reader's options.
    fn xmi_options(&self) -> XmiOptions {
        let defaults = XmiOptions::default();
        XmiOptions {
            typesystems: self.typesystem.clone(),
            entity_types: if self.entity_type.is_empty() { defaults.entity_types } else { self.entity_type.clone() },
            annotators: Annotators::parse(&self.annotators).unwrap_or_default(),
            label_feature: self.label_feature.clone().unwrap_or(defaults.label_feature),
            views: match (&self.view, self.all_views) {
                (_, true) => ViewSelection::All,
                (Some(name), false) => ViewSelection::Named(name.clone()),
                (None, false) => ViewSelection::Initial,
            },
            split_sentences: self.split_sentences,
            token_type: self.token_type.clone(),
            sentence_type: self.sentence_type.clone(),
            max_member_size: self.max_member_size.map_or(defaults.max_member_size, |mib| mib.saturating_mul(1 << 20)),
        }
    }
}

impl StageParams for IngestParams {
    const STAGE: &'static str = "ingest";
    type Valid = ValidIngestParams;

    fn check(&self) -> Result<ValidIngestParams, ParamsError> {
        let mut c = Checker::new(Self::STAGE);
        let names: Vec<&str> = SourceFormat::ALL.iter().map(|f| f.as_str()).collect();
        c.require(self.max_member_size != Some(0), "max_member_size", "must be at least 1 (MiB)");
        c.require(self.format.is_some(), "format", format!("must be given: one of {}", names.join(", ")));
        let format = self.format.unwrap_or(SourceFormat::Crossner);
        c.require(!self.lang.trim().is_empty(), "lang", "must be a language code or `auto`, got an empty string");
        for (field, value) in [("dataset", &self.dataset), ("split", &self.split)] {
            c.require(value.as_deref().is_none_or(|v| !v.trim().is_empty()), field, "must not be empty");
        }
        if self.format.is_some() && format != SourceFormat::Xmi {
            for field in self.xmi_fields_given() {
                c.problem(field, format!("only applies to format xmi, not {format}"));
            }
        }
        if self.format.is_some() && format != SourceFormat::B2nerd && self.labels.is_some() {
            c.problem("labels", format!("only applies to format b2nerd, not {format}"));
        }
        c.require(!(self.view.is_some() && self.all_views), "view", "cannot be combined with all_views");
        if let Err(message) = Annotators::parse(&self.annotators) {
            c.problem("annotators", message);
        }
        let mut seen = std::collections::BTreeSet::new();
        for t in &self.entity_type {
            c.require(!t.trim().is_empty(), "entity_type", "must name a type, got an empty string");
            c.require(t.trim().is_empty() || seen.insert(t.as_str()), "entity_type", format!("names `{t}` twice"));
        }
        let shard = match self.shard.as_deref().map(Shard::parse) {
            Some(Ok(s)) => Some(s),
            Some(Err(message)) => {
                c.problem("shard", message);
                None
            }
            None => None,
        };
        c.finish()?;
        Ok(ValidIngestParams {
            format,
            naming: Naming { dataset: self.dataset.clone(), split: self.split.clone(), lang: LangPolicy::parse(&self.lang) },
            labels: self.labels.clone(),
            merge: self.merge,
            xmi: (format == SourceFormat::Xmi).then(|| self.xmi_options()),
            shard,
            params: self.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::from_yaml;
    use clap::Parser;
    use std::path::Path;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        params: IngestParams,
    }

    #[test]
    fn clap_defaults_are_the_default_params() {
        let cli = Cli::try_parse_from(["ingest"]).unwrap();
        assert_eq!(cli.params, IngestParams::default());
        let cli = Cli::try_parse_from(["ingest", "-f", "pile-ner", "--merge", "global", "--shard", "1/3"]).unwrap();
        assert_eq!((cli.params.format, cli.params.merge, cli.params.shard.as_deref()), (Some(SourceFormat::PileNer), MergeMode::Global, Some("1/3")));
    }

    #[test]
    fn yaml_round_trips() {
        let params = IngestParams {
            format: Some(SourceFormat::Xmi),
            dataset: Some("frame".into()),
            typesystem: vec!["ts.xml".into()],
            all_views: true,
            merge: MergeMode::None,
            shard: Some("2/3".into()),
            ..IngestParams::default()
        };
        let text = serde_norway::to_string(&params).unwrap();
        let (back, valid) = from_yaml::<IngestParams>(&text, Path::new("r.yaml")).unwrap();
        assert_eq!(back, params);
        assert_eq!(valid.shard, Some(Shard { index: 2, count: 3 }));
        assert_eq!(valid.xmi.unwrap().views, ViewSelection::All);
        let (p, _) = from_yaml::<IngestParams>("format: pile-ner\n", Path::new("r.yaml")).unwrap();
        assert_eq!(p, IngestParams { format: Some(SourceFormat::PileNer), ..IngestParams::default() });
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_key_and_line() {
        let err = from_yaml::<IngestParams>("format: crossner\nmerge: sometimes\nthreads: 4\n", Path::new("r.yaml")).unwrap_err();
        let shown = err.to_string();
        assert!(shown.contains("r.yaml:2: ingest.merge is invalid"), "{shown}");
        assert!(shown.contains("r.yaml:3: ingest.threads is not a known key"), "{shown}");
        let err = from_yaml::<IngestParams>("format: tsv\n", Path::new("r.yaml")).unwrap_err();
        assert!(err.to_string().starts_with("r.yaml:1: ingest.format is invalid"), "{err}");
    }

    #[test]
    fn format_is_required() {
        let err = IngestParams::default().check().unwrap_err();
        assert_eq!(err.as_flags(), "--format must be given: one of iepile, pile-ner, b2nerd, crossner, xmi");
    }

    #[test]
    fn xmi_options_for_another_format_are_each_a_problem() {
        let p = IngestParams {
            format: Some(SourceFormat::Crossner),
            typesystem: vec!["ts.xml".into()],
            split_sentences: true,
            labels: Some("labels.json".into()),
            ..IngestParams::default()
        };
        let err = p.check().unwrap_err();
        let keys: Vec<String> = err.problems.iter().map(|p| p.key()).collect();
        assert_eq!(keys, vec!["ingest.typesystem", "ingest.split_sentences", "ingest.labels"]);
        assert_eq!(err.problems[0].as_flag(), "--typesystem only applies to format xmi, not crossner");
    }

    #[test]
    fn entity_types_and_annotators_take_one_value_or_a_list() {
        let (p, valid) = from_yaml::<IngestParams>("format: xmi\nentity_type: a.B\nannotators: all\n", Path::new("r.yaml")).unwrap();
        assert_eq!((p.entity_type, valid.xmi.unwrap().annotators), (vec!["a.B".to_string()], Annotators::All));
        let text = "format: xmi\nentity_type: [a.B, a.C]\nannotators: [alice, curation]\n";
        let (p, valid) = from_yaml::<IngestParams>(text, Path::new("r.yaml")).unwrap();
        let xmi = valid.xmi.unwrap();
        assert_eq!(xmi.entity_types, vec!["a.B", "a.C"]);
        assert_eq!(xmi.annotators, Annotators::Users(vec!["alice".into(), "curation".into()]));
        let (back, _) = from_yaml::<IngestParams>(&serde_norway::to_string(&p).unwrap(), Path::new("r.yaml")).unwrap();
        assert_eq!(back, p);
        let cli = Cli::try_parse_from(["ingest", "-f", "xmi", "--entity-type", "a.B", "--entity-type", "a.C", "--annotators", "alice,bob"]).unwrap();
        assert_eq!((cli.params.entity_type.len(), cli.params.annotators.len()), (2, 2));
        let bad = IngestParams { format: Some(SourceFormat::Xmi), entity_type: vec!["a.B".into(), "a.B".into()], annotators: vec!["all".into(), "bob".into()], ..IngestParams::default() };
        let keys: Vec<String> = bad.check().unwrap_err().problems.iter().map(|p| p.key()).collect();
        assert_eq!(keys, vec!["ingest.annotators", "ingest.entity_type"]);
    }

    #[test]
    fn view_and_all_views_conflict() {
        let p = IngestParams { format: Some(SourceFormat::Xmi), view: Some("v".into()), all_views: true, ..IngestParams::default() };
        assert_eq!(p.check().unwrap_err().problems[0].key(), "ingest.view");
    }

    #[test]
    fn shard_must_be_i_of_n() {
        for bad in ["3/3", "1", "a/2", "0/0", "-1/2"] {
            let p = IngestParams { format: Some(SourceFormat::Crossner), shard: Some(bad.into()), ..IngestParams::default() };
            let err = p.check().unwrap_err();
            assert_eq!(err.problems[0].key(), "ingest.shard", "{bad}");
        }
        assert_eq!(Shard::parse("0/1"), Ok(Shard { index: 0, count: 1 }));
    }

    #[test]
    fn shards_split_units_stably_and_evenly() {
        let shards: Vec<Shard> = (0..3).map(|i| Shard { index: i, count: 3 }).collect();
        let mut sizes = [0; 3];
        for unit in 0..3000 {
            let owners: Vec<usize> = (0..3).filter(|&i| shards[i].owns("f.json", unit)).collect();
            assert_eq!(owners.len(), 1, "every unit has one owner");
            sizes[owners[0]] += 1;
        }
        assert!(sizes.iter().all(|&n| (900..1100).contains(&n)), "{sizes:?}");
        assert_eq!(stable_hash("f.json", 7), stable_hash("f.json", 7));
    }
}
