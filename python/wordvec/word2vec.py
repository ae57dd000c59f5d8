"""``wordvec.Word2Vec``: gensim 4's ``Word2Vec`` class on wordvec's trainer.

>>> from wordvec import Word2Vec
>>> model = Word2Vec(sentences=[["hello", "world"]] * 100, vector_size=16, min_count=1)  # doctest: +SKIP
>>> model.wv.most_similar("hello", topn=1)                                               # doctest: +SKIP
>>> model.build_vocab(more_sentences, update=True)                                       # doctest: +SKIP
>>> model.train(more_sentences, total_examples=model.corpus_count, epochs=model.epochs)  # doctest: +SKIP

The constructor, ``build_vocab``, ``train``, ``wv``, ``save``/``load``, ``callbacks`` and
``get_latest_training_loss`` take gensim's arguments with gensim's defaults and meanings. How
the work is done differs:

- Sentences (any restartable iterable of token lists) are gathered in chunks of
  ``batch_words`` words and streamed to the Rust trainer, which counts them (``build_vocab``)
  or encodes them as word ids (``train``) on its own thread while Python goes on iterating;
  the epochs then run over the encoded ids on ``workers`` threads with the GIL released. So
  ``train`` iterates the corpus once, where gensim iterates it once an epoch: an iterable that
  yields other sentences on each pass trains on its first pass only.
- ``save`` writes a wordvec training checkpoint (vocabulary with counts, input and output
  vectors, settings), not a pickle; ``load`` reads one back and training goes on. ``pickle`` and
  ``copy.deepcopy`` copy the model by value.
- ``build_vocab(update=True)`` appends the new words most frequent first (gensim: in the order
  first seen); ``max_vocab_size`` keeps the most frequent words (gensim: prunes while counting).
- Not supported, refused with ``NotImplementedError``: ``hs=1`` (hierarchical softmax),
  ``negative=0``, ``null_word=1``, ``sorted_vocab=0``.

A subword model (:class:`wordvec.FastText`, in ``fasttext.py``) derives from this class: it
adds its n-gram settings in :meth:`Word2Vec._settings`, the Rust model holds its n-gram rows,
and ``wv`` is of the class :attr:`Word2Vec._wv_class` names.
"""

from __future__ import annotations

import os
from types import GeneratorType
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence

from . import _wordvec
from . import KeyedVectors

__all__ = ["Word2Vec"]

#: gensim's ``MAX_WORDS_IN_BATCH``: the default chunk size, in words.
MAX_WORDS_IN_BATCH = 10000


