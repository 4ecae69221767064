//! `nerprep taxonomy check` and `taxonomy diff`, and the shipped taxonomy files.

use crate::common::{fixture, ingest, nerprep};
use nerprep::taxonomy::{Archetypes, Mapping};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Path of a file of the repository.
fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn stderr_of(args: &[&str], code: i32) -> String {
    let out = nerprep(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "nerprep {args:?}\n{stderr}");
    stderr
}

#[test]
fn the_shipped_files_pass_the_check_with_the_source_case_variants_as_warnings() {
    let (t, m) = (repo("taxonomy"), repo("mappings"));
    let stderr = stderr_of(&["taxonomy", "check", t.to_str().unwrap(), m.to_str().unwrap()], 0);
    assert!(stderr.contains(" 0 errors"), "{stderr}");
    let iepile = repo("mappings/iepile.yaml").display().to_string();
    for pair in ["`Location` (line 19, Location), `location` (line 20, Location)", "`disease` (line 37, Medicine), `Disease` (line 38, Medicine)"] {
        assert!(stderr.contains(&format!("{iepile}:")) && stderr.contains(pair), "{pair} missing in\n{stderr}");
    }
}

/// Copies taxonomy/ and mappings/ into a temporary directory, with `edit` applied to one file.
fn broken_copy(file: &str, from: &str, to: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["taxonomy", "mappings"] {
        std::fs::create_dir(dir.path().join(sub)).unwrap();
        for e in std::fs::read_dir(repo(sub)).unwrap() {
            let p = e.unwrap().path();
            std::fs::copy(&p, dir.path().join(sub).join(p.file_name().unwrap())).unwrap();
        }
    }
    let target = dir.path().join(file);
    let text = std::fs::read_to_string(&target).unwrap();
    assert!(text.contains(from), "{file} no longer contains {from:?}");
    std::fs::write(&target, text.replacen(from, to, 1)).unwrap();
    (dir, target)
}

fn line_containing(path: &Path, needle: &str) -> usize {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines().position(|l| l.contains(needle)).expect("needle") + 1
}

#[test]
fn broken_copies_fail_with_file_line_and_reason() {
    // (file, replace, with, line marker, expected message part, code)
    let cases = [
        ("mappings/iepile.yaml", "  Misc: [misc, else]", "  Misc: [misc, else,\n    actor]", "    actor]", "`actor` is listed under `Misc` and also under `Person`", "type_in_two_archetypes"),
        ("mappings/crossner.yaml", "  Creative_Work:\n", "  CreativeWork:\n", "  CreativeWork:", "did you mean `Creative_Work`?", "unknown_archetype"),
        ("mappings/b2nerd.yaml", "    - miscellaneous\n", "    - miscellaneous\n    - writer -> person\n", "writer -> person", "form a cycle: person -> writer -> person", "hierarchy_cycle"),
        ("mappings/iepile-zh.yaml", "  Person:\n    - label: 人物\n      definition: A named person, real or fictional, written in Chinese text.\n", "  Person: []\n", "  Person: []", "archetype `Person` has no labels", "empty_archetype"),
        ("taxonomy/archetypes.yaml", "  - name: Misc\n    definition: >-\n      A named entity that fits none of the other thirteen archetypes; the residual class,\n      to be used only when no specific archetype applies.\n", "  - name: Misc\n    definition: \" \"\n", "  - name: Misc", "archetype `Misc` has an empty definition", "empty_definition"),
    ];
    for (file, from, to, marker, message, code) in cases {
        let (dir, target) = broken_copy(file, from, to);
        let args = ["taxonomy", "check", dir.path().join("taxonomy").to_str().unwrap(), dir.path().join("mappings").to_str().unwrap()]
            .map(String::from);
        let stderr = stderr_of(&args.iter().map(String::as_str).collect::<Vec<_>>(), 1);
        let line = line_containing(&target, marker);
        let expected = format!("{}:{line}: error: ", target.display());
        let hit = stderr.lines().find(|l| l.starts_with(&expected) && l.ends_with(&format!("[{code}]")));
        assert!(hit.is_some_and(|l| l.contains(message)), "{file}: expected `{expected}…{message}…[{code}]` in\n{stderr}");
    }
}

