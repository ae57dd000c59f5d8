#!/usr/bin/env python3
"""`Word2Vec` from Python: wordvec beside gensim 4, same corpus, same settings, same run.

Four ways to train, each in a fresh Python process, gensim's and wordvec's taking turns:

- `Word2Vec(sentences=...)`: the corpus as a list of token lists in memory (each line of the
  file a sentence, tokens interned, as a loaded corpus would be; loading is not timed).
- `Word2Vec(corpus_file=...)`: the same text from the file.
- online training: `Word2Vec(sentences=first half)`, then `build_vocab(second half,
  update=True)` and `train(second half, ...)`; only the update (both calls) is timed.

Settings: gensim's defaults (CBOW, vector_size 100, window 5, negative 5, sample 1e-3,
min_count 5, alpha 0.025, epochs 5) unless flags say otherwise, `workers` = --threads, seed 1.
Time: wall seconds of the constructor call (vocabulary pass and training); words/s = corpus
words x epochs / that time. Quality: analogy accuracy (`evaluate_word_analogies` on
questions-words.txt beside the corpus, restrict_vocab 30000, gensim's evaluation for both).

The machine is shared: run it as root under `chrt -f 50` (SCHED_FIFO), so that nothing else
takes the cores of a timed run.

Usage: chrt -f 50 python benches/compare_word2vec_py.py CORPUS_DIR [--threads 2] [--sg 0]
         [--runs 1] [--words N]
"""
import argparse
import json
import os
import subprocess
import sys

RUN = r"""
import json, sys, time
lib, mode, corpus, questions, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], json.loads(sys.argv[5])
if lib == "gensim":
    from gensim.models import Word2Vec, KeyedVectors
else:
    from wordvec import Word2Vec, KeyedVectors
limit = args.pop("words")

def read(path):
    cache, out, n = {}, [], 0
    with open(path, encoding="utf8") as f:
        for line in f:
            toks = [cache.setdefault(t, t) for t in line.split()]
            if limit and n + len(toks) > limit:
                toks = toks[: limit - n]
            if toks:
                out.append(toks)
                n += len(toks)
            if limit and n >= limit:
                break
    return out, n

sentences, words = read(corpus)
if mode == "file" and limit:
    import tempfile
    tmp = tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False)
    tmp.write("\n".join(" ".join(s) for s in sentences) + "\n")
    tmp.close()
    corpus = tmp.name
result = {"words": words}
if mode == "update":
    half = len(sentences) // 2
    first, second = sentences[:half], sentences[half:]
    model = Word2Vec(sentences=first, **args)
    n_before = len(model.wv)
    t = time.time()
    model.build_vocab(second, update=True)
    model.train(second, total_examples=model.corpus_count, epochs=model.epochs)
    result["seconds"] = time.time() - t
    result["update_words"] = sum(map(len, second))
    result["added"] = len(model.wv) - n_before
else:
    t = time.time()
    if mode == "sentences":
        model = Word2Vec(sentences=sentences, **args)
    else:
        del sentences
        model = Word2Vec(corpus_file=corpus, **args)
    result["seconds"] = time.time() - t
result["vocab"] = len(model.wv)
path = "/tmp/compare_word2vec_py_%d.bin" % __import__("os").getpid()
model.wv.save_word2vec_format(path, binary=True)
import gensim.models
kv = gensim.models.KeyedVectors.load_word2vec_format(path, binary=True)
result["analogies"] = kv.evaluate_word_analogies(questions, restrict_vocab=30000)[0]
__import__("os").remove(path)
print(json.dumps(result))
"""


def run(lib, mode, corpus_dir, args):
    out = subprocess.run(
        [sys.executable, "-c", RUN, lib, mode, os.path.join(corpus_dir, "corpus.txt"),
         os.path.join(corpus_dir, "questions-words.txt"), json.dumps(args)],
        check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus_dir")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--sg", type=int, default=0)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--words", type=int, default=0, help="use only the first N words (0: all)")
    ap.add_argument("--modes", default="sentences,file,update")
    a = ap.parse_args()
    args = dict(vector_size=100, window=5, negative=5, sample=1e-3, min_count=5, epochs=5,
                workers=a.threads, sg=a.sg, seed=1, words=a.words)
    print(f"| mode | library | seconds | words/s | analogies | vocabulary |")
    print(f"|---|---|---|---|---|---|")
    for mode in a.modes.split(","):
        for _ in range(a.runs):
            for lib in ("gensim", "wordvec"):
                r = run(lib, mode, a.corpus_dir, dict(args))
                words = r.get("update_words", r["words"]) * args["epochs"]
                extra = f" (+{r['added']} new)" if "added" in r else ""
                print(f"| {mode} | {lib} | {r['seconds']:.2f} | {words / r['seconds']:,.0f} | "
                      f"{r['analogies']:.4f} | {r['vocab']:,}{extra} |", flush=True)


if __name__ == "__main__":
    main()
