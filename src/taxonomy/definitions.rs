//! Label definitions for the stages that describe labels to a model: emit's
//! `label_descriptions` (B2NER's `Label Description:`, SAM-NER's calibrator) and embed's
//! `definitions` (`--what types`). One loader (issue 12), so both accept the same files and
//! report the same errors with file and line.

use super::files::{file_kind, FileKind, Mapping};
use super::source::read_file;
use super::TaxonomyError;
use std::collections::BTreeMap;
use std::path::Path;

/// The definitions in `path`, by label: a taxonomy mapping file (`kind: mapping`, such as
/// `mappings/crossner.yaml`: every label and alias with a `definition` gets it), or a plain
/// map `label: definition` in YAML or JSON (JSON for `.json` files, YAML otherwise). Plain
/// definitions are trimmed and must not be empty.
///
/// Errors name the file and, where the parser or the offending label says, the line.
///
/// ```
/// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/mappings/crossner.yaml");
/// let defs = nerprep::taxonomy::definitions(path).unwrap();
/// assert!(defs["politician"].contains("office"));
/// assert_eq!(defs["organization"], defs["organisation"]); // an alias shares the definition
/// ```
pub fn definitions(path: impl AsRef<Path>) -> Result<BTreeMap<String, String>, TaxonomyError> {
    let path = path.as_ref();
    let text = read_file(path)?;
    let origin = path.display().to_string();
    match file_kind(&text, &origin) {
        Ok(FileKind::Mapping) => return Ok(from_mapping(&Mapping::load(path)?)),
        Ok(FileKind::Archetypes) => {
            let message = "is an archetypes file; expected a taxonomy mapping (`kind: mapping`) or a map `label: definition`";
            return Err(TaxonomyError::Parse { file: origin, line: None, message: message.into() });
        }
        Err(_) => {} // no `kind:` key: a plain map (or broken, which the plain parse reports)
    }
    let json = path.extension().and_then(|e| e.to_str()) == Some("json");
    let value = if json { parse_json(&text, &origin)? } else { parse_yaml(&text, &origin)? };
    from_plain(value, &text, &origin)
}

/// Every spelling (label or alias) of the mapping that has a definition.
fn from_mapping(mapping: &Mapping) -> BTreeMap<String, String> {
    mapping.spellings().filter_map(|(spelling, entry)| Some((spelling.to_string(), entry.definition.clone()?))).collect()
}

fn parse_json(text: &str, origin: &str) -> Result<serde_json::Value, TaxonomyError> {
    serde_json::from_str(text).map_err(|e| TaxonomyError::Parse {
        file: origin.to_string(),
        line: Some(e.line()),
        message: format!("not valid JSON: {e}"),
    })
}

fn parse_yaml(text: &str, origin: &str) -> Result<serde_json::Value, TaxonomyError> {
    serde_norway::from_str(text).map_err(|e| {
        let line = e.location().map(|l| l.line());
        let mut message = e.to_string();
        if let Some(cut) = message.find(" at line ") {
            message.truncate(cut); // the line is in the error's own place
        }
        TaxonomyError::Parse { file: origin.to_string(), line, message: format!("not valid YAML: {message}") }
    })
}

/// The entries of a plain `label: definition` map; each value a non-empty string.
fn from_plain(value: serde_json::Value, text: &str, origin: &str) -> Result<BTreeMap<String, String>, TaxonomyError> {
    let fail = |line: Option<usize>, message: String| TaxonomyError::Parse { file: origin.to_string(), line, message };
    let serde_json::Value::Object(map) = value else {
        let found = kind_of(&value);
        return Err(fail(Some(1), format!("expected a map `label: definition` or a taxonomy mapping file, found {found}")));
    };
    let mut out = BTreeMap::new();
    for (label, definition) in map {
        match definition {
            serde_json::Value::String(s) if !s.trim().is_empty() => {
                out.insert(label, s.trim().to_string());
            }
            other => {
                let line = line_of_label(text, &label);
                return Err(fail(line, format!("label {label:?}: expected a non-empty definition string, found {}", kind_of(&other))));
            }
        }
    }
    Ok(out)
}

