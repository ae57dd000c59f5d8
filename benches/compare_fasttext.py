#!/usr/bin/env python3
"""fastText models: wordvec beside gensim's load_facebook_vectors on one model, same run.

Measures, each library in a fresh process: time from process start of the work to the first
answer (open the model, most_similar of one word, top 10), the throughput of vectors for words
outside the vocabulary, and peak RSS; wordvec on the .bin itself and on its native copy
(`wordvec convert MODEL.bin MODEL.wvec`, which keeps the n-grams). Checks that both give the same
first answer.

No public model of this shape can be downloaded here, so the model is generated (and says so):
--words words from the benchmark corpus's vocabulary (then the same words with a numeric suffix
until there are enough), --buckets n-gram rows, --dim dimensions, minn 3 / maxn 6 as
wiki-news-300d-1M-subword, random N(0, 0.05) values; the file follows fastText 0.9's layout
(version 12, unsupervised skip-gram arguments, an output matrix of zeros).

Usage: python3 benches/compare_fasttext.py CORPUS.txt --out DIR [--words 2000000]
       [--buckets 2000000] [--dim 300] [--oov 20000]
Needs: pip install gensim numpy
"""
import argparse
import collections
import json
import os
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def model_words(corpus, n_words):
    """The model's vocabulary: the corpus's words by frequency, then again with a suffix."""
    counts = collections.Counter()
    with open(corpus, encoding="utf-8", errors="replace") as f:
        for line in f:
            counts.update(line.split())
    base = [w for w, _ in counts.most_common()]
    words = []
    for i in range(n_words):
        w = base[i % len(base)]
        words.append(w if i < len(base) else f"{w}{i // len(base)}")
    return words


def make_model(words, path, buckets, dim):
    n_words = len(words)
    rng = np.random.default_rng(1)
    with open(path, "wb") as f:
        f.write(struct.pack("<ii", 793712314, 12))
        # dim, ws, epoch, minCount, neg, wordNgrams, loss (ns), model (sg), bucket, minn, maxn,
        # lrUpdateRate; t
        f.write(struct.pack("<12id", dim, 5, 5, 5, 5, 1, 2, 2, buckets, 3, 6, 100, 1e-4))
        f.write(struct.pack("<iiiqq", n_words, n_words, 0, 10 * n_words, -1))
        chunk = []
        for i, w in enumerate(words):
            chunk.append(w.encode() + b"\0" + struct.pack("<qb", n_words - i, 0))
            if len(chunk) == 100_000:
                f.write(b"".join(chunk))
                chunk = []
        f.write(b"".join(chunk))
        f.write(b"\0")
        rows = n_words + buckets
        f.write(struct.pack("<qq", rows, dim))
        for s in range(0, rows, 100_000):
            m = min(100_000, rows - s)
            f.write((rng.standard_normal((m, dim), dtype=np.float32) * 0.05).tobytes())
        f.write(b"\0")
        f.write(struct.pack("<qq", n_words, dim))
        zeros = np.zeros((100_000, dim), dtype=np.float32).tobytes()
        for s in range(0, n_words, 100_000):
            m = min(100_000, n_words - s)
            f.write(zeros[: m * dim * 4])


GENSIM = r"""
import json, sys, time
t = time.time()
from gensim.models.fasttext import load_facebook_vectors
kv = load_facebook_vectors(sys.argv[1])
open_s = time.time() - t
first = kv.most_similar(sys.argv[2], topn=10)
first_s = time.time() - t
words = open(sys.argv[3], encoding="utf-8").read().split("\n")
words = [w for w in words if w]
t = time.time()
check = 0.0
for w in words:
    check += float(kv[w][0])
oov_s = time.time() - t
print(json.dumps({"words": len(kv), "open_s": open_s, "first_answer_s": first_s,
                  "first": [[w, float(s)] for w, s in first], "oov_words": len(words),
                  "oov_per_s": len(words) / oov_s, "checksum": check}))
"""