class Word2Vec:
    """gensim 4's ``Word2Vec``: skip-gram (``sg=1``) or CBOW with negative sampling."""

    #: The class of :attr:`wv`.
    _wv_class = KeyedVectors

    def __init__(
        self,
        sentences: Optional[Iterable[Sequence[str]]] = None,
        corpus_file: Optional[str] = None,
        vector_size: int = 100,
        alpha: float = 0.025,
        window: int = 5,
        min_count: int = 5,
        max_vocab_size: Optional[int] = None,
        sample: float = 1e-3,
        seed: int = 1,
        workers: int = 3,
        min_alpha: float = 0.0001,
        sg: int = 0,
        hs: int = 0,
        negative: int = 5,
        ns_exponent: float = 0.75,
        cbow_mean: int = 1,
        hashfxn=hash,
        epochs: int = 5,
        null_word: int = 0,
        trim_rule=None,
        sorted_vocab: int = 1,
        batch_words: int = MAX_WORDS_IN_BATCH,
        compute_loss: bool = False,
        callbacks: Sequence[Any] = (),
        comment: Optional[str] = None,
        max_final_vocab: Optional[int] = None,
        shrink_windows: bool = True,
    ):
        if hs:
            raise NotImplementedError(
                "hierarchical softmax (hs=1) is not supported: wordvec trains with negative sampling (hs=0, negative > 0)"
            )
        if not negative:
            raise NotImplementedError("negative=0 needs hierarchical softmax, which is not supported: use negative > 0")
        if null_word:
            raise NotImplementedError("null_word=1 (a padding word for CBOW) is not supported")
        if not sorted_vocab:
            raise NotImplementedError("sorted_vocab=0 is not supported: the vocabulary is sorted by frequency")
        self.vector_size = int(vector_size)
        self.alpha = float(alpha)
        self.min_alpha = float(min_alpha)
        self.window = int(window)
        self.min_count = int(min_count)
        self.max_vocab_size = max_vocab_size
        self.sample = float(sample)
        self.seed = int(seed)
        self.workers = int(workers)
        self.sg = int(sg)
        self.hs = 0
        self.negative = int(negative)
        self.ns_exponent = float(ns_exponent)
        self.cbow_mean = int(cbow_mean)
        self.hashfxn = hashfxn
        self.epochs = int(epochs)
        self.null_word = 0
        self.sorted_vocab = 1
        self.batch_words = int(batch_words)
        self.compute_loss = bool(compute_loss)
        self.callbacks = tuple(callbacks)
        self.comment = comment
        self.max_final_vocab = max_final_vocab
        self.shrink_windows = bool(shrink_windows)
        self.corpus_count = 0
        self.corpus_total_words = 0
        self.train_count = 0
        self.running_training_loss = 0.0
        self._m: Optional[_wordvec.Word2VecModel] = None
        self._wv: Optional[KeyedVectors] = None
        self._new_model()  # checks the settings now, as gensim's constructor does
        if sentences is not None or corpus_file is not None:
            _check_corpus(sentences, corpus_file, passes=self.epochs + 1)
            self.build_vocab(sentences, corpus_file=corpus_file, trim_rule=trim_rule)
            self.train(
                sentences,
                corpus_file=corpus_file,
                total_examples=self.corpus_count,
                total_words=self.corpus_total_words,
                epochs=self.epochs,
                start_alpha=self.alpha,
                end_alpha=self.min_alpha,
                compute_loss=compute_loss,
                callbacks=callbacks,
            )

    # -- the settings, for the Rust model; a subword subclass adds its own ---------------------

    def _settings(self) -> Dict[str, Any]:
        """The Rust model's settings, from the attributes (read when a vocabulary is built)."""
        return dict(
            sg=bool(self.sg),
            vector_size=self.vector_size,
            window=self.window,
            negative=self.negative,
            ns_exponent=self.ns_exponent,
            cbow_mean=bool(self.cbow_mean),
            shrink_windows=self.shrink_windows,
            sample=self.sample,
            min_count=self.min_count,
            max_vocab_size=self.max_vocab_size,
            epochs=self.epochs,
            workers=max(1, self.workers),
            alpha=self.alpha,
            min_alpha=self.min_alpha,
            seed=self.seed,
        )

    def _new_model(self) -> "_wordvec.Word2VecModel":
        return _wordvec.Word2VecModel(**self._settings())

    # -- gensim's API -----------------------------------------------------------------------------

    def build_vocab(
        self,
        corpus_iterable: Optional[Iterable[Sequence[str]]] = None,
        corpus_file: Optional[str] = None,
        update: bool = False,
        progress_per: int = 10000,
        keep_raw_vocab: bool = False,
        trim_rule=None,
        **kwargs,
    ) -> None:
        """Counts the corpus and builds the vocabulary; ``update=True`` adds the new words of
        this corpus seen ``min_count`` times to a trained model (known words keep their vectors
        and their counts grow), gensim's online training."""
        _check_corpus(corpus_iterable, corpus_file, passes=1)
        if update:
            if self._m is None:
                raise RuntimeError(
                    "You cannot do an online vocabulary-update of a model which has no prior vocabulary. "
                    "First build the vocabulary of your model with a corpus before doing an online update."
                )
            model = self._m
        else:
            model = self._new_model()
        stats = [0, 0]
        chunks, files = self._source(corpus_iterable, corpus_file, stats)
        model.build_vocab(
            chunks=chunks,
            files=files,
            update=update,
            trim_rule=trim_rule,
            min_count=int(kwargs.get("min_count", self.min_count)),
            max_final_vocab=self.max_final_vocab,
        )
        self._m = model
        self._wv = None
        if corpus_iterable is not None:
            self.corpus_count, self.corpus_total_words = stats
        else:
            self.corpus_count, self.corpus_total_words = 0, sum(model.vocab()[1]) if not update else 0

    def train(
        self,
        corpus_iterable: Optional[Iterable[Sequence[str]]] = None,
        corpus_file: Optional[str] = None,
        total_examples: Optional[int] = None,
        total_words: Optional[int] = None,
        epochs: Optional[int] = None,
        start_alpha: Optional[float] = None,
        end_alpha: Optional[float] = None,
        word_count: int = 0,
        queue_factor: int = 2,
        report_delay: float = 1.0,
        compute_loss: bool = False,
        callbacks: Sequence[Any] = (),
        **kwargs,
    ):
        """Trains ``epochs`` passes over the corpus, the learning rate decaying from
        ``start_alpha`` (default ``alpha``) to ``end_alpha`` (``min_alpha``). As gensim, it needs
        ``epochs`` and one of ``total_examples`` / ``total_words``. Returns ``(trained words,
        raw words)`` over all epochs (trained: after subsampling is not counted apart, so the
        words of the vocabulary)."""
        if self._m is None:
            raise RuntimeError("you must first build vocabulary before training the model")
        if epochs is None:
            raise ValueError("You must specify an explicit epochs count. The usual value is epochs=model.epochs.")
        if total_examples is None and total_words is None:
            raise ValueError(
                "You must specify either total_examples or total_words, for proper learning-rate "
                "and progress calculations. If you've just built the vocabulary using the same corpus, "
                "using the count cached in the model is sufficient: total_examples=model.corpus_count."
            )
        _check_corpus(corpus_iterable, corpus_file, passes=1)
        self.compute_loss = bool(compute_loss)
        cbs = tuple(callbacks)
        epochs = int(epochs)
        for cb in cbs:
            _call(cb, "on_train_begin", self)
        for cb in cbs:
            _call(cb, "on_epoch_begin", self)

        def on_epoch(done: int, handle: "_wordvec.Vectors") -> None:
            self._wv = self._wv_class(handle)
            for cb in cbs:
                _call(cb, "on_epoch_end", self)
            if done < epochs:
                for cb in cbs:
                    _call(cb, "on_epoch_begin", self)

        stats = [0, 0]
        chunks, files = self._source(corpus_iterable, corpus_file, stats)
        self._m.train(
            chunks=chunks,
            files=files,
            epochs=epochs,
            alpha=start_alpha,
            min_alpha=end_alpha,
            on_epoch=on_epoch if cbs else None,
        )
        self._wv = None
        self.running_training_loss = self._m.latest_loss() if self.compute_loss else 0.0
        self.train_count += 1
        for cb in cbs:
            _call(cb, "on_train_end", self)
        words = stats[1] if corpus_iterable is not None else self.corpus_total_words
        return words * epochs, words * epochs

    @property
    def wv(self) -> KeyedVectors:
        """The word vectors (gensim's ``KeyedVectors`` API), a copy made after each training."""
        if self._wv is None:
            if self._m is None:
                raise AttributeError("the model has no vocabulary yet: call build_vocab() or pass sentences")
            self._wv = self._wv_class(self._m.vectors())
        return self._wv

    def get_latest_training_loss(self) -> float:
        """The loss summed over every (word, target) pair of the last ``train`` call, with
        ``compute_loss=True`` (else 0.0, as gensim)."""
        return float(self.running_training_loss)

    def save(self, fname_or_handle, *args, **kwargs) -> None:
        """Writes the model as a wordvec training checkpoint (resumable with :meth:`load`)."""
        if self._m is None:
            raise RuntimeError("the model has no vocabulary yet: nothing to save")
        self._m.save(os.fspath(fname_or_handle))

    @classmethod
    def load(cls, fname, *args, **kwargs) -> "Word2Vec":
        """Reads a model written by :meth:`save` (or by ``wordvec train --checkpoint-every-epoch``
        / ``--update``, whose ``OUTPUT.ckpt`` is the same format); training goes on from it. A
        subword model's checkpoint gives a :class:`wordvec.FastText`, as gensim's ``load``
        gives the class that was saved."""
        return cls._from_model(_wordvec.Word2VecModel.load(path=os.fspath(fname)))

    @classmethod
    def _from_model(cls, model: "_wordvec.Word2VecModel", attrs: Optional[Dict[str, Any]] = None) -> "Word2Vec":
        settings = model.settings()
        ngrams = {k: settings.pop(k) for k in ("min_n", "max_n", "bucket")}
        if ngrams["bucket"] and cls is Word2Vec:
            from .fasttext import FastText

            cls = FastText
        if cls is not Word2Vec:
            settings.update(ngrams)
        self = cls.__new__(cls)
        cls.__init__(self, **settings)
        self._m = model
        self.__dict__.update(attrs or {})
        return self

    # -- pickling by value ------------------------------------------------------------------------

    def __getstate__(self) -> Dict[str, Any]:
        state = {k: v for k, v in self.__dict__.items() if k not in ("_m", "_wv")}
        state["_checkpoint"] = None if self._m is None else self._m.to_bytes()
        # Vectors without a training state (a fastText file's) travel as they pickle.
        state["_vectors_only"] = self._wv if self._m is None else None
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        state = dict(state)
        data = state.pop("_checkpoint")
        wv = state.pop("_vectors_only", None)
        self.__dict__.update(state)
        self._wv = wv
        self._m = None if data is None else _wordvec.Word2VecModel.load(data=data)

    def __str__(self) -> str:
        if self._m is not None:
            n = len(self._m.vocab()[0])
        else:
            n = 0 if self._wv is None else len(self._wv)
        return f"{type(self).__name__}<vocab={n}, vector_size={self.vector_size}, alpha={self.alpha}>"

    __repr__ = __str__

    # -- the corpus -------------------------------------------------------------------------------

    def _source(self, corpus_iterable, corpus_file, stats: List[int]):
        """The corpus as the Rust model takes it: chunks of sentences, or a list of files."""
        if corpus_iterable is not None:
            return _chunks(corpus_iterable, max(1, self.batch_words), stats), None
        files = [corpus_file] if isinstance(corpus_file, (str, os.PathLike)) else list(corpus_file)
        return None, [os.fspath(f) for f in files]


