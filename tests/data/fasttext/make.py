#!/usr/bin/env python3
"""Makes the fastText fixtures: two tiny models trained by the real fastText, and the answers of
fastText and gensim on them (fasttext-expected.json).

Commands (fastText 0.9.2 from PyPI `fasttext-wheel`, gensim 4.4.0, one thread):
    pip install fasttext-wheel gensim
    head -c 400000 corpus.txt > text.txt    # corpus.txt: benches/make-corpus.sh
    python3 tests/data/fasttext/make.py text.txt tests/data/fasttext

- ft-sg.bin: unsupervised skip-gram, dim 16, minn 2, maxn 5, bucket 4000, min_count 3, 15
  epochs, on the text plus a few lines of accented, Cyrillic and emoji words (so the vocabulary
  holds non-ASCII words, whose n-gram hashes show fastText's signed-char quirk);
- ft-sup.bin: supervised, dim 8, minn 2, maxn 4, bucket 2000, 2 labels, 5 epochs, on lines of
  the same text labelled by whether they hold the word "of".
"""
import json
import os
import sys

import fasttext
import numpy as np
from gensim.models.fasttext import load_facebook_vectors

text, out = sys.argv[1], sys.argv[2]
extra = ("café crème brûlée naïve façade über straße привет мир москва "
         "🙂 🚀 日本 東京 a b c ab ")
tmp = os.path.join(out, "train.tmp")
with open(text, encoding="utf-8") as f:
    lines = [l.strip() for l in f.read().split(" the ") if l.strip()]
with open(tmp, "w", encoding="utf-8") as f:
    for l in lines:
        f.write(l + "\n")
    for _ in range(5):
        f.write(extra + "\n")
sg = fasttext.train_unsupervised(tmp, model="skipgram", dim=16, minn=2, maxn=5, bucket=4000,
                                 minCount=3, epoch=15, thread=1, verbose=0)
sg.save_model(os.path.join(out, "ft-sg.bin"))
sup_file = os.path.join(out, "sup.tmp")
with open(sup_file, "w", encoding="utf-8") as f:
    for l in lines[:3000]:
        label = "__label__of" if " of " in f" {l} " else "__label__other"
        f.write(f"{label} {l}\n")
sup = fasttext.train_supervised(sup_file, dim=8, minn=2, maxn=4, bucket=2000, epoch=5,
                                thread=1, verbose=0)
sup.save_model(os.path.join(out, "ft-sup.bin"))
os.remove(tmp)
os.remove(sup_file)

probe = ["the", "dictionary", "café", "привет", "🙂", "a",      # known words
         "dictionaryish", "cafés", "приветик", "🙂🙂", "zzqx",   # out of the vocabulary
         "é", "ß", "x", "東京都", "naïveté", "</s>"]
expected = {"sg": {}, "sup": {}}
for name, model in (("sg", sg), ("sup", sup)):
    words = model.get_words(include_freq=False)
    expected[name]["words"] = len(words)
    expected[name]["first_words"] = words[:20]
    expected[name]["vectors"] = {w: [float(x) for x in model.get_word_vector(w)] for w in probe}
    expected[name]["subwords"] = {w: model.get_subwords(w)[0] for w in probe}
kv = load_facebook_vectors(os.path.join(out, "ft-sg.bin"))
expected["sg"]["most_similar"] = {
    w: [[k, float(s)] for k, s in kv.most_similar(w, topn=5)]
    for w in ["the", "dictionary", "café", "dictionaryish", "cafés", "zzqx"]
}
expected["sg"]["gensim_vectors"] = {w: [float(x) for x in kv[w]] for w in ["dictionaryish", "привет", "the"]}
expected["sg"]["similarity"] = {"dictionary|dictionaryish": float(kv.similarity("dictionary", "dictionaryish"))}
with open(os.path.join(out, "fasttext-expected.json"), "w", encoding="utf-8") as f:
    json.dump(expected, f, ensure_ascii=False, indent=1)
print({k: os.path.getsize(os.path.join(out, k)) for k in ("ft-sg.bin", "ft-sup.bin", "fasttext-expected.json")})
