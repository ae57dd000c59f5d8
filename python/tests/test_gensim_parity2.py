"""gensim parity, second part: fastText models as gensim's FastTextKeyedVectors, pickling and
copies (spawn-based multiprocessing and joblib included), raw and unit vectors, exact search
by default, and the smaller differences a migration from gensim met (errors, full-precision
text, per-key counts). gensim 4.4 answers on the same files in the same run."""

import copy
import multiprocessing
import pickle
import shutil

import numpy as np
import pytest

import wordvec

gensim = pytest.importorskip("gensim")
from gensim.models.fasttext import FastText, load_facebook_vectors, save_facebook_model  # noqa: E402

KNOWN = ["the", "dictionary", "café", "привет", "of"]
OOV = ["dictionaryish", "cafés", "приветик", "zzqx", "kingz"]


# ---- fastText -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gensim_trained_ft(tmp_path_factory):
    """A tiny fastText model trained by gensim and written with its save_facebook_model."""
    rng = np.random.default_rng(3)
    vocab = ["the", "of", "king", "queen", "kingdom", "dictionary", "reading", "writing", "café", "привет"]
    sentences = [list(rng.choice(vocab, 8)) for _ in range(400)]
    model = FastText(sentences, vector_size=12, min_count=1, epochs=3, min_n=2, max_n=4, bucket=3000, workers=1, seed=1)
    path = tmp_path_factory.mktemp("ft") / "gensim-ft.bin"
    save_facebook_model(model, str(path))
    return path


@pytest.fixture(scope="module", params=["fasttext", "gensim"])
def ft_pair(request, data, gensim_trained_ft):
    path = data / "fasttext" / "ft-sg.bin" if request.param == "fasttext" else gensim_trained_ft
    return wordvec.load_facebook_vectors(path), load_facebook_vectors(str(path))


def same_answer(ours_call, theirs_call, atol=2e-6):
    """Both raise the same exception type, or both answer the same (words equal, numbers within
    ``atol``)."""
    try:
        want = theirs_call()
    except Exception as e:  # noqa: BLE001 - the type is what is compared
        with pytest.raises(type(e)):
            ours_call()
        return
    got = ours_call()
    compare(got, want, atol)


def compare(got, want, atol):
    if isinstance(want, (list, tuple)) and want and isinstance(want[0], tuple):
        # (score, word) pairs (rank_by_centrality) as (word, score); "</s>": see the fastText
        # test, the answers are compared without it.
        got, want = ([(p[1], p[0]) if isinstance(p[1], str) else p for p in x] for x in (got, want))
        got, want = ([p for p in x if p[0] != "</s>"] for x in (got, want))
        n = min(len(got), len(want))
        got, want = got[:n], want[:n]
        assert [w for w, _ in got] == [w for w, _ in want], (got, want)
        np.testing.assert_allclose([s for _, s in got], [s for _, s in want], rtol=0, atol=atol)
    elif isinstance(want, list) and all(isinstance(x, str) for x in want):
        assert got == want
    elif isinstance(want, (str, bool, int)) and not isinstance(want, (np.floating,)):
        assert got == want
    else:
        np.testing.assert_allclose(np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64), rtol=0, atol=atol)


def closer(kv, w, other):
    return [x for x in kv.closer_than(w, other) if x != "</s>"]


def rank(kv, w, other):
    return kv.rank(w, other) - ("</s>" in kv.closer_than(w, other))


