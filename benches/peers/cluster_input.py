#!/usr/bin/env python3
"""Makes the cluster bench input: N embedding-like unit vectors of DIM (a seeded mixture of
Gaussians around 20 random directions), as a nerprep embeddings table (Parquet: `id`,
`embedding` fixed-size list<float32>, `nerprep.embed.dim` metadata) and as .npy for the peer.

Usage: cluster_input.py N DIM OUT.parquet OUT.npy
"""
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def main():
    n, dim, parquet_path, npy_path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    rng = np.random.default_rng(14)
    centres = rng.normal(size=(20, dim))
    which = rng.integers(0, 20, size=n)
    x = (centres[which] + 1.5 * rng.normal(size=(n, dim))).astype(np.float32)
    np.save(npy_path, x)
    ids = pa.array([f"unit/{i}" for i in range(n)], type=pa.string())
    values = pa.array(x.reshape(-1), type=pa.float32())
    item = pa.field("item", pa.float32(), nullable=False)
    emb = pa.FixedSizeListArray.from_arrays(values, type=pa.list_(item, dim))
    schema = pa.schema([pa.field("id", pa.string(), nullable=False), pa.field("embedding", pa.list_(item, dim), nullable=False)],
                       metadata={"nerprep.embed.dim": str(dim), "nerprep.embed.model": "bench-synthetic"})
    pq.write_table(pa.Table.from_arrays([ids, emb], schema=schema), parquet_path, compression="zstd")


if __name__ == "__main__":
    main()