/// Hand-made bad files: (file under fixtures/taxonomy/bad, line named, code).
const KNOWN_BAD: [(&str, usize, &str); 6] = [
    ("empty_archetype.yaml", 7, "empty_archetype"),
    ("empty_definition.yaml", 8, "empty_definition"),
    ("hierarchy_cycle.yaml", 8, "hierarchy_cycle"),
    ("type_in_two_archetypes.yaml", 9, "type_in_two_archetypes"),
    ("unknown_archetype.yaml", 7, "unknown_archetype"),
    ("unknown_field.yaml", 9, "parse"),
];

#[test]
fn every_bad_taxonomy_fixture_is_registered_and_fails_on_its_line() {
    let mut on_disk: Vec<String> = std::fs::read_dir(fixture("taxonomy/bad"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    assert_eq!(on_disk, KNOWN_BAD.map(|k| k.0.to_string()).to_vec(), "register new fixtures in KNOWN_BAD");
    for (file, line, code) in KNOWN_BAD {
        let path = fixture(&format!("taxonomy/bad/{file}"));
        let stderr = stderr_of(&["taxonomy", "check", path.to_str().unwrap()], 1);
        let errors: Vec<&str> = stderr.lines().filter(|l| l.contains(": error: ")).collect();
        assert_eq!(errors.len(), 1, "{file}: {stderr}");
        assert!(errors[0].starts_with(&format!("{}:{line}: error: ", path.display())), "{file}: {stderr}");
        assert!(errors[0].ends_with(&format!("[{code}]")), "{file}: {stderr}");
    }
}

#[test]
fn the_archetypes_are_the_fourteen_of_table_5() {
    let a = Archetypes::load(repo("taxonomy/archetypes.yaml")).unwrap();
    let names = [
        "Person", "Organization", "Location", "Biology", "Medicine", "Food", "Vehicle", "Creative_Work", "Event",
        "Artifact", "Computer_Science", "Political", "Science", "Misc",
    ];
    assert_eq!(a.names(), names);
    assert!(!a.version.is_empty());
    for arch in a.iter() {
        assert!(arch.definition.split_whitespace().count() >= 10, "{}", arch.name);
        assert!(arch.examples.len() >= 3, "{}", arch.name);
    }
}

#[test]
fn the_iepile_mapping_keeps_table_4_spellings() {
    let (m, archetypes) = Mapping::load_checked(repo("mappings/iepile.yaml")).unwrap();
    // Counts per archetype as Table 4 lists them, in its order.
    let expected = [
        ("Person", 5), ("Organization", 2), ("Location", 10), ("Biology", 3), ("Medicine", 11), ("Food", 5),
        ("Vehicle", 23), ("Creative_Work", 6), ("Event", 2), ("Artifact", 3), ("Computer_Science", 11),
        ("Political", 3), ("Science", 5), ("Misc", 2),
    ];
    let got: Vec<(&str, usize)> = m.groups.iter().map(|(a, e)| (a.as_str(), e.len())).collect();
    assert_eq!(got, expected);
    assert_eq!(archetypes.names(), expected.map(|e| e.0));
    for (label, archetype) in [
        ("Location", "Location"), ("location", "Location"), ("Disease", "Medicine"), ("disease", "Medicine"),
        ("machanical property", "Computer_Science"), ("creative_work", "Creative_Work"), ("GENE", "Medicine"),
        ("Restaurant Name", "Food"), ("else", "Misc"), ("national religious political", "Political"),
    ] {
        assert_eq!(m.archetype_of(label), Some(archetype), "{label}");
    }
    assert_eq!(m.archetype_of("mechanical property"), None, "the source's typo is kept, not fixed");
}

/// CrossNER's label sets, as its `src/dataloader.py` lists them (B- tags without the prefix).
const CROSSNER_LABELS: [&str; 39] = [
    "country", "politician", "election", "person", "organisation", "location", "misc", "politicalparty", "event",
    "scientist", "university", "discipline", "enzyme", "protein", "chemicalelement", "chemicalcompound",
    "astronomicalobject", "academicjournal", "theory", "award", "musicgenre", "song", "band", "album", "musicalartist",
    "musicalinstrument", "book", "writer", "poem", "magazine", "literarygenre", "field", "task", "product",
    "algorithm", "researcher", "metrics", "programlang", "conference",
];

#[test]
fn every_crossner_label_has_an_archetype_and_a_definition() {
    let (m, _) = Mapping::load_checked(repo("mappings/crossner.yaml")).unwrap();
    assert!(m.require_definitions);
    for label in CROSSNER_LABELS {
        assert!(m.archetype_of(label).is_some(), "{label}");
        let d = m.definition_of(label).unwrap_or_default();
        assert!(d.split_whitespace().count() >= 5 && d.ends_with('.'), "{label}: {d:?}");
    }
    assert_eq!(m.entries().count(), CROSSNER_LABELS.len(), "no label beyond CrossNER's");
    // Every label of the InstructUIE/B2NERD CrossNER and CoNLL files is a label or alias.
    for ds in ["CoNLL2003", "CrossNER_AI", "CrossNER_music"] {
        let labels: Vec<String> = serde_json::from_str(&std::fs::read_to_string(fixture(&format!("b2nerd/{ds}/labels.json"))).unwrap()).unwrap();
        for l in labels {
            assert!(m.archetype_of(&l).is_some(), "{ds}: {l}");
        }
    }
}

#[test]
fn the_pile_ner_mapping_covers_slimers_frequency_list() {
    let (m, _) = Mapping::load_checked(repo("mappings/pile-ner.yaml")).unwrap();
    let top: Vec<String> = serde_json::from_str(&std::fs::read_to_string(fixture("pile-ner/SLIMER_top_391_NamedEntities.json")).unwrap()).unwrap();
    assert!(top.len() >= 200);
    for (i, t) in top.iter().enumerate() {
        let e = m.entry(t).unwrap_or_else(|| panic!("{t} unmapped"));
        assert_eq!(e.rank, Some(i as u32 + 1), "{t}");
    }
    assert_eq!(m.entries().count(), top.len());
    // The SLIMER validation excerpt asks only for listed types.
    for line in std::fs::read_to_string(fixture("pile-ner/SLIMER_pileNER_FalseDef_validation_head.jsonl")).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(m.archetype_of(v["tagName"].as_str().unwrap()).is_some(), "{line}");
    }
    // Reviewed entries are exactly those Table 4 spells the same way, with its archetype.
    let iepile = Mapping::load(repo("mappings/iepile.yaml")).unwrap();
    for e in m.entries() {
        assert_eq!(e.reviewed, iepile.archetype_of(&e.label).is_some(), "{}", e.label);
        if e.reviewed {
            assert_eq!(iepile.archetype_of(&e.label), Some(e.archetype.as_str()), "{}", e.label);
        }
    }
    assert!(m.entries().filter(|e| !e.reviewed).count() > 300);
}

#[test]
fn the_json_schemas_describe_the_shipped_files() {
    for (schema, files) in [
        ("schemas/archetypes.schema.json", vec!["taxonomy/archetypes.yaml"]),
        ("schemas/mapping.schema.json", vec!["mappings/iepile.yaml", "mappings/crossner.yaml", "mappings/pile-ner.yaml", "mappings/b2nerd.yaml", "mappings/iepile-zh.yaml"]),
    ] {
        let s: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(repo(schema)).unwrap()).unwrap();
        let props = s["properties"].as_object().unwrap();
        for f in files {
            let doc: serde_json::Value = serde_norway::from_str(&std::fs::read_to_string(repo(f)).unwrap()).unwrap();
            for key in doc.as_object().unwrap().keys() {
                assert!(props.contains_key(key), "{f}: `{key}` is not in {schema}");
            }
            for req in s["required"].as_array().unwrap() {
                assert!(doc.get(req.as_str().unwrap()).is_some(), "{f}: lacks required `{req}`");
            }
        }
    }
}