def test_fasttext_every_key_taking_call_answers_as_gensim(ft_pair):
    ours, theirs = ft_pair
    assert isinstance(ours, wordvec.FastTextKeyedVectors)
    assert (ours.min_n, ours.max_n, ours.bucket) == (theirs.min_n, theirs.max_n, theirs.bucket)
    assert list(ours.index_to_key) == theirs.index_to_key
    words = [w for w in KNOWN if w in theirs.key_to_index] + OOV
    # fastText gives its end-of-sentence token "</s>" no n-grams; gensim adds them to its row.
    # wordvec's row is fastText's (tests/fasttext.rs): leave that row out of the comparison.
    eos = [theirs.key_to_index["</s>"]] if "</s>" in theirs.key_to_index else []
    other = theirs.index_to_key[3]
    for w in words:
        assert (w in ours) == (w in theirs) is True
        assert ours.has_index_for(w) == theirs.has_index_for(w)
        same_answer(lambda: ours[w], lambda: theirs[w])
        same_answer(lambda: ours.get_vector(w, norm=True), lambda: theirs.get_vector(w, norm=True))
        same_answer(lambda: ours.similarity(w, other), lambda: theirs.similarity(w, other))
        same_answer(lambda: ours.distance(w, other), lambda: theirs.distance(w, other))
        same_answer(lambda: ours.most_similar(w, topn=5), lambda: theirs.most_similar(w, topn=5))
        same_answer(lambda: ours.most_similar(positive=[w, other], negative=[theirs.index_to_key[7]], topn=5),
                    lambda: theirs.most_similar(positive=[w, other], negative=[theirs.index_to_key[7]], topn=5))
        same_answer(lambda: ours.most_similar_cosmul(positive=[w, other], topn=5),
                    lambda: theirs.most_similar_cosmul(positive=[w, other], topn=5))
        same_answer(lambda: ours.similar_by_word(w, topn=3), lambda: theirs.similar_by_word(w, topn=3))
        same_answer(lambda: ours.similar_by_key(w, topn=3), lambda: theirs.similar_by_key(w, topn=3))
        same_answer(lambda: ours.n_similarity([w, other], [theirs.index_to_key[9]]),
                    lambda: theirs.n_similarity([w, other], [theirs.index_to_key[9]]))
        same_answer(lambda: ours.get_mean_vector([w, other]), lambda: theirs.get_mean_vector([w, other]))
        same_answer(lambda: ours.get_mean_vector([w, other], weights=[0.25, -2.0], pre_normalize=False, post_normalize=True),
                    lambda: theirs.get_mean_vector([w, other], weights=[0.25, -2.0], pre_normalize=False, post_normalize=True))
        same_answer(lambda: ours.distances(w, [other, theirs.index_to_key[5]]),
                    lambda: theirs.distances(w, [other, theirs.index_to_key[5]]))
        same_answer(lambda: np.delete(ours.distances(w), eos), lambda: np.delete(theirs.distances(w), eos))
        # gensim asks for a row here: a word outside the vocabulary is a KeyError in both.
        same_answer(lambda: rank(ours, w, other), lambda: rank(theirs, w, other))
        same_answer(lambda: closer(ours, w, other), lambda: closer(theirs, w, other))
        same_answer(lambda: ours.get_index(w), lambda: theirs.get_index(w))
        same_answer(lambda: ours.most_similar_to_given(w, [other, theirs.index_to_key[11]]),
                    lambda: theirs.most_similar_to_given(w, [other, theirs.index_to_key[11]]))
    same_answer(lambda: ours.doesnt_match(words), lambda: theirs.doesnt_match(words))
    same_answer(lambda: ours.rank_by_centrality(words), lambda: theirs.rank_by_centrality(words))
    np.testing.assert_allclose(np.delete(ours.vectors, eos, axis=0), np.delete(theirs.vectors, eos, axis=0), rtol=0, atol=2e-6)


def test_facebook_model_and_wrong_loader(data):
    path = data / "fasttext" / "ft-sg.bin"
    model = wordvec.load_facebook_model(path)
    assert isinstance(model.wv, wordvec.FastTextKeyedVectors) and "kingz" in model.wv
    assert isinstance(model, wordvec.FastText) and model.vector_size == model.wv.vector_size
    with pytest.raises(ValueError, match="load_facebook_vectors"):
        wordvec.KeyedVectors.load_word2vec_format(path, binary=True)
    # Opened without saying what it is, it is a fastText model all the same.
    assert isinstance(wordvec.KeyedVectors.load(path), wordvec.FastTextKeyedVectors)


# ---- pickling and copies ----------------------------------------------------------------------


def query(kv):
    return kv.most_similar("king", topn=5), kv["queen"].tolist(), len(kv)


def pickled_query(payload):
    """What a worker process answers from pickled vectors (a module-level function: spawn
    imports this module in the child)."""
    return query(pickle.loads(payload))


def worker_query(kv):
    return query(kv)


@pytest.fixture()
def files(tmp_path, data, kv):
    """The test model as word2vec binary, text and native files in a scratch folder."""
    out = {"bin": tmp_path / "m.bin", "txt": tmp_path / "m.txt", "wvec": tmp_path / "m.wvec"}
    shutil.copy(data / "w2vc-sg-d32.bin", out["bin"])
    kv.save_word2vec_format(out["txt"])
    kv.save(out["wvec"])
    return out


def test_pickles_of_files_reopen_them(files):
    for name, path in files.items():
        kv = (wordvec.KeyedVectors.load_word2vec_format(path, binary=name == "bin") if name != "wvec"
              else wordvec.KeyedVectors.load(path))
        payload = pickle.dumps(kv)
        # A mapped file travels as its path: the pickle is small.
        assert len(payload) < 10_000, (name, len(payload))
        back = pickle.loads(payload)
        assert query(back) == query(kv)
        for c in (copy.deepcopy(kv), copy.copy(kv)):
            assert query(c) == query(kv)


