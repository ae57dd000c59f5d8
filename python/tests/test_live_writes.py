"""Writes (gensim's add_vector, add_vectors, ``kv[key] = vector``, ``KeyedVectors(vector_size)``)
against gensim 4 doing the same operations on the same fixture, in the same run: the same keys in
the same order, the same vectors, and the same answers (scores within 1e-6) over the merged rows;
saved and loaded again; bad input refused with nothing changed."""

import warnings

import numpy as np
import pytest

import wordvec

FIXTURE = "w2vc-sg-d32.bin"
PROBES = ["king", "queen", "water", "dog", "good"]


@pytest.fixture
def pair(data):
    """A fresh wordvec model and a fresh gensim model of the same file (each test writes)."""
    gensim = pytest.importorskip("gensim")
    ours = wordvec.KeyedVectors.load_word2vec_format(str(data / FIXTURE), binary=True)
    theirs = gensim.models.KeyedVectors.load_word2vec_format(str(data / FIXTURE), binary=True)
    return ours, theirs


def random_rows(n, d, seed):
    return np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)


def gensim_quiet(f, *args, **kwargs):
    """gensim warns that add_vector regrows its arrays; that warning is about its storage."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return f(*args, **kwargs)


def same_answers(ours, theirs, tol=1e-6):
    assert [w for w, _ in ours] == [w for w, _ in theirs], (ours, theirs)
    for (_, a), (_, b) in zip(ours, theirs):
        assert abs(a - b) <= tol, (ours, theirs)


def same_model(ours, theirs, keys):
    """Vocabulary, order, vectors and queries over every key written and a few others."""
    assert len(ours) == len(theirs)
    assert ours.index_to_key == theirs.index_to_key
    assert ours.key_to_index == theirs.key_to_index
    np.testing.assert_array_equal(ours.vectors, theirs.vectors)
    np.testing.assert_allclose(ours.get_normed_vectors(), theirs.get_normed_vectors(), atol=1e-6)
    for k in list(keys) + PROBES:
        assert (k in ours) == (k in theirs)
        np.testing.assert_array_equal(ours[k], theirs[k])
        assert ours.get_index(k) == theirs.get_index(k)
        same_answers(ours.most_similar(k, topn=10), theirs.most_similar(k, topn=10))
    same_answers(ours.most_similar(positive=[keys[0], "king"], negative=["man"], topn=5),
                 theirs.most_similar(positive=[keys[0], "king"], negative=["man"], topn=5))
    assert abs(ours.similarity(keys[0], "queen") - theirs.similarity(keys[0], "queen")) < 1e-6


def test_add_vector_appends_a_new_key_and_leaves_an_existing_one(pair):
    ours, theirs = pair
    v = random_rows(2, ours.vector_size, 1)
    n = len(theirs)
    got = ours.add_vector("zzz-new", v[0])
    assert got == gensim_quiet(theirs.add_vector, "zzz-new", v[0]) == n
    assert ours.index_to_key[got] == "zzz-new"
    # An existing key: gensim's add_vectors without replace leaves it, and answers len(self).
    before = theirs["king"].copy()
    got = ours.add_vector("king", v[1])
    assert got == gensim_quiet(theirs.add_vector, "king", v[1]) == n + 1
    np.testing.assert_array_equal(ours["king"], before)
    same_model(ours, theirs, ["zzz-new", "king"])


@pytest.mark.parametrize("replace", [False, True])
def test_add_vectors_new_and_existing_keys(pair, replace):
    ours, theirs = pair
    keys = ["zzz-a", "queen", "zzz-b", "water", "zzz-c"]
    rows = random_rows(len(keys), ours.vector_size, 2)
    # Close to existing words, so that the answers mix base and written rows.
    rows[0] += 3 * theirs["king"]
    rows[1] += 3 * theirs["dog"]
    ours.add_vectors(keys, rows, replace=replace)
    theirs.add_vectors(keys, rows, replace=replace)
    same_model(ours, theirs, keys)
    if replace:
        np.testing.assert_array_equal(ours["queen"], rows[1])
    else:
        assert not np.array_equal(ours["queen"], rows[1])


def test_setitem_single_key_and_lists(pair):
    ours, theirs = pair
    rows = random_rows(4, ours.vector_size, 3)
    for kv in (ours, theirs):
        kv["king"] = rows[0]
        kv["zzz-one"] = rows[1]
        kv[["zzz-two", "water"]] = rows[2:4]
    np.testing.assert_array_equal(ours["king"], rows[0])
    same_model(ours, theirs, ["zzz-one", "zzz-two", "king", "water"])


def test_empty_model_filled_by_add_vectors():
    gensim = pytest.importorskip("gensim")
    d = 16
    keys = [f"k{i}" for i in range(300)]
    rows = random_rows(len(keys), d, 4)
    ours, theirs = wordvec.KeyedVectors(d), gensim.models.KeyedVectors(d)
    assert len(ours) == 0 and ours.vector_size == d
    for kv in (ours, theirs):
        kv.add_vectors(keys[:200], rows[:200])
        kv.add_vectors(keys[150:], rows[150:] * 2, replace=True)
        gensim_quiet(kv.add_vector, "k-last", rows[0] + rows[1])
    assert len(ours) == len(theirs) == 301
    assert ours.index_to_key == theirs.index_to_key
    np.testing.assert_array_equal(ours.vectors, theirs.vectors)
    for k in ["k0", "k151", "k299", "k-last"]:
        same_answers(ours.most_similar(k), theirs.most_similar(k))
    same_answers(ours.similar_by_vector(rows[7], topn=5), theirs.similar_by_vector(rows[7], topn=5))


def test_save_and_load_a_written_model(pair, tmp_path):
    gensim = pytest.importorskip("gensim")
    ours, theirs = pair
    keys = ["zzz-a", "king", "zzz-b"]
    rows = random_rows(3, ours.vector_size, 5)
    ours[keys] = rows
    theirs[keys] = rows
    # The native format, over its own source file's name too (written beside it, renamed in).
    native = tmp_path / "m.wvec"
    ours.save(native)
    again = wordvec.KeyedVectors.load(native)
    again["zzz-c"] = rows[0] * 2
    theirs["zzz-c"] = rows[0] * 2
    again.save(native)
    loaded = wordvec.KeyedVectors.load(native)
    assert loaded.index_to_key == theirs.index_to_key
    np.testing.assert_allclose(loaded.norms, np.linalg.norm(theirs.vectors, axis=1), rtol=1e-6)
    np.testing.assert_allclose(loaded.get_normed_vectors(), theirs.get_normed_vectors(), atol=1e-6)
    for k in keys + ["zzz-c"] + PROBES:
        same_answers(loaded.most_similar(k), theirs.most_similar(k))
    # word2vec binary, read by gensim: the merged rows, raw.
    w2v = tmp_path / "m.bin"
    ours.save_word2vec_format(w2v, binary=True)
    back = gensim.models.KeyedVectors.load_word2vec_format(str(w2v), binary=True)
    theirs_before_c = theirs.index_to_key[:-1]
    assert back.index_to_key == theirs_before_c
    np.testing.assert_array_equal(back.vectors, theirs.vectors[:-1])


def test_bad_writes_change_nothing(pair):
    ours, theirs = pair
    d = ours.vector_size
    n = len(ours)
    # Wrong dimension: a ValueError in gensim too.
    with pytest.raises(ValueError):
        theirs.add_vectors(["zzz-x"], np.ones((1, d + 1), np.float32))
    with pytest.raises(ValueError, match="dimensions"):
        ours.add_vectors(["zzz-x"], np.ones((1, d + 1), np.float32))
    with pytest.raises(ValueError):
        ours.add_vector("zzz-x", np.ones(d - 1, np.float32))
    with pytest.raises(ValueError):
        ours["zzz-x"] = np.ones(d + 3, np.float32)
    # NaN and infinities (gensim stores them; wordvec refuses them, as its queries do).
    bad = np.ones((2, d), np.float32)
    bad[1, 5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ours.add_vectors(["zzz-x", "zzz-y"], bad)
    bad[1, 5] = np.inf
    with pytest.raises(ValueError):
        ours[["zzz-x", "king"]] = bad
    # Keys wordvec cannot hold.
    with pytest.raises(ValueError, match="key"):
        ours.add_vectors(["zzz-x", ""], np.ones((2, d), np.float32))
    with pytest.raises(TypeError):
        ours.add_vector(7, np.ones(d, np.float32))
    assert len(ours) == n and "zzz-x" not in ours and "zzz-y" not in ours
    np.testing.assert_array_equal(ours["king"], theirs["king"])
    assert not ours._v.modified


def test_vectors_zero_copy_until_a_write(tmp_path, pair):
    """The native format stores unit rows: get_normed_vectors() is the mapped rows themselves
    until a write, vectors (the raw ones) a copy."""
    ours, _ = pair
    path = tmp_path / "z.wvec"
    ours.save(path)
    kv = wordvec.KeyedVectors.load(path)
    assert not kv.vectors.base.shares_rows
    np.testing.assert_allclose(kv.vectors, ours.vectors, rtol=0, atol=2e-6)
    before = kv.get_normed_vectors()
    assert before.base.shares_rows
    snapshot = before.copy()
    kv["zzz-new"] = np.ones(kv.vector_size, np.float32)
    after = kv.get_normed_vectors()
    assert not after.base.shares_rows and after.shape[0] == before.shape[0] + 1
    del kv
    # The array made before the write still reads the mapped rows, unchanged.
    np.testing.assert_array_equal(before, snapshot)
    np.testing.assert_array_equal(after[:-1], snapshot)


def test_index_answers_over_the_written_rows(pair):
    ours, _ = pair
    ours.build_index(m=8, ef_construction=64)
    ours["zzz-king"] = ours["king"] * 2
    found = ours.most_similar("king", topn=3, exact=False)
    assert found[0][0] == "zzz-king" and abs(found[0][1] - 1.0) < 1e-6
    assert ours.has_index
    with pytest.raises(ValueError, match="written"):
        ours.build_index(m=8, ef_construction=64)


def test_a_call_past_one_writes_limit_is_written_whole():
    """The library takes at most 100,000 words in one write: a larger call is split, and a bad
    key anywhere in it is refused before any part is written."""
    n, d = 150_001, 4
    keys = [f"w{i}" for i in range(n)]
    rows = random_rows(n, d, 6)
    kv = wordvec.KeyedVectors(d)
    with pytest.raises(ValueError):
        kv.add_vectors(keys + [""], np.vstack([rows, rows[:1]]))
    assert len(kv) == 0
    kv.add_vectors(keys, rows)
    assert len(kv) == n and kv.index_to_key[n - 1] == keys[-1]
    np.testing.assert_array_equal(kv.vectors, rows)
