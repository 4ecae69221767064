"""The alignment rules of `nerprep::align`, in plain Python, for the IEPile and Pile-NER peers.

A mention listed k > 1 times maps to its first k occurrences; listed once, to every
occurrence not inside a placed longer mention of the same label (longer mentions first).
Occurrences sit on token boundaries except next to Han/kana. Fallbacks: case-insensitive,
then whitespace-normalised; otherwise unaligned with a reason. Offsets are code points
(Python string indices), so no conversion is needed.
"""
import re

import pyarrow as pa

ENTITY = pa.struct([("start", pa.uint32()), ("end", pa.uint32()), ("label", pa.string()), ("text", pa.string())])
UNALIGNED = pa.struct([("label", pa.string()), ("text", pa.string()), ("reason", pa.string())])
SCHEMA = pa.schema([
    ("id", pa.string()), ("dataset", pa.string()), ("source_format", pa.string()), ("split", pa.string()),
    ("lang", pa.string()), ("text", pa.string()), ("entities", pa.list_(ENTITY)), ("label_set", pa.list_(pa.string())),
    ("unaligned", pa.list_(UNALIGNED)), ("meta", pa.string()),
])


def _word(c):
    return c.isalnum() or c == "_"


def _unsegmented(c):
    o = ord(c)
    return 0x3040 <= o <= 0x30FF or 0x3400 <= o <= 0x4DBF or 0x4E00 <= o <= 0x9FFF or 0xF900 <= o <= 0xFAFF or 0x20000 <= o <= 0x2FA1F


def _edge(a, b):
    if a is None or b is None:
        return True
    return not (_word(a) and _word(b)) or _unsegmented(a) or _unsegmented(b)


def _on_boundaries(text, s, e):
    return _edge(text[s - 1] if s else None, text[s]) and _edge(text[e - 1], text[e] if e < len(text) else None)


def _find(text, needle):
    out, i = [], text.find(needle)
    while i != -1:
        e = i + len(needle)
        if _on_boundaries(text, i, e):
            out.append((i, e))
        i = text.find(needle, i + 1)
    return out


def _fallback(text, needle):
    low = text.lower()
    if len(low) == len(text):
        hits = [(s, e) for s, e in _find(low, needle.lower()) if _on_boundaries(text, s, e)]
        if hits:
            return hits
    pattern = r"\s+".join(re.escape(w) for w in needle.split())
    return [(m.start(), m.end()) for m in re.finditer(pattern, text, re.IGNORECASE) if _on_boundaries(text, m.start(), m.end())]


def align(text, mentions):
    """(entities, unaligned) for (label, mention) pairs in answer order."""
    groups = {}
    for i, (label, mention) in enumerate(mentions):
        g = groups.setdefault((label, mention), [0, i])
        g[0] += 1
    placed, results = {}, []
    for (label, mention), (k, first) in sorted(groups.items(), key=lambda kv: (-len(kv[0][1].strip()), kv[1][1])):
        needle = mention.strip()
        if not needle:
            results.append((first, [], [(label, mention, "empty_mention")] * k))
            continue
        occ = _find(text, needle) or _fallback(text, needle)
        same = placed.setdefault(label, [])
        chosen = []
        for s, e in occ:
            if chosen and chosen[-1][1] > s:
                continue
            if any((ps, pe) == (s, e) or (pe - ps > e - s and ps < e and s < pe) for ps, pe in same):
                continue
            chosen.append((s, e))
            if k > 1 and len(chosen) == k:
                break
        same.extend(chosen)
        missed = []
        if not chosen:
            reason = "inside_longer_mention" if occ else ("not_on_token_boundary" if needle in text else "not_found")
            missed = [(label, mention, reason)] * k
        elif k > len(chosen):
            missed = [(label, mention, "more_repeats_than_occurrences")] * (k - len(chosen))
        results.append((first, [{"start": s, "end": e, "label": label, "text": text[s:e]} for s, e in chosen], missed))
    results.sort(key=lambda r: r[0])
    entities = [e for _, es, _ in results for e in es]
    unaligned = [{"label": l, "text": t, "reason": r} for _, _, ms in results for l, t, r in ms]
    return entities, unaligned


def guess_lang(text):
    return "zh" if any(0x4E00 <= ord(c) <= 0x9FFF for c in text) else "en"


class Writer:
    """Batches rows into a zstd Parquet file."""

    def __init__(self, path):
        import pyarrow.parquet as pq

        self.writer = pq.ParquetWriter(path, SCHEMA, compression="zstd")
        self.rows = {k: [] for k in SCHEMA.names}

    def add(self, **row):
        for k, v in row.items():
            self.rows[k].append(v)
        if len(self.rows["id"]) >= 8192:
            self.flush()

    def flush(self):
        if self.rows["id"]:
            self.writer.write_table(pa.table(self.rows, schema=SCHEMA))
            self.rows = {k: [] for k in SCHEMA.names}

    def close(self):
        self.flush()
        self.writer.close()
