"""Python peer of `nerprep ingest --format xmi`: dkpro-cassis loads every XMI document of a
directory (`load_cas_from_xmi`) with the merged type systems and selects its named entities
(span, label, identifier, covered text). Prints the document and entity counts on stderr."""
import sys
from pathlib import Path

from cassis import load_cas_from_xmi, load_typesystem, merge_typesystems

NAMED_ENTITY = "de.tudarmstadt.ukp.dkpro.core.api.ner.type.NamedEntity"


def main(corpus, *typesystem_paths):
    typesystems = []
    for p in typesystem_paths:
        with open(p, "rb") as f:
            typesystems.append(load_typesystem(f))
    ts = merge_typesystems(*typesystems)
    documents, entities = 0, []
    for path in sorted(Path(corpus).glob("*.xmi")):
        with open(path, "rb") as f:
            cas = load_cas_from_xmi(f, typesystem=ts)
        documents += 1
        for a in cas.select(NAMED_ENTITY):
            entities.append((path.name, a.begin, a.end, a.value, a.identifier, a.get_covered_text()))
    print(f"{documents} documents, {len(entities)} entities", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1], *sys.argv[2:])
