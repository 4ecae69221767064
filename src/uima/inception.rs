//! INCEpTION project exports: which members of the project zip hold whose annotations.
//!
//! A full project export (checked against INCEpTION's `ProjectExportServiceImpl`,
//! `AnnotationDocumentExporter` and `CuratedDocumentsExporter`, see the README) is a zip with
//! `exportedproject.json` at its top, `source/<document>` (the originals), serialised CASes
//! under `annotation_ser/` and `curation_ser/` (a binary format nerprep does not read) and,
//! when the export was asked for in a format, one file per document and user in it:
//! `annotation/<document>/<user>.<ext>` (plus the pseudo-user `INITIAL_CAS`, the document
//! before anyone annotated it) and `curation/<document>/CURATION_USER.<ext>`. For UIMA CAS
//! XMI that file is a zip of `<document>.xmi` and `TypeSystem.xml`. [`Layout::of`] sorts the
//! member names into that picture; [`Layout::select`] picks the annotation files of
//! [`Annotators`]. Reading the XMI inside is the reader's job.

use std::collections::{BTreeMap, BTreeSet};

/// The annotator name nerprep gives the curated version of a document.
pub const CURATION: &str = "curation";
/// The user name INCEpTION files the curated version under.
pub const CURATION_USER: &str = "CURATION_USER";
/// The pseudo-user of a document's initial CAS (no annotations): never an annotator.
pub const INITIAL_CAS: &str = "INITIAL_CAS";

/// Whose annotations to read from a project export (`--annotators`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Annotators {
    /// The curation when the project has any curated document, else every annotator.
    #[default]
    Default,
    /// The curated documents only.
    Curation,
    /// Every annotator (not the curation).
    All,
    /// These users (`curation` for the curated version).
    Users(Vec<String>),
}

impl Annotators {
    /// Parses `--annotators` values: none, `curation`, `all`, or user names. The message says
    /// what is wrong, to follow the key.
    pub fn parse(values: &[String]) -> Result<Annotators, String> {
        let names: Vec<&str> = values.iter().map(|v| v.trim()).collect();
        if names.iter().any(|n| n.is_empty()) {
            return Err("must name annotators, got an empty name".into());
        }
        match names.as_slice() {
            [] => Ok(Annotators::Default),
            ["curation"] => Ok(Annotators::Curation),
            ["all"] => Ok(Annotators::All),
            _ if names.contains(&"all") => Err("`all` cannot be combined with user names".into()),
            _ => Ok(Annotators::Users(names.iter().map(|n| n.to_string()).collect())),
        }
    }
}

/// One annotation file of a project export: whose, of which document, where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnotationFile {
    /// The source document's name (`doc1.txt`).
    pub document: String,
    /// The annotator (`curation` for the curated version).
    pub annotator: String,
    /// The member of the project zip (`annotation/doc1.txt/alice.zip`).
    pub member: String,
}

/// The annotation files of a project export, by document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layout {
    /// Per document: the annotators' files (the curation's under [`CURATION`]), sorted.
    pub documents: BTreeMap<String, BTreeMap<String, String>>,
    /// Annotation files in another format than zipped XMI (`annotation/d/u.tsv`).
    pub other_formats: BTreeSet<String>,
}

/// Whether `name` is the project description at the top of a project export.
pub fn is_project_json(name: &str) -> bool {
    !name.contains('/') && name.starts_with("exportedproject") && name.ends_with(".json")
}

