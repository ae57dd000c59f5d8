#!/usr/bin/env python3
"""Subword training: wordvec beside fastText and gensim's FastText, same corpus, same settings.

Every tool trains on the same corpus with dim 100, window 5, negatives 5, minn 3, maxn 6,
2,000,000 buckets, min-count 5, sample 1e-4 and learning rate 0.05 (fastText's defaults for the
last two), for --epochs epochs on --threads threads, and writes fastText's .bin. Each run is one
process, timed from start to exit (the vocabulary pass and the writing included, as each tool
runs end to end): words/s = corpus words x epochs / that wall time; peak RSS is the process's
own (wait4's ru_maxrss). With --fifo (root), every run is started under `chrt -f 50`, so that
other work on the machine does not take its cores.

Held-out words: 10% of the distinct WordSim353 words (a fixed random draw) are removed from the
corpus before any tool sees it, so that no model has them in its vocabulary. Quality, each model
loaded by gensim's `load_facebook_vectors` (which reads all three, and computes vectors as
fastText does):
- analogies: `wordvec eval analogies` on questions-words.txt (restrict_vocab 30000);
- WordSim353 Spearman over the pairs whose words are both in the model's vocabulary;
- OOV: Spearman over the pairs with a held-out word, its vector built from its n-grams.

Peers: pip install fasttext-wheel "gensim>=4.4,<4.5" scipy

Usage: python3 benches/compare_fasttext_train.py CORPUS_DIR --out DIR [--epochs 5]
       [--threads 2] [--models skipgram,cbow] [--only wordvec] [--fifo] [--seed 1]
       [--wordvec-flags '--ns-exponent 0.5']
"""
import argparse
import json
import os
import random
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORDVEC = os.environ.get("WORDVEC", os.path.join(ROOT, "target", "release", "wordvec"))
SET = dict(dim=100, ws=5, neg=5, minn=3, maxn=6, bucket=2_000_000, min_count=5, t=1e-4, lr=0.05)

FASTTEXT = r"""
import sys, fasttext
corpus, out, model, epochs, threads, seed = sys.argv[1:7]
s = {s}
m = fasttext.train_unsupervised(corpus, model=model, dim=s["dim"], ws=s["ws"], neg=s["neg"],
    minn=s["minn"], maxn=s["maxn"], bucket=s["bucket"], minCount=s["min_count"], t=s["t"],
    lr=s["lr"], epoch=int(epochs), thread=int(threads), loss="ns", verbose=0)
# fasttext-wheel 0.9.2's train_unsupervised takes no seed: its runs on 2 threads vary anyway.
m.save_model(out)
"""

GENSIM = r"""
import sys
from gensim.models import FastText
from gensim.models.fasttext import save_facebook_model
corpus, out, model, epochs, threads, seed = sys.argv[1:7]
s = {s}
m = FastText(corpus_file=corpus, sg=int(model == "skipgram"), vector_size=s["dim"],
    window=s["ws"], negative=s["neg"], hs=0, min_n=s["minn"], max_n=s["maxn"], bucket=s["bucket"],
    min_count=s["min_count"], sample=s["t"], alpha=s["lr"], epochs=int(epochs),
    workers=int(threads), seed=int(seed))
save_facebook_model(m, out)
"""

EVAL = r"""
import json, sys
import numpy as np
from scipy.stats import spearmanr
from gensim.models.fasttext import load_facebook_vectors
path, pairs_path, held_path = sys.argv[1:4]
wv = load_facebook_vectors(path)
held = set(json.load(open(held_path)))
pairs = []
for line in open(pairs_path, encoding="utf-8"):
    if line.startswith("#") or not line.strip():
        continue
    a, b, score = line.rstrip("\n").split("\t")[:3]
    pairs.append((a.lower(), b.lower(), float(score)))
def cos(a, b):
    x, y = wv[a], wv[b]
    return float(np.dot(x, y) / (np.linalg.norm(x) * np.linalg.norm(y) + 1e-30))
def rho(ps):
    return float(spearmanr([s for _, _, s in ps], [cos(a, b) for a, b, _ in ps]).correlation)
known = [p for p in pairs if p[0] in wv.key_to_index and p[1] in wv.key_to_index]
oov = [p for p in pairs if p[0] in held or p[1] in held]
assert all(w not in wv.key_to_index for w in held), "a held-out word is in the vocabulary"
print(json.dumps(dict(words=len(wv.key_to_index), ws_known=rho(known), ws_known_pairs=len(known),
                      ws_oov=rho(oov), ws_oov_pairs=len(oov))))
"""


def wordsim_words(path):
    words = set()
    for line in open(path, encoding="utf-8"):
        if line.startswith("#") or not line.strip():
            continue
        a, b = line.split("\t")[:2]
        words.update((a.lower(), b.lower()))
    return sorted(words)


def held_out_corpus(data, out):
    """Writes the corpus without 10% of the WordSim353 words; returns its path, the held-out
    words and the number of words it holds."""
    words = wordsim_words(os.path.join(data, "wordsim353.tsv"))
    held = sorted(random.Random(353).sample(words, round(len(words) / 10)))
    path = os.path.join(out, "corpus-heldout.txt")
    held_path = os.path.join(out, "heldout.json")
    json.dump(held, open(held_path, "w"))
    drop, n = set(held), 0
    with open(os.path.join(data, "corpus.txt"), encoding="utf-8") as src, open(path, "w", encoding="utf-8") as dst:
        for line in src:
            kept = [w for w in line.split() if w not in drop]
            n += len(kept)
            dst.write(" ".join(kept) + "\n")
    return path, held_path, held, n


