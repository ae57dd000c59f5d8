#!/usr/bin/env python3
"""Per-dimension against per-row int8 quantisation of unit rows: the error of the approximate
cosine, the exact-scan error bound, and how many rows the exact scan must re-score in f32 for a
top-10 query (rows whose approximate score is within twice the bound of the 10th best).

Per dimension (what wordvec stores, src/quant.rs): x_j ~ lo_j + step_j c_j, bound
M = sum_j step_j / 2 |q_j|. Per row: x_j ~ lo_i + step_i c_j with each row's own range, bound
M_i = step_i / 2 sum_j |q_j| (a row-dependent bound: the re-score test uses each row's own).

Usage: python3 benches/quant_modes.py VECTORS.bin [--queries 200]
Needs: pip install gensim numpy
"""
import argparse

import numpy as np
from gensim.models import KeyedVectors

ap = argparse.ArgumentParser()
ap.add_argument("vectors")
ap.add_argument("--queries", type=int, default=200)
a = ap.parse_args()
x = KeyedVectors.load_word2vec_format(a.vectors, binary=True).vectors.astype(np.float32)
x /= np.linalg.norm(x, axis=1, keepdims=True)
n, d = x.shape
lo_d, hi_d = x.min(axis=0), x.max(axis=0)
step_d = (hi_d - lo_d) / 255
codes_d = np.rint((x - lo_d) / step_d).clip(0, 255).astype(np.uint8)
lo_r, hi_r = x.min(axis=1, keepdims=True), x.max(axis=1, keepdims=True)
step_r = (hi_r - lo_r) / 255
codes_r = np.rint((x - lo_r) / step_r).clip(0, 255).astype(np.uint8)
qi = np.array([(q * 7919 + 1) % n for q in range(a.queries)])
stats = {"per dimension": [], "per row": []}
for i in qi:
    q = x[i]
    exact = x @ q
    approx_d = (codes_d.astype(np.float32) * step_d) @ q + lo_d @ q
    approx_r = (codes_r.astype(np.float32) @ q) * step_r[:, 0] + lo_r[:, 0] * q.sum()
    m_d = float((step_d / 2 * np.abs(q)).sum())
    m_r = step_r[:, 0] / 2 * np.abs(q).sum()
    for name, approx, bound in (("per dimension", approx_d, m_d), ("per row", approx_r, m_r)):
        err = np.abs(approx - exact)
        kth = np.partition(approx, -11)[-11]
        # Rows that can still reach the top 10: approximate score + own bound >= kth - bound of kth.
        b = bound if np.isscalar(bound) else bound
        reach = approx + b >= kth - (b if np.isscalar(b) else b.max())
        stats[name].append((err.mean(), err.max(), float(np.mean(b)), int(reach.sum())))
print(f"{a.vectors}: {n} x {d}, {a.queries} queries (rows (q * 7919 + 1) % n)\n")
print("| quantisation | mean abs error of cos | max abs error | exact-scan bound (mean) | rows re-scored per top-10 query (median) |")
print("|---|---|---|---|---|")
for name, v in stats.items():
    v = np.array(v)
    print(f"| {name} | {v[:, 0].mean():.5f} | {v[:, 1].max():.5f} | {v[:, 2].mean():.5f} | {int(np.median(v[:, 3]))} |")
