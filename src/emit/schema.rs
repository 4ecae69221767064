//! JSON Schema validation of emitted records against the schemas shipped in `schemas/`.
//!
//! The schemas are embedded at build time (the binary never reads `schemas/` at run time)
//! and checked by a small validator for the subset of JSON Schema 2020-12 they use:
//! `type`, `properties`, `required`, `additionalProperties`, `items`, `prefixItems`,
//! `minItems`, `maxItems`, `minLength`, `minProperties`, `const`, `enum`, and local `$ref`
//! into `$defs` (plus the annotations `$schema`, `$id`, `title`, `description`). A schema
//! using any other keyword is refused when it is loaded, so a constraint can never be
//! silently ignored. Why not the `jsonschema` crate: 0.61.2 with default features off adds
//! 35 crates (two regex engines, big-number fractions, proc macros) and took 4 min 12 s of
//! CPU for a release build of it and its dependencies (measured on this project's build
//! machine), for keywords our three schemas do not use.

use super::{Container, EmitError};
use serde_json::{Map, Value};

/// The alpaca record schema (`schemas/alpaca.schema.json`).
pub const ALPACA: &str = include_str!("../../schemas/alpaca.schema.json");
/// The sharegpt record schema (`schemas/sharegpt.schema.json`).
pub const SHAREGPT: &str = include_str!("../../schemas/sharegpt.schema.json");
/// The `dataset_info.json` schema (`schemas/dataset_info.schema.json`).
pub const DATASET_INFO: &str = include_str!("../../schemas/dataset_info.schema.json");

const ANNOTATIONS: [&str; 4] = ["$schema", "$id", "title", "description"];
const KEYWORDS: [&str; 14] = [
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "prefixItems",
    "minItems",
    "maxItems",
    "minLength",
    "minProperties",
    "const",
    "enum",
    "$ref",
    "$defs",
];

/// A loaded schema, checked to use only the supported keywords.
#[derive(Debug, Clone)]
pub struct Schema {
    root: Value,
    name: &'static str,
}

/// A schema that uses something the validator does not implement, or is not a schema.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("schema {name}: {message} at {path}")]
pub struct SchemaError {
    /// The schema's file name.
    pub name: &'static str,
    /// JSON pointer into the schema.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl Schema {
    /// Parses a schema and checks every keyword in it is supported.
    pub fn parse(name: &'static str, text: &str) -> Result<Schema, SchemaError> {
        let root: Value = serde_json::from_str(text)
            .map_err(|e| SchemaError { name, path: String::new(), message: format!("not JSON: {e}") })?;
        let schema = Schema { root, name };
        schema.check_keywords(&schema.root, "")?;
        Ok(schema)
    }

    fn check_keywords(&self, node: &Value, path: &str) -> Result<(), SchemaError> {
        let err = |message: String| SchemaError { name: self.name, path: path.to_string(), message };
        let obj = match node {
            Value::Object(o) => o,
            Value::Bool(_) => return Ok(()),
            _ => return Err(err("a schema must be an object or a boolean".into())),
        };
        for (k, v) in obj {
            if ANNOTATIONS.contains(&k.as_str()) {
                continue;
            }
            if !KEYWORDS.contains(&k.as_str()) {
                return Err(err(format!("unsupported keyword `{k}`")));
            }
            let here = format!("{path}/{k}");
            match (k.as_str(), v) {
                ("properties" | "$defs", Value::Object(children)) => {
                    for (name, child) in children {
                        self.check_keywords(child, &format!("{here}/{name}"))?;
                    }
                }
                ("prefixItems", Value::Array(children)) => {
                    for (i, child) in children.iter().enumerate() {
                        self.check_keywords(child, &format!("{here}/{i}"))?;
                    }
                }
                ("items" | "additionalProperties", child) => self.check_keywords(child, &here)?,
                ("$ref", Value::String(r)) => {
                    self.resolve(r).ok_or_else(|| err(format!("`$ref` {r:?} does not point into this schema")))?;
                }
                ("properties" | "$defs" | "prefixItems" | "$ref", _) => return Err(err(format!("malformed `{k}`"))),
                _ => {}
            }
        }
        Ok(())
    }

    /// The sub-schema a local reference (`#/$defs/name`) points at.
    fn resolve(&self, reference: &str) -> Option<&Value> {
        self.root.pointer(reference.strip_prefix('#')?)
    }

