"""gensim's documented Word2Vec tutorial code, run against gensim 4.4 and against wordvec.

The code of ``tutorial`` is gensim's own ("Word2Vec Model" tutorial and the ``Word2Vec`` /
``KeyedVectors`` docstrings: train on an iterable, save, load, continue on new sentences with
``build_vocab(update=True)`` + ``train``, query, save and load the vectors, evaluate), with the
module it imports from as the only parameter. Both runs must agree: the same vocabularies (each
generation of an online update the same set of words), analogy accuracy within 1 point, and
every query answer equal when both answer on the same vectors.

The corpus is generated, small enough for CI (about 120,000 words: each library trains it in a
second or two) yet with analogies to learn, which a few thousand words of real text do not
have: each of 3 relations has 24 word pairs (``a_i``, ``b_i``); a pair shares topic words
(``t_i_*``), each side shares role words with the same side of every pair of its relation, and
filler words drawn from a Zipf law surround them. So ``b_i - a_i + a_j`` lands near ``b_j``
only in vectors that learned both the topics and the roles, and accuracy measures training.
The second part of the corpus brings new pairs (the online update's new words) and more
sentences about the known ones.
"""

import pickle
import random
from pathlib import Path

import numpy as np
import pytest

gensim = pytest.importorskip("gensim")
import wordvec  # noqa: E402

RELATIONS = ["gender", "capital", "plural"]


def world(seed: int, pairs: range, sentences_per_word: int):
    """Sentences about the pairs of every relation, and the analogy questions over them."""
    rng = random.Random(seed)
    filler = [f"w{k}" for k in range(400)]
    weights = [1.0 / (k + 1) for k in range(len(filler))]
    sentences = []
    for r in RELATIONS:
        for i in pairs:
            topic = [f"{r}_t{i}_{k}" for k in range(4)]
            for side in "ab":
                role = [f"{r}_{side}role{k}" for k in range(6)]
                for _ in range(sentences_per_word):
                    s = [f"{r}_{side}{i}"]
                    s += rng.sample(topic, 3) + rng.sample(role, 3)
                    s += rng.choices(filler, weights, k=4)
                    rng.shuffle(s)
                    sentences.append(s)
    rng.shuffle(sentences)
    return sentences


def questions(path: Path, pairs: range) -> Path:
    lines = []
    for r in RELATIONS:
        lines.append(f": {r}")
        for i in pairs:
            for j in pairs:
                if i != j:
                    lines.append(f"{r}_a{i} {r}_b{i} {r}_a{j} {r}_b{j}")
    path.write_text("\n".join(lines) + "\n")
    return path


def tutorial(Word2Vec, KeyedVectors, common_texts, more_texts, tmp: Path, questions_file: Path):
    """gensim's tutorial code, verbatim but for the corpus and file names."""
    model = Word2Vec(sentences=common_texts, vector_size=48, window=5, min_count=2, workers=2, sg=1, epochs=5, seed=1)
    model.save(str(tmp / "word2vec.model"))
    model = Word2Vec.load(str(tmp / "word2vec.model"))
    first = list(model.wv.index_to_key)
    model.build_vocab(more_texts, update=True)
    model.train(more_texts, total_examples=model.corpus_count, epochs=model.epochs)
    vector = model.wv["gender_a1"]  # get numpy vector of a word
    sims = model.wv.most_similar("gender_a1", topn=10)  # get other similar words
    word_vectors = model.wv
    word_vectors.save(str(tmp / "word2vec.wordvectors"))
    wv = KeyedVectors.load(str(tmp / "word2vec.wordvectors"), mmap="r")
    score, sections = wv.evaluate_word_analogies(str(questions_file))
    return model, first, vector, sims, wv, score


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("migration")
    common_texts = world(1, range(0, 18), 60)
    more_texts = world(2, range(12, 24), 60)
    q = questions(tmp / "questions.txt", range(0, 24))
    out = {}
    for name, mod in [("gensim", gensim.models), ("wordvec", wordvec)]:
        d = tmp / name
        d.mkdir()
        out[name] = tutorial(mod.Word2Vec, mod.KeyedVectors, common_texts, more_texts, d, q)
    return out


def test_same_vocabularies_generation_by_generation(runs):
    g_model, g_first, *_ = runs["gensim"]
    w_model, w_first, *_ = runs["wordvec"]
    assert len(g_first) > 100
    assert set(w_first) == set(g_first)
    g_all, w_all = list(g_model.wv.index_to_key), list(w_model.wv.index_to_key)
    assert len(w_all) == len(g_all) > len(g_first)
    # Known words keep their places; the new generation follows them.
    assert w_all[: len(w_first)] == w_first
    assert set(w_all[len(w_first):]) == set(g_all[len(g_first):])
    assert {w for w in w_all[len(w_first):]} >= {"gender_a20", "plural_b23"}
    for first in (g_first, w_first):
        assert "gender_a20" not in first


def test_analogy_accuracy_within_one_point(runs):
    g_score, w_score = runs["gensim"][5], runs["wordvec"][5]
    assert g_score > 0.5, f"gensim learned the analogies: {g_score}"
    assert abs(w_score - g_score) <= 0.01, f"gensim {g_score:.4f}, wordvec {w_score:.4f}"


def test_queries_answer_the_same_on_the_same_vectors(runs, tmp_path):
    # gensim's trained vectors, opened by both.
    g_model = runs["gensim"][0]
    path = tmp_path / "g.bin"
    g_model.wv.save_word2vec_format(str(path), binary=True)
    g = gensim.models.KeyedVectors.load_word2vec_format(str(path), binary=True)
    w = wordvec.KeyedVectors.load_word2vec_format(str(path), binary=True)
    assert list(w.index_to_key) == list(g.index_to_key)
    np.testing.assert_allclose(w["gender_a1"], g["gender_a1"], rtol=0, atol=0)
    for a, b in [(w.most_similar("gender_a1", topn=10), g.most_similar("gender_a1", topn=10)),
                 (w.most_similar(positive=["gender_b1", "gender_a2"], negative=["gender_a1"], topn=5),
                  g.most_similar(positive=["gender_b1", "gender_a2"], negative=["gender_a1"], topn=5)),
                 (w.most_similar_cosmul(positive=["capital_b3", "capital_a4"], negative=["capital_a3"], topn=5),
                  g.most_similar_cosmul(positive=["capital_b3", "capital_a4"], negative=["capital_a3"], topn=5))]:
        assert [k for k, _ in a] == [k for k, _ in b]
        np.testing.assert_allclose([s for _, s in a], [s for _, s in b], atol=1e-5)
    assert abs(w.similarity("plural_a5", "plural_b5") - g.similarity("plural_a5", "plural_b5")) < 1e-5
    odd = ["gender_a1", "gender_a2", "gender_a3", "capital_b7"]
    assert w.doesnt_match(odd) == g.doesnt_match(odd)


def test_the_wordvec_model_trains_on_after_load_and_pickle(runs, tmp_path):
    model = runs["wordvec"][0]
    # A pickle is a copy by value: same vocabulary and vectors, and it trains on.
    copy = pickle.loads(pickle.dumps(model))
    assert list(copy.wv.index_to_key) == list(model.wv.index_to_key)
    np.testing.assert_array_equal(copy.wv["gender_a1"], model.wv["gender_a1"])
    texts = world(3, range(0, 4), 5)
    copy.train(texts, total_examples=len(texts), epochs=1)
    assert not np.array_equal(copy.wv["gender_a1"], model.wv["gender_a1"])
