#!/usr/bin/env python3
"""The Python package beside gensim, from Python, on the same files in the same run.

For a word2vec binary file and its native copy (`wordvec convert FILE.bin FILE.wvec`, plus
`wordvec index build FILE.wvec` for the index rows), each in a fresh Python process with a warm
page cache:
  - time from process start (interpreter and imports included) to the first `most_similar`
    answer (the default call), and peak RSS: gensim's `load_word2vec_format(binary=True)`,
    wordvec's on the .bin, wordvec's `KeyedVectors.load` of the native file alone (exact scan),
    and of the native file with its index beside it (`FILE.wvec.idx`, picked up by `load`);
  - queries per second of `most_similar(word, topn=10)` from Python: gensim (exact, numpy/BLAS),
    wordvec exact (`exact=True`), wordvec through the HNSW index (`exact=False`) when FILE.wvec.idx
    exists.
Prints a Markdown table with the ratios to gensim.

Usage: python3 benches/compare_python.py FILE.bin FILE.wvec [--runs 3] [--queries 20]

With --per-call: every KeyedVectors method's time per call, gensim's beside wordvec's, each
library in its own fresh process on the same word2vec binary file (wordvec also on the native
file when FILE.wvec is given), the same calls on the same words; each figure is the best of
--repeats timings of a loop of calls (the loop's length set so one timing takes about 0.2 s,
scans included), the file read once before each process so that the page cache is warm, and
wordvec's int8 copy of vectors of 8 MiB and more (made in the background after the first exact
scan) waited for, as gensim's normalised copy is made before the timings.
Prints a Markdown table with the ratios (gensim's time / wordvec's: above 1,
wordvec is faster).
  python3 benches/compare_python.py FILE.bin FILE.wvec --per-call [--repeats 5]
Needs: the wordvec wheel installed in this Python (README, "Python"), and gensim.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

CHILD = r"""
import json, resource, sys, time
t0 = float(sys.argv[1])
which, path, queries, mode = sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
if which == "gensim":
    from gensim.models import KeyedVectors
    kv = KeyedVectors.load_word2vec_format(path, binary=True)
    ask = lambda w: kv.most_similar(w, topn=10)
else:
    import wordvec
    if which == "wordvec-bin":
        kv = wordvec.KeyedVectors.load_word2vec_format(path, binary=True)
    else:
        kv = wordvec.KeyedVectors.load(path)
    exact = {"exact": True, "index": False}[mode]
    ask = lambda w: kv.most_similar(w, topn=10, exact=exact, ef=None if exact else 128)
words = kv.index_to_key
n = len(words)
# The first answer as a user asks it: the default call (wordvec: through the index when one
# lies beside the file, else the exact scan).
first = kv.most_similar(words[1234], topn=10)
t_first = time.time() - t0
qs = [words[(q * 7919 + 13) % n] for q in range(queries)]
t = time.perf_counter()
for w in qs:
    ask(w)
qps = queries / (time.perf_counter() - t)
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"first_s": t_first, "qps": qps, "rss": rss, "first": first[0][0]}))
"""


PER_CALL = r"""
import json, sys, time
import numpy as np
which, path = sys.argv[1], sys.argv[2]
if which == "gensim":
    from gensim.models import KeyedVectors
    kv = KeyedVectors.load_word2vec_format(path, binary=True)
else:
    import wordvec
    kv = (wordvec.KeyedVectors.load_word2vec_format(path, binary=True) if path.endswith(".bin")
          else wordvec.KeyedVectors.load(path))
n = len(kv)
w = [kv.index_to_key[(i * 7919 + 13) % min(n, 50000)] for i in range(16)]
vec = np.asarray(kv[w[2]], dtype=np.float32) + 0.5
kv.get_normed_vectors()  # both libraries compute it once, on first use
if which != "gensim":
    # wordvec's first exact scan starts its int8 copy of large vectors, made on a thread of its
    # own; the timings are of the scans once it is there (as gensim's, once it has its copy).
    kv.most_similar(w[0], topn=1)
    t = time.time()
    while not kv._v.int8 and kv.vector_size * len(kv) >= 2 << 20 and time.time() - t < 300:
        time.sleep(0.05)
calls = [
    ("kv[word]", lambda: kv[w[0]]),
    ("get_vector(word, norm=True)", lambda: kv.get_vector(w[0], norm=True)),
    ("kv[10 words]", lambda: kv[w[:10]]),
    ("word in kv", lambda: w[0] in kv),
    ("get_index(word)", lambda: kv.get_index(w[0])),
    ("index_to_key[i]", lambda: kv.index_to_key[123]),
    ("len(kv)", lambda: len(kv)),
    ("get_vecattr(word, 'count')", lambda: kv.get_vecattr(w[0], "count")),
    ("similarity", lambda: kv.similarity(w[0], w[1])),
    ("distance", lambda: kv.distance(w[0], w[1])),
    ("n_similarity (3 x 3 words)", lambda: kv.n_similarity(w[:3], w[3:6])),
    ("get_mean_vector (10 words)", lambda: kv.get_mean_vector(w[:10])),
    ("most_similar_to_given (5 words)", lambda: kv.most_similar_to_given(w[0], w[1:6])),
    ("distances(word, 10 words)", lambda: kv.distances(w[0], w[1:11])),
    ("cosine_similarities", lambda: kv.cosine_similarities(vec, kv[w[:10]])),
    ("rank_by_centrality (6 words)", lambda: kv.rank_by_centrality(w[:6])),
    ("doesnt_match (6 words)", lambda: kv.doesnt_match(w[:6])),
    ("most_similar(word)", lambda: kv.most_similar(w[0], topn=10)),
    ("most_similar(2 pos, 1 neg)", lambda: kv.most_similar(positive=w[:2], negative=w[2:3], topn=10)),
    ("most_similar_cosmul(2 pos, 1 neg)", lambda: kv.most_similar_cosmul(positive=w[:2], negative=w[2:3], topn=10)),
    ("similar_by_vector", lambda: kv.similar_by_vector(vec, topn=10)),
    ("most_similar(word, restrict_vocab=10000)", lambda: kv.most_similar(w[0], topn=10, restrict_vocab=10000)),
    ("distances(word) (every row)", lambda: kv.distances(w[0])),
    ("closer_than", lambda: kv.closer_than(w[0], w[1])),
    ("rank", lambda: kv.rank(w[0], w[1])),
]
out = {}
for name, call in calls:
    call()
    loops, t = 1, 0.0
    while True:
        t = time.perf_counter()
        for _ in range(loops):
            call()
        t = time.perf_counter() - t
        if t > 0.05 or loops > 1 << 22:
            break
        loops *= 4
    loops = max(1, int(loops * 0.2 / max(t, 1e-9)))
    best = float("inf")
    for _ in range(int(sys.argv[3])):
        t = time.perf_counter()
        for _ in range(loops):
            call()
        best = min(best, (time.perf_counter() - t) / loops)
    out[name] = best