def test_pickle_of_a_limited_load_and_of_writes(files):
    kv = wordvec.KeyedVectors.load_word2vec_format(files["bin"], binary=True, limit=1000)
    kv["zzz-new"] = kv["king"] * 3
    kv.add_vectors(["queen", "zzz-two"], np.ones((2, kv.vector_size), np.float32), replace=True)
    kv.set_vecattr("king", "count", 77)
    back = pickle.loads(pickle.dumps(kv))
    assert len(back) == len(kv) == 1000 + 2 + ("queen" not in kv.index_to_key[:1000])
    assert query(back) == query(kv)
    np.testing.assert_array_equal(back.vectors, kv.vectors)
    assert back.get_vecattr("king", "count") == 77


def test_pickle_of_vectors_in_memory_is_by_value():
    rng = np.random.default_rng(5)
    kv = wordvec.KeyedVectors(8)
    kv.add_vectors([f"w{i}" for i in range(50)], rng.standard_normal((50, 8), dtype=np.float32))
    back = copy.deepcopy(kv)
    assert list(back.index_to_key) == list(kv.index_to_key)
    np.testing.assert_array_equal(back.vectors, kv.vectors)
    assert back.most_similar("w3", topn=4) == kv.most_similar("w3", topn=4)
    empty = pickle.loads(pickle.dumps(wordvec.KeyedVectors(4)))
    assert len(empty) == 0 and empty.vector_size == 4


def test_pickle_says_when_the_file_is_gone_or_changed(files, kv):
    mine = wordvec.KeyedVectors.load(files["wvec"])
    payload = pickle.dumps(mine)
    del mine
    other = wordvec.KeyedVectors(kv.vector_size)
    other.add_vectors(["a", "b"], np.ones((2, kv.vector_size), np.float32))
    other.save(files["wvec"])
    with pytest.raises(ValueError, match="changed since they were pickled"):
        pickle.loads(payload)
    files["wvec"].unlink()
    with pytest.raises(FileNotFoundError, match="is gone"):
        pickle.loads(payload)


def test_fasttext_pickles(data):
    ft = wordvec.load_facebook_vectors(data / "fasttext" / "ft-sg.bin")
    back = pickle.loads(pickle.dumps(ft))
    assert isinstance(back, wordvec.FastTextKeyedVectors)
    np.testing.assert_array_equal(back["kingz"], ft["kingz"])


def test_pickles_cross_spawned_processes(files):
    kv = wordvec.KeyedVectors.load(files["wvec"])
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        answers = pool.map(pickled_query, [pickle.dumps(kv)] * 2)
        direct = pool.map(worker_query, [kv, kv])
    assert answers == direct == [query(kv)] * 2


def test_joblib_workers(files):
    joblib = pytest.importorskip("joblib")
    kv = wordvec.KeyedVectors.load_word2vec_format(files["bin"], binary=True)
    kv["zzz-new"] = kv["king"]
    out = joblib.Parallel(n_jobs=2, backend="loky")(joblib.delayed(worker_query)(kv) for _ in range(3))
    assert out == [query(kv)] * 3


def test_classifier_pickles(labelled):
    clf = wordvec.Classifier.train(labelled, epochs=2, dim=8, hidden=(8,))
    texts = ["good great love", "bad awful hate"]
    back = pickle.loads(pickle.dumps(clf))
    assert back.labels == clf.labels and back.predict(texts) == clf.predict(texts)
    np.testing.assert_array_equal(copy.deepcopy(clf).predict_proba(texts), clf.predict_proba(texts))


# ---- raw and unit vectors, exact by default ---------------------------------------------------


def test_vectors_are_the_raw_vectors_in_every_format(files, gensim_kv):
    for name, path in files.items():
        kv = (wordvec.KeyedVectors.load_word2vec_format(path, binary=name == "bin") if name != "wvec"
              else wordvec.KeyedVectors.load(path))
        tol = 2e-6 if name == "wvec" else 0  # native rows are stored unit length with their norm
        np.testing.assert_allclose(kv.vectors, gensim_kv.vectors, rtol=0, atol=tol)
        for i in (0, 17, len(kv) - 1):
            np.testing.assert_array_equal(kv.vectors[i], kv[kv.index_to_key[i]])
        np.testing.assert_allclose(kv.get_normed_vectors(), gensim_kv.get_normed_vectors(), rtol=0, atol=2e-7)
        np.testing.assert_allclose(np.linalg.norm(kv.get_normed_vectors(), axis=1), 1, atol=1e-6)


def test_kv_word_is_a_view_of_the_stored_rows(files):
    kv = wordvec.KeyedVectors.load_word2vec_format(files["txt"])
    v = kv["king"]
    assert np.shares_memory(v, kv.vectors) and not v.flags.writeable


# ---- point 6: errors, full precision, counts --------------------------------------------------


