"""``wordvec.FastText``: gensim 4's ``FastText`` class on wordvec's subword trainer.

>>> from wordvec import FastText
>>> model = FastText(sentences=[["hello", "world"]] * 100, vector_size=16, min_count=1)  # doctest: +SKIP
>>> model.wv["helloo"]                                           # doctest: +SKIP
>>> model.build_vocab(more_sentences, update=True)               # doctest: +SKIP
>>> model.train(more_sentences, total_examples=model.corpus_count, epochs=model.epochs)  # doctest: +SKIP

fastText's model: a word's input vector is the mean of its own row and the rows of its
character n-grams (``min_n`` to ``max_n`` code points of ``<word>``, hashed into ``bucket``
rows, as fastText and gensim cut and hash them), trained with negative sampling. Everything
:class:`wordvec.Word2Vec` says holds (the corpus streams to the trainer once per ``train`` call,
``save`` writes a resumable checkpoint, pickling is by value), and:

- ``wv`` is a :class:`wordvec.FastTextKeyedVectors`: a word outside the vocabulary has the
  vector of its n-grams in every call that takes a key.
- ``build_vocab(update=True)`` keeps the n-gram rows, shared by the known and the new words, so
  a new word starts from its trained n-grams.
- gensim's settings that turn the n-grams off (``max_n < min_n``, ``bucket=0``) train word
  vectors only, as gensim's do; a word outside the vocabulary then raises ``KeyError``.
- :func:`save_facebook_model` writes fastText's ``.bin`` (read by fastText, by gensim's
  ``load_facebook_model`` and by :func:`wordvec.load_facebook_vectors`).
- A model read by :func:`wordvec.load_facebook_model` (an unsupervised ``.bin`` of fastText,
  of gensim's ``save_facebook_model`` or of wordvec) goes on training as gensim's does: the
  file holds the vocabulary with its counts, the input matrix (word and n-gram rows) and the
  output matrix of negative sampling, so ``build_vocab(new, update=True)`` + ``train`` add
  the new words and train on. The settings are the file's (``vector_size``, ``window``,
  ``epochs``, ``min_count``, ``negative``, ``sg``, ``sample``, ``min_n``, ``max_n``,
  ``bucket``); the learning rate and ``ns_exponent`` are not in the file and take gensim's
  defaults. Supervised and quantised models, and losses other than negative sampling, are
  refused with the byte offset that says so.

Not supported: ``word_ngrams`` other than 1 (``NotImplementedError``, as gensim), ``min_n=0``
with n-grams on (n-grams of no characters), and what :class:`wordvec.Word2Vec` refuses.
"""

from __future__ import annotations

import os
from typing import Any, Dict, Optional, Sequence

from . import _wordvec
from . import FastTextKeyedVectors
from .word2vec import MAX_WORDS_IN_BATCH, Word2Vec

__all__ = ["FastText", "save_facebook_model"]


class FastText(Word2Vec):
    """gensim 4's ``FastText``: skip-gram (``sg=1``) or CBOW with character n-grams and
    negative sampling, gensim's arguments, defaults and meanings."""

    _wv_class = FastTextKeyedVectors

    def __init__(
        self,
        sentences=None,
        corpus_file: Optional[str] = None,
        sg: int = 0,
        hs: int = 0,
        vector_size: int = 100,
        alpha: float = 0.025,
        window: int = 5,
        min_count: int = 5,
        max_vocab_size: Optional[int] = None,
        word_ngrams: int = 1,
        sample: float = 1e-3,
        seed: int = 1,
        workers: int = 3,
        min_alpha: float = 0.0001,
        negative: int = 5,
        ns_exponent: float = 0.75,
        cbow_mean: int = 1,
        hashfxn=hash,
        epochs: int = 5,
        null_word: int = 0,
        min_n: int = 3,
        max_n: int = 6,
        sorted_vocab: int = 1,
        bucket: int = 2000000,
        trim_rule=None,
        batch_words: int = MAX_WORDS_IN_BATCH,
        callbacks: Sequence[Any] = (),
        max_final_vocab: Optional[int] = None,
        shrink_windows: bool = True,
    ):
        if word_ngrams != 1:
            raise NotImplementedError("Gensim's FastText implementation does not yet support word_ngrams != 1.")
        self.word_ngrams = 1
        self.min_n, self.max_n = int(min_n), int(max_n)
        # As gensim: no n-gram length in min_n..max_n, no buckets.
        self.bucket = 0 if self.max_n < self.min_n else int(bucket)
        if self.bucket < 0:
            raise ValueError(f"bucket must be 0 (no n-grams) or more, not {self.bucket}")
        if self.bucket and self.min_n < 1:
            raise NotImplementedError(
                f"min_n={self.min_n} (n-grams of no characters) is not supported: n-grams start at 1 character"
            )
        super().__init__(
            sentences=sentences,
            corpus_file=corpus_file,
            vector_size=vector_size,
            alpha=alpha,
            window=window,
            min_count=min_count,
            max_vocab_size=max_vocab_size,
            sample=sample,
            seed=seed,
            workers=workers,
            min_alpha=min_alpha,
            sg=sg,
            hs=hs,
            negative=negative,
            ns_exponent=ns_exponent,
            cbow_mean=cbow_mean,
            hashfxn=hashfxn,
            epochs=epochs,
            null_word=null_word,
            trim_rule=trim_rule,
            sorted_vocab=sorted_vocab,
            batch_words=batch_words,
            callbacks=callbacks,
            max_final_vocab=max_final_vocab,
            shrink_windows=shrink_windows,
        )

    def _settings(self) -> Dict[str, Any]:
        settings = super()._settings()
        if self.bucket:
            settings.update(min_n=self.min_n, max_n=self.max_n, bucket=self.bucket)
        return settings

    @classmethod
    def _from_facebook(cls, path) -> "FastText":
        """A model of a fastText ``.bin`` that goes on training (:func:`wordvec.load_facebook_model`)."""
        return cls._from_model(_wordvec.Word2VecModel.load_facebook(os.fspath(path)))


def save_facebook_model(model: FastText, path, encoding: str = "utf-8", lr_update_rate: int = 100, word_ngrams: int = 1) -> None:
    """gensim's ``save_facebook_model``: writes a trained :class:`FastText` as fastText's
    ``.bin`` (both matrices, the counts and the settings), which fastText's own module, gensim's
    ``load_facebook_model`` and :func:`wordvec.load_facebook_vectors` read."""
    if encoding.lower().replace("-", "") != "utf8":
        raise NotImplementedError("only UTF-8 models are supported")
    if word_ngrams != 1 or lr_update_rate != 100:
        raise NotImplementedError("word_ngrams and lr_update_rate are written as fastText's defaults (1 and 100)")
    if not isinstance(model, FastText) or model._m is None:
        raise TypeError("save_facebook_model writes a trained wordvec.FastText")
    model._m.save_facebook(os.fspath(path))
