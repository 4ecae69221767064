"""Builds the INCEpTION-style fixtures of fixtures/xmi/project/ with dkpro-cassis (the real
client), so that the XMI reader, `nerprep agreement` and the XMI export are checked against
documents a UIMA tool wrote, not against hand-typed XML (issue 20).

Usage: .venv-test/bin/python tests/clients/make_inception_fixtures.py fixtures/xmi/project

Writes, deterministically (same bytes on every run):
  plain/TypeSystem.xml, plain/doc1.xmi, plain/doc2.xmi   the curated documents as plain XMI
  frame_project.zip                                      an INCEpTION project export:
      exportedproject.json, source/<doc>, annotation_ser/<doc>/<user>.ser (ignored),
      annotation/<doc>/{INITIAL_CAS,alice,bob}.zip, curation/<doc>/CURATION_USER.zip,
      each inner zip holding <doc stem>.xmi + TypeSystem.xml (as INCEpTION's XMI export does)
  expected.json                                          what the script put in, per document
      and annotator, and the alice-vs-bob agreement counted here in plain Python

Two documents, two span layers (webanno.custom.Metadata and webanno.custom.Content, features
`value` and `identifier`), a relation layer across them (webanno.custom.MentionRelation,
Governor/Dependent of range uima.tcas.Annotation, `label`), DKPro coreference chains
(CoreferenceChain.first -> CoreferenceLink.next ...) with links that have no span annotation
under them, Wikidata identifiers, and characters outside the Basic Multilingual Plane before
the entities (UTF-16 offsets differ from code points there).
"""
import io
import json
import sys
import zipfile
from pathlib import Path

from cassis import Cas, TypeSystem

ANN = "uima.tcas.Annotation"
STR = "uima.cas.String"
DKPRO = "de.tudarmstadt.ukp.dkpro.core.api"
METADATA = "webanno.custom.Metadata"
CONTENT = "webanno.custom.Content"
RELATION = "webanno.custom.MentionRelation"
CHAIN = f"{DKPRO}.coref.type.CoreferenceChain"
LINK = f"{DKPRO}.coref.type.CoreferenceLink"
DOCMETA = f"{DKPRO}.metadata.type.DocumentMetaData"
SENTENCE = f"{DKPRO}.segmentation.type.Sentence"
WD = "http://www.wikidata.org/entity/"


def typesystem():
    ts = TypeSystem()
    meta = ts.create_type(DOCMETA, supertypeName="uima.tcas.DocumentAnnotation")
    for f in ["documentTitle", "documentId"]:
        ts.create_feature(meta, f, STR)
    ts.create_type(SENTENCE)
    for name in [METADATA, CONTENT]:
        t = ts.create_type(name)
        ts.create_feature(t, "value", STR)
        ts.create_feature(t, "identifier", STR)
    rel = ts.create_type(RELATION)
    ts.create_feature(rel, "Governor", ANN)
    ts.create_feature(rel, "Dependent", ANN)
    ts.create_feature(rel, "label", STR)
    link = ts.create_type(LINK)
    ts.create_feature(link, "next", link)
    ts.create_feature(link, "referenceType", STR)
    ts.create_feature(link, "referenceRelation", STR)
    chain = ts.create_type(CHAIN, supertypeName="uima.cas.AnnotationBase")
    ts.create_feature(chain, "first", link)
    return ts