def test_unicode_errors_are_unicodedecodeerror(tmp_path):
    path = tmp_path / "bad.bin"
    path.write_bytes(b"2 2\nok " + np.float32([1, 0]).tobytes() + b"ca\xfffe " + np.float32([0, 1]).tobytes())
    with pytest.raises(UnicodeDecodeError) as theirs:
        gensim.models.KeyedVectors.load_word2vec_format(str(path), binary=True)
    with pytest.raises(UnicodeDecodeError) as ours:
        wordvec.KeyedVectors.load_word2vec_format(path, binary=True)
    assert ours.value.object == b"ca\xfffe" and ours.value.start == 2
    assert isinstance(ours.value, ValueError) and isinstance(theirs.value, ValueError)
    assert "ca" in wordvec.KeyedVectors.load_word2vec_format(path, binary=True, unicode_errors="ignore").index_to_key[1]


def test_float64_datatype(data, gensim_kv):
    path = str(data / "w2vc-sg-d32.bin")
    theirs = gensim.models.KeyedVectors.load_word2vec_format(path, binary=True, datatype=np.float64)
    ours = wordvec.KeyedVectors.load_word2vec_format(path, binary=True, datatype=np.float64)
    assert ours.vectors.dtype == theirs.vectors.dtype == np.float64
    np.testing.assert_array_equal(ours.vectors, theirs.vectors)
    assert ours["king"].dtype == np.float64 and ours.get_mean_vector(["king", "queen"]).dtype == np.float64


def test_a_gensim_kv_file_says_what_it_is(tmp_path, gensim_kv):
    path = tmp_path / "model.kv"
    gensim_kv.save(str(path))
    with pytest.raises(ValueError, match="pickle.*save_word2vec_format"):
        wordvec.KeyedVectors.load(path)


def test_text_output_in_full_precision(tmp_path, kv, gensim_kv):
    ours, theirs = tmp_path / "ours.txt", tmp_path / "theirs.txt"
    kv.save_word2vec_format(ours)
    gensim_kv.save_word2vec_format(str(theirs))
    a = gensim.models.KeyedVectors.load_word2vec_format(str(ours))
    b = gensim.models.KeyedVectors.load_word2vec_format(str(theirs))
    np.testing.assert_array_equal(a.vectors, b.vectors)
    np.testing.assert_array_equal(a.vectors, gensim_kv.vectors)


def test_counts_as_gensim_keeps_them(tmp_path, data, kv, gensim_kv):
    for w in ("the", "king", kv.index_to_key[-1]):
        assert kv.get_vecattr(w, "count") == gensim_kv.get_vecattr(w, "count")
    kv2 = wordvec.KeyedVectors.load_word2vec_format(data / "w2vc-sg-d32.bin", binary=True)
    kv2.set_vecattr("king", "count", 5)
    assert kv2.get_vecattr("king", "count") == 5
    ours_vocab, theirs_vocab = tmp_path / "ours.vocab", tmp_path / "theirs.vocab"
    kv2.save_word2vec_format(tmp_path / "o.bin", fvocab=ours_vocab, binary=True)
    back = wordvec.KeyedVectors.load_word2vec_format(tmp_path / "o.bin", fvocab=ours_vocab, binary=True)
    assert back.get_vecattr("king", "count") == 5
    gensim_back = gensim.models.KeyedVectors.load_word2vec_format(str(tmp_path / "o.bin"), fvocab=str(ours_vocab), binary=True)
    assert gensim_back.get_vecattr("king", "count") == 5
    kv2.set_vecattr("the", "tag", 1.5)
    assert kv2.get_vecattr("the", "tag") == 1.5
    with pytest.raises(KeyError):
        kv2.get_vecattr("zzqx-not-a-word", "count")


def test_dummy4unknown_as_gensim(kv, gensim_kv, data):
    # restrict_vocab leaves many questions and pairs outside the evaluated vocabulary.
    for restrict in (300000, 1500):
        ours = kv.evaluate_word_analogies(data / "questions-words.txt", restrict_vocab=restrict, dummy4unknown=True)
        theirs = gensim_kv.evaluate_word_analogies(str(data / "questions-words.txt"), restrict_vocab=restrict, dummy4unknown=True)
        assert abs(ours[0] - theirs[0]) < 1e-12
        for a, b in zip(ours[1], theirs[1]):
            assert a["section"] == b["section"]
            assert (len(a["correct"]), len(a["incorrect"])) == (len(b["correct"]), len(b["incorrect"]))
            assert a["incorrect"] == [tuple(q) for q in b["incorrect"]]
        (p, _), (s, _), oov = kv.evaluate_word_pairs(data / "wordsim353.tsv", restrict_vocab=restrict, dummy4unknown=True)
        (gp, _), (gs, _), goov = gensim_kv.evaluate_word_pairs(str(data / "wordsim353.tsv"), restrict_vocab=restrict, dummy4unknown=True)
        assert abs(p - gp) < 1e-5 and abs(s - gs) < 1e-5 and abs(oov - goov) < 1e-9