    /// Every way `value` breaks the schema (empty when it conforms), as
    /// `"<instance path>: <message>"`.
    pub fn errors(&self, value: &Value) -> Vec<String> {
        let mut out = Vec::new();
        self.walk(&self.root, value, "", &mut out);
        out
    }

    /// Every way `value` breaks the sub-schema at `pointer` (e.g. `#/$defs/entry`).
    pub fn errors_at(&self, pointer: &str, value: &Value) -> Vec<String> {
        match self.resolve(pointer) {
            Some(node) => {
                let mut out = Vec::new();
                self.walk(node, value, "", &mut out);
                out
            }
            None => vec![format!("schema {} has nothing at {pointer}", self.name)],
        }
    }

    fn walk(&self, schema: &Value, value: &Value, at: &str, out: &mut Vec<String>) {
        let obj = match schema {
            Value::Bool(true) => return,
            Value::Bool(false) => return out.push(format!("{}: not allowed here", show(at))),
            Value::Object(o) => o,
            _ => return,
        };
        let mut fail = |m: String| out.push(format!("{}: {m}", show(at)));
        if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
            if let Some(target) = self.resolve(r) {
                self.walk(target, value, at, out);
            }
            return;
        }
        if let Some(t) = obj.get("type") {
            let types: Vec<&str> = match t {
                Value::String(s) => vec![s.as_str()],
                Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            if !types.iter().any(|t| has_type(value, t)) {
                fail(format!("expected {}, found {}", types.join(" or "), type_name(value)));
                return;
            }
        }
        if let Some(c) = obj.get("const")
            && c != value
        {
            fail(format!("expected {c}, found {value}"));
        }
        if let Some(Value::Array(options)) = obj.get("enum")
            && !options.contains(value)
        {
            fail(format!("expected one of {}, found {value}", Value::Array(options.clone())));
        }
        if let (Some(min), Value::String(s)) = (obj.get("minLength").and_then(Value::as_u64), value)
            && (s.chars().count() as u64) < min
        {
            fail(format!("shorter than {min} characters"));
        }
        match value {
            Value::Object(map) => self.walk_object(obj, map, at, out),
            Value::Array(items) => self.walk_array(obj, items, at, out),
            _ => {}
        }
    }

    fn walk_object(&self, schema: &Map<String, Value>, map: &Map<String, Value>, at: &str, out: &mut Vec<String>) {
        if let Some(Value::Array(required)) = schema.get("required") {
            for key in required.iter().filter_map(Value::as_str) {
                if !map.contains_key(key) {
                    out.push(format!("{}: missing required `{key}`", show(at)));
                }
            }
        }
        if let Some(min) = schema.get("minProperties").and_then(Value::as_u64)
            && (map.len() as u64) < min
        {
            out.push(format!("{}: fewer than {min} properties", show(at)));
        }
        let properties = schema.get("properties").and_then(Value::as_object);
        for (key, v) in map {
            let path = format!("{at}/{key}");
            match properties.and_then(|p| p.get(key)) {
                Some(sub) => self.walk(sub, v, &path, out),
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => out.push(format!("{}: unexpected property `{key}`", show(at))),
                    Some(sub) => self.walk(sub, v, &path, out),
                    None => {}
                },
            }
        }
    }

    fn walk_array(&self, schema: &Map<String, Value>, items: &[Value], at: &str, out: &mut Vec<String>) {
        if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
            && (items.len() as u64) < min
        {
            out.push(format!("{}: fewer than {min} items", show(at)));
        }
        if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
            && (items.len() as u64) > max
        {
            out.push(format!("{}: more than {max} items", show(at)));
        }
        let prefix = schema.get("prefixItems").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
        for (i, item) in items.iter().enumerate() {
            let path = format!("{at}/{i}");
            match prefix.get(i) {
                Some(sub) => self.walk(sub, item, &path, out),
                None => {
                    if let Some(sub) = schema.get("items") {
                        self.walk(sub, item, &path, out);
                    }
                }
            }
        }
    }
}

fn show(at: &str) -> &str {
    if at.is_empty() { "/" } else { at }
}

fn has_type(v: &Value, t: &str) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        "number" => v.is_number(),
        "integer" => v.as_i64().is_some() || v.as_u64().is_some(),
        _ => false,
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Validates records of one container against its schema.
#[derive(Debug, Clone)]
pub struct RecordValidator {
    schema: Schema,
}

impl RecordValidator {
    /// The validator for `container`'s records.
    pub fn for_container(container: Container) -> RecordValidator {
        let (name, text) = match container {
            Container::Alpaca => ("alpaca.schema.json", ALPACA),
            Container::Sharegpt => ("sharegpt.schema.json", SHAREGPT),
        };
        let schema = Schema::parse(name, text).expect("the shipped schemas use supported keywords (unit-tested)");
        RecordValidator { schema }
    }

