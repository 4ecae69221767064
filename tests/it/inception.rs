//! XMI from annotation projects (issue 20): several span layers read at once, DKPro
//! coreference chains, INCEpTION project exports with annotators and a curation, and the XMI
//! export of all that back through dkpro-cassis. The fixtures of fixtures/xmi/project were
//! written by dkpro-cassis (tests/clients/make_inception_fixtures.py), which also wrote down in
//! expected.json what it put in; some figures are checked by hand below as well.

use crate::common::{client_python, fixture, nerprep, nerprep_ok, read_checked};
use nerprep::model::Sample;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

const METADATA: &str = "webanno.custom.Metadata";
const CONTENT: &str = "webanno.custom.Content";

/// Files under fixtures/xmi/project, each used below.
const KNOWN_FILES: [&str; 4] = ["README.md", "expected.json", "frame_project.zip", "plain"];

#[test]
fn every_project_fixture_is_registered() {
    let mut on_disk: Vec<String> =
        std::fs::read_dir(fixture("xmi/project")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    on_disk.sort();
    assert_eq!(on_disk, KNOWN_FILES);
}

fn expected() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture("xmi/project/expected.json")).unwrap()).unwrap()
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// `nerprep ingest --format xmi` of both layers plus `extra` args, into dir/name.parquet.
pub fn ingest_layers(dir: &Path, name: &str, extra: &[&str], code: i32) -> (PathBuf, String) {
    let out = dir.join(format!("{name}.parquet"));
    let mut args = vec!["ingest", "--format", "xmi", "--entity-type", METADATA, "--entity-type", CONTENT];
    args.extend_from_slice(extra);
    let out_s = s(&out);
    args.extend(["-o", &out_s]);
    let stderr = nerprep_ok(&args, code);
    (out, stderr)
}

type Ent = (u64, u64, String, String, String, Option<String>);

/// A sample's entities as expected.json spells them: [start, end, layer, label, text, identifier].
fn entities_of(s: &Sample) -> Vec<Ent> {
    let mut v: Vec<Ent> = s
        .entities
        .iter()
        .map(|e| (e.span.start() as u64, e.span.end() as u64, e.layer.clone().unwrap(), e.label.clone(), e.text.clone(), e.identifier.clone()))
        .collect();
    v.sort();
    v
}

fn expected_entities(v: &Value) -> Vec<Ent> {
    let mut out: Vec<Ent> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let str_ = |i: usize| e[i].as_str().unwrap().to_string();
            (e[0].as_u64().unwrap(), e[1].as_u64().unwrap(), str_(2), str_(3), str_(4), e[5].as_str().map(str::to_string))
        })
        .collect();
    out.sort();
    out
}

type Rel = ((u32, u32), (u32, u32), String);

fn relations_of(s: &Sample) -> Vec<Rel> {
    let span = |i: u32| (s.entities[i as usize].span.start(), s.entities[i as usize].span.end());
    let mut v: Vec<Rel> = s.relations.iter().map(|r| (span(r.head), span(r.tail), r.label.clone())).collect();
    v.sort();
    v
}

fn expected_relations(v: &Value) -> Vec<Rel> {
    let pair = |x: &Value| (x[0].as_u64().unwrap() as u32, x[1].as_u64().unwrap() as u32);
    let mut out: Vec<Rel> = v.as_array().unwrap().iter().map(|r| (pair(&r[0]), pair(&r[1]), r[2].as_str().unwrap().to_string())).collect();
    out.sort();
    out
}