/// Ingests the CrossNER music fixtures (the data the hand-made versions describe).
fn music_table(dir: &Path) -> PathBuf {
    ingest(dir, "music", "crossner", &[fixture("crossner/music_dev.txt"), fixture("crossner/music_train.txt")], 0).0
}

fn diff_output(format: &str, data: &Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_nerprep"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["taxonomy", "diff", "fixtures/taxonomy/v1", "fixtures/taxonomy/v2", "--data", data.to_str().unwrap(), "--format", format])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap().replace(data.to_str().unwrap(), "$DATA");
    (out.status.code().unwrap_or(-1), text)
}

fn snapshot(name: &str, actual: &str) {
    let path = fixture(&format!("taxonomy/{name}"));
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(actual, expected, "snapshot {name} differs; rerun with UPDATE_SNAPSHOTS=1 and review the change");
}

#[test]
fn taxonomy_diff_snapshots_in_markdown_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let data = music_table(dir.path());
    let (code, md) = diff_output("md", &data);
    assert_eq!(code, 3, "differing versions exit 3");
    snapshot("diff.expected.md", &md);
    let (code, json) = diff_output("json", &data);
    assert_eq!(code, 3);
    snapshot("diff.expected.json", &json);
    // The JSON is stable: keys sorted at every level.
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
    let kinds: Vec<&str> = v["changes"].as_array().unwrap().iter().map(|c| c["kind"].as_str().unwrap()).collect();
    for k in ["archetype_renamed", "type_moved", "archetype_definition_changed", "type_renamed", "type_definition_changed"] {
        assert!(kinds.contains(&k), "{k} missing: {kinds:?}");
    }
}

