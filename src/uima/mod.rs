//! UIMA CAS knowledge shared by the XMI reader and writer: type systems, the XMI
//! serialisation of a CAS, and UTF-16 offsets.
//!
//! Annotation tools (INCEpTION, WebAnno, DKPro Core, cTAKES) store NER data as UIMA CAS XMI:
//! the text lives in a `cas:Sofa`, annotations are feature structures pointing into it with
//! UTF-16 `begin`/`end` offsets, and a TypeSystem XML says which types exist, what they
//! inherit from and which features they carry. [`typesystem`] reads and writes those
//! descriptions, [`inception`] knows the layout of INCEpTION project exports, [`xmi`] pull-parses one XMI document into a light [`xmi::Cas`] (never a DOM),
//! and [`offsets`] converts UTF-16 offsets to code points and back in one pass over the text.
//! `crate::readers::xmi` turns a `Cas` into samples; `crate::writers::xmi` writes samples back.

pub mod inception;
pub mod offsets;
pub mod typesystem;
pub mod xmi;

/// The XMI namespace UIMA writes (`xmlns:xmi`).
pub const XMI_NS: &str = "http://www.omg.org/XMI";
/// The namespace of built-in CAS elements (`cas:Sofa`, `cas:View`, `cas:NULL`).
pub const CAS_NS: &str = "http:///uima/cas.ecore";
/// The DKPro Core named-entity type, the default entity type.
pub const NAMED_ENTITY: &str = "de.tudarmstadt.ukp.dkpro.core.api.ner.type.NamedEntity";
/// The DKPro Core token type.
pub const TOKEN: &str = "de.tudarmstadt.ukp.dkpro.core.api.segmentation.type.Token";
/// The DKPro Core sentence type.
pub const SENTENCE: &str = "de.tudarmstadt.ukp.dkpro.core.api.segmentation.type.Sentence";
/// The DKPro Core document metadata type (document id, title, URI).
pub const DOCUMENT_METADATA: &str = "de.tudarmstadt.ukp.dkpro.core.api.metadata.type.DocumentMetaData";
/// The DKPro Core coreference chain type (`first` → the first link).
pub const COREFERENCE_CHAIN: &str = "de.tudarmstadt.ukp.dkpro.core.api.coref.type.CoreferenceChain";
/// The DKPro Core coreference link type (`next`, `referenceType`, `referenceRelation`).
pub const COREFERENCE_LINK: &str = "de.tudarmstadt.ukp.dkpro.core.api.coref.type.CoreferenceLink";
/// The relation label of consecutive mentions of a coreference chain.
pub const COREF: &str = "coref";
/// The UIMA annotation type: everything with `begin`/`end` derives from it.
pub const ANNOTATION: &str = "uima.tcas.Annotation";
/// The UIMA document annotation type (carries `language`).
pub const DOCUMENT_ANNOTATION: &str = "uima.tcas.DocumentAnnotation";
/// The UIMA array of feature-structure references.
pub const FS_ARRAY: &str = "uima.cas.FSArray";
/// The name of the initial view every CAS has.
pub const INITIAL_VIEW: &str = "_InitialView";

/// The short name of a type (`a.b.NamedEntity` → `NamedEntity`).
pub fn short_name(type_name: &str) -> &str {
    type_name.rsplit('.').next().unwrap_or(type_name)
}

/// The XMI namespace URI of the package of `type_name` (`a.b.C` → `http:///a/b.ecore`).
pub fn namespace_of(type_name: &str) -> String {
    match type_name.rsplit_once('.') {
        Some((package, _)) => format!("http:///{}.ecore", package.replace('.', "/")),
        None => "http:///noNamespace.ecore".to_string(),
    }
}

/// The type name of an element in namespace `uri` with local name `local`
/// (`http:///a/b.ecore` + `C` → `a.b.C`), or `None` when `uri` is not a UIMA type namespace.
pub fn type_name_of(uri: &str, local: &str) -> Option<String> {
    let package = uri.strip_prefix("http:///")?.strip_suffix(".ecore")?;
    if package.is_empty() || package.contains(['.', ' ']) {
        return None;
    }
    if package == "noNamespace" {
        return Some(local.to_string());
    }
    Some(format!("{}.{}", package.replace('/', "."), local))
}

/// 1-based line number of byte `pos` in `bytes`.
pub fn line_at(bytes: &[u8], pos: usize) -> u64 {
    let end = pos.min(bytes.len());
    bytes[..end].iter().filter(|&&b| b == b'\n').count() as u64 + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_and_namespaces_map_both_ways() {
        assert_eq!(namespace_of(NAMED_ENTITY), "http:///de/tudarmstadt/ukp/dkpro/core/api/ner/type.ecore");
        assert_eq!(type_name_of(&namespace_of(NAMED_ENTITY), "NamedEntity").as_deref(), Some(NAMED_ENTITY));
        assert_eq!(type_name_of(CAS_NS, "Sofa").as_deref(), Some("uima.cas.Sofa"));
        assert_eq!(type_name_of("http:///cassis.ecore", "Token").as_deref(), Some("cassis.Token"));
        assert_eq!(type_name_of("http://example.org/ner", "X"), None);
        assert_eq!(short_name(NAMED_ENTITY), "NamedEntity");
        assert_eq!(line_at(b"a\nb\nc", 3), 2);
    }
}
