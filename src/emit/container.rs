//! Containers: how a [`Record`] is laid out as one JSON line, and the matching
//! `dataset_info.json` entry, in the two layouts LLaMA-Factory reads.
//!
//! - `alpaca`: `instruction` (the prompt), `input` (empty: our prompts carry the text),
//!   `output` (the answer), `system` when given, `history` (earlier `[user, assistant]`
//!   pairs) for multi-turn templates.
//! - `sharegpt`: `conversations`, a list of `{from: human|gpt, value}` alternating and
//!   starting with `human`, and `system` when given.
//!
//! Both also carry `id` (`{sample id}@{k}`), `sample_id` and `labels` (the asked labels),
//! which LLaMA-Factory ignores and `eval` uses. Keys are written in a fixed order.

use super::schema::{Schema, DATASET_INFO};
use super::{Container, EmitConfig, EmitError, Record, Template};
use crate::io::{AtomicFile, IoError};
use crate::provenance::Provenance;
use std::io::Write;
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};

/// The record as one JSON object in `container`'s layout.
pub fn to_json(container: Container, record: &Record, system: Option<&str>) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(record.id));
    m.insert("sample_id".into(), json!(record.sample_id));
    m.insert("labels".into(), json!(record.labels));
    match container {
        Container::Alpaca => {
            let (last, history) = record.turns.split_last().expect("a record has at least one turn");
            m.insert("instruction".into(), json!(last.user));
            m.insert("input".into(), json!(""));
            m.insert("output".into(), json!(last.assistant));
            if let Some(s) = system {
                m.insert("system".into(), json!(s));
            }
            if !history.is_empty() {
                let pairs: Vec<Value> = history.iter().map(|t| json!([t.user, t.assistant])).collect();
                m.insert("history".into(), Value::Array(pairs));
            }
        }
        Container::Sharegpt => {
            let mut messages = Vec::with_capacity(record.turns.len() * 2);
            for t in &record.turns {
                messages.push(json!({"from": "human", "value": t.user}));
                messages.push(json!({"from": "gpt", "value": t.assistant}));
            }
            m.insert("conversations".into(), Value::Array(messages));
            if let Some(s) = system {
                m.insert("system".into(), json!(s));
            }
        }
    }
    Value::Object(m)
}

/// The LLaMA-Factory `dataset_info.json` entry for a file written with `config`.
pub fn dataset_info_entry(config: &EmitConfig, file_name: &str) -> Value {
    let has_system = config.system.is_some();
    let mut columns = Map::new();
    let mut entry = Map::new();
    entry.insert("file_name".into(), json!(file_name));
    entry.insert("formatting".into(), json!(config.container.as_str()));
    match config.container {
        Container::Alpaca => {
            columns.insert("prompt".into(), json!("instruction"));
            columns.insert("query".into(), json!("input"));
            columns.insert("response".into(), json!("output"));
            if has_system {
                columns.insert("system".into(), json!("system"));
            }
            if config.template == Template::PileNer {
                columns.insert("history".into(), json!("history"));
            }
            entry.insert("columns".into(), Value::Object(columns));
        }
        Container::Sharegpt => {
            columns.insert("messages".into(), json!("conversations"));
            if has_system {
                columns.insert("system".into(), json!("system"));
            }
            entry.insert("columns".into(), Value::Object(columns));
            entry.insert(
                "tags".into(),
                json!({"role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt"}),
            );
        }
    }
    Value::Object(entry)
}

/// The dataset name used when `--dataset-name` is not given: the output file's stem.
pub fn default_dataset_name(output: &Path) -> String {
    output.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "nerprep".into())
}

/// Puts the finished JSONL `jsonl` in place together with its entry in the
/// `dataset_info.json` beside it (added to, or replacing, this dataset's entry; the entries
/// already there are kept), then writes the JSONL's provenance sidecar. The entry is
/// validated and the existing file read before anything is replaced, and the update holds
/// an exclusive lock on `dataset_info.json.lock`, so two emits into one directory both end
/// up in it. Returns the `dataset_info.json` path.
pub fn commit_with_dataset_info(
    jsonl: AtomicFile,
    name: &str,
    config: &EmitConfig,
    provenance: Provenance,
) -> Result<PathBuf, EmitError> {
    let output = jsonl.path().to_path_buf();
    let path = output.with_file_name("dataset_info.json");
    let file_name = output.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    let entry = dataset_info_entry(config, &file_name);
    let schema = Schema::parse("dataset_info.schema.json", DATASET_INFO).map_err(|e| file_error(&path, e.to_string()))?;
    let errors = schema.errors_at("#/$defs/entry", &entry);
    if !errors.is_empty() {
        return Err(EmitError::InvalidRecord { id: format!("dataset_info.json entry {name:?}"), schema: "dataset_info.schema.json", errors });
    }
    let _lock = lock_beside(&path)?;
    let mut info = read_dataset_info(&path)?;
    info.insert(name.to_string(), entry);
    let mut text = serde_json::to_string_pretty(&Value::Object(info)).map_err(|e| file_error(&path, e.to_string()))?;
    text.push('\n');
    let mut merged = AtomicFile::create(&path)?;
    merged.write_all(text.as_bytes()).map_err(|e| IoError::new(&path, e))?;
    jsonl.commit()?;
    merged.commit()?;
    provenance.write_sidecar(&output)?;
    Ok(path)
}

