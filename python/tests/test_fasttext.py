"""``wordvec.FastText`` beside gensim's ``FastText``: gensim's arguments and refusals, the same
vocabulary, words outside it answered from their n-grams, the model written as fastText's
``.bin`` and read back by gensim (and fastText's own module) to the same vectors, save/load,
pickling, and online updates that keep the n-gram rows."""

import copy
import pickle
import random
from collections import Counter

import numpy as np
import pytest

import wordvec

gensim = pytest.importorskip("gensim")
from gensim.models.fasttext import FastText as GensimFastText  # noqa: E402
from gensim.models.fasttext import load_facebook_model as gensim_load_facebook_model  # noqa: E402

# Small enough to train in a moment: 16 dimensions, 2,000 buckets of 2- to 4-grams.
SETTINGS = dict(vector_size=16, min_count=5, workers=1, sg=1, epochs=3, seed=7, min_n=2, max_n=4, bucket=2000)
OOV = ["catz", "unseenword", "purring", "zq", "naïveté"]


@pytest.fixture(scope="module")
def sentences(corpus):
    return [line.split() for line in corpus.read_text().splitlines()]


@pytest.fixture(scope="module")
def model(sentences):
    return wordvec.FastText(sentences, **SETTINGS)


def test_the_vocabulary_and_settings_are_gensims(sentences, model):
    theirs = GensimFastText(sentences, **SETTINGS)
    ours = list(model.wv.index_to_key)
    assert sorted(ours) == sorted(theirs.wv.index_to_key)
    counts = Counter(w for s in sentences for w in s)
    assert [counts[w] for w in ours] == sorted((counts[w] for w in ours), reverse=True)
    assert (model.wv.min_n, model.wv.max_n, model.wv.bucket) == (theirs.wv.min_n, theirs.wv.max_n, theirs.wv.bucket)
    assert isinstance(model.wv, wordvec.FastTextKeyedVectors)
    assert model.corpus_count == theirs.corpus_count and model.corpus_total_words == theirs.corpus_total_words


def test_words_outside_the_vocabulary_have_ngram_vectors(model):
    wv = model.wv
    for w in OOV:
        assert w in wv and w not in wv.key_to_index
        v = wv[w]
        assert v.shape == (16,) and np.all(np.isfinite(v)) and np.linalg.norm(v) > 0
    assert wv.most_similar("catz", topn=3)[0][0] in wv.key_to_index
    assert -1 <= wv.similarity("cat", "catz") <= 1
    # Trained n-grams carry meaning: a misspelt word is nearer its own word than the other topic.
    assert wv.similarity("whiskers", "whiskerz") > wv.similarity("whiskers", "engine")


def test_gensim_and_fasttext_read_the_saved_bin_to_the_same_vectors(model, tmp_path):
    path = tmp_path / "ft.bin"
    wordvec.save_facebook_model(model, path)
    theirs = gensim_load_facebook_model(str(path))
    assert list(theirs.wv.index_to_key) == list(model.wv.index_to_key)
    assert (theirs.wv.min_n, theirs.wv.max_n, theirs.wv.bucket) == (2, 4, 2000)
    words = list(model.wv.index_to_key) + OOV
    for w in words:
        np.testing.assert_allclose(model.wv[w], theirs.wv[w], rtol=0, atol=1e-6, err_msg=w)
    reread = wordvec.load_facebook_vectors(path)
    for w in words:
        np.testing.assert_allclose(reread[w], model.wv[w], rtol=0, atol=1e-6, err_msg=w)
    fasttext = pytest.importorskip("fasttext")
    ft = fasttext.load_model(str(path))
    for w in words:
        np.testing.assert_allclose(ft.get_word_vector(w), model.wv[w], rtol=0, atol=1e-6, err_msg=w)


def test_save_load_and_pickle_keep_the_model(model, tmp_path):
    path = tmp_path / "ft.model"
    model.save(str(path))
    copies = [
        wordvec.FastText.load(str(path)),
        wordvec.Word2Vec.load(str(path)),  # a subword checkpoint is a FastText, as in gensim
        pickle.loads(pickle.dumps(model)),
        copy.deepcopy(model),
    ]
    for back in copies:
        assert type(back) is wordvec.FastText
        assert (back.min_n, back.max_n, back.bucket, back.sg, back.vector_size) == (2, 4, 2000, 1, 16)
        assert list(back.wv.index_to_key) == list(model.wv.index_to_key)
        for w in ["cat", *OOV]:
            np.testing.assert_array_equal(back.wv[w], model.wv[w])
    # The vectors alone pickle with their n-grams.
    wv = pickle.loads(pickle.dumps(model.wv))
    assert isinstance(wv, wordvec.FastTextKeyedVectors)
    np.testing.assert_array_equal(wv["catz"], model.wv["catz"])