def _check_corpus(corpus_iterable, corpus_file, passes: int) -> None:
    """gensim's checks of the corpus arguments, with its exceptions."""
    if corpus_file is None and corpus_iterable is None:
        raise TypeError("Either one of corpus_file or corpus_iterable value must be provided")
    if corpus_file is not None and corpus_iterable is not None:
        raise TypeError("Both corpus_file and corpus_iterable must not be provided at the same time")
    if corpus_iterable is None:
        files = [corpus_file] if isinstance(corpus_file, (str, os.PathLike)) else list(corpus_file)
        for f in files:
            if not os.path.isfile(f):
                raise TypeError("Parameter corpus_file must be a valid path to a file, got %r instead" % f)
        return
    if isinstance(corpus_iterable, (str, bytes)) or not hasattr(corpus_iterable, "__iter__"):
        raise TypeError(f"The corpus_iterable must be an iterable of lists of strings, got {corpus_iterable!r} instead")
    if isinstance(corpus_iterable, GeneratorType) and passes > 1:
        raise TypeError(
            f"Using a generator as corpus_iterable can't support {passes} passes. Try a re-iterable sequence."
        )


def _chunks(corpus: Iterable[Sequence[str]], batch_words: int, stats: List[int]) -> Iterator[List[List[str]]]:
    """Sentences gathered into lists of about ``batch_words`` words; ``stats`` counts the
    sentences and words handed on."""
    chunk: List[List[str]] = []
    words = 0
    for sentence in corpus:
        if isinstance(sentence, str):
            raise TypeError(f"a sentence is a list of str tokens, not a str: {sentence[:40]!r}")
        s = sentence if type(sentence) is list else list(sentence)
        chunk.append(s)
        words += len(s)
        if words >= batch_words:
            stats[0] += len(chunk)
            stats[1] += words
            yield chunk
            chunk, words = [], 0
    if chunk:
        stats[0] += len(chunk)
        stats[1] += words
        yield chunk


def _call(callback, method: str, model: Word2Vec) -> None:
    f = getattr(callback, method, None)
    if f is not None:
        f(model)
