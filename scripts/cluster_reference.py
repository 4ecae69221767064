#!/usr/bin/env python3
"""Reference numbers from scikit-learn for the cluster stage's tests.

Writes fixtures/cluster/sklearn_reference.json: a few small float32 data sets with fixed
labels and what scikit-learn says about them (`silhouette_score(metric="cosine")`,
`adjusted_rand_score`), which `tests/it/cluster.rs` compares nerprep's numbers with.
The data are made here from a seeded numpy generator, so rerunning the script gives the
same file. Run it in a venv with scikit-learn and numpy:

    python3 -m venv /tmp/skl && /tmp/skl/bin/pip install scikit-learn numpy
    /tmp/skl/bin/python scripts/cluster_reference.py
"""
import json
from pathlib import Path

import numpy as np
import sklearn
from sklearn.metrics import adjusted_rand_score, silhouette_score

OUT = Path(__file__).resolve().parent.parent / "fixtures" / "cluster" / "sklearn_reference.json"


def case(name, rng, n, d, k, spread, singleton=False):
    """`n` rows around `k` random directions, labelled by their direction, plus noise labels."""
    centres = rng.normal(size=(k, d))
    labels = rng.integers(0, k, size=n)
    x = centres[labels] + spread * rng.normal(size=(n, d))
    if singleton:
        labels[0] = k  # a cluster of one: scores 0 and counts in the mean
    x = x.astype(np.float32)
    noisy = labels.copy()
    flip = rng.random(n) < 0.2
    noisy[flip] = rng.integers(0, k, size=int(flip.sum()))
    return {
        "name": name,
        "dim": d,
        "rows": [[float(v) for v in row] for row in x],
        "labels": [int(v) for v in labels],
        "silhouette_cosine": float(silhouette_score(x.astype(np.float64), labels, metric="cosine")),
        "other_labels": [int(v) for v in noisy],
        "ari": float(adjusted_rand_score(labels, noisy)),
    }


def main():
    rng = np.random.default_rng(20011)
    cases = [
        case("separated", rng, 150, 8, 4, 0.3),
        case("overlapping", rng, 200, 16, 6, 1.5),
        case("with_singleton", rng, 90, 5, 3, 0.8, singleton=True),
    ]
    doc = {"generator": f"scripts/cluster_reference.py, scikit-learn {sklearn.__version__}, numpy {np.__version__}", "cases": cases}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
