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
    ap.add_argument("native")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--queries", type=int, default=20, help="exact queries per process (gensim and wordvec)")
    ap.add_argument("--index-queries", type=int, default=2000)
    a = ap.parse_args()
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