def run(cmd):
    """Runs cmd in a fresh process; returns (parsed JSON stdout, wall seconds, peak RSS MiB)."""
    with tempfile.TemporaryFile() as out:
        t = time.time()
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.time() - t
        if status != 0:
            sys.exit(f"{cmd[:3]} failed with status {status}")
        out.seek(0)
        return json.loads(out.read().decode().strip().splitlines()[-1]), wall, usage.ru_maxrss / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("--out", required=True)
    ap.add_argument("--words", type=int, default=2_000_000)
    ap.add_argument("--buckets", type=int, default=2_000_000)
    ap.add_argument("--dim", type=int, default=300)
    ap.add_argument("--oov", type=int, default=20_000)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    model = os.path.join(a.out, f"ft-{a.words}-{a.buckets}-{a.dim}.bin")
    native = model[:-4] + ".wvec"
    t = time.time()
    words = model_words(a.corpus, a.words)
    if not os.path.exists(model):
        make_model(words, model, a.buckets, a.dim)
        print(f"generated {model} ({os.path.getsize(model) / 1e9:.2f} GB) in {time.time() - t:.0f} s")
    query = words[100]
    oov_file = os.path.join(a.out, "oov.txt")
    vocab = set(words)
    oov = []
    i = 0
    while len(oov) < a.oov:
        w = words[i % len(words)] + "xq"
        if w not in vocab:
            oov.append(w)
        i += 7
    with open(oov_file, "w", encoding="utf-8") as f:
        f.write("\n".join(oov) + "\n")

    subprocess.run(["cargo", "build", "--release", "--quiet", "--bench", "fasttext_oov"], cwd=ROOT, check=True)
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    deps = os.path.join(ROOT, "target", "release", "deps")
    exe = max((os.path.join(deps, f) for f in os.listdir(deps) if f.startswith("fasttext_oov-") and "." not in f), key=os.path.getmtime)
    wordvec = os.path.join(ROOT, "target", "release", "wordvec")

    results = {}
    results["wordvec (.bin)"] = run([exe, model, query, oov_file])
    if not os.path.exists(native):
        t = time.time()
        subprocess.run([wordvec, "convert", model, native], check=True, stderr=subprocess.DEVNULL)
        print(f"wordvec convert to native: {time.time() - t:.1f} s")
    results["wordvec (native .wvec)"] = run([exe, native, query, oov_file])
    results["gensim load_facebook_vectors"] = run([sys.executable, "-c", GENSIM, model, query, oov_file])

    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print(f"\nmodel: {model} (generated: {a.words} words, {a.buckets} buckets, {a.dim} dims, minn 3, maxn 6); "
          f"first query {query!r}; {a.oov} words outside the vocabulary; machine: {os.cpu_count()} cores, {cpu}\n")
    print("| reader | open s | open to first answer s | process wall s | OOV vectors/s | peak RSS MiB |")
    print("|---|---|---|---|---|---|")
    for name, (r, wall, rss) in results.items():
        print(f"| {name} | {r['open_s']:.2f} | {r['first_answer_s']:.2f} | {wall:.2f} | {r['oov_per_s']:.0f} | {rss:.0f} |")
    g = results["gensim load_facebook_vectors"][0]
    for name in ("wordvec (.bin)", "wordvec (native .wvec)"):
        r = results[name][0]
        same = [w for w, _ in r["first"]] == [w for w, _ in g["first"]]
        print(f"{name}: first answer {g['first_answer_s'] / r['first_answer_s']:.1f}x gensim's speed, "
              f"OOV vectors {r['oov_per_s'] / g['oov_per_s']:.1f}x; same top 10 as gensim: {same}; "
              f"OOV checksum {r['checksum']:.4f} (gensim {g['checksum']:.4f})")


if __name__ == "__main__":
    main()
