"""``wordvec.Word2Vec``: gensim's arguments, streaming, callbacks, loss, online updates,
save/load and pickling, and its refusals."""

import copy
import multiprocessing
import pickle
import random

import numpy as np
import pytest

import wordvec
from wordvec import Word2Vec


@pytest.fixture(scope="module")
def sentences(corpus):
    return [line.split() for line in corpus.read_text().splitlines()]


ANIMAL = {"purr", "whiskers", "mouse", "milk", "fur", "paws", "meow"}


def small(**kw):
    args = dict(vector_size=24, min_count=5, workers=1, sg=1, epochs=3, seed=7)
    args.update(kw)
    return args


def test_an_iterable_trains_as_its_file_does(sentences, corpus):
    streamed = Word2Vec(sentences, **small())
    from_file = Word2Vec(corpus_file=str(corpus), **small())
    assert streamed.wv.index_to_key == from_file.wv.index_to_key
    # One thread, one seed: the same run bit for bit, whichever way the text came.
    np.testing.assert_array_equal(streamed.wv["cat"], from_file.wv["cat"])
    top = {w for w, _ in streamed.wv.most_similar("cat", topn=7)}
    assert len(top & ANIMAL) >= 6, top
    assert streamed.corpus_count == len(sentences)
    assert streamed.corpus_total_words == sum(map(len, sentences))
    assert str(streamed) == "Word2Vec<vocab=16, vector_size=24, alpha=0.025>"


class Restartable:
    """A corpus read from disk on every pass, as gensim's tutorial's ``MyCorpus``."""

    def __init__(self, path):
        self.path = path
        self.passes = 0

    def __iter__(self):
        self.passes += 1
        with open(self.path) as f:
            for line in f:
                yield line.split()


def test_a_restartable_iterable_is_read_once_a_call(corpus):
    it = Restartable(corpus)
    model = Word2Vec(it, **small(epochs=4))
    assert it.passes == 2  # build_vocab and train, however many epochs
    assert len(model.wv) == 16


def test_callbacks_loss_and_trim_rule(sentences):
    events = []

    class Log:
        def on_train_begin(self, model):
            events.append("train_begin")

        def on_epoch_begin(self, model):
            events.append("epoch_begin")

        def on_epoch_end(self, model):
            events.append(("epoch_end", len(model.wv)))

        def on_train_end(self, model):
            events.append("train_end")

    def rule(word, count, min_count):
        return 1 if word == "garage" else (2 if word == "rare" else 0)

    texts = sentences + [["rare"]]
    model = Word2Vec(texts, compute_loss=True, callbacks=[Log()], trim_rule=rule, **small(epochs=2))
    assert events == ["train_begin", "epoch_begin", ("epoch_end", 16), "epoch_begin", ("epoch_end", 16), "train_end"]
    assert "garage" not in model.wv.key_to_index and "rare" in model.wv.key_to_index
    loss = model.get_latest_training_loss()
    assert loss > 0 and np.isfinite(loss)
    assert Word2Vec(sentences, **small(epochs=2)).get_latest_training_loss() == 0.0
    # A later train call reports its own loss (one epoch: less summed loss than two), and none
    # without compute_loss (gensim's train sets it); callbacks are the call's own.
    model.train(sentences, total_examples=len(sentences), epochs=1, compute_loss=True)
    assert 0 < model.get_latest_training_loss() < loss
    model.train(sentences, total_examples=len(sentences), epochs=1)
    assert model.get_latest_training_loss() == 0.0
    assert len(events) == 6


def test_online_update_adds_words_and_keeps_known_ones(sentences, tmp_path):
    model = Word2Vec(sentences, **small())
    before = {w: model.wv[w].copy() for w in model.wv.index_to_key}
    path = tmp_path / "m.model"
    model.save(str(path))
    model = Word2Vec.load(str(path))
    assert model.vector_size == 24 and model.sg == 1 and model.epochs == 3
    np.testing.assert_array_equal(model.wv["cat"], before["cat"])
    rng = random.Random(5)
    animal, vehicle = sorted(ANIMAL) + ["cat", "kitten"], ["car", "engine", "wheel", "road", "fuel", "truck"]
    new = [rng.choices(animal if i % 2 else vehicle, k=10) for i in range(1500)]
    model.build_vocab(new, update=True)
    assert model.wv.index_to_key[:16] == list(before)
    assert sorted(model.wv.index_to_key[16:]) == ["kitten", "truck"]
    model.train(new, total_examples=model.corpus_count, epochs=model.epochs)
    # Words the new text lacks keep their vectors; the others trained on.
    np.testing.assert_array_equal(model.wv["garage"], before["garage"])
    assert not np.array_equal(model.wv["cat"], before["cat"])
    assert model.wv.similarity("kitten", "purr") > model.wv.similarity("kitten", "engine")


