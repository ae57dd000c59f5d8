"""README.md's "From gensim: what differs" table, row by row: each row's claim checked against
wordvec and, where the row says what gensim does, gensim 4.4. A row without a check here, or a
check without its row, fails too: the table and this file change together."""

import copy
import json
import pickle
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

import wordvec

gensim = pytest.importorskip("gensim")
from gensim.models import KeyedVectors as GensimKV  # noqa: E402
from gensim.models.fasttext import load_facebook_vectors  # noqa: E402

README = Path(__file__).resolve().parents[2] / "README.md"


def table_rows():
    """The table's rows as {what: (gensim's cell, wordvec's cell)}."""
    text = README.read_text(encoding="utf-8")
    section = text.split("### From gensim: what differs", 1)[1]
    rows = {}
    for line in section.splitlines():
        if line.startswith("#"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0] not in ("what", "---"):
            rows[cells[0]] = (cells[1], cells[2])
    return rows


def native(tmp_path, kv):
    path = tmp_path / "m.wvec"
    kv.save(path)
    return wordvec.KeyedVectors.load(path)


def check_vectors(kv, gensim_kv, tmp_path, data):
    assert gensim_kv.vectors.flags.writeable and not kv.vectors.flags.writeable
    txt = tmp_path / "m.txt"
    kv.save_word2vec_format(txt)
    assert wordvec.KeyedVectors.load_word2vec_format(txt).vectors.base.shares_rows
    assert not kv.vectors.base.shares_rows  # word2vec binary: rows between the words


def check_native(kv, gensim_kv, tmp_path, data):
    nat = native(tmp_path, kv)
    assert nat.get_normed_vectors().base.shares_rows and not nat.vectors.base.shares_rows
    np.testing.assert_allclose(nat.vectors, gensim_kv.vectors, rtol=0, atol=2e-6)


def check_kv_word(kv, gensim_kv, tmp_path, data):
    assert not gensim_kv["king"].flags.writeable and not kv["king"].flags.writeable
    txt = tmp_path / "m.txt"
    kv.save_word2vec_format(txt)
    t = wordvec.KeyedVectors.load_word2vec_format(txt)
    assert np.shares_memory(t["king"], t.vectors)
    assert not np.shares_memory(kv["king"], kv["king"])  # a copy of a .bin row each time


def check_index_to_key(kv, gensim_kv, tmp_path, data):
    assert isinstance(gensim_kv.index_to_key, list)  # made by the load
    k = wordvec.KeyedVectors.load_word2vec_format(data / "w2vc-sg-d32.bin", binary=True)
    k.most_similar("king")
    held = k.index_to_key
    assert not isinstance(held, list)  # not made by the load nor by a query
    assert len(held) == len(gensim_kv.index_to_key) and not isinstance(k.index_to_key, list)
    assert held[3] == gensim_kv.index_to_key[3]  # the first read makes the list ...
    assert isinstance(k.index_to_key, list) and k.index_to_key == gensim_kv.index_to_key  # ... in its place
    assert held == gensim_kv.index_to_key and list(held) == k.index_to_key and k.index_to_key is k.index_to_key
    k.add_vector("zz-new", np.ones(k.vector_size, np.float32))
    assert k.index_to_key[-1] == "zz-new" and len(k.index_to_key) == len(gensim_kv.index_to_key) + 1


def check_key_to_index(kv, gensim_kv, tmp_path, data):
    k = wordvec.KeyedVectors.load_word2vec_format(str(data / "w2vc-sg-d32.bin"), binary=True)
    assert isinstance(gensim_kv.key_to_index, dict)  # made by the load
    assert k._key_to_index is None  # not made by the load ...
    for w in list(k.index_to_key) * 2:  # ... made by as many get_index calls as there are words
        k.get_index(w)
    assert k._key_to_index == gensim_kv.key_to_index
    assert all(a is b for a, b in zip(k.key_to_index, k.index_to_key))  # the list's strings
    fresh = wordvec.KeyedVectors.load_word2vec_format(str(data / "w2vc-sg-d32.bin"), binary=True)
    assert fresh.key_to_index == gensim_kv.key_to_index and fresh.key_to_index is fresh.key_to_index


def check_first_exact_scan(kv, gensim_kv, tmp_path, data):
    n, d = 21_000, 100  # 8.4 MB of float32
    rows = np.random.default_rng(5).normal(size=(n, d)).astype(np.float32)
    g = gensim.models.KeyedVectors(d)
    g.add_vectors([f"w{i}" for i in range(n)], rows)
    path = tmp_path / "big.bin"
    g.save_word2vec_format(str(path), binary=True)
    g = gensim.models.KeyedVectors.load_word2vec_format(str(path), binary=True)
    k = wordvec.KeyedVectors.load_word2vec_format(str(path), binary=True)
    assert g.norms is None and not k._v.int8
    first = k.most_similar("w7")
    assert g.most_similar("w7") and g.norms is not None  # gensim's copy
    deadline = time.monotonic() + 60
    while not k._v.int8 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert k._v.int8  # wordvec's, made on its own thread
    assert k.most_similar("w7") == first == [(w, pytest.approx(s, abs=1e-6)) for w, s in g.most_similar("w7")]


def check_search_with_an_index(kv, gensim_kv, tmp_path, data):
    k = wordvec.KeyedVectors.load_word2vec_format(data / "w2vc-sg-d32.bin", binary=True)
    k.build_index(m=4, ef_construction=8)
    words = k.index_to_key[:30]
    for w in words:
        assert [x for x, _ in k.most_similar(w)] == [x for x, _ in gensim_kv.most_similar(w)]
    indexer = wordvec.HnswIndexer(k, ef=400)
    assert k.most_similar("king", indexer=indexer)[0][0] == "king"
    assert k.most_similar("king", exact=False, ef=400)[0][0] != "king"


