//! UIMA CAS XMI: ingest over the real cassis/INCEpTION fixtures and hand-made edge cases,
//! checked against what dkpro-cassis (the real client, from PyPI, in a git-ignored venv made by
//! `make test`) reports for the same files, and export back to XMI that cassis loads.

use crate::common::{fixture, nerprep, nerprep_ok, read_checked};
use nerprep::model::{QuarantineRecord, Sample};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const NAMED_ENTITY: &str = "de.tudarmstadt.ukp.dkpro.core.api.ner.type.NamedEntity";

/// The Python of the test-client venv, where dkpro-cassis is installed.
fn cassis_python() -> PathBuf {
    let path = std::env::var_os("NERPREP_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-test/bin/python"));
    assert!(
        path.exists(),
        "the real-client XMI test needs dkpro-cassis: run `make test` (it creates .venv-test from \
         tests/clients/requirements.txt), or set NERPREP_TEST_PYTHON to a python with dkpro-cassis \
         installed; not found: {}",
        path.display()
    );
    path
}

/// What cassis reports for `files`: one JSON object per file and view with text.
fn cassis_dump(ts: &Path, entity_type: &str, label_feature: &str, files: &[PathBuf]) -> Vec<Value> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/cassis_dump.py");
    let out = Command::new(cassis_python())
        .arg(script)
        .args([ts.as_os_str(), entity_type.as_ref(), label_feature.as_ref()])
        .args(files)
        .output()
        .expect("run the cassis client");
    assert!(out.status.success(), "cassis failed:\n{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

type Span2 = (u32, u32);

/// One view as both sides see it: text, entities (start, end, label, text, identifier) and
/// relations (head span, tail span, label), sorted.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    text: String,
    entities: Vec<(u32, u32, String, String, Option<String>)>,
    relations: Vec<(Span2, Span2, String)>,
}

fn seen_by_nerprep(s: &Sample) -> Seen {
    let span = |i: u32| {
        let e = &s.entities[i as usize];
        (e.span.start(), e.span.end())
    };
    let mut entities: Vec<_> =
        s.entities.iter().map(|e| (e.span.start(), e.span.end(), e.label.clone(), e.text.clone(), e.identifier.clone())).collect();
    let mut relations: Vec<_> = s.relations.iter().map(|r| (span(r.head), span(r.tail), r.label.clone())).collect();
    entities.sort();
    relations.sort();
    Seen { text: s.text.clone(), entities, relations }
}

fn seen_by_cassis(v: &Value) -> Seen {
    let u = |x: &Value| x.as_u64().unwrap() as u32;
    let pair = |x: &Value| (u(&x[0]), u(&x[1]));
    let mut entities: Vec<_> = v["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            // nerprep's rule: the label feature, or the short type name when absent or empty.
            let label = match e["label"].as_str().filter(|l| !l.is_empty()) {
                Some(l) => l.to_string(),
                None => e["type"].as_str().unwrap().rsplit('.').next().unwrap().to_string(),
            };
            let identifier = e["identifier"].as_str().filter(|i| !i.is_empty()).map(str::to_string);
            (u(&e["begin"]), u(&e["end"]), label, e["text"].as_str().unwrap().to_string(), identifier)
        })
        .collect();
    let mut relations: Vec<_> = v["relations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (pair(&r["head"]), pair(&r["tail"]), r["label"].as_str().unwrap().to_string()))
        .collect();
    entities.sort();
    relations.sort();
    Seen { text: v["text"].as_str().unwrap().to_string(), entities, relations }
}

/// Runs `nerprep ingest --format xmi ARGS -o dir/name.parquet`, expecting exit `code`.
fn ingest_xmi(dir: &Path, name: &str, args: &[&str], code: i32) -> (PathBuf, String) {
    let out = dir.join(format!("{name}.parquet"));
    let out_s = out.display().to_string();
    let mut all = vec!["ingest", "--format", "xmi"];
    all.extend_from_slice(args);
    all.extend(["-o", &out_s]);
    let stderr = nerprep_ok(&all, code);
    (out, stderr)
}

fn path_str(p: &Path) -> String {
    p.display().to_string()
}