impl Layout {
    /// Sorts the member names of a project zip; names outside `annotation/` and `curation/`
    /// are not annotation files and are left out.
    pub fn of<'a>(names: impl IntoIterator<Item = &'a str>) -> Layout {
        let mut layout = Layout::default();
        for name in names {
            let (folder, rest) = match name.split_once('/') {
                Some((f @ ("annotation" | "curation"), rest)) => (f, rest),
                _ => continue,
            };
            let Some((document, file)) = rest.rsplit_once('/') else { continue };
            let Some((user, ext)) = file.rsplit_once('.') else { continue };
            if document.is_empty() || user.is_empty() || user == INITIAL_CAS || (folder == "curation") != (user == CURATION_USER) {
                continue;
            }
            if !ext.eq_ignore_ascii_case("zip") {
                layout.other_formats.insert(ext.to_lowercase());
                continue;
            }
            let annotator = if user == CURATION_USER { CURATION } else { user };
            layout.documents.entry(document.to_string()).or_default().insert(annotator.to_string(), name.to_string());
        }
        layout
    }

    /// Every annotator with a file, sorted (`curation` included when there is a curation).
    pub fn annotators(&self) -> BTreeSet<&str> {
        self.documents.values().flat_map(|users| users.keys().map(String::as_str)).collect()
    }

    /// The files `who` selects, by document then annotator, and the documents that have
    /// none of them (`--annotators curation` on a document not curated); or why the
    /// selection names someone the export does not have.
    pub fn select(&self, who: &Annotators) -> Result<(Vec<AnnotationFile>, Vec<String>), String> {
        let known = self.annotators();
        let curated = known.contains(CURATION);
        let wanted: BTreeSet<&str> = match who {
            Annotators::Default if curated => [CURATION].into(),
            Annotators::Curation if !curated => {
                return Err("asks for the curation, but the project export has no curated document (curation/<document>/CURATION_USER.zip); pass --annotators all or user names".into());
            }
            Annotators::Curation => [CURATION].into(),
            Annotators::Default | Annotators::All => known.iter().copied().filter(|a| *a != CURATION).collect(),
            Annotators::Users(names) => {
                let unknown: Vec<&str> = names.iter().map(String::as_str).filter(|n| !known.contains(n)).collect();
                if !unknown.is_empty() {
                    let have: Vec<&str> = known.iter().copied().collect();
                    return Err(format!("names {} that the project export does not have; it has {}", unknown.join(", "), have.join(", ")));
                }
                names.iter().map(String::as_str).collect()
            }
        };
        let mut files = Vec::new();
        let mut without = Vec::new();
        for (document, users) in &self.documents {
            let before = files.len();
            for (annotator, member) in users.iter().filter(|(a, _)| wanted.contains(a.as_str())) {
                files.push(AnnotationFile { document: document.clone(), annotator: annotator.clone(), member: member.clone() });
            }
            if files.len() == before {
                without.push(document.clone());
            }
        }
        Ok((files, without))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: [&str; 9] = [
        "exportedproject.json",
        "source/d1.txt",
        "annotation/d1.txt/INITIAL_CAS.zip",
        "annotation/d1.txt/alice.zip",
        "annotation/d1.txt/bob.zip",
        "annotation/d2.txt/alice.zip",
        "annotation_ser/d1.txt/alice.ser",
        "curation/d1.txt/CURATION_USER.zip",
        "curation_ser/d1.txt/CURATION_USER.ser",
    ];

    #[test]
    fn the_layout_files_annotators_by_document() {
        let layout = Layout::of(NAMES);
        assert_eq!(layout.annotators().into_iter().collect::<Vec<_>>(), vec!["alice", "bob", "curation"]);
        assert_eq!(layout.documents["d1.txt"]["curation"], "curation/d1.txt/CURATION_USER.zip");
        assert!(layout.other_formats.is_empty());
        assert!(is_project_json("exportedproject.json") && is_project_json("exportedproject12.json") && !is_project_json("a/exportedproject.json"));
        let tsv = Layout::of(["annotation/d.txt/alice.tsv"]);
        assert!(tsv.documents.is_empty() && tsv.other_formats.contains("tsv"));
    }

    #[test]
    fn annotators_select_files_and_unknown_names_are_errors() {
        let layout = Layout::of(NAMES);
        let pick = |who: &Annotators| {
            let (files, without) = layout.select(who).unwrap();
            (files.iter().map(|f| format!("{}/{}", f.document, f.annotator)).collect::<Vec<_>>(), without)
        };
        assert_eq!(pick(&Annotators::Default), (vec!["d1.txt/curation".to_string()], vec!["d2.txt".to_string()]));
        assert_eq!(pick(&Annotators::All).0, vec!["d1.txt/alice", "d1.txt/bob", "d2.txt/alice"]);
        assert_eq!(pick(&Annotators::Users(vec!["bob".into(), "curation".into()])).0, vec!["d1.txt/bob", "d1.txt/curation"]);
        let err = layout.select(&Annotators::Users(vec!["carol".into()])).unwrap_err();
        assert_eq!(err, "names carol that the project export does not have; it has alice, bob, curation");
        let uncurated = Layout::of(["annotation/d.txt/alice.zip"]);
        assert_eq!(uncurated.select(&Annotators::Default).unwrap().0.len(), 1, "no curation: every annotator");
        assert!(uncurated.select(&Annotators::Curation).is_err());
    }

    #[test]
    fn annotator_values_parse() {
        let v = |xs: &[&str]| xs.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(Annotators::parse(&[]), Ok(Annotators::Default));
        assert_eq!(Annotators::parse(&v(&["all"])), Ok(Annotators::All));
        assert_eq!(Annotators::parse(&v(&["curation"])), Ok(Annotators::Curation));
        assert_eq!(Annotators::parse(&v(&["a", "b"])), Ok(Annotators::Users(v(&["a", "b"]))));
        assert!(Annotators::parse(&v(&["all", "a"])).is_err());
        assert!(Annotators::parse(&v(&[" "])).is_err());
    }
}
