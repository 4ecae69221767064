//! Hard negatives for the IEPile template: labels easily confused with a label, asked
//! alongside it so the model learns to leave them empty (IEPile's `hard_dict.json`; or the
//! most-confused types from `nerprep confusion` or the clustering).
//!
//! The file is a JSON (or YAML) object, either flat, `{"person": ["politician", …]}`, applying
//! to every dataset, or keyed by dataset, `{"CoNLL2003": {"person": [...]}}`.

use super::EmitError;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// Confusable labels per label, globally and per dataset.
#[derive(Debug, Clone, Default)]
pub struct HardNegatives {
    global: BTreeMap<String, Vec<String>>,
    per_dataset: BTreeMap<String, BTreeMap<String, Vec<String>>>,
}

impl HardNegatives {
    /// Reads a hard-negative file.
    pub fn load(path: &Path) -> Result<HardNegatives, EmitError> {
        let fail = |message: String| EmitError::File { path: path.to_path_buf(), what: "hard negatives", message };
        let value: Value = super::read_json_or_yaml(path).map_err(fail)?;
        HardNegatives::from_value(&value).map_err(fail)
    }

    /// Builds from an already parsed object.
    pub fn from_value(value: &Value) -> Result<HardNegatives, String> {
        let Value::Object(top) = value else {
            return Err("expected an object of label lists (or of such objects per dataset)".into());
        };
        let mut out = HardNegatives::default();
        for (key, v) in top {
            match v {
                Value::Array(_) => {
                    out.global.insert(key.clone(), labels(key, v)?);
                }
                Value::Object(inner) => {
                    let mut map = BTreeMap::new();
                    for (label, list) in inner {
                        map.insert(label.clone(), labels(label, list)?);
                    }
                    out.per_dataset.insert(key.clone(), map);
                }
                other => return Err(format!("{key:?}: expected a list of labels or an object, found {other}")),
            }
        }
        Ok(out)
    }

    /// The confusable labels of `label` in `dataset`: the dataset's own entry, then the
    /// global one.
    pub fn of<'a>(&'a self, dataset: &str, label: &str) -> impl Iterator<Item = &'a str> + 'a {
        let own = self.per_dataset.get(dataset).and_then(|m| m.get(label));
        let global = self.global.get(label);
        own.into_iter().chain(global).flatten().map(String::as_str)
    }

    /// True when no label has hard negatives.
    pub fn is_empty(&self) -> bool {
        self.global.is_empty() && self.per_dataset.is_empty()
    }
}

fn labels(key: &str, v: &Value) -> Result<Vec<String>, String> {
    let Value::Array(items) = v else { return Err(format!("{key:?}: expected a list of labels, found {v}")) };
    items
        .iter()
        .map(|i| i.as_str().map(str::to_string).ok_or_else(|| format!("{key:?}: expected label strings, found {i}")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flat_and_per_dataset_files() {
        let h = HardNegatives::from_value(&json!({
            "person": ["politician"],
            "CoNLL2003": {"person": ["organization"], "location": ["country"]}
        }))
        .unwrap();
        assert_eq!(h.of("CoNLL2003", "person").collect::<Vec<_>>(), vec!["organization", "politician"]);
        assert_eq!(h.of("other", "person").collect::<Vec<_>>(), vec!["politician"]);
        assert_eq!(h.of("other", "location").count(), 0);
        assert!(HardNegatives::from_value(&json!(["x"])).is_err());
        assert!(HardNegatives::from_value(&json!({"a": [1]})).unwrap_err().contains("label strings"));
        assert!(HardNegatives::from_value(&json!({"a": 3})).is_err());
    }
}