#[test]
fn the_moved_type_effect_matches_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let data = music_table(dir.path());
    let (_, json) = diff_output("json", &data);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let moved = v["changes"].as_array().unwrap().iter().find(|c| c["kind"] == "type_moved").unwrap();
    assert_eq!((moved["label"].as_str(), moved["from"].as_str(), moved["to"].as_str()), (Some("event"), Some("Misc"), Some("Event")));
    let samples = nerprep::table::read_all::<nerprep::model::Sample>(&data).unwrap();
    let events = samples.iter().flat_map(|s| &s.entities).filter(|e| e.label == "event").count();
    let with = samples.iter().filter(|s| s.entities.iter().any(|e| e.label == "event")).count();
    assert_eq!(moved["effect"]["entities"].as_u64(), Some(events as u64));
    assert_eq!(moved["effect"]["samples"].as_u64(), Some(with as u64));
    assert_eq!(moved["effect"]["examples"].as_array().unwrap().len(), 2);
}

#[test]
fn equal_versions_exit_0_and_git_revisions_can_be_read() {
    let v1 = fixture("taxonomy/v1/mapping.yaml");
    let out = nerprep(&["taxonomy", "diff", v1.to_str().unwrap(), v1.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("No differences."));

    let in_git = Command::new("git").current_dir(env!("CARGO_MANIFEST_DIR")).args(["cat-file", "-e", "HEAD:mappings/iepile.yaml"]).status();
    if in_git.is_ok_and(|s| s.success()) {
        let out = Command::new(env!("CARGO_BIN_EXE_nerprep"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["taxonomy", "diff", "git:HEAD:mappings/iepile.yaml", "mappings/iepile.yaml"])
            .output()
            .unwrap();
        assert!(matches!(out.status.code(), Some(0 | 3)), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let out = Command::new(env!("CARGO_BIN_EXE_nerprep"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["taxonomy", "diff", "git:no-such-rev-xyz:mappings/iepile.yaml", "mappings/iepile.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("git:no-such-rev-xyz:mappings/iepile.yaml"));
}