#[test]
fn two_layers_coreference_and_relations_are_read_as_cassis_wrote_them() {
    let dir = tempfile::tempdir().unwrap();
    let plain = fixture("xmi/project/plain");
    let (out, stderr) = ingest_layers(dir.path(), "plain", &[&s(&plain)], 0);
    let samples = read_checked(&out);
    assert_eq!(samples.len(), 2);
    let want = expected();
    for (sample, doc) in samples.iter().zip(["doc1.txt", "doc2.txt"]) {
        let curated = &want["documents"][doc]["curation"];
        assert_eq!(entities_of(sample), expected_entities(&curated["entities"]), "{doc}");
        assert_eq!(relations_of(sample), expected_relations(&curated["relations"]), "{doc}");
    }
    // By hand: doc1 has 6 span annotations on two layers and 2 chain links without one (her,
    // she); 2 relations across the layers and 1 + 2 coref links. 🖼 before `Mona Lisa` makes
    // its UTF-16 begin 3 code point 2.
    let d1 = &samples[0];
    assert_eq!((d1.entities.len(), d1.relations.len()), (8, 5));
    let mona = d1.entities.iter().find(|e| e.text == "Mona Lisa").unwrap();
    assert_eq!((mona.span.start(), mona.layer.as_deref(), mona.identifier.as_deref()), (2, Some("Metadata"), Some("http://www.wikidata.org/entity/Q12418")));
    let she = d1.entities.iter().find(|e| e.text == "she").unwrap();
    assert_eq!((she.layer.as_deref(), she.label.as_str()), (Some("Coreference"), "Coreference"), "no referenceType: the layer name");
    assert_eq!(d1.relations.iter().filter(|r| r.label == "coref").count(), 3);
    assert_eq!(d1.meta["layer_types"]["Content"], CONTENT);
    assert!(stderr.contains("coref_link_as_entity 3"), "{stderr}");
    assert!(stderr.contains("read 2 = written 2"), "{stderr}");

    // One layer at a time: the other layer's entities and the relations to them are gone.
    let out = dir.path().join("content.parquet");
    let stderr = nerprep_ok(&["ingest", "--format", "xmi", "--entity-type", CONTENT, &s(&plain), "-o", &s(&out)], 0);
    let d1 = &read_checked(&out)[0];
    assert!(d1.entities.iter().all(|e| e.layer.as_deref() != Some("Metadata")));
    assert!(stderr.contains("relation_endpoint_not_entity"), "{stderr}");
}

#[test]
fn an_inception_project_reads_the_curation_by_default_and_annotators_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let project = s(&fixture("xmi/project/frame_project.zip"));
    let (out, stderr) = ingest_layers(dir.path(), "curated", &[&project], 0);
    let samples = read_checked(&out);
    let ids: Vec<&str> = samples.iter().map(|x| x.id.as_str()).collect();
    assert_eq!(ids, vec!["frame_project/unknown/doc1.txt/curation:0", "frame_project/unknown/doc2.txt/curation:0"]);
    assert!(samples.iter().all(|x| x.meta["annotator"] == "curation"));
    assert_eq!(samples[1].meta["document"], "doc2.txt");
    assert!(stderr.contains("read 2 = written 2"), "{stderr}");

    let (out, _) = ingest_layers(dir.path(), "all", &["--annotators", "all", &project], 0);
    let samples = read_checked(&out);
    let who: Vec<(String, String)> =
        samples.iter().map(|x| (x.meta["document"].as_str().unwrap().into(), x.meta["annotator"].as_str().unwrap().into())).collect();
    let pairs: Vec<(&str, &str)> = who.iter().map(|(d, a)| (d.as_str(), a.as_str())).collect();
    assert_eq!(pairs, vec![("doc1.txt", "alice"), ("doc1.txt", "bob"), ("doc2.txt", "alice"), ("doc2.txt", "bob")], "INITIAL_CAS is nobody");
    let want = expected();
    for x in &samples {
        let v = &want["documents"][x.meta["document"].as_str().unwrap()][x.meta["annotator"].as_str().unwrap()];
        assert_eq!(entities_of(x), expected_entities(&v["entities"]), "{}", x.id);
        assert_eq!(relations_of(x), expected_relations(&v["relations"]), "{}", x.id);
    }

    let (out, _) = ingest_layers(dir.path(), "some", &["--annotators", "bob,curation", &project], 0);
    assert_eq!(read_checked(&out).len(), 4);
    let plain = s(&fixture("xmi/project/plain"));
    let (_, stderr) = ingest_layers(dir.path(), "plain", &["--annotators", "all", &plain], 1);
    assert!(stderr.contains("--annotators applies to INCEpTION project exports"), "{stderr}");
    let run = nerprep(&["ingest", "--format", "xmi", "--annotators", "alice,carol", &project, "-o", &s(&dir.path().join("x.parquet"))]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1));
    assert!(stderr.contains("--annotators names carol that the project export does not have; it has alice, bob, curation"), "{stderr}");
}

/// Writes a zip of `members` (name, bytes).
fn write_zip(path: &Path, members: &[(&str, Vec<u8>)]) {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    for (name, bytes) in members {
        zip.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
        std::io::Write::write_all(&mut zip, bytes).unwrap();
    }
    zip.finish().unwrap();
}

#[test]
fn a_zip_that_is_neither_xmi_nor_a_project_is_an_error_not_a_silent_zero() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("notes.zip", vec![("README.txt", b"hello".to_vec())], "is neither a zip of XMI documents"),
        ("tsv_project.zip", vec![("exportedproject.json", b"{}".to_vec()), ("annotation/d.txt/alice.tsv", b"#".to_vec())], "annotation files in another format (tsv)"),
        ("empty_project.zip", vec![("exportedproject.json", b"{}".to_vec())], "is an INCEpTION project export with no annotation/"),
    ];
    for (name, members, message) in cases {
        let zip = dir.path().join(name);
        write_zip(&zip, &members);
        let out = dir.path().join("x.parquet");
        let run = nerprep(&["ingest", "--format", "xmi", &s(&zip), "-o", &s(&out)]);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(1), "{name}: {stderr}");
        assert!(stderr.contains(message), "{name}: {stderr}");
        assert!(!out.exists(), "{name}: no output");
    }
}