#[test]
fn every_view_of_every_real_fixture_matches_cassis() {
    let dir = tempfile::tempdir().unwrap();
    // (document, type system, entity type, label feature)
    let cases = [
        ("cas_with_smileys.xmi", "important_dkpro_types.xml", NAMED_ENTITY, "value"),
        ("edge/curie_nonbmp.xmi", "edge/TypeSystem.xml", NAMED_ENTITY, "value"),
        ("small_cas.xmi", "small_typesystem.xml", "cassis.Token", "pos"),
        (
            "casWithTraditionalChineseTextAndAnnotations.debug.xmi",
            "casWithTraditionalChineseTextAndAnnotations.debug-typesystem.xml",
            "uima.tcas.Annotation",
            "value",
        ),
        ("cas_with_two_sofas.xmi", "small_typesystem.xml", "uima.tcas.DocumentAnnotation", "value"),
    ];
    let mut entities = 0;
    for (i, (doc, ts, entity_type, label_feature)) in cases.iter().enumerate() {
        let (doc, ts) = (fixture(&format!("xmi/{doc}")), fixture(&format!("xmi/{ts}")));
        let (d, t) = (path_str(&doc), path_str(&ts));
        let args = ["--typesystem", &t, "--entity-type", entity_type, "--label-feature", label_feature, "--all-views", &d];
        let (out, _) = ingest_xmi(dir.path(), &format!("c{i}"), &args, 0);
        let ours: Vec<Seen> = read_checked(&out).iter().map(seen_by_nerprep).collect();
        let theirs: Vec<Seen> = cassis_dump(&ts, entity_type, label_feature, std::slice::from_ref(&doc)).iter().map(seen_by_cassis).collect();
        assert_eq!(ours, theirs, "{}", doc.display());
        entities += ours.iter().map(|s| s.entities.len()).sum::<usize>();
    }
    assert_eq!(entities, 5 + 6 + 11 + 5 + 2, "the fixtures' annotations are all there");
}

#[test]
fn non_bmp_text_relations_links_and_identifiers() {
    let dir = tempfile::tempdir().unwrap();
    // No --typesystem: edge/TypeSystem.xml beside the document is used.
    let (out, stderr) = ingest_xmi(dir.path(), "curie", &[&path_str(&fixture("xmi/edge/curie_nonbmp.xmi"))], 0);
    let samples = read_checked(&out);
    assert_eq!(samples.len(), 1, "the initial view only");
    let s = &samples[0];
    assert_eq!((s.id.as_str(), s.dataset.as_str(), s.lang.as_str()), ("edge/unknown/curie_nonbmp:0", "edge", "de"));
    let found: Vec<_> = s.entities.iter().map(|e| (e.span.start(), e.span.end(), e.label.as_str(), e.text.as_str())).collect();
    assert_eq!(
        found,
        vec![
            (0, 11, "PER", "Marie Curie"),
            (23, 31, "Location", "Warschau"),
            (62, 67, "LOC", "Paris"),
            (68, 70, "MISC", "🇫🇷"),
            (89, 101, "PER", "Pierre Curie"),
        ]
    );
    assert_eq!(s.entities[0].identifier.as_deref(), Some("http://www.wikidata.org/entity/Q7186"));
    assert_eq!(s.entities[3].identifier, None);
    let relations: Vec<_> = s.relations.iter().map(|r| (r.head, r.tail, r.label.as_str())).collect();
    assert_eq!(relations, vec![(0, 1, "born_in"), (0, 4, "spouse"), (4, 2, "lived_in"), (0, 2, "residence")]);
    assert_eq!(s.label_set, vec!["PER", "Location", "LOC", "MISC"]);
    assert_eq!(s.meta["document_id"], "curie");
    assert!(stderr.contains("label_from_type_name 1"), "{stderr}");
    assert!(stderr.contains("entity_not_on_token_boundary 1"), "`Paris` is inside the token `𠀋Paris`: {stderr}");
}