print(json.dumps(out))
"""


def per_call(a):
    """Every KeyedVectors method's time per call, gensim's beside wordvec's (see the module doc)."""
    procs = [("gensim 4, .bin", "gensim", a.bin), ("wordvec, .bin", "wordvec", a.bin)]
    if a.native:
        procs.append(("wordvec, native", "wordvec", a.native))
    times = {}
    for name, which, path in procs:
        # A warm page cache for each process (the mapped files are read in place).
        with open(path, "rb") as f:
            while f.read(1 << 24):
                pass
        out = subprocess.run([sys.executable, "-c", PER_CALL, which, path, str(a.repeats)], capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit(f"{name} failed:\n{out.stderr}")
        times[name] = json.loads(out.stdout.strip().splitlines()[-1])
    g = times["gensim 4, .bin"]
    cols = list(times)
    print("| call | " + " | ".join(cols) + " | " + " | ".join(f"{c}: vs gensim" for c in cols[1:]) + " |")
    print("|---" * (len(cols) * 2) + "|")
    def fmt(t):
        return f"{t * 1e6:.2f} us" if t < 1e-3 else f"{t * 1e3:.2f} ms"
    for call in g:
        row = [fmt(times[c][call]) for c in cols] + [f"{g[call] / times[c][call]:.1f}x" for c in cols[1:]]
        print(f"| `{call}` | " + " | ".join(row) + " |")


def run(which, path, queries, mode="exact"):
    out = subprocess.run(
        [sys.executable, "-c", CHILD, repr(time.time()), which, path, str(queries), mode],
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        sys.exit(f"{which} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def best(rows, key, low=True):
    vals = [r[key] for r in rows]
    return min(vals) if low else max(vals)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bin")
    ap.add_argument("native", nargs="?")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--queries", type=int, default=20, help="exact queries per process (gensim and wordvec)")
    ap.add_argument("--index-queries", type=int, default=2000)
    ap.add_argument("--per-call", action="store_true", help="every KeyedVectors method's time per call")
    ap.add_argument("--repeats", type=int, default=5, help="--per-call: timings per call, the best kept")
    a = ap.parse_args()
    if a.per_call:
        per_call(a)
        return
    # Warm the page cache for both files (each run below reads them from memory).
    for p in (a.bin, a.native):
        with open(p, "rb") as f:
            while f.read(1 << 24):
                pass
    rows = {}
    # The native file alone (no index beside it), through a link in a scratch folder.
    scratch = tempfile.mkdtemp()
    alone = os.path.join(scratch, os.path.basename(a.native))
    os.symlink(os.path.abspath(a.native), alone)
    for name, which, path, q, mode in [
        ("gensim 4, .bin", "gensim", a.bin, a.queries, "exact"),
        ("wordvec, .bin", "wordvec-bin", a.bin, a.queries, "exact"),
        ("wordvec, native", "wordvec-native", alone, a.queries, "exact"),
    ] + ([("wordvec, native + its HNSW index", "wordvec-native", a.native, a.index_queries, "index")]
         if os.path.exists(a.native + ".idx") else []):
        runs = [run(which, path, q, mode) for _ in range(a.runs)]
        rows[name] = runs
        print(f"{name}: " + ", ".join(f"{r['first_s']:.2f} s / {r['qps']:.1f} q/s / {r['rss'] / 2**30:.2f} GiB" for r in runs),
              file=sys.stderr)
    g = rows["gensim 4, .bin"]
    g_first, g_qps = best(g, "first_s"), best(g, "qps", low=False)
    print("| Python process | to first answer | vs gensim | peak RSS | most_similar q/s | vs gensim |")
    print("|---|---|---|---|---|---|")
    for name, runs in rows.items():
        first, qps, rss = best(runs, "first_s"), best(runs, "qps", low=False), best(runs, "rss")
        print(f"| {name} | {first:.2f} s | {g_first / first:.1f}x | {rss / 2**30:.2f} GiB | {qps:,.1f} | {qps / g_qps:.1f}x |")
    print(f"\nbest of {a.runs} fresh processes each; {a.queries} exact queries per process, "
          f"{a.index_queries} through the index (ef 128); the first answers agree: "
          f"{sorted({r['first'] for runs in rows.values() for r in runs})}")


if __name__ == "__main__":
    main()
