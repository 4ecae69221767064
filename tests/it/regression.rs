//! Regression tests for defects a hostile test of the binary found (issue 18), one per
//! defect, named after it.

use crate::common::{fixture, ingest, nerprep_ok, scratch};
use std::path::Path;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn regression_export_xmi_keeps_what_the_directory_already_holds() {
    let dir = scratch("reg-export-xmi");
    let (table, _) = ingest(&dir, "music", "crossner", &[fixture("crossner/music_dev.txt")], 0);
    let out = dir.join("xmi-out");
    std::fs::create_dir_all(out.join("mine")).unwrap();
    std::fs::write(out.join("notes.txt"), "my notes").unwrap();
    std::fs::write(out.join("mine/keep.txt"), "keep").unwrap();
    let stderr = nerprep_ok(&["export", "--format", "xmi", s(&table), "-o", s(&out)], 1);
    assert!(stderr.contains("not empty") && stderr.contains("--force"), "{stderr}");
    nerprep_ok(&["export", "--format", "xmi", "--force", s(&table), "-o", s(&out)], 0);
    assert_eq!(std::fs::read_to_string(out.join("notes.txt")).unwrap(), "my notes");
    assert_eq!(std::fs::read_to_string(out.join("mine/keep.txt")).unwrap(), "keep");
    assert!(out.join("TypeSystem.xml").exists());
}

#[test]
fn regression_an_output_equal_to_an_input_is_refused() {
    let dir = scratch("reg-in-out");
    let (table, _) = ingest(&dir, "music", "crossner", &[fixture("crossner/music_dev.txt")], 0);
    let before = std::fs::read(&table).unwrap();
    let same = dir.join("./music.parquet");
    for args in [
        vec!["export", "--format", "conll", s(&table), "-o", s(&same)],
        vec!["emit", s(&table), "--template", "b2ner", "-o", s(&same)],
        vec!["stats", s(&table), "-o", s(&same)],
    ] {
        let stderr = nerprep_ok(&args, 2);
        assert!(stderr.contains("is the input"), "{args:?}: {stderr}");
    }
    let anchor = dir.join("anchor.jsonl");
    std::fs::write(&anchor, "{\"id\": \"a\", \"candidates\": [\"x\"]}\n").unwrap();
    let stderr = nerprep_ok(&["consensus", "--anchor", s(&anchor), "--explorer", s(&anchor), "-o", s(&anchor)], 2);
    assert!(stderr.contains("is the input"), "{stderr}");
    assert_eq!(std::fs::read(&table).unwrap(), before, "the input is untouched");
}