#[test]
fn views_and_sentences_become_samples_with_rebased_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let doc = path_str(&fixture("xmi/edge/curie_nonbmp.xmi"));
    let (out, _) = ingest_xmi(dir.path(), "views", &["--all-views", &doc], 0);
    let samples = read_checked(&out);
    assert_eq!(samples.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), vec!["edge/unknown/curie_nonbmp:0", "edge/unknown/curie_nonbmp:1"]);
    assert_eq!((samples[1].meta["view"].as_str(), samples[1].entities[0].text.as_str()), (Some("english"), "Warsaw"));
    let (out, _) = ingest_xmi(dir.path(), "english", &["--view", "english", &doc], 0);
    assert_eq!(read_checked(&out)[0].text, "Marie Curie 🧪 was born in Warsaw.");

    let (out, stderr) = ingest_xmi(dir.path(), "sentences", &["--split-sentences", &doc], 0);
    let samples = read_checked(&out);
    let ids: Vec<_> = samples.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, vec!["edge/unknown/curie_nonbmp:0#0", "edge/unknown/curie_nonbmp:0#1"]);
    assert_eq!(samples[1].text, "Später zog sie nach 𠀋Paris 🇫🇷 und arbeitete mit Pierre Curie.");
    assert_eq!(samples[1].meta["offset"], 41);
    let second: Vec<_> = samples[1].entities.iter().map(|e| (e.span.start(), e.text.as_str())).collect();
    assert_eq!(second, vec![(21, "Paris"), (27, "🇫🇷"), (48, "Pierre Curie")]);
    assert_eq!(samples[0].relations.len(), 1, "born_in stays inside the first sentence");
    assert_eq!(samples[1].relations[0].label, "lived_in");
    assert!(stderr.contains("read 2 = written 2"), "{stderr}");
    assert!(stderr.contains("relation_across_sentences 2"), "spouse and the residence link: {stderr}");
}

/// (file under fixtures/xmi/bad, reason, line named in the message)
const MALFORMED: [(&str, &str, u64); 4] = [
    ("truncated.xmi", "truncated", 7),
    ("unknown_reference.xmi", "unknown_reference", 8),
    ("missing_sofa.xmi", "missing_sofa", 1),
    ("wrong_namespace.xmi", "wrong_namespace", 2),
];

#[test]
fn every_malformed_fixture_is_registered() {
    let mut on_disk: Vec<String> =
        std::fs::read_dir(fixture("xmi/bad")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    on_disk.sort();
    let mut known: Vec<&str> = MALFORMED.iter().map(|m| m.0).chain(["offsets_out_of_range.xmi"]).collect();
    known.sort();
    assert_eq!(on_disk, known);
}

#[test]
fn malformed_documents_are_quarantined_with_file_line_and_reason_and_nothing_else_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let ts = path_str(&fixture("xmi/important_dkpro_types.xml"));
    let good = path_str(&fixture("xmi/cas_with_smileys.xmi"));
    for (i, (file, reason, line)) in MALFORMED.iter().enumerate() {
        let bad = fixture(&format!("xmi/bad/{file}"));
        let (out, stderr) = ingest_xmi(dir.path(), &format!("m{i}"), &["--typesystem", &ts, &good, &path_str(&bad)], 1);
        let location = format!("{}:{line}: {reason}: ", bad.display());
        assert!(stderr.contains(&location), "{file}: expected `{location}` in:\n{stderr}");
        let samples = read_checked(&out);
        assert_eq!(samples.len(), 1, "{file}: the good document is kept");
        assert_eq!(samples[0].entities.len(), 5, "{file}");
        let q: Vec<QuarantineRecord> = nerprep::table::read_all(dir.path().join(format!("m{i}.quarantine.parquet"))).unwrap();
        assert_eq!(q.len(), 1, "{file}");
        assert_eq!((q[0].reason.as_str(), q[0].line), (*reason, Some(*line)));
        assert!(!q[0].raw.is_empty(), "{file}: the raw XML from the bad line on is kept");
        let counts = nerprep::table::read_counts(&out).unwrap().unwrap();
        assert_eq!((counts.read, counts.written), (2, 1));
    }
}

