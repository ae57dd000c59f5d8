#!/usr/bin/env python3
"""Training speed and quality: wordvec beside the word2vec C tool and gensim, same data, same run.

Trains skip-gram and CBOW with the same hyperparameters for every tool (dim 100, window 5,
negative 5, sample 1e-4, min-count 5, epochs 5 (--epochs), threads 2; each tool's default learning rate:
0.025 skip-gram, 0.05 CBOW for the C tool and wordvec, 0.025 for gensim), then evaluates every
output with `wordvec eval` (analogies on questions-words.txt with restrict_vocab 30000, and
wordsim353 Spearman). words/s = corpus words x epochs / wall time of the whole run (vocabulary
pass included, as each tool reports it end to end). Also checks that gensim loads wordvec's
output.

Corpus: benches/make-corpus.sh OUT_DIR  (OUT_DIR/corpus.txt, questions-words.txt,
wordsim353.tsv). Peers: pip install word2vec gensim  (the first builds Mikolov's C tool).

Usage: python3 benches/compare_train.py CORPUS_DIR [--threads 2] [--epochs 5] [--only wordvec,gensim]
                                           [--models skip-gram,CBOW]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORDVEC = os.path.join(ROOT, "target", "release", "wordvec")
COMMON = dict(dim=100, window=5, negative=5, sample="1e-4", min_count=5, epochs=5)

GENSIM = r"""
import sys, logging
from gensim.models import Word2Vec
corpus, out, sg, threads, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
m = Word2Vec(corpus_file=corpus, vector_size=100, window=5, negative=5, hs=0, sample=1e-4,
             min_count=5, epochs=epochs, workers=threads, sg=sg)
m.wv.save_word2vec_format(out, binary=True)
"""

CHECK_LOAD = r"""
import sys
from gensim.models import KeyedVectors
kv = KeyedVectors.load_word2vec_format(sys.argv[1], binary=True)
print(len(kv), kv.vector_size, kv.most_similar(kv.index_to_key[50], topn=1)[0][0])
"""


def timed(cmd):
    t = time.time()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.time() - t


def evaluate(vectors, data):
    a = subprocess.run([WORDVEC, "eval", "analogies", vectors, os.path.join(data, "questions-words.txt"),
                        "--restrict-vocab", "30000", "--json"], check=True, capture_output=True)
    p = subprocess.run([WORDVEC, "eval", "pairs", vectors, os.path.join(data, "wordsim353.tsv"), "--json"],
                       check=True, capture_output=True)
    return json.loads(a.stdout)["total_accuracy"], json.loads(p.stdout)["spearman"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--only", default=None, help="run only tools whose name contains one of these (comma-separated)")
    ap.add_argument("--models", default="skip-gram,CBOW", help="which models to train (comma-separated)")
    a = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "wordvec"], cwd=ROOT, check=True)
    corpus = os.path.join(a.data, "corpus.txt")
    words = sum(len(l.split()) for l in open(corpus))
    out = tempfile.mkdtemp(prefix="wordvec-train-")
    t, e = str(a.threads), str(a.epochs)
    c = COMMON
    runs = []
    for model, sg in (("skip-gram", 1), ("CBOW", 0)):
        if model not in a.models.split(","):
            continue
        tools = [
            ("word2vec C", ["word2vec", "-train", corpus, "-output", "{out}", "-binary", "1", "-cbow", str(1 - sg),
                            "-size", "100", "-window", "5", "-negative", "5", "-hs", "0", "-sample", c["sample"],
                            "-min-count", "5", "-iter", e, "-threads", t]),
            ("gensim", [sys.executable, "-c", GENSIM, corpus, "{out}", str(sg), t, e]),
        ]
        wv = [WORDVEC, "train", corpus, "-o", "{out}", "--model", "skipgram" if sg else "cbow", "--dim", "100",
              "--window", "5", "--negative", "5", "--sample", c["sample"], "--min-count", "5", "--epochs", e,
              "--threads", t]
        if sg:
            tools += [("wordvec classic", wv + ["--batched", "false"]), ("wordvec batched", wv + ["--batched", "true"])]
        else:
            tools += [("wordvec", wv)]
        for name, cmd in tools:
            if a.only and not any(o in name for o in a.only.split(",")):
                continue
            path = os.path.join(out, f"{model}-{name}.bin".replace(" ", "_"))
            secs = timed([x.replace("{out}", path) for x in cmd])
            acc, rho = evaluate(path, a.data)
            runs.append((model, name, secs, words * a.epochs / secs, acc, rho, path))
            print(f"  {model:9} {name:16} {secs:7.1f} s  {words * a.epochs / secs / 1e3:7.0f}k words/s  "
                  f"analogy {acc * 100:5.2f}%  wordsim rho {rho:.3f}", file=sys.stderr)

    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print(f"corpus: {corpus} ({words} words); {a.epochs} epochs; {a.threads} threads; machine: {os.cpu_count()} cores, {cpu}\n")
    print("| model | tool | wall s | words/s | vs faster peer | analogy acc. | wordsim353 rho |")
    print("|---|---|---|---|---|---|---|")
    for model in ("skip-gram", "CBOW"):
        rows = [r for r in runs if r[0] == model]
        peers = [r for r in rows if not r[1].startswith("wordvec")]
        best = max((r[3] for r in peers), default=None)
        for r in rows:
            ratio = f"{r[3] / best:.2f}x" if best else "-"
            print(f"| {model} | {r[1]} | {r[2]:.1f} | {r[3] / 1e3:.0f}k | {ratio} | {r[4] * 100:.2f}% | {r[5]:.3f} |")
    mine = [r for r in runs if r[1].startswith("wordvec")]
    if mine:
        chk = subprocess.run([sys.executable, "-c", CHECK_LOAD, mine[0][6]], capture_output=True, text=True)
        print(f"\ngensim loads wordvec's output ({os.path.basename(mine[0][6])}): "
              f"{chk.stdout.strip() if chk.returncode == 0 else 'FAILED: ' + chk.stderr[-300:]}")


if __name__ == "__main__":
    main()
