"""Training word vectors and a classifier from Python."""

import numpy as np
import pytest

import wordvec


def test_train_with_gensims_argument_names(corpus, tmp_path):
    reports = []
    kv = wordvec.train(corpus_file=str(corpus), sg=1, vector_size=32, window=5, negative=5, min_count=5,
                       epochs=3, workers=2, seed=7, progress=reports.append)
    assert isinstance(kv, wordvec.KeyedVectors)
    assert kv.vector_size == 32
    assert set(kv.index_to_key) == {"cat", "purr", "whiskers", "mouse", "milk", "fur", "paws", "meow",
                                    "car", "engine", "wheel", "road", "fuel", "driver", "brake", "garage"}
    animal = {"purr", "whiskers", "mouse", "milk", "fur", "paws", "meow"}
    top = {w for w, _ in kv.most_similar("cat", topn=7)}
    assert len(top & animal) >= 6, top
    assert reports and reports[-1]["words_done"] > 0 and "loss" in reports[-1]
    kv.save(str(tmp_path / "t.wvec"))
    back = wordvec.KeyedVectors.load(str(tmp_path / "t.wvec")).most_similar("cat", topn=3)
    want = kv.most_similar("cat", topn=3)
    assert [w for w, _ in back] == [w for w, _ in want]
    assert all(abs(a - b) < 1e-6 for (_, a), (_, b) in zip(back, want))
    with pytest.raises(ValueError):
        wordvec.train(corpus_file=str(corpus), vector_size=0)
    with pytest.raises(FileNotFoundError):
        wordvec.train(corpus_file=str(tmp_path / "missing.txt"))


def test_classifier_trains_predicts_saves_and_loads(labelled, tmp_path):
    epochs = []
    c = wordvec.Classifier.train(str(labelled), hidden=[16], epochs=8, lr=0.01, dim=16, seed=1,
                                 progress=epochs.append)
    assert sorted(c.labels) == ["neg", "pos"]
    assert len(epochs) == 8 and epochs[-1]["train_loss"] < epochs[0]["train_loss"]
    texts = ["good great love", "awful hate terrible", "happy nice excellent"]
    assert c.predict(texts) == ["pos", "neg", "pos"]
    assert c.predict("so sad and poor") == "neg"
    probs = c.predict_proba(texts)
    assert probs.shape[0] == 3
    assert [c.labels[int(np.argmax(p))] for p in probs] == ["pos", "neg", "pos"]
    c.save(str(tmp_path / "c.wvcls"))
    again = wordvec.Classifier.load(str(tmp_path / "c.wvcls"))
    assert again.predict(texts) == c.predict(texts)
    np.testing.assert_allclose(again.predict_proba(texts), probs)
    with pytest.raises(ValueError):
        c.predict([""])
    with pytest.raises(ValueError):
        wordvec.Classifier.load(str(labelled))


def test_classifier_dim_is_decided_as_the_command_line_decides(labelled, kv):
    # The vectors have 32 dimensions: asking for another is refused, not silently overridden.
    with pytest.raises(ValueError, match="dim 8 differs from the 32 dimensions"):
        wordvec.Classifier.train(str(labelled), vectors=kv, dim=8, epochs=1)
    c = wordvec.Classifier.train(str(labelled), vectors=kv, hidden=[8], epochs=1)
    assert sorted(c.labels) == ["neg", "pos"]


def test_classifier_trains_on_separate_validation_and_test_files(labelled, tmp_path):
    # Seven validation rows, three of them labelled against their words: the accuracy is a
    # count of sevenths strictly between 0 and 1. Were the file ignored, the validation part of
    # the default split (80 of the 800 rows) would give a count of eightieths, never such a value.
    valid = tmp_path / "valid.csv"
    valid.write_text(
        "text,label\n"
        "good great love,pos\nawful hate terrible,neg\nhappy nice excellent,pos\nsad poor bad,neg\n"
        "good love nice,neg\nbad hate awful,pos\ngreat happy love,neg\n"
    )
    epochs = []
    wordvec.Classifier.train(str(labelled), valid_data=valid, hidden=[16], epochs=3, lr=0.01, dim=16,
                             seed=1, progress=epochs.append)
    accuracy = epochs[-1]["valid_accuracy"]
    assert 0 < accuracy < 1 and abs(accuracy * 7 - round(accuracy * 7)) < 1e-9, accuracy
    with pytest.raises(FileNotFoundError):
        wordvec.Classifier.train(str(labelled), test_data=tmp_path / "missing.csv", epochs=1)
