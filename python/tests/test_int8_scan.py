"""The first exact scan of large vectors starts an int8 copy in memory, which later scans read
first; the answers stay gensim's exact ones, word for word and score for score."""

import time

import numpy as np
import pytest

import wordvec

gensim = pytest.importorskip("gensim")


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """30,000 x 100 clustered vectors (3M floats, past the 8 MiB from which the copy is made),
    as a word2vec .bin read by both libraries."""
    rng = np.random.default_rng(7)
    n, d = 30_000, 100
    centres = rng.normal(size=(300, d)).astype(np.float32)
    rows = centres[rng.integers(0, 300, n)] + 0.4 * rng.normal(size=(n, d)).astype(np.float32)
    rows *= rng.uniform(0.5, 3.0, size=(n, 1)).astype(np.float32)
    g = gensim.models.KeyedVectors(d)
    g.add_vectors([f"w{i}" for i in range(n)], rows)
    path = tmp_path_factory.mktemp("int8") / "big.bin"
    g.save_word2vec_format(str(path), binary=True)
    return (
        gensim.models.KeyedVectors.load_word2vec_format(str(path), binary=True),
        wordvec.KeyedVectors.load_word2vec_format(str(path), binary=True),
    )


def same(ours, theirs):
    assert [w for w, _ in ours] == [w for w, _ in theirs]
    np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], atol=2e-6)


def test_exact_answers_through_the_int8_copy(pair):
    g, kv = pair
    assert not kv._v.int8
    rng = np.random.default_rng(8)
    words = [f"w{i}" for i in rng.integers(0, len(kv), 40)]
    same(kv.most_similar(words[0], topn=10), g.most_similar(words[0], topn=10))
    # Made on a thread of its own: the first answer does not wait for it.
    deadline = time.monotonic() + 60
    while not kv._v.int8 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert kv._v.int8, "the first exact scan made the int8 copy"
    for i, w in enumerate(words):
        topn = [1, 10, 100][i % 3]
        same(kv.most_similar(w, topn=topn), g.most_similar(w, topn=topn))
        same(
            kv.most_similar(positive=[w, words[i - 1]], negative=[words[i - 2]], topn=topn),
            g.most_similar(positive=[w, words[i - 1]], negative=[words[i - 2]], topn=topn),
        )
        same(kv.most_similar(w, topn=10, restrict_vocab=5000), g.most_similar(w, topn=10, restrict_vocab=5000))
        v = rng.normal(size=kv.vector_size).astype(np.float32)
        same(kv.similar_by_vector(v, topn=topn), g.similar_by_vector(v, topn=topn))


def test_small_vectors_and_written_vectors_get_no_copy(kv):
    small = kv.__class__(kv.vector_size)
    small.add_vectors(["a", "b", "c"], np.eye(3, kv.vector_size, dtype=np.float32))
    small.most_similar("a")
    kv.most_similar(kv.index_to_key[0])
    time.sleep(0.2)
    assert not small._v.int8
    assert not kv._v.int8


