#!/usr/bin/env python3
"""wordvec's classifier against its peers on one labelled set, same split, same machine, same run.

Peers: TF-IDF + logistic regression (scikit-learn), fastText supervised (fasttext-wheel), and
the lecture's PyTorch model (Embedding -> mean over the padded batch -> Linear/ReLU/Dropout ->
Linear, Adam), plus the same model with a correct mean (nn.EmbeddingBag). wordvec and both
PyTorch models train the same architecture with the same settings (vocabulary, word n-grams,
initial embedding std, optimiser, batches, epochs).

Usage:
  python3 benches/make_classify_data.py wordnet-nouns.csv
  cargo build --release --bench classify_predict
  python3 benches/compare_classify.py wordnet-nouns.csv [--hidden 10 --dropout 0.5 --lr 1e-3
      --epochs 15 --min-count 10 --dim 100 --threads 2]
Needs: pip install scikit-learn fasttext-wheel torch
"""
import argparse
import csv
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOKEN = re.compile(r"\w+(?:['’.]\w+)*")


def tokens(text):
    return TOKEN.findall(text.lower())


def read(path):
    with open(path, newline="", encoding="utf-8") as f:
        r = csv.DictReader(f)
        return [(row["text"], row["label"]) for row in r]


def write(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        w.writerows(rows)


def macro_f1(y, p, k):
    f1s = []
    for c in range(k):
        tp = np.sum((p == c) & (y == c))
        fp = np.sum((p == c) & (y != c))
        fn = np.sum((p != c) & (y == c))
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1s.append(2 * prec * rec / (prec + rec) if prec + rec else 0.0)
    return float(np.mean(f1s))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--dim", type=int, default=100)
    ap.add_argument("--hidden", default="10")
    ap.add_argument("--dropout", type=float, default=0.5)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--min-count", type=int, default=10)
    ap.add_argument("--word-ngrams", type=int, default=1)
    ap.add_argument("--init-std", type=float, default=0.1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--patience", type=int, default=0)
    ap.add_argument("--predict-texts", type=int, default=200_000)
    ap.add_argument("--skip", default="", help="comma-separated peers to skip")
    a = ap.parse_args()
    skip = set(a.skip.split(","))
    hidden = [int(h) for h in a.hidden.split(",")] if a.hidden not in ("", "none") else []

    rows = read(a.data)
    rng = np.random.default_rng(a.seed)
    perm = rng.permutation(len(rows))
    n_train, n_valid = round(0.8 * len(rows)), round(0.1 * len(rows))
    train = [rows[i] for i in perm[:n_train]]
    valid = [rows[i] for i in perm[n_train:n_train + n_valid]]
    test = [rows[i] for i in perm[n_train + n_valid:]]
    labels = sorted({l for _, l in rows})
    lid = {l: i for i, l in enumerate(labels)}
    y_test = np.array([lid[l] for _, l in test])
    k = len(labels)
    tmp = tempfile.mkdtemp(prefix="wordvec-cls-")
    for name, part in (("train", train), ("valid", valid), ("test", test)):
        write(os.path.join(tmp, f"{name}.csv"), part)
    # Texts for throughput: the test texts repeated.
    bench_texts = [t for t, _ in test] * (a.predict_texts // len(test) + 1)
    bench_texts = bench_texts[:a.predict_texts]
    bench_file = os.path.join(tmp, "predict.txt")
    with open(bench_file, "w", encoding="utf-8") as f:
        f.writelines(t.replace("\n", " ") + "\n" for t in bench_texts)
    print(f"data: {a.data}: {len(rows)} texts, {k} labels; split 80/10/10 with seed {a.seed}: "
          f"{len(train)}/{len(valid)}/{len(test)}; {a.threads} threads")
    print(f"model: dim {a.dim}, hidden {hidden or 'none'}, dropout {a.dropout}, Adam lr {a.lr}, "
          f"batch {a.batch_size}, {a.epochs} epochs, min count {a.min_count}")
    results = []

    # wordvec
    exe = os.path.join(ROOT, "target", "release", "wordvec")
    model = os.path.join(tmp, "m.wvcls")
    cmd = [exe, "classify", "train", os.path.join(tmp, "train.csv"),
           "--valid-data", os.path.join(tmp, "valid.csv"),
           "--test-data", os.path.join(tmp, "test.csv"), "-o", model, "--json",
           "--dim", str(a.dim), "--hidden", a.hidden, "--dropout", str(a.dropout),
           "--lr", str(a.lr), "--epochs", str(a.epochs), "--batch-size", str(a.batch_size),
           "--min-count", str(a.min_count), "--seed", str(a.seed),
           "--word-ngrams", str(a.word_ngrams), "--init-std", str(a.init_std)]
    if a.patience:
        cmd += ["--patience", str(a.patience)]
    env = dict(os.environ, RAYON_NUM_THREADS=str(a.threads))
    t0 = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    wall = time.perf_counter() - t0
    rep = json.loads(out)
    bench = os.path.join(ROOT, "target", "release", "classify_predict")
    if not os.path.exists(bench):
        found = [os.path.join(ROOT, "target", "release", "deps", f)
                 for f in os.listdir(os.path.join(ROOT, "target", "release", "deps"))
                 if f.startswith("classify_predict-") and "." not in f]
        bench = max(found, key=os.path.getmtime)
    pout = subprocess.run([bench, model, bench_file], check=True, capture_output=True,
                          text=True, env=env).stdout
    pj = json.loads(pout.strip().splitlines()[-1])
    epochs_s = sum(h["seconds"] for h in rep["history"])
    results.append(("wordvec", rep["test"]["accuracy"], rep["test"]["macro_f1"], wall,
                    pj["texts_per_s"], f"best epoch {rep['best_epoch']}; epoch loop "
                    f"{epochs_s:.2f} s (validation passes included); predict: "
                    f"{pj['single_call_texts_per_s']:.0f}/s in one call, "
                    f"{pj['texts_per_s']:.0f}/s in batches of 256 on {a.threads} threads"))
    print(f"wordvec: {wall:.2f} s", file=sys.stderr)

    # TF-IDF + logistic regression
    if "sklearn" not in skip:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        t0 = time.perf_counter()
        vec = TfidfVectorizer()
        x = vec.fit_transform([t for t, _ in train])
        clf = LogisticRegression(max_iter=1000)
        clf.fit(x, [lid[l] for _, l in train])
        fit = time.perf_counter() - t0
        p = clf.predict(vec.transform([t for t, _ in test]))
        t0 = time.perf_counter()
        clf.predict(vec.transform(bench_texts))
        tps = len(bench_texts) / (time.perf_counter() - t0)
        results.append(("TF-IDF + LR (sklearn)", float(np.mean(p == y_test)),
                        macro_f1(y_test, p, k), fit, tps, "TfidfVectorizer(), LogisticRegression(max_iter=1000)"))
        print("sklearn done", file=sys.stderr)

    # fastText
    if "fasttext" not in skip:
        import fasttext
        ft_train = os.path.join(tmp, "train.ft")
        with open(ft_train, "w", encoding="utf-8") as f:
            for t, l in train:
                f.write(f"__label__{l} {' '.join(tokens(t))}\n")
        for name, kw in (("fastText (defaults)", {}),
                         ("fastText (25 epochs, lr 0.5, bigrams)",
                          {"epoch": 25, "lr": 0.5, "wordNgrams": 2})):
            t0 = time.perf_counter()
            ft = fasttext.train_supervised(ft_train, dim=a.dim, thread=a.threads, verbose=0,
                                           seed=a.seed, **kw)
            fit = time.perf_counter() - t0
            test_tok = [" ".join(tokens(t)) for t, _ in test]
            pl, _ = ft.predict(test_tok)
            p = np.array([lid[x[0][len("__label__"):]] for x in pl])
            bench_tok = [" ".join(tokens(t)) for t in bench_texts]
            t0 = time.perf_counter()
            ft.predict(bench_tok)
            tps = len(bench_texts) / (time.perf_counter() - t0)
            results.append((name, float(np.mean(p == y_test)), macro_f1(y_test, p, k), fit, tps,
                            "predict on pre-tokenised texts, 1 thread"))
        print("fasttext done", file=sys.stderr)

    # PyTorch
    if "torch" not in skip:
        import torch
        from torch import nn
        torch.set_num_threads(a.threads)
        torch.manual_seed(a.seed)
        def grams(toks):
            out = list(toks)
            for n in range(2, a.word_ngrams + 1):
                out += [" ".join(toks[i:i + n]) for i in range(len(toks) - n + 1)]
            return out

        counts = {}
        for t, _ in train:
            for w in grams(tokens(t)):
                counts[w] = counts.get(w, 0) + 1
        vocab = {"<pad>": 0, "<unk>": 1}
        for w, c in sorted(counts.items(), key=lambda x: (-x[1], x[0])):
            if c >= a.min_count:
                vocab[w] = len(vocab)

        def enc(text):
            toks = tokens(text)
            ids = [vocab.get(w, 1) for w in toks]
            ids += [vocab[g] for g in grams(toks)[len(toks):] if g in vocab]
            return ids or [1]

        class Net(nn.Module):
            def __init__(self, bag):
                super().__init__()
                self.bag = bag
                self.emb = (nn.EmbeddingBag(len(vocab), a.dim, mode="mean") if bag
                            else nn.Embedding(len(vocab), a.dim))
                nn.init.normal_(self.emb.weight, std=a.init_std)
                layers, prev = [], a.dim
                for h in hidden:
                    layers += [nn.Linear(prev, h), nn.ReLU(), nn.Dropout(a.dropout)]
                    prev = h
                layers.append(nn.Linear(prev, k))
                self.mlp = nn.Sequential(*layers)

            def forward(self, x, offsets=None):
                if self.bag:
                    return self.mlp(self.emb(x, offsets))
                return self.mlp(self.emb(x).mean(dim=1))

        def batches(encoded, bag):
            out = []
            for i in range(0, len(encoded), a.batch_size):
                b = encoded[i:i + a.batch_size]
                if bag:
                    offs = np.cumsum([0] + [len(x) for x in b[:-1]])
                    out.append((torch.tensor([t for x in b for t in x]), torch.tensor(offs)))
                else:
                    m = max(len(x) for x in b)
                    out.append((torch.tensor([x + [0] * (m - len(x)) for x in b]), None))
            return out

        tr_x = [enc(t) for t, _ in train]
        tr_y = np.array([lid[l] for _, l in train])
        te_x = [enc(t) for t, _ in test]
        for name, bag in (("PyTorch, the lecture's model (padded mean)", False),
                          ("PyTorch, EmbeddingBag mean", True)):
            net = Net(bag)
            opt = torch.optim.Adam(net.parameters(), lr=a.lr)
            lossf = nn.CrossEntropyLoss()
            t0 = time.perf_counter()
            g = np.random.default_rng(a.seed)
            for _ in range(a.epochs):
                net.train()
                order = g.permutation(len(tr_x))
                xs = [tr_x[i] for i in order]
                ys = torch.tensor(tr_y[order])
                for bi, (x, offs) in enumerate(batches(xs, bag)):
                    yb = ys[bi * a.batch_size:(bi + 1) * a.batch_size]
                    opt.zero_grad()
                    loss = lossf(net(x, offs), yb)
                    loss.backward()
                    opt.step()
            fit = time.perf_counter() - t0
            net.eval()
            with torch.no_grad():
                p = torch.cat([net(x, o).argmax(1) for x, o in batches(te_x, bag)]).numpy()
                bench_b = batches([enc(t) for t in bench_texts], bag)
                t0 = time.perf_counter()
                for x, o in bench_b:
                    torch.softmax(net(x, o), 1)
                tps = len(bench_texts) / (time.perf_counter() - t0)
            results.append((name, float(np.mean(p == y_test)), macro_f1(y_test, p, k), fit, tps,
                            "train time without tokenising; predict on pre-encoded batches of 256"))
            print(f"{name} done", file=sys.stderr)

    print()
    print("| system | test accuracy | macro-F1 | training (s) | prediction (texts/s) | notes |")
    print("|---|---:|---:|---:|---:|---|")
    for name, acc, f1, fit, tps, note in results:
        print(f"| {name} | {100 * acc:.2f}% | {f1:.4f} | {fit:.2f} | {tps:,.0f} | {note} |")
    torch_fit = [r[3] for r in results if r[0].startswith("PyTorch, the lecture")]
    if torch_fit:
        print(f"\nwordvec trains {torch_fit[0] / results[0][3]:.1f}x faster than the lecture's "
              f"PyTorch model comparing the whole wordvec command with PyTorch's epoch loop, "
              f"{torch_fit[0] / epochs_s:.1f}x comparing epoch loops (wordvec's with a "
              f"validation pass per epoch, PyTorch's without)")
    best = max(results[1:], key=lambda r: r[1]) if len(results) > 1 else None
    if best:
        print(f"accuracy: wordvec {100 * results[0][1]:.2f}% vs best peer {best[0]} "
              f"{100 * best[1]:.2f}% ({100 * (results[0][1] - best[1]):+.2f} points)")


if __name__ == "__main__":
    main()
