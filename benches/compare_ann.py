#!/usr/bin/env python3
"""Approximate nearest neighbours: wordvec's HNSW index beside hnswlib and faiss.

Same vectors, same M and ef_construction, same queries, same ground truth, same machine, same
run. For each library, in a fresh process (so peak RSS is its own): build time on all cores,
save + reload time, and the recall@10 / queries-per-second curve over ef, on one thread and on
all cores (each the best of three passes over the queries). Ground truth is the exact top 10 by cosine, query word excluded (gensim's
most_similar), computed with numpy. Query words are the same for all: row (q * 7919 + 1) % n.

Usage: python3 benches/compare_ann.py VECTORS.bin [--m 16] [--ef-construction 200]
       [--queries 1000] [--efs 10,20,40,80,160] [--limit N] [--frequent] [--int8]
       [--peers hnswlib,faiss]
(--int8: wordvec also traverses the same graph over its int8 copy of the rows, re-scoring what it
 returns in f32, as it does when `VECTORS.i8` exists; printed as "wordvec int8";
 --frequent: the most frequent words, rows 0..queries, as queries instead of spread ones;
 --ours FILE: wordvec reads FILE, the same vectors in another format, e.g. its native copy made
 by `wordvec convert VECTORS.bin VECTORS.wvec`, as the daemon would serve them)
Needs: pip install hnswlib faiss-cpu gensim
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PEER = r"""
import json, os, sys, tempfile, time
import numpy as np
from gensim.models import KeyedVectors
lib, path, m, efc, nq, efs, limit, frequent = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), [int(e) for e in sys.argv[6].split(',')], sys.argv[7], sys.argv[8] == "1"
kv = KeyedVectors.load_word2vec_format(path, binary=True, limit=int(limit) if limit != 'none' else None)
x = kv.vectors.astype(np.float32)
x /= np.linalg.norm(x, axis=1, keepdims=True)
n, d = x.shape
qi = np.arange(nq) if frequent else np.array([(q * 7919 + 1) % n for q in range(nq)])
# The exact top 10 of each query, 64 queries at a time (a 500 x 3M score matrix would not fit).
truth = np.empty((nq, 10), dtype=np.int64)
for s0 in range(0, nq, 64):
    sims = x[qi[s0:s0 + 64]] @ x.T
    sims[np.arange(len(sims)), qi[s0:s0 + 64]] = -np.inf
    top = np.argpartition(-sims, 10, axis=1)[:, :10] if n > 10 else np.argsort(-sims, axis=1)[:, :10]
    order = np.argsort(-np.take_along_axis(sims, top, axis=1), axis=1, kind="stable")
    truth[s0:s0 + 64] = np.take_along_axis(top, order, axis=1)
    del sims
threads = os.cpu_count()
out = {"words": n, "dims": d, "threads": threads, "curve": []}
tmp = tempfile.mkdtemp()
if lib == "hnswlib":
    import hnswlib
    t = time.time()
    idx = hnswlib.Index(space="cosine", dim=d)
    idx.init_index(max_elements=n, M=m, ef_construction=efc, random_seed=1)
    idx.add_items(x, np.arange(n), num_threads=threads)
    out["build_s"] = time.time() - t
    t = time.time(); idx.save_index(os.path.join(tmp, "i.bin")); out["save_s"] = time.time() - t
    out["index_bytes"] = os.path.getsize(os.path.join(tmp, "i.bin"))
    del idx
    t = time.time()
    idx = hnswlib.Index(space="cosine", dim=d); idx.load_index(os.path.join(tmp, "i.bin"), max_elements=n)
    out["reload_s"] = time.time() - t
    def search(ef, th):
        idx.set_ef(max(ef, 11)); idx.set_num_threads(th)
        if th == 1:
            t = time.time(); res = [idx.knn_query(x[i:i + 1], k=11, num_threads=1)[0][0] for i in qi]; dt = time.time() - t
        else:
            t = time.time(); res = idx.knn_query(x[qi], k=11, num_threads=th)[0]; dt = time.time() - t
        return res, dt
else:
    import faiss
    faiss.omp_set_num_threads(threads)
    t = time.time()
    idx = faiss.IndexHNSWFlat(d, m, faiss.METRIC_INNER_PRODUCT)
    idx.hnsw.efConstruction = efc
    idx.add(x)
    out["build_s"] = time.time() - t
    t = time.time(); faiss.write_index(idx, os.path.join(tmp, "i.faiss")); out["save_s"] = time.time() - t
    out["index_bytes"] = os.path.getsize(os.path.join(tmp, "i.faiss"))
    del idx
    t = time.time(); idx = faiss.read_index(os.path.join(tmp, "i.faiss")); out["reload_s"] = time.time() - t
    def search(ef, th):
        faiss.omp_set_num_threads(th); idx.hnsw.efSearch = max(ef, 11)
        if th == 1:
            t = time.time(); res = [idx.search(x[i:i + 1], 11)[1][0] for i in qi]; dt = time.time() - t
        else:
            t = time.time(); res = idx.search(x[qi], 11)[1]; dt = time.time() - t
        return res, dt
