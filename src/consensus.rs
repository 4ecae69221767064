//! SAM-NER's Collaborative Consensus Refinement (seed 000, Algorithm 1): merge the
//! candidates of a precision-oriented *anchor* extractor and a recall-oriented *explorer*.
//!
//! Per sample, the result is the de-duplicated union of the anchor's candidates and the
//! explorer's, except that an explorer candidate of **one token** that the anchor did not
//! also produce is dropped as likely silver-data noise ("data", "system", …). Candidates are
//! type-agnostic mentions; labels, when the inputs carry them, travel along for reference.
//!
//! Tokenisation ([`token_count`]) is explicit because the paper's `split()` means nothing
//! for Chinese: a maximal run of non-whitespace characters is one token, except that every
//! Han, Hiragana or Katakana character is a token of its own. So `data` and `京` are one
//! token (dropped when unconfirmed), `New York`, `北京` and `A股` two (kept). Two mentions are
//! the same candidate when they are equal after trimming and collapsing inner whitespace
//! (case-sensitive, as the paper compares strings).
//!
//! Data enters as two JSON Lines files of `{"id", "candidates": [...]}` records (see
//! [`CandidateRecord`]) and leaves as one JSON Lines file of [`ConsensusRecord`]s, in anchor
//! order, then explorer-only ids in explorer order. Bad lines are counted and reported by
//! `file:line`, never silently dropped.

use crate::io::{for_each_json_line, write_atomic_with, IoError};
use crate::report::Counts;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

/// True for characters that are a token on their own: Han ideographs and kana (the ranges of
/// [`crate::script::is_unsegmented`]).
pub fn is_cjk_char(c: char) -> bool {
    crate::script::is_unsegmented(c)
}

/// The number of tokens of `mention` under the rule in the module docs: whitespace
/// separates tokens, and each CJK character is a token by itself.
///
/// ```
/// use nerprep::consensus::token_count;
/// assert_eq!(token_count("data"), 1);
/// assert_eq!(token_count(" New  York "), 2);
/// assert_eq!(token_count("京"), 1);
/// assert_eq!(token_count("北京大学"), 4);
/// assert_eq!(token_count("A股"), 2);
/// ```
pub fn token_count(mention: &str) -> usize {
    let mut count = 0;
    let mut in_word = false;
    for c in mention.chars() {
        if c.is_whitespace() {
            in_word = false;
        } else if is_cjk_char(c) {
            count += 1;
            in_word = false;
        } else if !in_word {
            count += 1;
            in_word = true;
        }
    }
    count
}

/// The form two mentions are compared in: trimmed, inner whitespace runs collapsed to one
/// space.
pub fn normalise(mention: &str) -> String {
    mention.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// One candidate as the inputs give it: a bare mention string, or an object.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum CandidateInput {
    /// Just the mention.
    Mention(String),
    /// A mention with an optional label.
    Labelled {
        /// The mention text.
        mention: String,
        /// The label the extractor gave it, if any.
        #[serde(default, alias = "type")]
        label: Option<String>,
    },
}

/// A candidate mention with the label its extractor gave it (if any).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Candidate {
    /// The mention, normalised (see [`normalise`]).
    pub mention: String,
    /// The extractor's label, if it gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

impl From<CandidateInput> for Candidate {
    fn from(c: CandidateInput) -> Candidate {
        match c {
            CandidateInput::Mention(m) => Candidate { mention: normalise(&m), label: None },
            CandidateInput::Labelled { mention, label } => Candidate { mention: normalise(&mention), label },
        }
    }
}

/// One line of an anchor or explorer file.
#[derive(Debug, Clone, Deserialize)]
pub struct CandidateRecord {
    /// The sample id (the same in both files).
    pub id: String,
    /// The sample text, optional; copied to the output when present.
    #[serde(default)]
    pub text: Option<String>,
    /// The extractor's candidates: strings or `{"mention", "label"?}` objects.
    pub candidates: Vec<CandidateInput>,
}

/// A candidate of the merged set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MergedCandidate {
    /// The mention, normalised.
    pub mention: String,
    /// Which extractors produced it: `anchor`, `explorer` or both, in that order.
    pub sources: Vec<&'static str>,
    /// The distinct labels the extractors gave it, sorted.
    pub labels: Vec<String>,
}

/// Algorithm 1 applied to one sample.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Refined {
    /// `E_anc ∪ (E_exp \ D_noise)`, de-duplicated: anchor candidates first, in their order,
    /// then the explorer's new ones in theirs.
    pub candidates: Vec<MergedCandidate>,
    /// `D_noise`: explorer candidates of one token that the anchor did not produce.
    pub dropped: Vec<Candidate>,
}

