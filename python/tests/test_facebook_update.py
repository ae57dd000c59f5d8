"""``wordvec.load_facebook_model`` goes on training, as gensim's: a model fastText itself wrote
(tests/data/fasttext/ft-sg.bin, see its make.py) read with its counts and output matrix,
``build_vocab(new, update=True)`` + ``train``, beside gensim's own ``load_facebook_model`` and
online update of the same file; what cannot be trained on is refused clearly."""

import random

import numpy as np
import pytest

import wordvec

gensim = pytest.importorskip("gensim")
from gensim.models.fasttext import load_facebook_model as gensim_load_facebook_model  # noqa: E402


@pytest.fixture()
def path(data):
    return data / "fasttext" / "ft-sg.bin"


def new_text(known):
    """Sentences of known words with two new ones: one past the model's min_count (3), one below."""
    rng = random.Random(3)
    lines = [rng.choices(known, k=8) + ["kittenzz"] for _ in range(200)]
    lines[0].append("rarewordz")
    lines[1].append("rarewordz")
    return lines


def test_a_fasttext_model_goes_on_training_as_gensims(path):
    ours = wordvec.load_facebook_model(path)
    theirs = gensim_load_facebook_model(str(path))
    before = list(ours.wv.index_to_key)
    assert before == theirs.wv.index_to_key
    assert (ours.sg, ours.vector_size, ours.min_n, ours.max_n, ours.bucket, ours.min_count) == (
        1, 16, 2, 5, 4000, 3)
    assert (ours.epochs, ours.window, ours.negative) == (theirs.epochs, theirs.window, theirs.negative)
    known = [w for w in before[1:60] if w.isalpha()]
    new = new_text(known)
    ngrams_only = ours.wv["kittenzz"].copy()
    known_before = ours.wv[known[0]].copy()

    ours.build_vocab(new, update=True)
    theirs.build_vocab(new, update=True)
    # The same vocabulary: the known words in their order, then the new word past min_count.
    assert ours.wv.index_to_key[: len(before)] == before
    assert sorted(ours.wv.index_to_key) == sorted(theirs.wv.index_to_key)
    assert ours.wv.index_to_key[len(before):] == ["kittenzz"]

    ours.train(new, total_examples=ours.corpus_count, epochs=2)
    # The new word has a row of its own, trained from its n-grams' start; known words train on.
    new_vec = ours.wv["kittenzz"]
    assert new_vec.shape == (16,) and np.isfinite(new_vec).all()
    assert not np.allclose(new_vec, ngrams_only)
    assert not np.allclose(ours.wv[known[0]], known_before)
    assert ours.wv.most_similar("kittenzz", topn=3)


def test_what_cannot_be_trained_on_is_refused_naming_the_offset(data, tmp_path):
    with pytest.raises(ValueError, match=r"byte offset \d+.*(labels|supervised)"):
        wordvec.load_facebook_model(data / "fasttext" / "ft-sup.bin")
    cut = tmp_path / "cut.bin"
    cut.write_bytes((data / "fasttext" / "ft-sg.bin").read_bytes()[:-3])
    with pytest.raises(ValueError, match="output matrix"):
        wordvec.load_facebook_model(cut)