/// What cassis sees in exported documents (tests/clients/cassis_layers.py).
fn cassis_layers(export: &Path) -> Vec<Value> {
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(export).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|x| x == "xmi")).collect();
    files.sort();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/cassis_layers.py");
    let out = Command::new(client_python()).arg(script).arg(export.join("TypeSystem.xml")).args(&files).output().unwrap();
    assert!(out.status.success(), "cassis failed:\n{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn the_export_of_a_project_round_trips_through_cassis_layers_chains_and_all() {
    let dir = tempfile::tempdir().unwrap();
    let project = s(&fixture("xmi/project/frame_project.zip"));
    let (table, _) = ingest_layers(dir.path(), "curated", &[&project], 0);
    let samples = read_checked(&table);
    let export = dir.path().join("export");
    let stderr = nerprep_ok(&["export", "--format", "xmi", &s(&table), "-o", &s(&export)], 0);
    assert!(stderr.contains("read 2 = written 2"), "{stderr}");
    let provenance: Value = serde_json::from_str(&std::fs::read_to_string(export.join("provenance.json")).unwrap()).unwrap();
    assert_eq!((provenance["stage"].as_str(), provenance["counts"]["written"].as_u64()), (Some("export"), Some(2)));
    assert_eq!(provenance["files"].as_object().unwrap().len(), 3, "TypeSystem.xml and the two documents");
    let seen = cassis_layers(&export);
    assert_eq!(seen.len(), samples.len());
    for (sample, v) in samples.iter().zip(&seen) {
        assert_eq!(v["text"], sample.text.as_str());
        // Span layers: every entity not born of a chain link, with its layer and identifier.
        let mut theirs: Vec<Ent> = v["entities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let t = |k: &str| e[k].as_str().unwrap().to_string();
                (e["begin"].as_u64().unwrap(), e["end"].as_u64().unwrap(), t("layer"), t("label"), t("text"), e["identifier"].as_str().map(str::to_string))
            })
            .collect();
        theirs.sort();
        let ours: Vec<Ent> = entities_of(sample).into_iter().filter(|e| e.2 != "Coreference").collect();
        assert_eq!(theirs, ours, "{}", sample.id);
        // Relations other than coref, by span.
        let mut rels: Vec<Rel> = v["relations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let p = |x: &Value| (x[0].as_u64().unwrap() as u32, x[1].as_u64().unwrap() as u32);
                (p(&r["head"]), p(&r["tail"]), r["label"].as_str().unwrap().to_string())
            })
            .collect();
        rels.sort();
        let ours: Vec<Rel> = relations_of(sample).into_iter().filter(|r| r.2 != "coref").collect();
        assert_eq!(rels, ours, "{}", sample.id);
        // Chains: consecutive links are exactly the coref relations, and the mentions keep
        // their labels as referenceType.
        let mut links: Vec<Rel> = Vec::new();
        for chain in v["chains"].as_array().unwrap() {
            let c = chain.as_array().unwrap();
            for w in c.windows(2) {
                let p = |x: &Value| (x["begin"].as_u64().unwrap() as u32, x["end"].as_u64().unwrap() as u32);
                links.push((p(&w[0]), p(&w[1]), "coref".into()));
            }
        }
        links.sort();
        let ours: Vec<Rel> = relations_of(sample).into_iter().filter(|r| r.2 == "coref").collect();
        assert_eq!(links, ours, "{}", sample.id);
    }
    let chains: usize = seen.iter().map(|v| v["chains"].as_array().unwrap().len()).sum();
    assert_eq!(chains, 3, "the curation's three chains");

    // And back through nerprep: the same entities (layers, identifiers) and relations.
    let (back, _) = ingest_layers(dir.path(), "back", &[&s(&export)], 0);
    let back = read_checked(&back);
    for (a, b) in samples.iter().zip(&back) {
        assert_eq!(entities_of(a), entities_of(b), "{}", a.id);
        assert_eq!(relations_of(a), relations_of(b), "{}", a.id);
    }
    let layers: BTreeSet<String> = back.iter().flat_map(|x| x.entities.iter().filter_map(|e| e.layer.clone())).collect();
    assert_eq!(layers, BTreeSet::from(["Content".to_string(), "Coreference".to_string(), "Metadata".to_string()]));
}
