"""What dkpro-cassis sees in UIMA CAS XMI files: the real-client check of nerprep's XMI reader
and writer (tests/it/xmi.rs compares this with nerprep's table).

Usage: cassis_dump.py TYPESYSTEM.xml ENTITY_TYPE LABEL_FEATURE FILE.xmi...

Prints one JSON object per line, per file and per view with text:
  {"file", "view", "text", "entities": [{"begin", "end", "type", "label", "identifier", "text"}],
   "relations": [{"head": [begin, end], "tail": [begin, end], "label"}]}
Offsets are as cassis reports them (Python code points). Relations are annotations with
`Governor`/`Dependent` features (label: their first non-empty string feature) and link
features of entities (arrays of links with `role` and `target`).
"""
import json
import sys

from cassis import load_cas_from_xmi, load_typesystem


def string_features(t):
    return [f.name for f in t.all_features if f.rangeType.name == "uima.cas.String" and f.name != "sofa"]


def span(a):
    return [a.begin, a.end]


def feature(fs, name):
    return fs.get(name) if fs.type.get_feature(name) is not None else None


def dump_view(ts, view, entity_type, label_feature, relation_types):
    entities, relations = [], []
    for a in view.select(entity_type):
        entities.append({
            "begin": a.begin,
            "end": a.end,
            "type": a.type.name,
            "label": feature(a, label_feature),
            "identifier": feature(a, "identifier"),
            "text": a.get_covered_text(),
        })
        for f in a.type.all_features:
            # Look the element type up again: the feature may hold a forward-declared stub.
            element = ts.get_type(f.elementType.name) if f.elementType is not None else None
            if f.rangeType.name != "uima.cas.FSArray" or element is None or element.get_feature("target") is None:
                continue
            links = a.get(f.name)
            for link in (links.elements if links is not None else []):
                role = feature(link, "role")
                relations.append({"head": span(a), "tail": span(link.target), "label": role or f.name})
    for t in relation_types:
        for r in view.select(t):
            label = next((r.get(n) for n in string_features(r.type) if r.get(n)), t.rsplit(".", 1)[-1])
            relations.append({"head": span(r.Governor), "tail": span(r.Dependent), "label": label})
    return entities, relations


def main():
    ts_path, entity_type, label_feature, *files = sys.argv[1:]
    with open(ts_path, "rb") as f:
        ts = load_typesystem(f)
    relation_types = [
        t.name for t in ts.get_types() if t.get_feature("Governor") is not None and t.get_feature("Dependent") is not None
    ]
    for path in files:
        with open(path, "rb") as f:
            cas = load_cas_from_xmi(f, typesystem=ts)
        for sofa in cas.sofas:
            view = cas.get_view(sofa.sofaID)
            if view.sofa_string is None:
                continue
            entities, relations = dump_view(ts, view, entity_type, label_feature, relation_types)
            record = {"file": path, "view": sofa.sofaID, "text": view.sofa_string, "entities": entities, "relations": relations}
            print(json.dumps(record, ensure_ascii=False))


if __name__ == "__main__":
    main()