# Each document: text, span annotations (key, layer, mention, occurrence, label, identifier),
# relations (governor key, dependent key, label) and chains (lists of links: an annotation key,
# or (mention, occurrence, referenceType) for a link with no annotation under it).
DOCS = {
    "doc1.txt": {
        "text": "\U0001F5BC Mona Lisa by Leonardo da Vinci, oil on poplar panel. Leonardo painted her; "
        "she sits before a landscape.",
        "spans": [
            ("mona", "Metadata", "Mona Lisa", 0, "title", WD + "Q12418"),
            ("oil", "Metadata", "oil", 0, "material", None),
            ("panel", "Metadata", "poplar panel", 0, "support", None),
            ("ldv", "Content", "Leonardo da Vinci", 0, "person", WD + "Q762"),
            ("leo", "Content", "Leonardo", 1, "person", WD + "Q762"),
            ("landscape", "Content", "landscape", 0, "motif", None),
        ],
        "relations": [("ldv", "mona", "creator_of"), ("mona", "oil", "material")],
        "chains": [["ldv", "leo"], ["mona", ("her", 0, "artwork"), ("she", 0, "")]],
    },
    "doc2.txt": {
        "text": "Still life with \U0001F34B lemons and a silver jug. The jug reflects the window; it shines.",
        "spans": [
            ("still", "Metadata", "Still life", 0, "genre", None),
            ("silver", "Metadata", "silver", 0, "material", None),
            ("lemons", "Content", "lemons", 0, "fruit", WD + "Q1093742"),
            ("jug", "Content", "silver jug", 0, "object", None),
            ("thejug", "Content", "The jug", 0, "object", None),
        ],
        "relations": [("still", "lemons", "depicts")],
        "chains": [["jug", "thejug", ("it", 1, "object")]],
    },
}


def annotator_version(doc, user):
    """The annotations `user` made: the curation is DOCS; alice and bob disagree with it."""
    spans = list(DOCS[doc]["spans"])
    if user == "alice" and doc == "doc2.txt":
        spans = [s if s[0] != "lemons" else s[:4] + ("food",) + s[5:] for s in spans]
    if user == "bob" and doc == "doc1.txt":
        spans = [s for s in spans if s[0] != "panel"]
        spans = [s if s[0] != "landscape" else (s[0], s[1], "a landscape", 0, s[4], s[5]) for s in spans]
    return spans


def find(text, mention, occurrence):
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(mention, start + 1)
    return start, start + len(mention)


def build_cas(ts, doc, user):
    """The CAS of `doc` by `user` (None: the initial CAS, text only), and what it holds."""
    spec = DOCS[doc]
    text = spec["text"]
    cas = Cas(typesystem=ts)
    cas.sofa_string = text
    cas.add(ts.get_type(DOCMETA)(begin=0, end=len(text), documentTitle=doc, documentId=doc))
    end = text.index(".") + 1
    cas.add(ts.get_type(SENTENCE)(begin=0, end=end))
    cas.add(ts.get_type(SENTENCE)(begin=end + 1, end=len(text)))
    expected = {"entities": [], "relations": [], "chains": []}
    if user is None:
        return cas, expected
    by_key = {}
    for key, layer, mention, occ, label, ident in annotator_version(doc, user):
        begin, end = find(text, mention, occ)
        features = {"begin": begin, "end": end, "value": label}
        if ident:
            features["identifier"] = ident
        fs = ts.get_type(f"webanno.custom.{layer}")(**features)
        cas.add(fs)
        by_key[key] = fs
        expected["entities"].append([begin, end, layer, label, mention, ident])
    for gov, dep, label in spec["relations"]:
        g, d = by_key[gov], by_key[dep]
        cas.add(ts.get_type(RELATION)(begin=d.begin, end=d.end, Governor=g, Dependent=d, label=label))
        expected["relations"].append([[g.begin, g.end], [d.begin, d.end], label])
    for chain in spec["chains"]:
        links = []
        for link in chain:
            if isinstance(link, str):
                a = by_key[link]
                begin, end, rtype = a.begin, a.end, a.value
            else:
                mention, occ, rtype = link
                begin, end = find(text, mention, occ)
                # A link with no span annotation under it: nerprep makes it an entity of the
                # chain's layer, labelled with its referenceType (else the layer name).
                expected["entities"].append([begin, end, "Coreference", rtype or "Coreference", mention, None])
            links.append(ts.get_type(LINK)(begin=begin, end=end, referenceType=rtype))
        for a, b in zip(links, links[1:]):
            a.next = b
            expected["relations"].append([[a.begin, a.end], [b.begin, b.end], "coref"])
        for link in links:
            cas.add(link)
        cas.add(ts.get_type(CHAIN)(first=links[0]))
        expected["chains"].append([[l.begin, l.end] for l in links])
    expected["entities"].sort(key=lambda e: (e[0], e[1], e[2]))
    return cas, expected