/// The line where `label` is a key: its JSON spelling (`"label"`), else a YAML block key.
fn line_of_label(text: &str, label: &str) -> Option<usize> {
    let quoted = serde_json::to_string(label).ok()?;
    let by_quote = text.find(&format!("{quoted}:")).or_else(|| text.find(&quoted));
    match by_quote {
        Some(at) => Some(text[..at].matches('\n').count() + 1),
        None => crate::params::line_of_key(text, &[label]),
    }
}

fn kind_of(value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::Null => "nothing".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(_) => "an empty string".into(),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a map".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn a_mapping_file_gives_labels_and_aliases_their_definitions() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("mappings/crossner.yaml");
        let defs = definitions(&path).unwrap();
        let mapping = Mapping::load(&path).unwrap();
        assert!(defs["politician"].contains("office"));
        assert_eq!(defs["organization"], defs["organisation"], "aliases share the definition");
        assert_eq!(defs.len(), mapping.spellings().filter(|(_, e)| e.definition.is_some()).count());
        for (label, def) in &defs {
            assert_eq!(mapping.definition_of(label), Some(def.as_str()), "{label}");
        }
    }

    #[test]
    fn plain_json_and_yaml_maps_are_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let json = write(dir.path(), "d.json", r#"{"person": " a named individual "}"#);
        assert_eq!(definitions(&json).unwrap()["person"], "a named individual");
        let yaml = write(dir.path(), "d.yaml", "person: a named individual\nlocation: a place\n");
        assert_eq!(definitions(&yaml).unwrap().len(), 2);
    }

    #[test]
    fn a_bad_value_names_its_file_line_and_label() {
        let dir = tempfile::tempdir().unwrap();
        let yaml = write(dir.path(), "d.yaml", "person: a named individual\nlocation:\n  - a place\n");
        let err = definitions(&yaml).unwrap_err().to_string();
        assert!(err.starts_with(&format!("{}:2: label \"location\"", yaml.display())), "{err}");
        let json = write(dir.path(), "d.json", "{\n  \"person\": \"x\",\n  \"org\": 3\n}");
        let err = definitions(&json).unwrap_err().to_string();
        assert!(err.starts_with(&format!("{}:3: label \"org\"", json.display())) && err.contains("the number 3"), "{err}");
        let list = write(dir.path(), "l.json", r#"["person"]"#);
        assert!(definitions(&list).unwrap_err().to_string().contains("found a list"));
    }

    #[test]
    fn broken_files_name_the_line_the_parser_stopped_at() {
        let dir = tempfile::tempdir().unwrap();
        let yaml = write(dir.path(), "d.yaml", "person: a named individual\nlocation: [a place\n");
        let err = definitions(&yaml).unwrap_err();
        assert!(matches!(err, TaxonomyError::Parse { line: Some(2..=3), .. }), "{err}");
        assert!(err.to_string().starts_with(&yaml.display().to_string()), "{err}");
        let json = write(dir.path(), "d.json", "{\n\"person\": \"x\",,\n}");
        assert!(matches!(definitions(&json).unwrap_err(), TaxonomyError::Parse { line: Some(2), .. }));
        let missing = dir.path().join("nope.yaml");
        assert!(definitions(&missing).unwrap_err().to_string().contains("nope.yaml"));
    }

    #[test]
    fn a_broken_mapping_file_reports_the_mapping_error_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let text = "kind: mapping\nname: x\nversion: '1'\ntaxonomy: a.yaml\narchetypes:\n  Person:\n    - label: person\n      definiton: typo\n";
        let path = write(dir.path(), "m.yaml", text);
        let err = definitions(&path).unwrap_err().to_string();
        assert!(err.contains("m.yaml:") && err.contains("definiton"), "{err}");
        let archetypes = Path::new(env!("CARGO_MANIFEST_DIR")).join("taxonomy/archetypes.yaml");
        assert!(definitions(&archetypes).unwrap_err().to_string().contains("archetypes file"));
    }
}