/// Collaborative Consensus Refinement of one sample (Algorithm 1 and equation 5).
///
/// ```
/// use nerprep::consensus::{refine, Candidate};
/// let c = |m: &str| Candidate { mention: m.into(), label: None };
/// let r = refine(&[c("Transformer")], &[c("Transformer"), c("data"), c("neural network")]);
/// let kept: Vec<_> = r.candidates.iter().map(|m| m.mention.as_str()).collect();
/// assert_eq!(kept, ["Transformer", "neural network"]);
/// assert_eq!(r.dropped, [c("data")]);
/// ```
pub fn refine(anchor: &[Candidate], explorer: &[Candidate]) -> Refined {
    let anchored: BTreeSet<&str> = anchor.iter().map(|c| c.mention.as_str()).collect();
    let mut out = Refined::default();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    let mut add = |out: &mut Refined, c: &Candidate, source: &'static str| {
        if c.mention.is_empty() {
            return;
        }
        let i = *index.entry(c.mention.clone()).or_insert_with(|| {
            out.candidates.push(MergedCandidate { mention: c.mention.clone(), sources: Vec::new(), labels: Vec::new() });
            out.candidates.len() - 1
        });
        let m = &mut out.candidates[i];
        if !m.sources.contains(&source) {
            m.sources.push(source);
        }
        if let Some(l) = &c.label
            && !m.labels.contains(l)
        {
            m.labels.push(l.clone());
            m.labels.sort();
        }
    };
    for c in anchor {
        add(&mut out, c, "anchor");
    }
    for c in explorer {
        if token_count(&c.mention) == 1 && !anchored.contains(c.mention.as_str()) {
            out.dropped.push(c.clone());
        } else {
            add(&mut out, c, "explorer");
        }
    }
    out
}

/// Per-sample counts written with each output record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SampleCounts {
    /// Candidates in the anchor's list (as given, duplicates included).
    pub anchor: usize,
    /// Candidates in the explorer's list (as given, duplicates included).
    pub explorer: usize,
    /// Explorer candidates dropped by the one-token rule.
    pub dropped: usize,
    /// Candidates in the merged set.
    #[serde(rename = "final")]
    pub final_: usize,
}

/// One line of the output file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsensusRecord {
    /// The sample id.
    pub id: String,
    /// The sample text, when an input carried it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The merged candidates.
    pub candidates: Vec<MergedCandidate>,
    /// The explorer candidates dropped as noise.
    pub dropped: Vec<Candidate>,
    /// How many candidates came in, were dropped and remain.
    pub counts: SampleCounts,
}

/// A failure that stops the consensus (bad lines are counted instead).
#[derive(Debug, thiserror::Error)]
pub enum ConsensusError {
    /// An input could not be read or the output written.
    #[error(transparent)]
    Io(#[from] IoError),
}

/// A line that could not be used, with where it is and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    /// The file.
    pub file: PathBuf,
    /// 1-based line number.
    pub line: u64,
    /// Reason code (`json_syntax`, `bad_record`, `duplicate_id`).
    pub reason: &'static str,
    /// What was expected.
    pub message: String,
}

/// Parameters of `consensus`: none yet besides its inputs (the rule is the paper's); the
/// struct exists so that recipes and provenance treat the stage like every other.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct ConsensusParams {}

impl crate::params::StageParams for ConsensusParams {
    const STAGE: &'static str = "consensus";
    type Valid = ConsensusParams;

    fn check(&self) -> Result<ConsensusParams, crate::params::ParamsError> {
        Ok(self.clone())
    }
}

/// What a consensus run did.
#[derive(Debug, Clone)]
pub struct ConsensusOutcome {
    /// Lines read, used and quarantined; notes carry samples, dropped candidates, and ids
    /// found in one file only.
    pub counts: Counts,
    /// Every line that could not be used.
    pub bad_lines: Vec<BadLine>,
}

/// The records of one JSON Lines candidate file, keyed by id in file order.
struct CandidateFile {
    order: Vec<String>,
    records: BTreeMap<String, CandidateRecord>,
}

fn read_candidates(path: &Path, counts: &mut Counts, bad: &mut Vec<BadLine>) -> Result<CandidateFile, ConsensusError> {
    let mut out = CandidateFile { order: Vec::new(), records: BTreeMap::new() };
    for_each_json_line(path, |line_no, text| -> Result<(), ConsensusError> {
        counts.read += 1;
        let mut reject = |reason: &'static str, message: String| {
            counts.quarantine(reason);
            bad.push(BadLine { file: path.to_path_buf(), line: line_no, reason, message });
        };
        let text = match text {
            Ok(t) => t,
            Err(e) => {
                reject("invalid_utf8", format!("the line is not UTF-8 ({e}); convert the file to UTF-8"));
                return Ok(());
            }
        };
        let record: CandidateRecord = match serde_json::from_str(text) {
            Ok(r) => r,
            Err(e) if e.is_syntax() || e.is_eof() => {
                reject("json_syntax", format!("expected one JSON object per line: {e}"));
                return Ok(());
            }
            Err(e) => {
                let expected = "expected {\"id\": string, \"candidates\": [string | {\"mention\", \"label\"?}]}";
                reject("bad_record", format!("{expected}: {e}"));
                return Ok(());
            }
        };
        if out.records.contains_key(&record.id) {
            reject("duplicate_id", format!("id {:?} appears earlier in this file", record.id));
            return Ok(());
        }
        counts.written += 1;
        out.order.push(record.id.clone());
        out.records.insert(record.id.clone(), record);
        Ok(())
    })?;
    Ok(out)
}