def zip_bytes(members):
    """A zip of (name, bytes) with fixed timestamps, so the bytes never change."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, data)
    return buf.getvalue()


def agreement(a, b):
    """Strict span + label agreement of b against a, counted the plain way."""
    def keys(entities, by=None):
        return {(e[0], e[1], e[3]) for e in entities if by is None or e[2] == by}

    def tally(x, y):
        tp = len(x & y)
        return {"tp": tp, "fp": len(y - x), "fn": len(x - y)}

    out = {"overall": {"tp": 0, "fp": 0, "fn": 0}, "per_layer": {}}
    for doc in sorted(a):
        t = tally(keys(a[doc]), keys(b[doc]))
        for k in t:
            out["overall"][k] += t[k]
        for layer in sorted({e[2] for e in a[doc] + b[doc]}):
            t = tally(keys(a[doc], layer), keys(b[doc], layer))
            acc = out["per_layer"].setdefault(layer, {"tp": 0, "fp": 0, "fn": 0})
            for k in t:
                acc[k] += t[k]
    o = out["overall"]
    o["f1"] = 2 * o["tp"] / (2 * o["tp"] + o["fp"] + o["fn"])
    return out


def main():
    out = Path(sys.argv[1])
    (out / "plain").mkdir(parents=True, exist_ok=True)
    ts = typesystem()
    ts_xml = ts.to_xml().encode()
    (out / "plain" / "TypeSystem.xml").write_bytes(ts_xml)
    expected = {"documents": {}}
    members = []
    project = {
        "name": "frame-demo",
        "description": "nerprep test fixture (tests/clients/make_inception_fixtures.py)",
        "source_documents": [{"name": d, "format": "text", "state": "CURATION_FINISHED"} for d in DOCS],
        "annotation_documents": [],
    }
    for doc in DOCS:
        stem = doc.rsplit(".", 1)[0]
        members.append((f"source/{doc}", DOCS[doc]["text"].encode()))
        versions = {}
        for user in ["INITIAL_CAS", "alice", "bob", "CURATION_USER"]:
            who = {"INITIAL_CAS": None, "CURATION_USER": "curation"}.get(user, user)
            cas, seen = build_cas(ts, doc, who)
            xmi = cas.to_xmi().encode()
            inner = zip_bytes([(f"{stem}.xmi", xmi), ("TypeSystem.xml", ts_xml)])
            folder = "curation" if user == "CURATION_USER" else "annotation"
            members.append((f"{folder}/{doc}/{user}.zip", inner))
            if who is not None:
                versions[who] = seen
            if user in ("alice", "bob"):
                members.append((f"annotation_ser/{doc}/{user}.ser", b"serialised CAS: not read"))
                project["annotation_documents"].append({"name": doc, "user": user, "state": "FINISHED"})
            if user == "CURATION_USER":
                (out / "plain" / f"{stem}.xmi").write_bytes(xmi)
        expected["documents"][doc] = versions
    members.append(("exportedproject.json", (json.dumps(project, indent=2) + "\n").encode()))
    members.sort()
    (out / "frame_project.zip").write_bytes(zip_bytes(members))
    docs = expected["documents"]
    expected["agreement_alice_bob"] = agreement(
        {d: docs[d]["alice"]["entities"] for d in docs}, {d: docs[d]["bob"]["entities"] for d in docs}
    )
    (out / "expected.json").write_text(json.dumps(expected, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