/// The datasets already listed in `path` (none when it does not exist).
fn read_dataset_info(path: &Path) -> Result<Map<String, Value>, EmitError> {
    match std::fs::read_to_string(path) {
        Ok(text) => match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err(file_error(path, "expected a JSON object of datasets".into())),
            Err(e) => Err(file_error(path, e.to_string())),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Map::new()),
        Err(e) => Err(EmitError::Io(IoError::new(path, e))),
    }
}

/// An exclusive lock on `PATH.lock`, held until the returned file is dropped.
fn lock_beside(path: &Path) -> Result<std::fs::File, EmitError> {
    let lock_path = path.with_file_name(format!(
        "{}.lock",
        path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    ));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| IoError::new(&lock_path, e))?;
    file.lock().map_err(|e| IoError::new(&lock_path, e))?;
    Ok(file)
}

fn file_error(path: &Path, message: String) -> EmitError {
    EmitError::File { path: path.to_path_buf(), what: "existing dataset_info.json", message }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emit::{EmitParams, Turn};

    fn record(turns: usize) -> Record {
        Record {
            id: "s@0".into(),
            sample_id: "s".into(),
            labels: vec!["x".into()],
            turns: (0..turns).map(|i| Turn { user: format!("u{i}"), assistant: format!("a{i}"), check: None }).collect(),
        }
    }

    #[test]
    fn alpaca_puts_earlier_turns_in_history() {
        let v = to_json(Container::Alpaca, &record(3), Some("sys"));
        assert_eq!(v["instruction"], "u2");
        assert_eq!(v["output"], "a2");
        assert_eq!(v["history"], json!([["u0", "a0"], ["u1", "a1"]]));
        assert_eq!(v["system"], "sys");
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["id", "sample_id", "labels", "instruction", "input", "output", "system", "history"]);
        assert!(to_json(Container::Alpaca, &record(1), None).get("history").is_none());
    }

    #[test]
    fn sharegpt_alternates_human_and_gpt() {
        let v = to_json(Container::Sharegpt, &record(2), None);
        let froms: Vec<&str> = v["conversations"].as_array().unwrap().iter().map(|m| m["from"].as_str().unwrap()).collect();
        assert_eq!(froms, ["human", "gpt", "human", "gpt"]);
        assert!(v.get("system").is_none());
    }

    #[test]
    fn dataset_info_is_merged_not_overwritten_and_a_bad_one_replaces_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("train.jsonl");
        std::fs::write(dir.path().join("dataset_info.json"), r#"{"other": {"file_name": "o.json"}}"#).unwrap();
        let mut p = EmitParams::new(Template::PileNer);
        p.container = Container::Sharegpt;
        let config = p.load().unwrap();
        let commit = |name: &str| {
            let mut f = AtomicFile::create(&out).unwrap();
            f.write_all(b"{}\n").unwrap();
            commit_with_dataset_info(f, name, &config, Provenance::of(&config.params))
        };
        let path = commit("mine").unwrap();
        let info: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        assert_eq!(info["other"]["file_name"], "o.json");
        assert_eq!(info["mine"]["file_name"], "train.jsonl");
        assert_eq!(info["mine"]["formatting"], "sharegpt");
        assert_eq!(info["mine"]["tags"]["assistant_tag"], "gpt");
        assert!(crate::provenance::read_sidecar(&out).unwrap().is_some());
        std::fs::remove_file(&out).unwrap();
        std::fs::write(dir.path().join("dataset_info.json"), "[1]").unwrap();
        assert!(commit("mine").unwrap_err().to_string().contains("dataset_info.json"));
        assert!(!out.exists(), "the JSONL is not put in place when dataset_info.json cannot be updated");
    }
}
