#!/usr/bin/env python3
"""The cluster bench peer: the sweep `nerprep cluster` does, with scikit-learn and numpy.

For each k in LO..HI: KMeans (k-means++, n_init=RESTARTS, lloyd) on the L2-normalised rows,
silhouette_score(metric="cosine"), and the gap statistic (Tibshirani et al. 2001) with B
reference sets drawn uniformly over the data's bounding box, each clustered the same way;
Gap(k) = mean log W*_kb - log W_k, s_k = sd * sqrt(1 + 1/B), the 1-SE choice. Prints CSV.

Usage: cluster.py X.npy LO HI RESTARTS B SEED
"""
import sys

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import normalize


def main():
    path, lo, hi, restarts, refs, seed = sys.argv[1], *map(int, sys.argv[2:7])
    x = normalize(np.load(path))
    ks = list(range(lo, hi + 1))
    rng = np.random.default_rng(seed)
    low, high = x.min(axis=0), x.max(axis=0)
    fits = [KMeans(n_clusters=k, n_init=restarts, random_state=seed).fit(x) for k in ks]
    ref_logw = np.zeros((len(ks), refs))
    for b in range(refs):
        ref = rng.uniform(low, high, size=x.shape).astype(np.float32)
        for i, k in enumerate(ks):
            ref_logw[i, b] = np.log(KMeans(n_clusters=k, n_init=restarts, random_state=seed + b + 1).fit(ref).inertia_)
    gap = ref_logw.mean(axis=1) - np.log([f.inertia_ for f in fits])
    s_k = ref_logw.std(axis=1) * np.sqrt(1 + 1 / refs)
    sil = [silhouette_score(x, f.labels_, metric="cosine") for f in fits]
    choice = next((ks[i] for i in range(len(ks) - 1) if gap[i] >= gap[i + 1] - s_k[i + 1]), None)
    print("k,inertia,silhouette,gap,s_k")
    for i, k in enumerate(ks):
        print(f"{k},{fits[i].inertia_},{sil[i]},{gap[i]},{s_k[i]}")
    print(f"# gap 1-SE k = {choice}", file=sys.stderr)


if __name__ == "__main__":
    main()
