"""Fixtures shared by the Python tests: the repository's test data, gensim's answers computed in
the same run on the same files, and small generated corpora."""

import os
import random
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / "tests" / "data"


@pytest.fixture(scope="session")
def data() -> Path:
    return DATA


@pytest.fixture(scope="session")
def gensim_kv():
    gensim = pytest.importorskip("gensim")
    return gensim.models.KeyedVectors.load_word2vec_format(str(DATA / "w2vc-sg-d32.bin"), binary=True)


@pytest.fixture(scope="session")
def kv():
    import wordvec

    return wordvec.KeyedVectors.load_word2vec_format(str(DATA / "w2vc-sg-d32.bin"), binary=True)


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> Path:
    """Two topics whose words share contexts only within their topic."""
    rng = random.Random(12345)
    animal = ["cat", "purr", "whiskers", "mouse", "milk", "fur", "paws", "meow"]
    vehicle = ["car", "engine", "wheel", "road", "fuel", "driver", "brake", "garage"]
    lines = []
    for i in range(3000):
        topic = animal if i % 2 == 0 else vehicle
        lines.append(" ".join(rng.choice(topic) for _ in range(12)))
    p = tmp_path_factory.mktemp("corpus") / "corpus.txt"
    p.write_text("\n".join(lines) + "\n")
    return p


@pytest.fixture(scope="session")
def labelled(tmp_path_factory) -> Path:
    """A CSV of short texts whose label is given by a group of words, 5% of labels flipped."""
    rng = random.Random(99)
    groups = {
        "neg": ["bad", "awful", "hate", "terrible", "sad", "poor"],
        "pos": ["good", "great", "love", "excellent", "happy", "nice"],
    }
    filler = ["the", "a", "and", "it", "was", "this", "very", "so"]
    rows = ["text,label"]
    for _ in range(800):
        label = rng.choice(sorted(groups))
        words = [rng.choice(groups[label]) for _ in range(3)] + [rng.choice(filler) for _ in range(4)]
        rng.shuffle(words)
        if rng.random() < 0.05:
            label = "pos" if label == "neg" else "neg"
        rows.append(f"{' '.join(words)},{label}")
    p = tmp_path_factory.mktemp("labelled") / "tweets.csv"
    p.write_text("\n".join(rows) + "\n")
    return p
