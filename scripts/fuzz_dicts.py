#!/usr/bin/env python3
"""Writes a libFuzzer dictionary per fuzz target, taken from the fixtures that seed it.

libFuzzer's `memcmp` hook recovers a key such as `"conversations"` from the comparisons only
piece by piece. A dictionary hands it, from the start, the keys, element and attribute names
and tags the fixtures use, which is where the readers branch. Used by `scripts/fuzz.sh`; the
output is git-ignored.

usage: fuzz_dicts.py OUT_DIR TARGET=GLOB[,GLOB...] ...
"""
import glob
import json
import re
import sys
from collections import Counter

JSON_TOKENS = ['{', '}', '[', ']', ':', ',', '""', 'null', 'true', 'false', '-1', '0', '1e9',
               '\\"', '\\\\', '\\u0000', '\\ud83d', '\\u00e9', '\n']
XML_TOKENS = ['<?xml version="1.0" encoding="UTF-8"?>', '</', '/>', '="', '&amp;', '&#x1F600;',
              '<![CDATA[', ']]>', '<!--', '-->', 'xmi:id="', 'sofa="', 'begin="', 'end="']
CONLL_TOKENS = ['\t', ' ', '\n\n', 'B-', 'I-', 'E-', 'S-', 'O', '-DOCSTART- O', '\r\n']


MOST_COMMON_VALUES = 100


def json_strings(value, keys, values):
    """Every key and short string in a JSON value, and those of JSON held inside its strings."""
    if isinstance(value, dict):
        for key, inner in value.items():
            keys.add(json.dumps(key, ensure_ascii=False))
            json_strings(inner, keys, values)
    elif isinstance(value, list):
        for inner in value:
            json_strings(inner, keys, values)
    elif isinstance(value, str):
        if len(value) <= 24:
            values[json.dumps(value, ensure_ascii=False)] += 1
        if value[:1] in '{[':
            try:
                json_strings(json.loads(value), keys, values)
            except ValueError:
                pass


def json_tokens(paths):
    keys, values = set(), Counter()
    for path in paths:
        text = open(path, encoding='utf-8', errors='replace').read()
        docs = []
        try:
            docs = [json.loads(text)]
        except ValueError:
            for line in text.splitlines():
                try:
                    docs.append(json.loads(line))
                except ValueError:
                    pass
        for doc in docs:
            json_strings(doc, keys, values)
    return set(JSON_TOKENS) | keys | {v for v, _ in values.most_common(MOST_COMMON_VALUES)}


def xml_tokens(paths):
    found = set(XML_TOKENS)
    for path in paths:
        text = open(path, encoding='utf-8', errors='replace').read()
        found.update('<' + name for name in re.findall(r'<([A-Za-z_][\w.:-]*)', text))
        found.update(name + '="' for name in re.findall(r'\s([A-Za-z_][\w.:-]*)="', text))
        found.update(re.findall(r'"(http[^"]{1,80})"', text))
    return found


def conll_tokens(paths):
    found = set(CONLL_TOKENS)
    for path in paths:
        for line in open(path, encoding='utf-8', errors='replace'):
            tag = line.rstrip('\n').split('\t')[-1].split(' ')[-1]
            if 0 < len(tag) <= 40:
                found.add(tag)
    return found


def escape(token):
    """A token in libFuzzer's dictionary syntax: a quoted string with \\xNN escapes."""
    data = token.encode('utf-8')
    return ''.join(chr(b) if 32 <= b < 127 and b not in (34, 92) else f'\\x{b:02x}' for b in data)


def main():
    out_dir, specs = sys.argv[1], sys.argv[2:]
    for spec in specs:
        target, globs = spec.split('=', 1)
        paths = sorted(p for g in globs.split(',') for p in glob.glob(g))
        if target in ('reader_xmi', 'typesystem'):
            tokens = xml_tokens(paths)
        elif target == 'reader_crossner':
            tokens = conll_tokens(paths)
        else:
            tokens = json_tokens(paths)
        with open(f'{out_dir}/{target}.dict', 'w') as f:
            for token in sorted(tokens):
                if 0 < len(token.encode('utf-8')) <= 64:
                    f.write(f'"{escape(token)}"\n')


if __name__ == '__main__':
    main()