def test_get_index_answers_the_same_before_and_after_it_makes_key_to_index(tmp_path):
    """get_index answers from the vocabulary, then (after as many calls as there are words) from
    gensim's key_to_index dict, which a write drops; every answer is gensim's."""
    words = [f"w{i}" for i in range(3000)]
    g = gensim.models.KeyedVectors(8)
    g.add_vectors(words, np.random.default_rng(1).normal(size=(3000, 8)).astype(np.float32))
    path = tmp_path / "v.bin"
    g.save_word2vec_format(str(path), binary=True)
    kv = wordvec.KeyedVectors.load_word2vec_format(str(path), binary=True)

    def check():
        for w in words[::7] + ["nope", 5, np.int64(9), -1, len(kv), "w1"]:
            for args in [(w,), (w, -1), (w, None)]:
                try:
                    want = g.get_index(*args)
                except KeyError as e:
                    with pytest.raises(KeyError) as got:
                        kv.get_index(*args)
                    assert str(got.value) == str(e)
                    continue
                assert kv.get_index(*args) == want, args
        assert kv.get_index(words[3], default=-1) == 3
        with pytest.raises(TypeError):
            kv.get_index()
        with pytest.raises(TypeError):
            kv.get_index("w1", -1, 3)

    check()
    assert kv._key_to_index is None, "a few calls make no dict"
    for _ in range(2):
        for w in words:
            assert kv.get_index(w) == g.get_index(w)
    assert kv._key_to_index is not None, "as many calls as words made the dict"
    check()
    # The dict is gensim's: a word taken from index_to_key is one of its keys.
    assert kv.key_to_index is kv._key_to_index and kv.key_to_index[kv.index_to_key[17]] == 17
    # A write drops it; the new word is found either way.
    kv.add_vectors(["new"], np.ones((1, 8), np.float32))
    g.add_vectors(["new"], np.ones((1, 8), np.float32))
    assert kv.get_index("new") == g.get_index("new") == 3000
    check()
    # Subclasses get the method too, and one that defines its own keeps it.
    class Mine(wordvec.KeyedVectors):
        def get_index(self, key, default=None):
            return "mine"

    assert "get_index" in wordvec.KeyedVectors.__dict__
    assert "get_index" in wordvec.FastTextKeyedVectors.__dict__
    assert Mine(8).get_index("x") == "mine"


def test_get_index_keys_as_gensim_takes_them(tmp_path):
    """Keys gensim's dict look-up answers or refuses: row numbers come back as given, an
    unhashable key is a TypeError, a str no UTF-8 file holds is simply absent."""
    words = [f"w{i}" for i in range(50)]
    g = gensim.models.KeyedVectors(4)
    g.add_vectors(words, np.random.default_rng(2).normal(size=(50, 4)).astype(np.float32))
    path = tmp_path / "v.bin"
    g.save_word2vec_format(str(path), binary=True)
    g = gensim.models.KeyedVectors.load_word2vec_format(str(path), binary=True)
    kv = wordvec.KeyedVectors.load_word2vec_format(str(path), binary=True)
    for key in [np.int64(3), True, 7]:
        ours, theirs = kv.get_index(key), g.get_index(key)
        assert ours == theirs and type(ours) is type(theirs)
    for key in [[1], {"a": 1}]:
        with pytest.raises(TypeError):
            g.get_index(key, 5)
        with pytest.raises(TypeError):
            kv.get_index(key, 5)
    lone = "\ud800"
    assert kv.get_index(lone, 1) == g.get_index(lone, 1) == 1
    assert (lone in kv) is (lone in g) is False
    with pytest.raises(KeyError):
        kv[lone]
    same(kv.most_similar("w1", restrict_vocab=0), g.most_similar("w1", restrict_vocab=0))  # 0: no restriction


def test_a_subclass_keeps_an_ancestors_own_get_index():
    class B(wordvec.KeyedVectors):
        def get_index(self, key, default=None):
            return ("B", super().get_index(key, default))

    class C(B):
        pass

    class D(wordvec.KeyedVectors):
        pass

    for cls, want in [(B, ("B", 0)), (C, ("B", 0)), (D, 0)]:
        kv = cls(4)
        kv.add_vectors(["a"], np.ones((1, 4), np.float32))
        assert kv.get_index("a") == want, cls


def test_get_index_argument_errors_are_gensims(kv, gensim_kv):
    """Wrong arguments are refused with gensim's TypeError messages (the method's own name)."""
    w = kv.index_to_key[3]
    calls = [
        lambda k: k.get_index(),
        lambda k: k.get_index(w, -1, 3),
        lambda k: k.get_index(w, nope=1),
        lambda k: k.get_index(w, key=w),
        lambda k: k.get_index(w, 5, default=5),
        lambda k: k.get_index(default=5),
    ]
    for call in calls:
        with pytest.raises(TypeError) as theirs:
            call(gensim_kv)
        with pytest.raises(TypeError) as ours:
            call(kv)
        assert str(ours.value) == str(theirs.value)
    assert kv.get_index(key=w) == gensim_kv.get_index(key=w) == 3
    assert kv.get_index(key="nope", default=-1) == gensim_kv.get_index(key="nope", default=-1) == -1