#[test]
fn bad_offsets_go_to_unaligned_with_reasons_and_the_rest_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let ts = path_str(&fixture("xmi/important_dkpro_types.xml"));
    let doc = path_str(&fixture("xmi/bad/offsets_out_of_range.xmi"));
    let (out, stderr) = ingest_xmi(dir.path(), "offsets", &["--typesystem", &ts, &doc], 0);
    let s = &read_checked(&out)[0];
    let kept: Vec<_> = s.entities.iter().map(|e| (e.span.start(), e.text.as_str())).collect();
    assert_eq!(kept, vec![(2, "Hugging Face"), (24, "New York")]);
    let unaligned: Vec<_> = s.unaligned.iter().map(|u| (u.label.as_str(), u.reason.as_str())).collect();
    assert_eq!(unaligned, vec![("LOC", "offset_past_end"), ("MISC", "offset_in_surrogate_pair"), ("MISC", "begin_after_end")]);
    for reason in ["offset_past_end 1", "offset_in_surrogate_pair 1", "begin_after_end 1"] {
        assert!(stderr.contains(&format!("unaligned:{reason}")), "{stderr}");
    }
}

#[test]
fn a_missing_type_system_or_entity_type_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.parquet");
    let doc = path_str(&fixture("xmi/cas_with_smileys.xmi"));
    let run = nerprep(&["ingest", "--format", "xmi", &doc, "-o", &path_str(&out)]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1));
    assert!(stderr.contains("cas_with_smileys.xmi: no type system") && stderr.contains("--typesystem"), "{stderr}");
    assert!(!out.exists(), "no partial output");
    let ts = path_str(&fixture("xmi/small_typesystem.xml"));
    let run = nerprep(&["ingest", "--format", "xmi", "--typesystem", &ts, &doc, "-o", &path_str(&out)]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1));
    assert!(stderr.contains("has no type `de.tudarmstadt.ukp.dkpro.core.api.ner.type.NamedEntity`"), "{stderr}");
    let crossner = path_str(&fixture("crossner/music_dev.txt"));
    let usage = nerprep(&["ingest", "--format", "crossner", "--typesystem", &ts, &crossner, "-o", &path_str(&out)]);
    assert_eq!(usage.status.code(), Some(2), "XMI options with another format are a usage error");
}

/// Writes a zip archive with `members` (name, bytes) in the given order.
fn write_zip(path: &Path, members: &[(String, Vec<u8>)]) {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    for (name, bytes) in members {
        zip.start_file(name.as_str(), zip::write::SimpleFileOptions::default()).unwrap();
        std::io::Write::write_all(&mut zip, bytes).unwrap();
    }
    zip.finish().unwrap();
}

#[test]
fn a_zip_export_is_read_in_member_order_with_its_type_system() {
    let dir = tempfile::tempdir().unwrap();
    let doc = std::fs::read(fixture("xmi/edge/curie_nonbmp.xmi")).unwrap();
    let ts = std::fs::read(fixture("xmi/edge/TypeSystem.xml")).unwrap();
    let zip = dir.path().join("project_train.zip");
    let members = [
        ("annotation/b/admin.xmi".to_string(), doc.clone()),
        ("TypeSystem.xml".to_string(), ts),
        ("annotation/a/admin.xmi".to_string(), doc),
        ("README.txt".to_string(), b"not a document".to_vec()),
    ];
    write_zip(&zip, &members);
    let (out, stderr) = ingest_xmi(dir.path(), "zip", &[&path_str(&zip)], 0);
    let samples = read_checked(&out);
    let ids: Vec<_> = samples.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, vec!["project/train/annotation/a/admin:0", "project/train/annotation/b/admin:0"]);
    assert!(samples.iter().all(|s| s.entities.len() == 5 && s.relations.len() == 4));
    assert!(stderr.contains("read 2 = written 2"), "{stderr}");
}

