#!/usr/bin/env python3
"""Live replacements: wordvec's live model beside hnswlib's mark_deleted + add_items.

The same set, the same run. The base is the first N / 1.3 rows (a few less, so that the held-out rows suffice); every base row i with
i % 10 < 3 (30% of the base) is replaced by the vector of the next held-out row. hnswlib: an
index over the base (M 16, ef_construction 200), then for each replaced row `mark_deleted(i)` and
`add_items(new vector, new label)` on all cores: replacements per second, then recall@10 and
queries per second (one thread, one query per call) at each ef. wordvec (`cargo bench --bench
live -- replace`): the same base as a native file with its graph, the replacements upserted
through a live model with its write-ahead log (fsync per batch of 1,000), acknowledged per
second and until the delta's graph holds them all, then the same queries through the index.
Queries: the merged vocabulary's rows (q * 7919 + 1) % n, their current vector, the word itself
excluded (gensim's most_similar); ground truth: the exact top 10 over the merged rows (numpy).

Usage: python3 benches/compare_live.py VECTORS.bin --ours VECTORS.wvec [--queries 1000]
       [--efs 10,20,40,80,160]
Needs: pip install hnswlib gensim; the live bench built (cargo bench --bench live --no-run).
"""
import argparse
import glob
import json
import os
import subprocess
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def replace_base(n):
    """The base's rows: about n / 1.3, so that the held-out rows cover its 30% replaced."""
    b = int(n / 1.3)
    while b + 3 * (b // 10) + min(b % 10, 3) > n:
        b -= 1
    return b


def hnswlib_side(path, nq, efs):
    import hnswlib
    from gensim.models import KeyedVectors

    kv = KeyedVectors.load_word2vec_format(path, binary=True)
    x = kv.vectors.astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    n_all, d = x.shape
    b = replace_base(n_all)
    replaced = np.array([i for i in range(b) if i % 10 < 3])
    r = len(replaced)
    merged = x[:b].copy()
    merged[replaced] = x[b:b + r]
    threads = os.cpu_count()
    idx = hnswlib.Index(space="cosine", dim=d)
    idx.init_index(max_elements=b + r, M=16, ef_construction=200, random_seed=1)
    t = time.time()
    idx.add_items(x[:b], np.arange(b), num_threads=threads)
    build_s = time.time() - t
    # A replacement as hnswlib users write it: the old point deleted, the new one added under a
    # new label (label b + k stands for row replaced[k]).
    t = time.time()
    for i in replaced:
        idx.mark_deleted(int(i))
    idx.add_items(x[b:b + r], np.arange(b, b + r), num_threads=threads)
    replace_s = time.time() - t
    label_row = np.concatenate([np.arange(b), replaced])
    qi = np.array([(q * 7919 + 1) % b for q in range(nq)])
    sims = None
    truth = []
    for s0 in range(0, nq, 64):
        sims = merged[qi[s0:s0 + 64]] @ merged.T
        sims[np.arange(len(sims)), qi[s0:s0 + 64]] = -np.inf
        truth.extend(np.argsort(-sims, axis=1)[:, :10].tolist())
    del sims
    idx.set_num_threads(1)
    out = {"library": "hnswlib", "base": b, "replaced": r, "base_build_s": build_s,
           "replaced_per_s": r / replace_s, "curve": []}
    for ef in efs:
        idx.set_ef(ef)
        best, hits = 0.0, 0
        for p in range(3):
            t = time.time()
            for q, row in enumerate(qi):
                labels, _ = idx.knn_query(merged[row], k=11)
                if p == 0:
                    got = [int(label_row[l]) for l in labels[0] if label_row[l] != row][:10]
                    hits += len(set(got) & set(truth[q]))
            best = max(best, nq / (time.time() - t))
        out["curve"].append({"ef": ef, "qps": best, "recall": hits / (10 * nq)})
    return out


def wordvec_side(ours, nq, efs):
    exe = sorted(glob.glob(os.path.join(ROOT, "target/release/deps/live-*")), key=os.path.getmtime)
    exe = [e for e in exe if not e.endswith(".d")][-1]
    env = dict(os.environ, BENCH_DIR=os.environ.get("BENCH_DIR", "/tmp"))
    lines = subprocess.run([exe, "replace", ours, "--queries", str(nq), "--efs",
                            ",".join(map(str, efs))], capture_output=True, text=True, check=True,
                           env=env).stdout.splitlines()
    rows = [json.loads(l) for l in lines]
    head = rows[0]
    return {"library": "wordvec", "base": head["base"], "replaced": head["replaced"],
            "replaced_per_s": head["upserts_per_s"], "indexed_per_s": head["indexed_per_s"],
            "curve": [{"ef": r["ef"], "qps": r["qps"], "recall": r["recall"]} for r in rows[1:]]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("vectors")
    ap.add_argument("--ours", required=True)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--efs", default="10,20,40,80,160")
    a = ap.parse_args()
    efs = [int(e) for e in a.efs.split(",")]
    h = hnswlib_side(a.vectors, a.queries, efs)
    w = wordvec_side(a.ours, a.queries, efs)
    print(json.dumps(h))
    print(json.dumps(w))
    print(f"base {h['base']} rows, {h['replaced']} replaced (30%)")
    print(f"replacements/s: hnswlib {h['replaced_per_s']:.0f}; wordvec acknowledged "
          f"{w['replaced_per_s']:.0f}, in the graph {w['indexed_per_s']:.0f} "
          f"({w['indexed_per_s'] / h['replaced_per_s']:.2f}x)")
    print("ef | hnswlib recall  q/s | wordvec recall  q/s | q/s ratio")
    for hc, wc in zip(h["curve"], w["curve"]):
        print(f"{hc['ef']:>3} | {hc['recall']:.4f} {hc['qps']:8.0f} | {wc['recall']:.4f} "
              f"{wc['qps']:8.0f} | {wc['qps'] / hc['qps']:.2f}x")


if __name__ == "__main__":
    main()