for ef in efs:
    # Best of three passes, as wordvec's `recall` times itself.
    res, dt1 = search(ef, 1)
    _, dtn = search(ef, threads)
    for _ in range(2):
        dt1 = min(dt1, search(ef, 1)[1])
        dtn = min(dtn, search(ef, threads)[1])
    rec = np.mean([len(set([j for j in r if j != q][:10]) & set(t)) / 10 for r, q, t in zip(res, qi, truth)])
    out["curve"].append({"ef": ef, "recall_words": float(rec), "qps_one_thread": nq / dt1, "qps_all_threads": nq / dtn})
print(json.dumps(out))
"""


def run(cmd):
    """Runs cmd in a fresh process; returns (parsed JSON stdout, peak RSS in MiB)."""
    with tempfile.TemporaryFile() as out:
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(p.pid, 0)
        if status != 0:
            sys.exit(f"{cmd[:3]} failed with status {status}")
        out.seek(0)
        return json.loads(out.read().decode().strip().splitlines()[-1]), usage.ru_maxrss / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("vectors")
    ap.add_argument("--m", type=int, default=16)
    ap.add_argument("--ef-construction", type=int, default=200)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--efs", default="10,20,40,80,160")
    ap.add_argument("--limit", default="none")
    ap.add_argument("--frequent", action="store_true")
    ap.add_argument("--int8", action="store_true")
    ap.add_argument("--peers", default="hnswlib,faiss", help="which peers to run (comma-separated)")
    ap.add_argument("--ours", help="the file wordvec reads (default: VECTORS)")
    a = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bench", "ann"], cwd=ROOT, check=True)
    deps = os.path.join(ROOT, "target", "release", "deps")
    exe = max((os.path.join(deps, f) for f in os.listdir(deps) if f.startswith("ann-") and "." not in f), key=os.path.getmtime)
    ours_cmd = [exe, a.ours or a.vectors, "--m", str(a.m), "--ef-construction", str(a.ef_construction), "--queries", str(a.queries), "--efs", a.efs]
    if a.limit != "none":
        ours_cmd += ["--limit", a.limit]
    if a.frequent:
        ours_cmd += ["--frequent"]
    if a.int8:
        ours_cmd += ["--int8"]
    results = {"wordvec": run(ours_cmd)}
    ours_names = ["wordvec"]
    if results["wordvec"][0].get("curve_int8"):
        r, rss = results["wordvec"]
        results["wordvec int8"] = (dict(r, curve=r["curve_int8"]), rss)
        ours_names.append("wordvec int8")
    peers = [p for p in a.peers.split(",") if p]
    for lib in peers:
        results[lib] = run([sys.executable, "-c", PEER, lib, a.vectors, str(a.m), str(a.ef_construction), str(a.queries), a.efs, a.limit, "1" if a.frequent else "0"])
    first = next(iter(results.values()))[0]
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print(f"vectors: {a.vectors} (wordvec: {a.ours or a.vectors}) ({first['words']} x {first['dims']}); M {a.m}, ef_construction {a.ef_construction}; "
          f"{a.queries} {'frequent' if a.frequent else 'spread'} queries, recall@10; machine: {os.cpu_count()} cores, {cpu}\n")
    print("| library | build s (all cores) | index MB | save s | reload s | peak RSS MiB |")
    print("|---|---|---|---|---|---|")
    for name, (r, rss) in results.items():
        print(f"| {name} | {r['build_s']:.1f} | {r['index_bytes'] / 1e6:.1f} | {r['save_s']:.2f} | {r['reload_s']:.2f} | {rss:.0f} |")
    print("\n| library | ef | recall@10 | qps 1 thread | qps all cores |")
    print("|---|---|---|---|---|")
    for name, (r, _) in results.items():
        for c in r["curve"]:
            print(f"| {name} | {c['ef']} | {c['recall_words']:.4f} | {c['qps_one_thread']:.0f} | {c['qps_all_threads']:.0f} |")
    ours = results["wordvec"][0]
    ra = [f"ef {c['ef']}: {c['recall_analogies']:.4f}" for c in ours["curve"]]
    print(f"\nwordvec analogy-query recall@10 (a - b + c, exact 3CosAdd as truth): {', '.join(ra)}")
    # Queries per second at equal recall: each peer's curve point against wordvec's, interpolated
    # on wordvec's curve (log-linear in qps), one thread.
    import math
    def qps_at(curve, rec):
        pts = sorted((c["recall_words"], c["qps_one_thread"]) for c in curve)
        for (r0, q0), (r1, q1) in zip(pts, pts[1:]):
            if r0 <= rec <= r1:
                f = (rec - r0) / (r1 - r0) if r1 > r0 else 0
                return math.exp(math.log(q0) + f * (math.log(q1) - math.log(q0)))
        return None
    for name in ours_names:
        for lib in peers:
            for c in results[lib][0]["curve"]:
                q = qps_at(results[name][0]["curve"], c["recall_words"])
                if q:
                    print(f"at recall {c['recall_words']:.4f} (ef {c['ef']} in {lib}): {name} {q:.0f} q/s, {lib} {c['qps_one_thread']:.0f} q/s: {q / c['qps_one_thread']:.2f}x")
    for lib in peers:
        print(f"build: wordvec {ours['build_s']:.1f} s, {lib} {results[lib][0]['build_s']:.1f} s: {results[lib][0]['build_s'] / ours['build_s']:.2f}x")


if __name__ == "__main__":
    main()