#[test]
fn regression_one_invalid_utf8_line_does_not_abort_eval_or_consensus() {
    let dir = scratch("reg-utf8");
    let (table, _) = ingest(&dir, "music", "crossner", &[fixture("crossner/music_dev.txt")], 0);
    let gold = dir.join("gold.jsonl");
    nerprep_ok(&["emit", s(&table), "--template", "b2ner", "-o", s(&gold)], 0);
    let mut bytes = std::fs::read(&gold).unwrap();
    let lines = bytes.iter().filter(|&&b| b == b'\n').count();
    let first_end = bytes.iter().position(|&b| b == b'\n').unwrap();
    bytes.splice(first_end + 1..first_end + 1, b"{\"id\": \"\xff\xfe\"}\n".iter().copied());
    std::fs::write(&gold, &bytes).unwrap();
    let report = dir.join("report");
    let stderr = nerprep_ok(&["eval", "--gold", s(&table), "--pred", s(&gold), "--answer-format", "b2ner", "-o", s(&report)], 1);
    assert!(stderr.contains(":2: invalid_utf8"), "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(report.join("report.json")).unwrap()).unwrap();
    assert_eq!(json["counts"]["read"].as_u64().unwrap(), lines as u64 + 1, "every line is read, the bad one counted");
    assert!(report.join("provenance.json").exists());

    let anchor = dir.join("anchor.jsonl");
    std::fs::write(&anchor, b"{\"id\": \"a\", \"candidates\": [\"x\"]}\n\xff\n{\"id\": \"b\", \"candidates\": [\"y\"]}\n").unwrap();
    let out = dir.join("merged.jsonl");
    let stderr = nerprep_ok(&["consensus", "--anchor", s(&anchor), "--explorer", s(&anchor), "-o", s(&out)], 1);
    assert!(stderr.contains(":2: invalid_utf8"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 2, "both good records are written");
}

/// A size-limited file system, mounted for one test (tmpfs; needs the privilege to mount).
struct TinyFs(std::path::PathBuf);

impl TinyFs {
    /// Mounts a tmpfs of `kib` KiB, or `None` where this machine does not allow it.
    fn mount(name: &str, kib: u32) -> Option<TinyFs> {
        let dir = scratch(name);
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={kib}k"), "tmpfs", s(&dir)])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|st| st.success());
        ok.then_some(TinyFs(dir))
    }
}

impl Drop for TinyFs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn regression_a_full_disk_leaves_no_partial_output() {
    let dir = scratch("reg-full-disk");
    let (table, _) = ingest(&dir, "all", "crossner", &[fixture("crossner")], 0);
    let Some(tiny) = TinyFs::mount("reg-full-disk-fs", 64) else {
        eprintln!("skipped: this machine does not let the test mount a size-limited tmpfs");
        return;
    };
    let out = |name: &str| tiny.0.join(name);
    for args in [
        vec!["ingest".to_string(), "--format".into(), "crossner".into(), s(&fixture("crossner")).into(), "-o".into(), s(&out("t.parquet")).into()],
        vec!["emit".into(), s(&table).into(), "--template".into(), "b2ner".into(), "-o".into(), s(&out("t.jsonl")).into()],
        vec!["export".into(), "--format".into(), "conll".into(), s(&table).into(), "-o".into(), s(&out("t.txt")).into()],
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let stderr = nerprep_ok(&args, 1);
        assert!(stderr.contains("No space left on device"), "{args:?}: {stderr}");
        let left: Vec<_> = std::fs::read_dir(&tiny.0).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert!(left.is_empty(), "{args:?} left {left:?} on the full file system");
    }
}

#[test]
fn regression_a_zip_member_over_the_cap_is_quarantined_and_the_others_read() {
    use std::io::Write;
    let dir = scratch("reg-zip-member");
    let archive = dir.join("docs.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&archive).unwrap());
    let options = zip::write::SimpleFileOptions::default();
    zip.start_file("TypeSystem.xml", options).unwrap();
    zip.write_all(&std::fs::read(fixture("xmi/important_dkpro_types.xml")).unwrap()).unwrap();
    let doc = std::fs::read(fixture("xmi/cas_with_smileys.xmi")).unwrap();
    zip.start_file("a.xmi", options).unwrap();
    zip.write_all(&doc).unwrap();
    // 2 MiB of trailing whitespace: still a valid document, but over a 1 MiB cap.
    zip.start_file("b_big.xmi", options).unwrap();
    zip.write_all(&doc).unwrap();
    zip.write_all(&vec![b' '; 2 << 20]).unwrap();
    zip.start_file("c.xmi", options).unwrap();
    zip.write_all(&doc).unwrap();
    zip.finish().unwrap();
    let out = dir.join("out.parquet");
    let stderr = nerprep_ok(&["ingest", "--format", "xmi", "--max-member-size", "1", s(&archive), "-o", s(&out)], 1);
    assert!(stderr.contains("b_big.xmi") && stderr.contains("zip_member_too_large"), "{stderr}");
    assert!(stderr.contains("read 3 = written 2 + quarantined 1"), "{stderr}");
    // Under the default cap (256 MiB) the big member is read.
    let stderr = nerprep_ok(&["ingest", "--format", "xmi", s(&archive), "-o", s(&out)], 0);
    assert!(stderr.contains("read 3 = written 3"), "{stderr}");
}

#[test]
fn regression_xmi_annotations_of_unknown_types_are_counted_per_type() {
    let dir = scratch("reg-unknown-type");
    let doc = std::fs::read_to_string(fixture("xmi/cas_with_smileys.xmi")).unwrap();
    let extra = r#"<custom:Thing xmlns:custom="http:///my/custom.ecore" xmi:id="9001" sofa="1" begin="0" end="1"/>
<custom:Thing xmlns:custom="http:///my/custom.ecore" xmi:id="9002" sofa="1" begin="1" end="2"/>
</xmi:XMI>"#;
    let doc = doc.replacen("</xmi:XMI>", extra, 1);
    std::fs::write(dir.join("doc.xmi"), doc).unwrap();
    std::fs::copy(fixture("xmi/important_dkpro_types.xml"), dir.join("TypeSystem.xml")).unwrap();
    let stderr = nerprep_ok(&["ingest", "--format", "xmi", s(&dir.join("doc.xmi")), "-o", s(&dir.join("out.parquet"))], 0);
    assert!(stderr.contains("unknown_type:my.custom.Thing 2"), "{stderr}");
    assert!(!stderr.contains("unknown_type:uima"), "built-in types are known: {stderr}");
}