def check_save_load(kv, gensim_kv, tmp_path, data):
    gpath = tmp_path / "g.kv"
    gensim_kv.save(str(gpath))
    with pytest.raises(ValueError, match="pickle"):
        wordvec.KeyedVectors.load(gpath)
    kv.save(tmp_path / "w.kv")
    assert (tmp_path / "w.kv").read_bytes()[:8] == b"WORDVECN"


def check_pickling(kv, gensim_kv, tmp_path, data):
    path = tmp_path / "m.bin"
    shutil.copy(data / "w2vc-sg-d32.bin", path)
    k = wordvec.KeyedVectors.load_word2vec_format(path, binary=True)
    assert len(pickle.dumps(k)) < 10_000 < len(pickle.dumps(gensim_kv))
    payload = pickle.dumps(k)
    path.unlink()
    with pytest.raises(FileNotFoundError):
        pickle.loads(payload)


def check_fasttext_eos(kv, gensim_kv, tmp_path, data):
    path = data / "fasttext" / "ft-sg.bin"
    expected = json.loads((data / "fasttext" / "fasttext-expected.json").read_text(encoding="utf-8"))
    fasttext_row = np.array(expected["sg"]["vectors"]["</s>"], dtype=np.float32)
    ours, theirs = wordvec.load_facebook_vectors(path), load_facebook_vectors(str(path))
    np.testing.assert_allclose(ours["</s>"], fasttext_row, rtol=0, atol=1e-6)
    assert np.abs(theirs["</s>"] - fasttext_row).max() > 1e-3


def check_key_twice(kv, gensim_kv, tmp_path, data):
    rows = np.eye(kv.vector_size, dtype=np.float32)[:2]
    ours, theirs = wordvec.KeyedVectors(kv.vector_size), GensimKV(kv.vector_size)
    ours.add_vectors(["a", "a"], rows)
    theirs.add_vectors(["a", "a"], rows)
    assert len(theirs.index_to_key) == 2 and len(ours) == 1
    np.testing.assert_array_equal(ours["a"], rows[1])


def check_keys_and_values(kv, gensim_kv, tmp_path, data):
    d = kv.vector_size
    theirs = GensimKV(d)
    theirs.add_vectors(["", "nan"], np.array([np.ones(d), np.full(d, np.nan)], dtype=np.float32))
    ours = wordvec.KeyedVectors(d)
    with pytest.raises(ValueError):
        ours.add_vectors([""], np.ones((1, d), np.float32))
    with pytest.raises(ValueError):
        ours.add_vectors(["nan"], np.full((1, d), np.nan, np.float32))
    with pytest.raises(TypeError):
        ours.add_vectors([7], np.ones((1, d), np.float32))


def check_zero_vector(kv, gensim_kv, tmp_path, data):
    d = kv.vector_size
    ours, theirs = wordvec.KeyedVectors(d), GensimKV(d)
    for k in (ours, theirs):
        k.add_vectors(["zero", "one"], np.array([np.zeros(d), np.ones(d)], dtype=np.float32))
    with np.errstate(invalid="ignore", divide="ignore"):
        assert np.isnan(theirs.get_normed_vectors()[0]).all()
    assert (ours.get_normed_vectors()[0] == 0).all()


def check_empty_list(kv, gensim_kv, tmp_path, data):
    with pytest.raises(ValueError):
        gensim_kv[[]]
    assert kv[[]].shape == (0, kv.vector_size)


def check_not_supported(kv, gensim_kv, tmp_path, data):
    with pytest.raises(NotImplementedError):
        wordvec.KeyedVectors(4, count=10)
    with pytest.raises(NotImplementedError):
        wordvec.KeyedVectors(4).add_vectors(["a"], np.ones((1, 4), np.float32), extras={"x": [1]})
    with pytest.raises(NotImplementedError):
        wordvec.KeyedVectors.load_word2vec_format(data / "w2vc-sg-d32.bin", binary=True, encoding="latin1")
    with pytest.raises(NotImplementedError):
        wordvec.FastText(word_ngrams=2)


def check_not_there(kv, gensim_kv, tmp_path, data):
    names = re.findall(r"`(\w+)`", table_rows()["not there"][0])
    assert names
    for name in names:
        assert hasattr(gensim_kv, name) and not hasattr(kv, name), name


CHECKS = {
    "`vectors`": check_vectors,
    "native `.wvec` files": check_native,
    "`kv[word]`": check_kv_word,
    "`index_to_key`": check_index_to_key,
    "`key_to_index`": check_key_to_index,
    "the first exact scan": check_first_exact_scan,
    "search with an index": check_search_with_an_index,
    "`save()` / `load()`": check_save_load,
    "pickling vectors read from a file": check_pickling,
    "fastText's `</s>` row": check_fasttext_eos,
    "a key twice in one `add_vectors` call": check_key_twice,
    "keys and values written": check_keys_and_values,
    "a zero vector at unit length": check_zero_vector,
    "`kv[[]]`": check_empty_list,
    "not supported (a clear error)": check_not_supported,
    "not there": check_not_there,
}


def test_every_row_has_its_check():
    assert sorted(table_rows()) == sorted(CHECKS)


@pytest.mark.parametrize("what", sorted(CHECKS))
def test_row(what, kv, gensim_kv, tmp_path, data):
    CHECKS[what](kv, gensim_kv, tmp_path, data)
