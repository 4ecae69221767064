"""What dkpro-cassis sees in XMI documents with several layers, relations and coreference
chains: the real-client side of the export round trip (tests/it/xmi.rs, issue 20).

Usage: cassis_layers.py TYPESYSTEM.xml FILE.xmi...

Prints one JSON object per file (initial view):
  {"file", "text",
   "entities": [{"begin", "end", "layer", "label", "identifier", "text"}],   span annotations
   "relations": [{"head": [begin, end], "tail": [begin, end], "label"}],      Governor/Dependent
   "chains": [[{"begin", "end", "referenceType"}, ...]]}                      first -> next -> ...
Entities are annotations whose type has a `value` feature (layer = short type name); offsets
are Python code points, as cassis reports them.
"""
import json
import sys

from cassis import load_cas_from_xmi, load_typesystem


def has(fs, name):
    return fs.type.get_feature(name) is not None


def main():
    ts_path, *files = sys.argv[1:]
    with open(ts_path, "rb") as f:
        ts = load_typesystem(f)
    for path in files:
        with open(path, "rb") as f:
            cas = load_cas_from_xmi(f, typesystem=ts)
        entities, relations, chains = [], [], []
        for fs in cas.select_all_fs():
            if has(fs, "Governor") and has(fs, "Dependent"):
                g, d = fs.get("Governor"), fs.get("Dependent")
                relations.append({"head": [g.begin, g.end], "tail": [d.begin, d.end], "label": fs.get("label")})
            elif has(fs, "first"):
                chain, link = [], fs.get("first")
                while link is not None:
                    chain.append({"begin": link.begin, "end": link.end, "referenceType": link.get("referenceType")})
                    link = link.get("next")
                chains.append(chain)
            elif has(fs, "value") and not has(fs, "next"):
                entities.append({
                    "begin": fs.begin,
                    "end": fs.end,
                    "layer": fs.type.name.rsplit(".", 1)[-1],
                    "label": fs.get("value"),
                    "identifier": fs.get("identifier") if has(fs, "identifier") else None,
                    "text": fs.get_covered_text(),
                })
        print(json.dumps({"file": path, "text": cas.sofa_string, "entities": entities, "relations": relations, "chains": chains}, ensure_ascii=False))


if __name__ == "__main__":
    main()
