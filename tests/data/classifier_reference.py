#!/usr/bin/env python3
"""Reference forward pass and loss of wordvec's embedding-MLP, in numpy (float64).

Made the golden file with (numpy 2.x):
    python3 tests/data/classifier_reference.py > tests/data/classifier_reference.json

The model: mean of the embedding rows of each text's ids (real tokens only) -> hidden layers
(W x + b, activation) -> output logits. Losses follow PyTorch: CrossEntropyLoss(weight=w) with
mean reduction (sum of w[y] ce / sum of w[y]); one sigmoid output: BCE-with-logits weighted per
text by w[y] the same way; per-label sigmoids: BCEWithLogitsLoss(pos_weight=w), mean over texts
and labels. tests/classify_parity.rs checks wordvec against every case to 1e-5.
"""
import json
import math

import numpy as np

ACT = {
    "relu": lambda x: np.maximum(x, 0),
    "leaky-relu": lambda x: np.where(x > 0, x, 0.01 * x),
    "gelu": lambda x: 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2))),
    "tanh": np.tanh,
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
}


def softplus(x):
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def main():
    rng = np.random.default_rng(20261127)
    vocab, dim, hidden = 9, 5, [4, 3]
    texts = [[2, 3, 3], [4], [1, 5, 2, 8, 7], [6, 6], [8, 2, 4, 5]]
    cases = []
    for activation in ACT:
        for output, labels, targets, weights in (
            ("softmax", 3, [[1], [0], [2], [2], [0]], [0.2, 0.8, 1.5]),
            ("sigmoid", 2, [[1], [0], [1], [1], [0]], [0.7, 1.9]),
            ("sigmoid", 3, [[0, 2], [], [1], [0, 1, 2], [2]], [1.0, 2.5, 0.4]),
        ):
            outputs = 1 if (output == "sigmoid" and labels == 2) else labels
            emb = rng.normal(0, 1, (vocab, dim))
            emb[0] = 0
            layers, prev = [], dim
            for h in hidden + [outputs]:
                layers.append((rng.uniform(-0.8, 0.8, (h, prev)), rng.uniform(-0.3, 0.3, h)))
                prev = h
            x = np.stack([emb[t].mean(axis=0) for t in texts])
            h = x
            for w, b in layers[:-1]:
                h = ACT[activation](h @ w.T + b)
            w, b = layers[-1]
            z = h @ w.T + b
            wt = np.array(weights)
            if output == "softmax":
                m = z.max(axis=1, keepdims=True)
                lse = (m + np.log(np.exp(z - m).sum(axis=1, keepdims=True)))[:, 0]
                y = np.array([t[0] for t in targets])
                ce = lse - z[np.arange(len(y)), y]
                loss = float((wt[y] * ce).sum() / wt[y].sum())
                probs = np.exp(z - lse[:, None])
            elif outputs == 1:
                y = np.array([t[0] for t in targets], dtype=float)
                l = softplus(z[:, 0]) - y * z[:, 0]
                wy = wt[y.astype(int)]
                loss = float((wy * l).sum() / wy.sum())
                p1 = 1 / (1 + np.exp(-z[:, 0]))
                probs = np.stack([1 - p1, p1], axis=1)
            else:
                y = np.zeros((len(texts), labels))
                for i, t in enumerate(targets):
                    y[i, t] = 1
                l = wt * y * softplus(-z) + (1 - y) * softplus(z)
                loss = float(l.mean())
                probs = 1 / (1 + np.exp(-z))
            cases.append({
                "activation": activation,
                "output": output,
                "labels": labels,
                "weights": weights,
                "targets": targets,
                "embedding": emb.ravel().tolist(),
                "layers": [{"weight": w.ravel().tolist(), "bias": b.tolist()} for w, b in layers],
                "logits": z.ravel().tolist(),
                "probabilities": probs.ravel().tolist(),
                "loss": loss,
            })
    json.dump({"vocab": vocab, "dim": dim, "hidden": hidden, "texts": texts, "cases": cases},
              __import__("sys").stdout, indent=None)
    print()


if __name__ == "__main__":
    main()