#[test]
fn output_is_identical_whatever_the_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    std::fs::create_dir(&corpus).unwrap();
    std::fs::copy(fixture("xmi/edge/TypeSystem.xml"), corpus.join("TypeSystem.xml")).unwrap();
    let doc = std::fs::read(fixture("xmi/edge/curie_nonbmp.xmi")).unwrap();
    let bad = std::fs::read(fixture("xmi/bad/truncated.xmi")).unwrap();
    // More documents than one parallel chunk holds.
    for i in 0..600 {
        std::fs::write(corpus.join(format!("doc{i:03}.xmi")), if i % 97 == 5 { &bad } else { &doc }).unwrap();
    }
    let mut tables = Vec::new();
    for threads in ["1", "4"] {
        let out = dir.path().join(format!("t{threads}.parquet"));
        let args = ["ingest", "--format", "xmi", corpus.to_str().unwrap(), "-o", out.to_str().unwrap()];
        let run = Command::new(env!("CARGO_BIN_EXE_nerprep")).args(args).env("RAYON_NUM_THREADS", threads).output().unwrap();
        assert_eq!(run.status.code(), Some(1), "{}", String::from_utf8_lossy(&run.stderr));
        tables.push((std::fs::read(&out).unwrap(), std::fs::read(dir.path().join(format!("t{threads}.quarantine.parquet"))).unwrap()));
        let samples = read_checked(&out);
        assert_eq!(samples.len(), 600 - 7);
        assert_eq!(samples[0].id, "corpus/unknown/doc000:0");
        assert_eq!(samples.last().unwrap().id, "corpus/unknown/doc599:0");
    }
    assert!(tables[0] == tables[1], "byte-identical tables with 1 and 4 threads");
}

/// Exported documents as cassis sees them, keyed by document id.
fn cassis_view_of_export(export: &Path) -> BTreeMap<String, Seen> {
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(export).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|x| x == "xmi")).collect();
    files.sort();
    let ts = export.join("TypeSystem.xml");
    let dumped = cassis_dump(&ts, NAMED_ENTITY, "value", &files);
    assert_eq!(dumped.len(), files.len());
    files.iter().zip(&dumped).map(|(f, v)| (f.file_name().unwrap().to_string_lossy().into_owned(), seen_by_cassis(v))).collect()
}

#[test]
fn exported_xmi_loads_in_cassis_with_the_same_texts_spans_labels_and_relations() {
    let dir = tempfile::tempdir().unwrap();
    let ts1 = path_str(&fixture("xmi/important_dkpro_types.xml"));
    let ts2 = path_str(&fixture("xmi/edge/TypeSystem.xml"));
    let inputs = [fixture("xmi/cas_with_smileys.xmi"), fixture("xmi/edge/curie_nonbmp.xmi"), fixture("xmi/bad/offsets_out_of_range.xmi")];
    let inputs: Vec<String> = inputs.iter().map(|p| path_str(p)).collect();
    let mut args = vec!["--typesystem", &ts1, "--typesystem", &ts2, "--all-views"];
    args.extend(inputs.iter().map(String::as_str));
    let (table, _) = ingest_xmi(dir.path(), "in", &args, 0);
    let samples = read_checked(&table);
    assert_eq!(samples.len(), 4);

    let export = dir.path().join("export");
    let stderr = nerprep_ok(&["export", "--format", "xmi", &path_str(&table), "-o", &path_str(&export)], 0);
    assert!(stderr.contains("export: read 4 = written 4"), "{stderr}");
    assert!(stderr.contains("unaligned_not_exported 3"), "{stderr}");
    let theirs = cassis_view_of_export(&export);
    assert_eq!(theirs.len(), samples.len());
    for (s, (name, seen)) in samples.iter().zip(&theirs) {
        assert_eq!(&seen_by_nerprep(s), seen, "{name} ({})", s.id);
    }

    // The zip form holds the same documents and reads back into the same table content.
    let zip = dir.path().join("export.zip");
    nerprep_ok(&["export", "--format", "xmi", &path_str(&table), "-o", &path_str(&zip)], 0);
    let (back, _) = ingest_xmi(dir.path(), "back", &[&path_str(&zip)], 0);
    let back = read_checked(&back);
    let pairs: Vec<_> = samples.iter().zip(&back).map(|(a, b)| (seen_by_nerprep(a), seen_by_nerprep(b))).collect();
    assert!(pairs.iter().all(|(a, b)| a == b), "{pairs:#?}");
    assert_eq!(back[1].meta["document_id"], samples[1].id.as_str());

    // Exporting twice gives the same bytes.
    let again = dir.path().join("again.zip");
    nerprep_ok(&["export", "--format", "xmi", &path_str(&table), "-o", &path_str(&again)], 0);
    assert!(std::fs::read(&zip).unwrap() == std::fs::read(&again).unwrap());
}
