"""Every KeyedVectors method against gensim 4 on the same fixture, in the same run: the same words,
scores within 1e-5, the same exceptions, the same evaluation numbers."""

import math

import numpy as np
import pytest

import wordvec

WORDS = ["king", "queen", "water", "computer", "dog", "france", "good", "the"]
ANALOGIES = [
    (["king", "woman"], ["man"]),
    (["france", "london"], ["paris"]),
    (["dog", "kitten"], ["puppy"]),
    (["good", "worse"], ["bad"]),
]


def same_answers(ours, theirs, tol=1e-5):
    assert [w for w, _ in ours] == [w for w, _ in theirs], (ours, theirs)
    for (_, a), (_, b) in zip(ours, theirs):
        assert abs(a - b) <= tol, (ours, theirs)


def known(gkv, words):
    return [w for w in words if w in gkv.key_to_index]


def test_vocabulary_and_vectors(kv, gensim_kv):
    assert len(kv) == len(gensim_kv)
    assert kv.vector_size == gensim_kv.vector_size
    assert kv.index_to_key == gensim_kv.index_to_key
    assert kv.key_to_index == gensim_kv.key_to_index
    np.testing.assert_array_equal(kv.vectors, gensim_kv.vectors)
    np.testing.assert_allclose(kv.norms, np.linalg.norm(gensim_kv.vectors, axis=1), rtol=1e-6)
    for w in WORDS:
        assert (w in kv) == (w in gensim_kv)
        np.testing.assert_array_equal(kv[w], gensim_kv[w])
        np.testing.assert_allclose(kv.get_vector(w, norm=True), gensim_kv.get_vector(w, norm=True), atol=1e-7)
        assert kv.get_index(w) == gensim_kv.get_index(w)
    np.testing.assert_array_equal(kv[["king", "queen"]], gensim_kv[["king", "queen"]])
    np.testing.assert_allclose(kv.get_normed_vectors(), gensim_kv.get_normed_vectors(), atol=1e-7)
    assert "zzzqqq" not in kv
    assert kv.get_index("zzzqqq", -1) == -1


def test_most_similar_every_form(kv, gensim_kv):
    for w in known(gensim_kv, WORDS):
        same_answers(kv.most_similar(w), gensim_kv.most_similar(w))
        same_answers(kv.most_similar(positive=[w], topn=5, restrict_vocab=1000),
                     gensim_kv.most_similar(positive=[w], topn=5, restrict_vocab=1000))
        same_answers(kv.similar_by_word(w, topn=7), gensim_kv.similar_by_word(w, topn=7))
        same_answers(kv.similar_by_key(w, topn=3), gensim_kv.similar_by_key(w, topn=3))
        v = gensim_kv[w]
        same_answers(kv.similar_by_vector(v, topn=5), gensim_kv.similar_by_vector(v, topn=5))
    for pos, neg in ANALOGIES:
        pos, neg = known(gensim_kv, pos), known(gensim_kv, neg)
        same_answers(kv.most_similar(positive=pos, negative=neg, topn=5),
                     gensim_kv.most_similar(positive=pos, negative=neg, topn=5))
        same_answers(kv.most_similar_cosmul(positive=pos, negative=neg, topn=5),
                     gensim_kv.most_similar_cosmul(positive=pos, negative=neg, topn=5))
    # Weighted terms, vectors among words, topn=None, clipping.
    weighted = [("king", 2.0), ("woman", 0.5)]
    same_answers(kv.most_similar(positive=weighted, negative=[("man", -1.5)], topn=6),
                 gensim_kv.most_similar(positive=weighted, negative=[("man", -1.5)], topn=6))
    mixed = ["king", gensim_kv["woman"]]
    same_answers(kv.most_similar(positive=mixed, negative=["man"], topn=5),
                 gensim_kv.most_similar(positive=mixed, negative=["man"], topn=5))
    np.testing.assert_allclose(kv.most_similar("king", topn=None), gensim_kv.most_similar("king", topn=None), atol=1e-6)
    same_answers(kv.most_similar("king", topn=5, clip_start=100, clip_end=2000),
                 gensim_kv.most_similar("king", topn=5, clip_start=100, clip_end=2000))
    assert kv.most_similar("king", topn=0) == gensim_kv.most_similar("king", topn=0) == []