/// Runs Algorithm 1 over every sample of `anchor` and `explorer` (JSON Lines, see the module
/// docs) and writes the merged candidates to `output`, atomically.
pub fn run_consensus(anchor: &Path, explorer: &Path, output: &Path) -> Result<ConsensusOutcome, ConsensusError> {
    let mut counts = Counts::new("consensus");
    let mut bad_lines = Vec::new();
    let anc = read_candidates(anchor, &mut counts, &mut bad_lines)?;
    let exp = read_candidates(explorer, &mut counts, &mut bad_lines)?;
    let ids: Vec<&String> =
        anc.order.iter().chain(exp.order.iter().filter(|id| !anc.records.contains_key(*id))).collect();
    let mut notes = Counts::new("consensus");
    write_atomic_with(output, |w| -> Result<(), ConsensusError> {
        for id in ids {
            let a = anc.records.get(id);
            let e = exp.records.get(id);
            match (a, e) {
                (Some(_), None) => notes.note("anchor_only_sample", 1),
                (None, Some(_)) => notes.note("explorer_only_sample", 1),
                _ => {}
            }
            let convert = |r: Option<&CandidateRecord>| -> Vec<Candidate> {
                r.map(|r| r.candidates.iter().cloned().map(Candidate::from).collect()).unwrap_or_default()
            };
            let (ac, ec) = (convert(a), convert(e));
            let refined = refine(&ac, &ec);
            notes.note("samples", 1);
            notes.note("dropped_candidates", refined.dropped.len() as u64);
            let record = ConsensusRecord {
                id: id.clone(),
                text: a.and_then(|r| r.text.clone()).or_else(|| e.and_then(|r| r.text.clone())),
                counts: SampleCounts {
                    anchor: ac.len(),
                    explorer: ec.len(),
                    dropped: refined.dropped.len(),
                    final_: refined.candidates.len(),
                },
                candidates: refined.candidates,
                dropped: refined.dropped,
            };
            let json = serde_json::to_string(&record).expect("records serialise");
            writeln!(w, "{json}").map_err(|e| IoError::new(output, e))?;
        }
        Ok(())
    })?;
    counts.absorb(&notes);
    Ok(ConsensusOutcome { counts, bad_lines })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(m: &str) -> Candidate {
        Candidate { mention: normalise(m), label: None }
    }

    fn kept(r: &Refined) -> Vec<&str> {
        r.candidates.iter().map(|m| m.mention.as_str()).collect()
    }

    #[test]
    fn tokenisation_is_whitespace_words_and_cjk_characters() {
        assert_eq!(token_count(""), 0);
        assert_eq!(token_count("system"), 1);
        assert_eq!(token_count("C++"), 1);
        assert_eq!(token_count("support vector machine"), 3);
        assert_eq!(token_count("机"), 1);
        assert_eq!(token_count("机器学习"), 4);
        assert_eq!(token_count("iPhone手机"), 3);
        assert_eq!(token_count("東京タワー"), 5);
        assert_eq!(token_count("서울 대학교"), 2);
        assert_eq!(token_count("a\u{3000}b"), 2);
    }

    #[test]
    fn english_single_token_explorer_candidates_need_the_anchor() {
        let anchor = [c("LSTM"), c("Geoffrey Hinton")];
        let explorer = [c("LSTM"), c("data"), c("user"), c("deep learning"), c("Geoffrey  Hinton")];
        let r = refine(&anchor, &explorer);
        assert_eq!(kept(&r), ["LSTM", "Geoffrey Hinton", "deep learning"]);
        assert_eq!(r.dropped, [c("data"), c("user")]);
        assert_eq!(r.candidates[0].sources, ["anchor", "explorer"]);
        assert_eq!(r.candidates[2].sources, ["explorer"]);
    }

    #[test]
    fn chinese_single_characters_need_the_anchor_but_words_are_kept() {
        let anchor = [c("青岛海牛队"), c("京")];
        let explorer = [c("京"), c("队"), c("青岛"), c("青岛海牛队")];
        let r = refine(&anchor, &explorer);
        assert_eq!(kept(&r), ["青岛海牛队", "京", "青岛"]);
        assert_eq!(r.dropped, [c("队")]);
    }

    #[test]
    fn anchor_candidates_are_never_dropped_and_labels_are_merged() {
        let anchor = [Candidate { mention: "data".into(), label: Some("misc".into()) }];
        let explorer = [Candidate { mention: "data".into(), label: Some("concept".into()) }];
        let r = refine(&anchor, &explorer);
        assert!(r.dropped.is_empty());
        assert_eq!(r.candidates[0].labels, ["concept", "misc"]);
    }

    #[test]
    fn comparison_is_case_sensitive() {
        let r = refine(&[c("Data")], &[c("data")]);
        assert_eq!(kept(&r), ["Data"]);
        assert_eq!(r.dropped, [c("data")]);
    }
}