    /// Checks one record; `id` names it in the error.
    pub fn validate(&self, id: &str, record: &Value) -> Result<(), EmitError> {
        let errors = self.schema.errors(record);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(EmitError::InvalidRecord { id: id.to_string(), schema: self.schema.name, errors })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shipped_schemas_load() {
        for (name, text) in [("alpaca", ALPACA), ("sharegpt", SHAREGPT), ("dataset_info", DATASET_INFO)] {
            Schema::parse("x", text).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn unsupported_keywords_are_refused_at_load() {
        let err = Schema::parse("t", r#"{"type": "string", "pattern": "^a"}"#).unwrap_err();
        assert_eq!(err.message, "unsupported keyword `pattern`");
        let err = Schema::parse("t", r#"{"properties": {"a": {"format": "email"}}}"#).unwrap_err();
        assert_eq!(err.path, "/properties/a");
        assert!(Schema::parse("t", r##"{"$ref": "#/$defs/nope"}"##).is_err());
    }

    #[test]
    fn each_keyword_fails_when_it_should() {
        let s = Schema::parse(
            "t",
            r##"{"type": "object", "additionalProperties": false, "required": ["a", "b"],
                "properties": {
                  "a": {"type": "array", "minItems": 1, "maxItems": 2, "items": {"$ref": "#/$defs/s"}},
                  "b": {"enum": ["x", "y"]},
                  "c": {"const": 3},
                  "d": {"type": "object", "minProperties": 1, "additionalProperties": {"type": "integer"}},
                  "e": {"prefixItems": [{"type": "string"}], "items": false}
                },
                "$defs": {"s": {"type": "string", "minLength": 2}}}"##,
        )
        .unwrap();
        assert!(s.errors(&json!({"a": ["ab"], "b": "x", "c": 3, "d": {"k": 1}, "e": ["s"]})).is_empty());
        let cases = [
            (json!({"a": ["ab"]}), "missing required `b`"),
            (json!({"a": [], "b": "x"}), "fewer than 1 items"),
            (json!({"a": ["ab", "cd", "ef"], "b": "x"}), "more than 2 items"),
            (json!({"a": ["a"], "b": "x"}), "/a/0: shorter than 2"),
            (json!({"a": [1], "b": "x"}), "/a/0: expected string, found number"),
            (json!({"a": ["ab"], "b": "z"}), "expected one of"),
            (json!({"a": ["ab"], "b": "x", "c": 4}), "expected 3, found 4"),
            (json!({"a": ["ab"], "b": "x", "d": {}}), "fewer than 1 properties"),
            (json!({"a": ["ab"], "b": "x", "d": {"k": 1.5}}), "/d/k: expected integer"),
            (json!({"a": ["ab"], "b": "x", "e": [1]}), "/e/0: expected string"),
            (json!({"a": ["ab"], "b": "x", "e": ["s", "t"]}), "/e/1: not allowed"),
            (json!({"a": ["ab"], "b": "x", "z": 1}), "unexpected property `z`"),
            (json!([]), "expected object, found array"),
        ];
        for (value, want) in cases {
            let errors = s.errors(&value);
            assert!(errors.iter().any(|e| e.contains(want)), "{value}: {errors:?}");
        }
    }

    #[test]
    fn records_are_checked_against_their_container() {
        let v = RecordValidator::for_container(Container::Sharegpt);
        let good = json!({"id": "s@0", "sample_id": "s", "labels": ["x"],
            "conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]});
        assert!(v.validate("s@0", &good).is_ok());
        let bad = json!({"id": "s@0", "sample_id": "s", "labels": ["x"],
            "conversations": [{"from": "user", "value": "q"}, {"from": "gpt", "value": ""}]});
        let err = v.validate("s@0", &bad).unwrap_err().to_string();
        assert!(err.contains("/conversations/0/from") && err.contains("/conversations/1/value"), "{err}");
        let a = RecordValidator::for_container(Container::Alpaca);
        let bad = json!({"id": "s@0", "sample_id": "s", "labels": [], "instruction": "q", "input": "", "output": "a",
            "history": [["q"]]});
        let err = a.validate("s@0", &bad).unwrap_err().to_string();
        assert!(err.contains("/labels: fewer than 1") && err.contains("/history/0: fewer than 2"), "{err}");
    }
}