def run(cmd, fifo):
    """Runs `cmd` to its end; returns its wall seconds and peak RSS in MiB."""
    if fifo:
        cmd = ["chrt", "-f", "50"] + cmd
    t = time.time()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    secs = time.time() - t
    err = p.stderr.read().decode(errors="replace")
    if status != 0:
        sys.exit(f"{cmd[:4]} failed: {err[-2000:]}")
    return secs, usage.ru_maxrss / 1024


def tools(model, corpus, out_bin, epochs, threads, seed, flags):
    s = json.dumps(SET)
    wv = [WORDVEC, "train", corpus, "-o", out_bin, "--model", model, "--dim", str(SET["dim"]),
          "--window", str(SET["ws"]), "--negative", str(SET["neg"]), "--minn", str(SET["minn"]),
          "--maxn", str(SET["maxn"]), "--buckets", str(SET["bucket"]), "--min-count",
          str(SET["min_count"]), "--sample", str(SET["t"]), "--alpha", str(SET["lr"]),
          "--epochs", str(epochs), "--threads", str(threads), "--seed", str(seed)] + flags
    args = [corpus, out_bin, model, str(epochs), str(threads), str(seed)]
    runs = [
        ("fastText", [sys.executable, "-c", FASTTEXT.replace("{s}", s)] + args),
        ("gensim FastText", [sys.executable, "-c", GENSIM.replace("{s}", s)] + args),
        ("wordvec", wv),
    ]
    # Skip-gram only: fastText's update per (centre, context) pair instead of per window.
    if model == "skipgram":
        runs.append(("wordvec per-pair", wv + ["--batched", "false"]))
    return runs


def evaluate(path, data, held_path):
    a = subprocess.run([WORDVEC, "eval", "analogies", path, os.path.join(data, "questions-words.txt"),
                        "--restrict-vocab", "30000", "--json"], check=True, capture_output=True)
    e = subprocess.run([sys.executable, "-c", EVAL, path, os.path.join(data, "wordsim353.tsv"), held_path],
                       check=True, capture_output=True)
    return json.loads(a.stdout)["total_accuracy"], json.loads(e.stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--out", required=True, help="folder for the corpus copy and the models")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--models", default="skipgram", help="skipgram, cbow or both, comma-separated")
    ap.add_argument("--only", default=None, help="run only these tools, comma-separated names as "
                    "the table prints them: fastText, gensim FastText, wordvec, wordvec per-pair")
    ap.add_argument("--fifo", action="store_true", help="run each training under chrt -f 50")
    ap.add_argument("--keep", action="store_true", help="keep the models (800 MB each) after their evaluation")
    ap.add_argument("--buckets", type=int, default=SET["bucket"], help="n-gram buckets (a quick check)")
    ap.add_argument("--seed", type=int, default=1, help="wordvec's and gensim's random seed "
                    "(fastText's Python module takes none; its and gensim's runs on 2 threads vary "
                    "from run to run anyway)")
    ap.add_argument("--wordvec-flags", default="", help="more flags for wordvec train, e.g. "
                    "'--ns-exponent 0.5' (fastText's negative distribution)")
    a = ap.parse_args()
    SET["bucket"] = a.buckets
    os.makedirs(a.out, exist_ok=True)
    corpus, held_path, held, words = held_out_corpus(a.data, a.out)
    print(f"held out {len(held)} WordSim353 words: {' '.join(held)}", file=sys.stderr)
    rows = []
    for model in a.models.split(","):
        for name, cmd in tools(model, corpus, "{out}", a.epochs, a.threads, a.seed, a.wordvec_flags.split()):
            if a.only and name not in a.only.split(","):
                continue
            path = os.path.join(a.out, f"{model}-{name.replace(' ', '_')}.bin")
            secs, rss = run([x.replace("{out}", path) for x in cmd], a.fifo)
            acc, q = evaluate(path, a.data, held_path)
            if not a.keep:
                os.remove(path)
            rows.append((model, name, secs, words * a.epochs / secs, rss, acc, q))
            print(f"  {model} {name:17} {secs:7.1f} s {words * a.epochs / secs / 1e3:6.0f}k words/s "
                  f"{rss:6.0f} MiB  analogy {acc * 100:5.2f}%  ws353 {q['ws_known']:.3f} "
                  f"oov {q['ws_oov']:.3f}", file=sys.stderr)
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print(f"corpus: {corpus} ({words} words); {a.epochs} epochs, {a.threads} threads"
          f"{', each run under chrt -f 50' if a.fifo else ''}; {os.cpu_count()} cores, {cpu}\n")
    print("| model | tool | wall s | words/s | vs fastText | vs gensim | peak RSS | analogy | "
          "WS353 rho (known) | WS353 rho (held-out, n-grams) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        peer = {n: x[3] for x in rows if x[0] == r[0] for n in [x[1]]}
        ft, gs = peer.get("fastText"), peer.get("gensim FastText")
        vs = lambda p: f"{r[3] / p:.2f}x" if p else "-"
        q = r[6]
        print(f"| {r[0]} | {r[1]} | {r[2]:.1f} | {r[3] / 1e3:.0f}k | {vs(ft)} | {vs(gs)} | {r[4]:.0f} MiB | "
              f"{r[5] * 100:.2f}% | {q['ws_known']:.3f} ({q['ws_known_pairs']} pairs) | "
              f"{q['ws_oov']:.3f} ({q['ws_oov_pairs']} pairs) |")


if __name__ == "__main__":
    main()