def test_pickle_and_deepcopy_by_value(sentences):
    model = Word2Vec(sentences, compute_loss=True, **small())
    for other in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
        assert other.wv.index_to_key == model.wv.index_to_key
        np.testing.assert_array_equal(other.wv["cat"], model.wv["cat"])
        assert other.compute_loss and other.corpus_count == model.corpus_count
        assert other.get_latest_training_loss() == model.get_latest_training_loss() > 0
        other.train(sentences[:100], total_examples=100, epochs=1)
        assert not np.array_equal(other.wv["cat"], model.wv["cat"])
    # A model without a vocabulary pickles too, and still has none.
    with pytest.raises(AttributeError, match="no vocabulary"):
        pickle.loads(pickle.dumps(Word2Vec(vector_size=8))).wv


def _vocab_size(model):
    return len(model.wv)


def test_a_model_crosses_a_spawned_process(sentences):
    model = Word2Vec(sentences, **small())
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        assert pool.apply(_vocab_size, (model,)) == len(model.wv)


def test_gensims_refusals_and_checks(sentences, tmp_path):
    with pytest.raises(NotImplementedError, match="hierarchical softmax"):
        Word2Vec(sentences, hs=1, negative=0)
    with pytest.raises(NotImplementedError, match="null_word"):
        Word2Vec(sentences, null_word=1)
    with pytest.raises(TypeError, match="generator"):
        Word2Vec((s for s in sentences), **small())
    with pytest.raises(TypeError, match="not a str"):
        Word2Vec(["a sentence as one string"], **small(min_count=1))
    with pytest.raises(TypeError, match="list of str"):
        Word2Vec([[1, 2, 3]], **small(min_count=1))
    with pytest.raises(TypeError, match="Both corpus_file and corpus_iterable"):
        Word2Vec(sentences, corpus_file="x.txt")
    with pytest.raises(ValueError, match="min-count|passes|kept"):
        Word2Vec([["a", "b"]], **small(min_count=5))
    empty = Word2Vec(**small())
    with pytest.raises(RuntimeError, match="online vocabulary-update"):
        empty.build_vocab(sentences, update=True)
    with pytest.raises(RuntimeError, match="build vocabulary"):
        empty.train(sentences, total_examples=1, epochs=1)
    model = Word2Vec(sentences, **small())
    with pytest.raises(ValueError, match="epochs"):
        model.train(sentences, total_examples=1)
    with pytest.raises(ValueError, match="total_examples or total_words"):
        model.train(sentences, epochs=1)
    bad = tmp_path / "vectors.txt"
    model.wv.save_word2vec_format(str(bad))
    with pytest.raises(ValueError, match="not a wordvec training checkpoint"):
        Word2Vec.load(str(bad))
    with pytest.raises(ValueError, match="vector_size|dim"):
        Word2Vec(vector_size=0)


def test_max_final_vocab_raises_min_count(sentences):
    model = Word2Vec(sentences, max_final_vocab=4, **small(min_count=1))
    assert len(model.wv) <= 4


def test_a_failing_corpus_or_callback_leaves_the_model_whole(sentences):
    model = Word2Vec(sentences, **small())
    before = model.wv["cat"].copy()

    def broken():
        yield from sentences[:500]
        raise OSError("the disk went away")

    with pytest.raises(OSError, match="the disk went away"):
        model.train(broken(), total_examples=len(sentences), epochs=1)
    np.testing.assert_array_equal(model.wv["cat"], before)
    with pytest.raises(TypeError, match="list of str"):
        model.train(sentences[:10] + [[1, 2]], total_examples=11, epochs=1)

    class Boom:
        def on_epoch_end(self, model):
            raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        model.train(sentences, total_examples=len(sentences), epochs=1, callbacks=[Boom()])
    # The run finished and the model trains on.
    assert not np.array_equal(model.wv["cat"], before)
    model.train(sentences, total_examples=len(sentences), epochs=1)