def test_pairwise(kv, gensim_kv):
    pairs = [("king", "queen"), ("water", "fire"), ("dog", "cat"), ("computer", "horse")]
    for a, b in pairs:
        assert abs(kv.similarity(a, b) - gensim_kv.similarity(a, b)) < 1e-6
        assert abs(kv.distance(a, b) - gensim_kv.distance(a, b)) < 1e-6
        assert kv.rank(a, b) == gensim_kv.rank(a, b)
        assert kv.closer_than(a, b) == gensim_kv.closer_than(a, b)
    assert abs(kv.n_similarity(["king", "man"], ["queen", "woman"])
               - gensim_kv.n_similarity(["king", "man"], ["queen", "woman"])) < 1e-6
    np.testing.assert_allclose(kv.distances("king", ["queen", "dog"]), gensim_kv.distances("king", ["queen", "dog"]), atol=1e-6)
    np.testing.assert_allclose(kv.distances("king"), gensim_kv.distances("king"), atol=1e-6)
    np.testing.assert_allclose(kv.distances(gensim_kv["dog"]), gensim_kv.distances(gensim_kv["dog"]), atol=1e-6)
    for words in (["red", "green", "blue", "computer"], ["dog", "cat", "horse"], ["king", "queen", "zzzqqq", "water"]):
        assert kv.doesnt_match(words) == gensim_kv.doesnt_match(words)
    got = kv.rank_by_centrality(["king", "queen", "water"])
    want = gensim_kv.rank_by_centrality(["king", "queen", "water"])
    assert [w for _, w in got] == [w for _, w in want]
    vecs = gensim_kv[["king", "queen", "water"]]
    np.testing.assert_allclose(kv.cosine_similarities(vecs[0], vecs), gensim_kv.cosine_similarities(vecs[0], vecs), atol=1e-6)
    np.testing.assert_allclose(kv.get_mean_vector(["king", "queen"]), gensim_kv.get_mean_vector(["king", "queen"]), atol=1e-6)


def test_evaluations(kv, gensim_kv, data):
    ours = kv.evaluate_word_analogies(str(data / "questions-words.txt"))
    theirs = gensim_kv.evaluate_word_analogies(str(data / "questions-words.txt"))
    assert abs(ours[0] - theirs[0]) < 1e-12
    assert len(ours[1]) == len(theirs[1])
    for a, b in zip(ours[1], theirs[1]):
        assert a["section"] == b["section"]
        assert a["correct"] == b["correct"], a["section"]
        assert a["incorrect"] == b["incorrect"], a["section"]
    ours = kv.evaluate_word_pairs(str(data / "wordsim353.tsv"))
    theirs = gensim_kv.evaluate_word_pairs(str(data / "wordsim353.tsv"))
    for (r1, p1), (r2, p2) in zip(ours[:2], theirs[:2]):
        assert abs(r1 - r2) < 1e-6 and abs(p1 - p2) < 1e-9 * max(1.0, p2) + 1e-12, (ours, theirs)
    assert abs(ours[2] - theirs[2]) < 1e-9
    restricted = kv.evaluate_word_pairs(str(data / "wordsim353.tsv"), restrict_vocab=1000, case_insensitive=False)
    want = gensim_kv.evaluate_word_pairs(str(data / "wordsim353.tsv"), restrict_vocab=1000, case_insensitive=False)
    assert abs(restricted[0][0] - want[0][0]) < 1e-6 and abs(restricted[2] - want[2]) < 1e-9


def test_the_same_exceptions(kv, gensim_kv):
    cases = [
        lambda m: m["zzzqqq"],
        lambda m: m.get_vector("zzzqqq"),
        lambda m: m.get_index("zzzqqq"),
        lambda m: m.most_similar("zzzqqq"),
        lambda m: m.most_similar(positive=["king"], negative=["zzzqqq"]),
        lambda m: m.most_similar_cosmul(positive=["zzzqqq"]),
        lambda m: m.similarity("king", "zzzqqq"),
        lambda m: m.distances("zzzqqq"),
        lambda m: m.rank("king", "zzzqqq"),
        lambda m: m.n_similarity([], ["king"]),
        lambda m: m.doesnt_match(["zzzqqq", "qqqzzz"]),
        lambda m: m.get_mean_vector([]),
    ]
    for i, case in enumerate(cases):
        with pytest.raises(Exception) as theirs:
            case(gensim_kv)
        with pytest.raises(Exception) as ours:
            case(kv)
        assert isinstance(ours.value, theirs.type), (i, ours.value, theirs.value)


