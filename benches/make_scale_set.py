#!/usr/bin/env python3
"""A large word2vec binary file with neighbourhood structure, for scale benchmarks of the index.

Random vectors have no neighbourhoods and say nothing about recall, so the rows here are real
rows plus noise: row i is base row (i mod n0) plus Gaussian noise of `--noise` times the base
row's length per dimension's share (each copy lands near its base word and near the base
word's neighbours), and every copy after the first gets a new word (`word#k`).

Usage: python3 benches/make_scale_set.py BASE.bin OUT.bin --rows 3000000 [--noise 0.3] [--seed 1]
Needs: pip install numpy gensim
"""
import argparse

import numpy as np
from gensim.models import KeyedVectors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("out")
    ap.add_argument("--rows", type=int, default=3_000_000)
    ap.add_argument("--noise", type=float, default=0.3)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    kv = KeyedVectors.load_word2vec_format(a.base, binary=True)
    base = kv.vectors.astype(np.float32)
    n0, d = base.shape
    norms = np.linalg.norm(base, axis=1, keepdims=True)
    rng = np.random.default_rng(a.seed)
    with open(a.out, "wb") as f:
        f.write(f"{a.rows} {d}\n".encode())
        chunk = 100_000
        for lo in range(0, a.rows, chunk):
            hi = min(lo + chunk, a.rows)
            idx = np.arange(lo, hi) % n0
            copy = np.arange(lo, hi) // n0
            noise = rng.standard_normal((hi - lo, d), dtype=np.float32) * (a.noise / np.sqrt(d))
            rows = base[idx] + noise * norms[idx] * (copy[:, None] > 0)
            rows = rows.astype("<f4")
            for i in range(hi - lo):
                w = kv.index_to_key[idx[i]] if copy[i] == 0 else f"{kv.index_to_key[idx[i]]}#{copy[i]}"
                f.write(w.encode() + b" " + rows[i].tobytes())
    print(f"{a.out}: {a.rows} x {d} from {n0} base rows, noise {a.noise}")


if __name__ == "__main__":
    main()