def test_an_online_update_adds_words_and_trains_on(sentences, tmp_path):
    model = wordvec.FastText(sentences, **SETTINGS)
    path = tmp_path / "ft.model"
    model.save(str(path))
    model = wordvec.FastText.load(str(path))
    before = list(model.wv.index_to_key)
    kittenz = model.wv["kittenz"].copy()  # n-grams only, before the update
    rng = random.Random(5)
    animal = ["purr", "whiskers", "mouse", "milk", "fur", "paws", "meow", "cat", "kitten"]
    vehicle = ["car", "engine", "wheel", "road", "fuel", "truck"]
    new = [rng.choices(animal if i % 2 else vehicle, k=10) for i in range(1500)]
    model.build_vocab(new, update=True)
    assert model.wv.index_to_key[: len(before)] == before
    assert sorted(model.wv.index_to_key[len(before):]) == ["kitten", "truck"]
    model.train(new, total_examples=model.corpus_count, epochs=model.epochs)
    # The shared n-gram rows trained on: a word outside the vocabulary moved with them.
    assert not np.array_equal(model.wv["kittenz"], kittenz)
    assert model.wv.similarity("kitten", "purr") > model.wv.similarity("kitten", "engine")
    reread = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(reread.wv["kittenz"], model.wv["kittenz"])


def test_settings_that_turn_ngrams_off_train_words_only_as_gensim(sentences):
    for kw in (dict(min_n=5, max_n=3), dict(bucket=0)):
        args = {**SETTINGS, **kw}
        ours, theirs = wordvec.FastText(sentences, **args), GensimFastText(sentences, **args)
        assert ours.wv.bucket == theirs.wv.bucket == 0
        assert ("catz" in ours.wv) == ("catz" in theirs.wv) == False  # noqa: E712
        for m in (ours, theirs):
            with pytest.raises(KeyError):
                m.wv["catz"]
        assert sorted(ours.wv.index_to_key) == sorted(theirs.wv.index_to_key)
        with pytest.raises(ValueError, match="no n-grams"):
            wordvec.save_facebook_model(ours, "unused.bin")


@pytest.mark.parametrize("kw, error", [(dict(word_ngrams=2), NotImplementedError), (dict(bucket=-1), ValueError)])
def test_bad_arguments_raise_gensims_exceptions(sentences, kw, error):
    with pytest.raises(error):
        wordvec.FastText(**kw)  # at once, before any corpus is read
    with pytest.raises(error):
        GensimFastText(sentences[:50], **{**SETTINGS, **kw})


@pytest.mark.parametrize(
    "kw, error, says",
    [
        (dict(hs=1), NotImplementedError, "hierarchical softmax"),
        (dict(min_n=0, max_n=3), NotImplementedError, "min_n=0"),
        (dict(vector_size=0), ValueError, "dim"),
        (dict(negative=0), NotImplementedError, "negative"),
    ],
)
def test_what_wordvec_cannot_train_is_refused_clearly(kw, error, says):
    with pytest.raises(error, match=says):
        wordvec.FastText(**kw)


def test_absurd_ngram_settings_are_refused_before_allocating():
    with pytest.raises(ValueError, match="maxn"):
        wordvec.FastText(min_n=3, max_n=1000)
    with pytest.raises(ValueError, match="buckets"):
        wordvec.FastText(bucket=10**12)


def test_a_saved_facebook_model_reads_back_whole(model, tmp_path):
    path = tmp_path / "ft.bin"
    wordvec.save_facebook_model(model, path)
    loaded = wordvec.load_facebook_model(path)
    assert isinstance(loaded, wordvec.FastText) and isinstance(loaded.wv, wordvec.FastTextKeyedVectors)
    assert (loaded.min_n, loaded.max_n, loaded.bucket, loaded.vector_size) == (2, 4, 2000, 16)
    assert (loaded.sg, loaded.window, loaded.negative, loaded.epochs, loaded.min_count) == (1, 5, 5, 3, 5)
    assert loaded.wv.index_to_key == model.wv.index_to_key
    np.testing.assert_allclose(loaded.wv["catz"], model.wv["catz"], rtol=0, atol=1e-6)
    back = pickle.loads(pickle.dumps(loaded))
    np.testing.assert_array_equal(back.wv["catz"], loaded.wv["catz"])