def test_every_format_reads_as_gensim_reads_it(tmp_path, data, gensim_kv):
    gensim = pytest.importorskip("gensim")
    txt = wordvec.KeyedVectors.load_word2vec_format(str(data / "w2vc-sg-d32.txt"), binary=False)
    gtxt = gensim.models.KeyedVectors.load_word2vec_format(str(data / "w2vc-sg-d32.txt"), binary=False)
    assert txt.index_to_key == gtxt.index_to_key
    np.testing.assert_array_equal(txt.vectors, gtxt.vectors)
    gz = wordvec.KeyedVectors.load_word2vec_format(str(data / "gensim-d32.bin.gz"), binary=True, limit=100)
    ggz = gensim.models.KeyedVectors.load_word2vec_format(str(data / "gensim-d32.bin.gz"), binary=True, limit=100)
    assert gz.index_to_key == ggz.index_to_key
    np.testing.assert_array_equal(gz.vectors, ggz.vectors)
    # What wordvec writes, gensim reads back the same, in both word2vec formats (text in full
    # precision, as gensim writes it: every float comes back bit for bit).
    kv = wordvec.KeyedVectors.load_word2vec_format(str(data / "gensim-d32.bin"), binary=True)
    for binary in (True, False):
        out = tmp_path / f"out-{binary}"
        kv.save_word2vec_format(str(out), binary=binary)
        back = gensim.models.KeyedVectors.load_word2vec_format(str(out), binary=binary)
        assert back.index_to_key == kv.index_to_key
        np.testing.assert_array_equal(back.vectors, kv.vectors)
    # gensim's binary writer and wordvec's agree byte for byte.
    out = tmp_path / "again.bin"
    kv.save_word2vec_format(str(out), binary=True)
    assert out.read_bytes() == (data / "gensim-d32.bin").read_bytes()
    # The native format answers as the file it came from.
    kv.save(str(tmp_path / "m.wvec"))
    native = wordvec.KeyedVectors.load(str(tmp_path / "m.wvec"))
    same_answers(native.most_similar("king"), gensim_kv.most_similar("king"))
    np.testing.assert_allclose(native.get_vector("king"), gensim_kv["king"], rtol=1e-6, atol=1e-7)


def test_the_index_answers_like_the_scan(data, tmp_path):
    path = str(data / "w2vc-sg-d32.bin")
    kv = wordvec.KeyedVectors.load_word2vec_format(path, binary=True)
    with pytest.raises(ValueError, match="no index"):
        kv.most_similar("king", exact=False)
    kv.build_index(m=16, ef_construction=200)
    assert kv.has_index
    hits = 0
    for w in kv.index_to_key[10:110]:
        exact = {x for x, _ in kv.most_similar(w, topn=10, exact=True)}
        approx = kv.most_similar(w, topn=10, exact=False, ef=100)
        hits += len(exact & {x for x, _ in approx})
        # Scores through the index are the exact cosines of the words it returns.
        for word, score in approx:
            assert abs(score - kv.similarity(w, word)) < 1e-5
    assert hits / 1000 >= 0.95, hits
    kv.save_index(str(tmp_path / "i.idx"))
    again = wordvec.KeyedVectors.load_word2vec_format(path, binary=True)
    again.load_index(str(tmp_path / "i.idx"))
    assert again.most_similar("king", exact=False, ef=100) == kv.most_similar("king", exact=False, ef=100)


def test_filters(kv):
    full = kv.most_similar("king", topn=20)
    denied = {w for w, _ in full[:3]}
    got = kv.most_similar("king", topn=5, deny=denied)
    assert got == [x for x in full if x[0] not in denied][:5]
    allow = [w for w, _ in full[5:12]] + ["zzzqqq"]
    got = kv.most_similar("king", topn=3, allow=allow)
    assert got == full[5:8]
    got = kv.most_similar_cosmul(positive=["king", "woman"], negative=["man"], topn=3, deny=["lady"])
    assert "lady" not in {w for w, _ in got}
    with pytest.raises(ValueError, match="allow-list"):
        kv.most_similar("king", allow=["zzzqqq"])


def test_text_vectors_are_numpys_mean_over_gensims_vectors(kv, gensim_kv):
    for text in ["The king and the QUEEN", "water water fire zzqx", "dog"]:
        words = [w for w in text.lower().split() if w in gensim_kv.key_to_index]
        want = np.mean([gensim_kv[w] for w in words], axis=0)
        np.testing.assert_allclose(kv.embed_text(text), want, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(kv.embed_text(text, unit=True), want / np.linalg.norm(want), rtol=1e-5, atol=1e-7)
    with pytest.raises(KeyError):
        kv.embed_text("zzqx qqzx")


def test_the_default_is_exact_even_with_an_index(data):
    # gensim's answers are exact unless an indexer is passed: an index over every row changes
    # no default answer; exact=False and an HnswIndexer go through it.
    kv = wordvec.KeyedVectors.load_word2vec_format(str(data / "w2vc-sg-d32.bin"), binary=True)
    kv.build_index(m=4, ef_construction=8)
    words = kv.index_to_key[:40]
    exact = [kv.most_similar(w, topn=10, exact=True) for w in words]
    assert [kv.most_similar(w, topn=10) for w in words] == exact
    approx = [kv.most_similar(w, topn=10, exact=False, ef=10) for w in words]
    assert approx != exact  # a tiny graph misses some: the two paths really differ
    indexer = wordvec.HnswIndexer(kv, ef=400)
    via = kv.most_similar(words[3], topn=5, indexer=indexer)
    # gensim's indexer path answers the nearest to the query's mean, the query word included.
    assert via[0][0] == words[3] and abs(via[0][1] - 1.0) < 1e-5
