"""wordvec: word vectors as gensim's ``KeyedVectors``, on wordvec's Rust library.

Files are memory-mapped instead of parsed (the native ``.wvec`` format in place, word2vec
``.bin`` rows read where they lie), queries run on all cores with SIMD kernels or through an
HNSW index, and the GIL is released for every load, scan, evaluation, index build and training
run, so several Python threads query in parallel.

>>> import wordvec
>>> kv = wordvec.KeyedVectors.load_word2vec_format("vectors.bin", binary=True)  # doctest: +SKIP
>>> kv.most_similar(positive=["king", "woman"], negative=["man"], topn=3)       # doctest: +SKIP
[('queen', 0.71), ...]

The names, arguments, defaults, return types and exceptions are gensim 4's (unknown words raise
``KeyError``), so code written for gensim runs unchanged; what gensim lacks is added:
``build_index`` and ``most_similar(..., exact=False, ef=...)``, ``wordvec.train`` with
``Word2Vec``'s argument names, and ``wordvec.Classifier``.
"""

from __future__ import annotations

import logging
import os
import sys
import weakref
from numbers import Integral
from collections.abc import Sequence
from typing import Any, Dict, Iterable, List, Optional, Tuple, Union

import numpy as np

from . import _wordvec

__all__ = [
    "KeyedVectors",
    "FastTextKeyedVectors",
    "HnswIndexer",
    "load_facebook_vectors",
    "load_facebook_model",
    "save_facebook_model",
    "FastText",
    "Classifier",
    "Word2Vec",
    "train",
    "ProgressBar",
    "__version__",
]
__version__ = _wordvec.__version__

logger = logging.getLogger(__name__)

Key = str
Term = Union[str, np.ndarray, Tuple[Union[str, np.ndarray], float]]


class ProgressBar:
    """A progress callback for long work: a bar on a terminal's stderr, nothing elsewhere.

    Pass ``progress=True`` to a loading, saving, indexing or training call for this bar, or any
    callable taking ``(message, done, total)`` (training: one dict per report) for your own, a
    notebook widget say.
    """

    def __init__(self, label: str, stream=None):
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last = -1

    def __call__(self, message: str, done: int, total: int) -> None:
        if not self.enabled or total <= 0:
            return
        pct = min(100, int(100 * done / total))
        if pct == self._last:
            return
        self._last = pct
        fill = pct * 30 // 100
        text = message or self.label
        self.stream.write(f"\r{text} [{'=' * fill}{' ' * (30 - fill)}] {pct:3d}%")
        if pct == 100:
            self.stream.write("\n")
        self.stream.flush()


def _progress(progress: Any, label: str):
    if progress is True:
        return ProgressBar(label)
    if progress in (None, False):
        return None
    if callable(progress):
        return progress
    raise TypeError("progress must be True, False, None or a callable")


def _ensure_list(value: Any) -> list:
    """gensim's ``_ensure_list``: one key or vector becomes a list of one."""
    if value is None:
        return []
    if isinstance(value, str) or (isinstance(value, np.ndarray) and value.ndim == 1):
        return [value]
    if isinstance(value, np.ndarray) and value.ndim == 2:
        return list(value)
    return list(value)


_F32 = np.dtype("<f4")
_frombuffer = np.frombuffer


def _unitvec(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32)
    n = np.linalg.norm(v)
    return v / n if n > 0 else v


def _as_vector_bytes(v: Any, dims: int) -> bytes:
    a = np.asarray(v, dtype="<f4")
    if a.ndim != 1 or a.shape[0] != dims:
        raise ValueError(f"a query vector must have {dims} dimensions, not shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError("a query vector holds NaN or an infinity")
    return a.tobytes()


class _WordList(Sequence):
    """``kv.index_to_key`` until it is first read: on first use (indexing, slicing, iteration,
    ``in``, comparison) it makes gensim's list of every word by row and puts that list in its
    place, so from then on ``kv.index_to_key`` is a plain attribute holding a list and
    ``kv.index_to_key[i]`` costs what gensim's does. The list holds a Python string per word
    (about 70 bytes each with the list's pointer: 6.6 MB for 94,532 words, some 210 MB for 3
    million, as gensim's), which loading and the queries do not need, so a program that never
    reads it never pays for it. A write puts a new stand-in in place (the next read makes the
    list with the new words).

    A stand-in rather than a descriptor on the class: CPython's fast attribute lookup gives up
    on an instance attribute that shadows a descriptor (about 35 ns a read on Python 3.11),
    and on every attribute of a class with ``__getattr__``."""

    __slots__ = ("_v", "_owner", "_words")

    def __init__(self, kv: "KeyedVectors"):
        self._v = kv._v
        self._owner = weakref.ref(kv)
        self._words: Optional[List[str]] = None

    def _list(self) -> List[str]:
        if self._words is None:
            self._words = self._v.words()
            kv = self._owner()
            if kv is not None and getattr(kv, "index_to_key", None) is self:
                kv.index_to_key = self._words
        return self._words

    def __getitem__(self, i):
        return self._list()[i]

    def __len__(self) -> int:
        return len(self._v) if self._words is None else len(self._words)

    def __iter__(self):
        return iter(self._list())

    def __contains__(self, word) -> bool:
        return word in self._list()

    def __eq__(self, other) -> bool:
        return self._list() == (other._list() if isinstance(other, _WordList) else other)

    def __repr__(self) -> str:
        return repr(self._list())


class _Keys(_wordvec.Keys, Sequence):
    """The words by row without a list of them: a read-only sequence read from the vocabulary
    on demand, which the package uses where it needs a few words or one pass over them (a list
    of three million Python strings costs half a second and 200 MB, which a query does not
    need); indexing and ``len`` are the compiled base class's. It compares equal to a list of
    the same words; ``list()`` makes one. ``kv.index_to_key`` is gensim's list, built on first
    use (see ``_WordList``)."""

    def __init__(self, handle: "_wordvec.Vectors"):
        self._v = handle

    def __iter__(self):
        n, chunk = len(self._v), 65536
        for start in range(0, n, chunk):
            yield from self._v.words(start, start + chunk)

    def __contains__(self, word) -> bool:
        return isinstance(word, str) and self._v.index_of(word) is not None

    def index(self, word, *args) -> int:
        i = self._v.index_of(word) if isinstance(word, str) else None
        if i is None:
            raise ValueError(f"{word!r} is not in index_to_key")
        return i

    def __eq__(self, other) -> bool:
        if isinstance(other, _Keys):
            other = list(other)
        if not isinstance(other, (list, tuple)):
            return NotImplemented
        return len(other) == len(self) and all(a == b for a, b in zip(self, other))

    def __repr__(self) -> str:
        head = self._v.words(0, 5)
        more = ", ..." if len(self) > 5 else ""
        return f"[{', '.join(map(repr, head))}{more}]"


class KeyedVectors(_wordvec.KeyedBase):
    """Word vectors with gensim 4's ``KeyedVectors`` API.

    Open one with :meth:`load_word2vec_format` (word2vec binary or text, gzipped or not, GloVe
    with ``no_header=True``) or :meth:`load` (wordvec's native format, memory-mapped: ready in
    well under a second for millions of words, and shared between processes by the page cache).
    """

    def __init__(self, vector_size: Union[int, "_wordvec.Vectors"], count: int = 0, dtype=np.float32, mapfile_path=None):
        """``KeyedVectors(vector_size)``: an empty set of vectors, filled by :meth:`add_vectors`
        (gensim's constructor; ``count``, gensim's preallocated empty slots, is not supported).
        Files are opened with :meth:`load_word2vec_format` or :meth:`load`."""
        if isinstance(vector_size, _wordvec.Vectors):
            handle = vector_size
        elif isinstance(vector_size, Integral) and not isinstance(vector_size, bool):
            if count:
                raise NotImplementedError("count (preallocated empty slots) is not supported: add vectors with add_vectors()")
            if np.dtype(dtype) != np.float32:
                raise NotImplementedError("vectors are float32")
            handle = _wordvec.Vectors.empty(int(vector_size))
        else:
            raise TypeError(
                "KeyedVectors(vector_size) makes an empty set of vectors; files are opened with "
                "KeyedVectors.load_word2vec_format() or .load()"
            )
        self._v = handle
        # Per-key attributes (gensim's vecattrs): name to an array by row. The compiled base
        # class reads this same dict (get_vecattr), so it is filled and cleared, never replaced.
        self._attrs: Dict[str, np.ndarray] = {}
        self._bind(handle, True, self._attrs)
        # How the vectors were opened (a file's path and the loader's arguments), the library's
        # fingerprint of them once known, and the writes since: what a pickle re-opens and
        # replays (see __reduce__).
        self._origin: Optional[Tuple[str, Dict[str, Any]]] = None
        self._fingerprint: Optional[str] = None
        self._writes: List[Tuple[List[str], np.ndarray, bool]] = []
        self._dtype = np.dtype(np.float32)
        self._f32 = True  # whether _dtype is float32 (a dtype comparison costs 0.1 us)
        self._forget()

    def _forget(self) -> None:
        """Drops what was computed from the rows (after a write)."""
        self._reset(self._f32)
        # The words by row, read from the vocabulary on demand, for the package's own use: it
        # never makes ``index_to_key``'s list (see index_to_key).
        self._keys = _Keys(self._v)
        #: Every word, by row: gensim's list, made on first use (see _WordList).
        self.index_to_key: List[str] = _WordList(self)  # type: ignore[assignment]
        self._key_to_index: Optional[Dict[str, int]] = None
        self._vectors: Optional[np.ndarray] = None
        self._norms: Optional[np.ndarray] = None
        self._normed: Optional[np.ndarray] = None
        # The raw rows as a NumPy array over the stored floats when they are stored raw and
        # back to back (no copy), for `kv[word]`'s fast path; False when they are not.
        self._raw: Any = None

    def _raw_rows(self) -> Any:
        if self._raw is None:
            shared = self._f32 and self._v.matrix_shared(False)
            self._raw = np.asarray(self._v.matrix(False)) if shared else False
        return self._raw

    @classmethod
    def _opened(cls, fname, **args) -> "KeyedVectors":
        """Opens ``fname`` with the binding's ``Vectors.open`` arguments ``args``, remembering
        them for pickling."""
        path = os.fspath(fname)
        progress = args.pop("progress", None)
        handle = _wordvec.Vectors.open(path, progress=progress, **args)
        if cls is KeyedVectors and handle.subwords is not None:
            cls = FastTextKeyedVectors  # a fastText model (or its native copy) answers n-grams
        kv = cls(handle)
        kv._origin = (os.path.abspath(path), args)
        return kv

    # ---- opening and saving -------------------------------------------------------------

    @classmethod
    def load_word2vec_format(
        cls,
        fname: Union[str, os.PathLike],
        fvocab=None,
        binary: bool = False,
        encoding: str = "utf8",
        unicode_errors: str = "strict",
        limit: Optional[int] = None,
        datatype=np.float32,
        no_header: bool = False,
        progress: Any = None,
    ) -> "KeyedVectors":
        """Opens a word2vec file: binary with ``binary=True``, text otherwise (GloVe's headerless
        text with ``no_header=True``); ``.gz`` files are decompressed. ``limit`` reads the first
        words only. A file that is not in the format asked for is a ``ValueError`` naming the
        byte offset where it stops making sense.

        >>> kv = KeyedVectors.load_word2vec_format("GoogleNews-vectors-negative300.bin", binary=True)  # doctest: +SKIP
        """
        if encoding.lower().replace("-", "") not in ("utf8",):
            raise NotImplementedError("only UTF-8 files are supported")
        dtype = np.dtype(datatype)
        if dtype.kind != "f":
            raise ValueError(f"datatype must be a floating-point type, not {dtype}")
        fmt = "bin" if binary else ("glove" if no_header else "txt")
        kv = cls._opened(
            fname,
            format=fmt,
            limit=limit,
            unicode_errors=unicode_errors,
            progress=_progress(progress, f"loading {fname}"),
        )
        kv._dtype = dtype
        kv._f32 = dtype == np.float32
        kv._reset(kv._f32)
        if fvocab is not None:
            kv._read_counts(fvocab)
        return kv

    def _read_counts(self, fvocab: Union[str, os.PathLike]) -> None:
        """gensim's ``fvocab``: a ``word count`` line per word sets the words' ``count``."""
        counts = self._attr("count", np.int64)
        with open(fvocab, "rb") as f:
            for line in f:
                word, count = line.decode("utf-8").rstrip().rsplit(" ", 1)
                i = self._v.index_of(word)
                if i is not None:
                    counts[i] = int(count)

    @classmethod
    def load(cls, fname: Union[str, os.PathLike], mmap: Optional[str] = None, progress: Any = None) -> "KeyedVectors":
        """Opens a file in any format wordvec reads, detected from its contents; the native
        ``.wvec`` format (written by :meth:`save`) is memory-mapped without a copy. An int8 copy
        (``PATH.i8``) and an index (``PATH.idx``) beside the file are picked up. ``mmap`` is
        accepted for gensim's signature: wordvec always maps."""
        return cls._opened(fname, progress=_progress(progress, f"loading {fname}"))

    def save(self, fname: Union[str, os.PathLike], progress: Any = None) -> None:
        """Writes wordvec's native format (memory-mapped by :meth:`load`), atomically (a
        temporary file renamed into place, so the file these vectors were opened from may be
        overwritten); after writes, the merged rows."""
        self._v.save(os.fspath(fname), "native", progress=_progress(progress, f"writing {fname}"))

    def save_word2vec_format(
        self,
        fname: Union[str, os.PathLike],
        fvocab=None,
        binary: bool = False,
        total_vec=None,
        write_header: bool = True,
        prefix: str = "",
        append: bool = False,
        sort_attr: str = "count",
        progress: Any = None,
    ) -> None:
        """Writes word2vec binary (``binary=True``) or text (GloVe's without a header when
        ``write_header=False``), atomically, in vocabulary order."""
        if total_vec is not None or prefix or append:
            raise NotImplementedError("total_vec, prefix and append are not supported")
        fmt = "bin" if binary else ("txt" if write_header else "glove")
        self._v.save(os.fspath(fname), fmt, progress=_progress(progress, f"writing {fname}"))
        if fvocab is not None:
            counts = self._attr("count", np.int64)
            with open(fvocab, "wb") as f:
                for i, word in enumerate(self._keys):
                    f.write(f"{word} {counts[i]}\n".encode("utf-8"))

    # ---- pickling and copies -------------------------------------------------------------

    def __reduce__(self):
        """Pickles (and ``copy.deepcopy``) as gensim's do, without copying a mapped file: vectors
        read from a file travel as its path, the loader's arguments and the library's
        fingerprint of the vectors, and the other side opens the file again (mapping it: the
        page cache is shared) and checks the fingerprint; the writes made since
        (:meth:`add_vectors`) travel with them and are made again. Vectors made in memory
        (``KeyedVectors(n)`` filled by ``add_vectors``, trained ones) travel by value: their
        words and raw vectors, or with n-grams (a trained ``FastText``'s) the bytes of the
        native file, which holds them. Per-key attributes (``set_vecattr``) travel either way. An index
        built in memory does not (one saved beside the file, ``PATH.idx``, is opened again)."""
        if self._origin is not None:
            if self._fingerprint is None:
                self._fingerprint = self._v.fingerprint()
            state = ("file", self._origin, self._fingerprint, self._writes)
        elif self._v.subwords is not None:
            # n-grams made in memory (a trained FastText's): the native file, which holds them.
            import tempfile

            with tempfile.TemporaryDirectory() as d:
                path = os.path.join(d, "vectors.wvec")
                self._v.save(path, "native", progress=None)
                with open(path, "rb") as f:
                    state = ("native", f.read())
        else:
            words = list(self._keys)
            matrix = np.ascontiguousarray(np.asarray(self._v.matrix(False)), dtype="<f4")
            state = ("value", words, matrix.tobytes(), self.vector_size)
        extra = {"dtype": self._dtype.str, "attrs": self._attrs}
        return (_restore, (type(self), state, extra))

    def __deepcopy__(self, memo):
        kv = _restore(*self.__reduce__()[1])
        memo[id(self)] = kv
        return kv

    def __copy__(self):
        return self.__deepcopy__({})

    # ---- the vocabulary -----------------------------------------------------------------

    # len(kv), `word in kv`, kv[word] and get_index(word) are the compiled base class's
    # (wordvec._wordvec.KeyedBase): type slots, no Python frame; what they do not answer comes
    # to _getitem and _get_index.

    def has_index_for(self, key: Any) -> bool:
        """Whether ``key`` has a row (is in the vocabulary; a row number is one too)."""
        return self.get_index(key, -1) >= 0

    # ---- per-key attributes (gensim's "vecattrs") ----------------------------------------

    def _attr(self, attr: str, dtype=None) -> np.ndarray:
        """The array of ``attr``, one entry per row, made (or grown after writes) on first use.
        ``count`` starts as gensim's made-up counts for vectors read from a file (the first word
        ``len(self)``, then one less per row, as ``load_word2vec_format`` sets them), 0 for rows
        added since."""
        n = len(self)
        values = self._attrs.get(attr)
        if values is None:
            if attr == "count":
                values = np.arange(n, 0, -1, dtype=np.int64) if self._origin else np.zeros(n, np.int64)
            elif dtype is None:
                raise KeyError(f"no attribute {attr!r}: set it with set_vecattr()")
            else:
                values = np.zeros(n, dtype=dtype)
            self._attrs[attr] = values
        elif len(values) < n:
            values = np.concatenate([values, np.zeros(n - len(values), dtype=values.dtype)])
            self._attrs[attr] = values
        return values

    # get_vecattr(key, attr), the value of ``attr`` for ``key``, is the compiled base class's
    # for a word whose attribute array is made; the rest comes here.

    def _get_vecattr(self, key: Key, attr: str) -> Any:
        """``get_vecattr`` for what the base class does not answer: makes or grows the array of
        ``attr`` (gensim's ``count`` is there for vectors read from a file: see
        :meth:`set_vecattr`)."""
        return self._attr(attr)[self.get_index(key)]

    def set_vecattr(self, key: Key, attr: str, val: Any) -> None:
        """Sets ``attr`` of ``key`` to ``val`` (the attribute's type is the first value's, as
        in gensim)."""
        values = self._attr(attr, np.asarray(val).dtype)
        values[self.get_index(key)] = val

    def __repr__(self) -> str:
        return f"<KeyedVectors {self._v.describe()}>"

    @property
    def vector_size(self) -> int:
        """Dimensions."""
        return self._v.dims

    @property
    def key_to_index(self) -> Dict[str, int]:
        """Word to row, gensim's dict: made on first use (``in``, ``[]`` and the other calls
        look words up in the vocabulary without it); ``get_index`` answers from it once it is
        made, and makes it after as many calls as there are words."""
        d = self._key_to_index
        if d is None:
            # A write in another thread while the dict is made must not leave it stale: it is
            # kept (and answered from by get_index) only if no write came meanwhile, which
            # _use_index checks and does in one step.
            generation = self._generation()
            # Keyed by the very strings of ``index_to_key``, as gensim's: they are stored once,
            # and a word taken from the list is found by identity, without comparing text.
            words = self.index_to_key
            if isinstance(words, _WordList):
                words = words._list()
            d = {w: i for i, w in enumerate(words)}
            self._use_index(d, generation)
        return d

    def _get_index(self, key: Any, default: Optional[int] = None) -> int:
        """``get_index`` for what the base class does not answer: the row of ``key`` (an int
        row passes through); ``KeyError`` when absent, unless ``default`` is given."""
        if isinstance(key, str):
            i = self._index_of(key)
            if i is not None:
                return i
        else:
            hash(key)  # gensim looks the key up in a dict: an unhashable key is a TypeError
            if isinstance(key, (int, np.integer)) and 0 <= key < len(self):
                return key  # as given, as gensim returns it
        if default is not None:
            return default
        raise KeyError(f"Key '{key}' not present")

    def _index_of(self, word: str) -> Optional[int]:
        """The row of ``word``, or ``None``; a ``str`` no UTF-8 file can hold (a lone
        surrogate) is not a word of the vocabulary."""
        try:
            return self._v.index_of(word)
        except UnicodeEncodeError:
            return None

    # ---- vectors ------------------------------------------------------------------------

    # ---- writes -------------------------------------------------------------------------

    def _rows(self, keys: list, weights: Any) -> bytes:
        """``weights`` as one float32 row per key, checked (shape, finite values) as bytes."""
        for k in keys:
            if not isinstance(k, str):
                raise TypeError(f"keys are str, not {type(k).__name__}: {k!r}")
        a = np.asarray(weights, dtype="<f4")
        if a.ndim != 2 or a.shape != (len(keys), self.vector_size):
            raise ValueError(
                f"{len(keys)} keys of {self.vector_size} dimensions need a {len(keys)} x {self.vector_size} "
                f"array of vectors, not shape {a.shape}"
            )
        if not np.all(np.isfinite(a)):
            raise ValueError("a vector holds NaN or an infinity")
        return np.ascontiguousarray(a).tobytes()

    def add_vectors(self, keys: Union[Key, List[Key]], weights: Any, extras=None, replace: bool = False) -> None:
        """Adds keys and their vectors, as gensim does: new keys after the others, in order;
        keys already present keep their vector, or get the new one in their place with
        ``replace=True``. A key given twice keeps its last vector (gensim would list it twice).
        A vector of the wrong dimension or holding NaN or an infinity is a ``ValueError`` and
        changes nothing.

        The vectors as opened stay as they are (a mapped file is never written): the rows added
        or replaced are kept in memory beside them, and every query answers over the merged rows,
        as if they were one file; :meth:`save` writes that file. After a write, :attr:`vectors`
        and :meth:`get_normed_vectors` are a copy of the merged rows, made on first use after
        each write (a ``len x vector_size`` float32 matrix), and the first lookup after a write
        merges the vocabulary (an entry per row: a few milliseconds for millions of words), so
        add many keys in one call rather than one call per key."""
        if extras:
            raise NotImplementedError("extras (per-key attributes) are not supported")
        if isinstance(keys, (str, Integral)):
            keys = [keys]
            weights = np.asarray(weights, dtype=np.float32).reshape(1, -1)
        keys = list(keys)
        if not keys:
            return
        data = self._rows(keys, weights)
        if self._origin is not None and self._fingerprint is None and not self._writes:
            # A pickle re-opens the file and replays the writes: it needs the file's vectors'
            # fingerprint from before the first of them.
            self._fingerprint = self._v.fingerprint()
        try:
            self._v.add(keys, data, bool(replace))
            self._writes.append((keys, data, bool(replace)))
        finally:
            self._forget()

    def add_vector(self, key: Key, vector: Any) -> int:
        """Adds one key and its vector, as gensim does: a new key goes after the others and its
        index comes back; a key already present keeps its vector (``add_vectors`` without
        ``replace``), and the index that comes back is ``len(self)``, as gensim's is. Use
        ``kv[key] = vector`` to replace a vector."""
        target = len(self)
        self.add_vectors([key], [vector])
        return target

    def __setitem__(self, keys: Union[Key, List[Key]], weights: Any) -> None:
        """``kv[key] = vector`` and ``kv[[key, ...]] = matrix``: :meth:`add_vectors` with
        ``replace=True``."""
        if not isinstance(keys, list):
            keys = [keys]
            weights = np.asarray(weights, dtype=np.float32).reshape(1, -1)
        self.add_vectors(keys, weights, replace=True)

    @property
    def vectors(self) -> np.ndarray:
        """The raw vectors, one row per key, read-only (gensim's ``vectors``). Stored raw and
        back to back (word2vec text files, vectors made in memory or trained) they are the rows
        themselves, without a copy (the array keeps a mapping alive); a word2vec binary file
        keeps its rows between the words, and the native format stores unit rows with their
        lengths, so for those this is a copy made on first use (``get_normed_vectors()`` of a
        native file is its mapped rows). After a write (:meth:`add_vectors`), a copy of the
        merged rows, made on first use after each write."""
        if self._vectors is None:
            v = np.asarray(self._v.matrix(False))
            self._vectors = v if self._f32 else v.astype(self._dtype)
        return self._vectors

    @property
    def norms(self) -> np.ndarray:
        """Each vector's length."""
        if self._norms is None:
            self._norms = np.asarray(self._v.norms())
        return self._norms

    def fill_norms(self, force: bool = False) -> None:
        """For gensim's signature: norms are always there."""

    def get_normed_vectors(self) -> np.ndarray:
        """Every vector at unit length, read-only: the mapped rows themselves for the native
        format, a copy made on first use for the others (a zero vector stays zero)."""
        if self._normed is None:
            v = np.asarray(self._v.matrix(True))
            self._normed = v if self._f32 else v.astype(self._dtype)
        return self._normed

    def get_vector(self, key: Key, norm: bool = False) -> np.ndarray:
        """The vector of ``key`` (unit length with ``norm``), read-only; ``KeyError`` when
        absent. A row number is a key too, as in gensim."""
        if isinstance(key, str):
            if not norm:
                raw = self._raw if self._raw is not None else self._raw_rows()
                if raw is not False:
                    i = self._index_of(key)
                    if i is not None:
                        return raw[i]
            try:
                v = _frombuffer(self._v.vector(key, norm), _F32)
            except (KeyError, UnicodeEncodeError):
                raise KeyError(f"Key '{key}' not present") from None
        elif isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            v = np.asarray(self._v.rows([self.get_index(key)], norm))[0]
        else:
            raise KeyError(f"Key '{key}' not present")
        return v if self._f32 else v.astype(self._dtype)

    word_vec = get_vector

    def _getitem(self, key_or_keys: Union[Key, Iterable[Key]]) -> np.ndarray:
        """``kv[key]`` and ``kv[keys]`` for what the base class does not answer (a word in the
        vocabulary of float32 vectors): one key's vector, or the keys' vectors stacked."""
        if isinstance(key_or_keys, (str, int, np.integer)):
            return self.get_vector(key_or_keys)
        keys = list(key_or_keys)
        if not keys:
            return np.empty((0, self.vector_size), dtype=self._dtype)
        if all(isinstance(k, str) for k in keys):
            rows = _frombuffer(self._v.vectors_of(keys), _F32).reshape(len(keys), -1)
            return rows if self._f32 else rows.astype(self._dtype)
        return np.vstack([self.get_vector(k) for k in keys])

    def get_mean_vector(
        self,
        keys: Sequence[Any],
        weights=None,
        pre_normalize: bool = True,
        post_normalize: bool = False,
        ignore_missing: bool = True,
    ) -> np.ndarray:
        """gensim's weighted mean of keys' (unit, with ``pre_normalize``) vectors: the sum of
        each vector times its weight over the sum of the weights' magnitudes. Keys without a
        vector are left out with ``ignore_missing`` (a fastText model has one for any word with
        n-grams), else ``KeyError``."""
        if len(keys) == 0:
            raise ValueError("cannot compute mean with no input")
        if weights is None:
            weights = [1.0] * len(keys)
        elif isinstance(weights, np.ndarray):
            weights = weights.astype(np.float32, copy=False).tolist()
        else:
            weights = [float(w) for w in weights]
        if len(keys) != len(weights):
            raise ValueError("keys and weights array must have same number of elements")
        if all(isinstance(k, str) for k in keys):
            mean = _frombuffer(self._v.mean_vector(list(keys), weights, pre_normalize, ignore_missing), _F32).copy()
        else:
            mean = self._mean_in_numpy(keys, np.asarray(weights, dtype=np.float32), pre_normalize, ignore_missing)
        if post_normalize:
            mean = _unitvec(mean)
        return mean if self._f32 else mean.astype(self._dtype)

    def _mean_in_numpy(self, keys, weights, pre_normalize, ignore_missing) -> np.ndarray:
        """``get_mean_vector`` with vectors among the keys, as gensim computes it."""
        mean = np.zeros(self.vector_size, np.float32)
        total = np.float32(0)
        for w, key in zip(weights, keys):
            if isinstance(key, np.ndarray):
                mean += w * key
                total += abs(w)
            elif key in self:
                mean += w * self.get_vector(key, norm=pre_normalize)
                total += abs(w)
            elif not ignore_missing:
                raise KeyError(f"Key '{key}' not present in vocabulary")
        return mean / total if total > 0 else mean

    # ---- similarity queries ---------------------------------------------------------------

    def _terms(self, items: list) -> list:
        """Query terms for the Rust side: words (checked there: one look-up, not two), and
        vectors as float32 bytes."""
        return [item if isinstance(item, str) else _as_vector_bytes(item, self.vector_size) for item in items]

    def most_similar(
        self,
        positive: Any = None,
        negative: Any = None,
        topn: Optional[int] = 10,
        clip_start: int = 0,
        clip_end: Optional[int] = None,
        restrict_vocab: Optional[int] = None,
        indexer=None,
        exact: Optional[bool] = None,
        ef: Optional[int] = None,
        allow: Optional[Iterable[str]] = None,
        deny: Optional[Iterable[str]] = None,
    ) -> Union[List[Tuple[str, float]], np.ndarray]:
        """The ``topn`` keys nearest to the mean of the (unit) positive vectors minus the
        negative ones, as ``(key, cosine)`` pairs, the query's own keys left out (3CosAdd).
        Keys, vectors and ``(key, weight)`` pairs are accepted as gensim accepts them. With
        ``topn=None`` the cosines of every key come back as an array.

        Exact, as gensim's, unless asked otherwise: ``indexer`` (an :class:`HnswIndexer`, as
        gensim takes an ``AnnoyIndexer``; any object with gensim's indexer method
        ``most_similar(vector, topn)`` works) answers instead of the scan, as in gensim
        (the query's own keys are not left out then). ``exact=False`` (not in gensim) goes
        through the index of :meth:`build_index` or :meth:`load_index` (``ef`` its candidate
        list; an error without one), leaving the query's keys out. ``allow`` (only these words
        may be answered) and ``deny`` (never these) filter the answers, in the scan and in the
        index alike; words outside the vocabulary in them are ignored.
        """
        if isinstance(topn, Integral) and topn < 1:
            return []
        restrict_vocab = restrict_vocab or None  # gensim: 0 restricts nothing
        positive = _ensure_list(positive)
        negative = _ensure_list(negative)
        items = positive + negative
        weights = [1.0] * len(positive) + [-1.0] * len(negative)
        keys = []
        for i, item in enumerate(items):
            if isinstance(item, (str, np.ndarray)):
                keys.append(item)
            else:
                keys.append(item[0])
                weights[i] = float(item[1])
        if not keys:
            raise ValueError("cannot compute similarity with no input")
        if indexer is not None and isinstance(topn, int):
            mean = self.get_mean_vector(keys, weights, pre_normalize=True, post_normalize=True, ignore_missing=False)
            return indexer.most_similar(mean, topn)
        if clip_start or clip_end:
            if restrict_vocab:
                clip_start, clip_end = 0, restrict_vocab
        filters = dict(
            allow=None if allow is None else list(allow),
            deny=None if deny is None else list(deny),
        )
        if not topn or clip_start or (clip_end and not restrict_vocab):
            if allow is not None or deny is not None:
                raise NotImplementedError("allow/deny with topn=None or clipping")
            return self._scan_in_numpy(keys, weights, topn, clip_start, clip_end or restrict_vocab)
        mode = "index" if exact is False else "exact"
        n_pos = len(positive)
        default_weights = all(w == 1.0 for w in weights[:n_pos]) and all(w == -1.0 for w in weights[n_pos:])
        if default_weights:
            pos = self._terms(keys[:n_pos])
            neg = self._terms(keys[n_pos:])
            return self._v.most_similar(pos, neg, int(topn), restrict_vocab, False, mode, ef, **filters)
        # Weighted terms: gensim's weighted mean as a vector, the keys left out by hand.
        mean = self.get_mean_vector(keys, weights, pre_normalize=True, post_normalize=True, ignore_missing=False)
        own = {k for k in keys if isinstance(k, str)}
        found = self._v.most_similar(
            [_as_vector_bytes(mean, self.vector_size)], [], int(topn) + len(own), restrict_vocab, False, mode, ef,
            **filters,
        )
        return [(w, s) for w, s in found if w not in own][: int(topn)]

    def _scan_in_numpy(self, keys, weights, topn, clip_start, clip_end):
        mean = self.get_mean_vector(keys, weights, pre_normalize=True, post_normalize=True, ignore_missing=False)
        clip_end = clip_end or len(self)
        dists = self.get_normed_vectors()[clip_start:clip_end] @ mean
        if not topn:
            return dists
        own = {self.get_index(k) for k in keys if isinstance(k, str) and self.has_index_for(k)}
        best = np.argsort(-dists, kind="stable")[: topn + len(own)]
        result = [(self._keys[i + clip_start], float(dists[i])) for i in best if i + clip_start not in own]
        return result[:topn]

    def most_similar_cosmul(
        self,
        positive: Any = None,
        negative: Any = None,
        topn: Optional[int] = 10,
        restrict_vocab: Optional[int] = None,
        exact: Optional[bool] = None,
        ef: Optional[int] = None,
        allow: Optional[Iterable[str]] = None,
        deny: Optional[Iterable[str]] = None,
    ) -> List[Tuple[str, float]]:
        """3CosMul (Levy and Goldberg 2014): each cosine mapped to ``(1 + cos) / 2``, the score
        the product over positives divided by the product over negatives (+ 1e-6)."""
        if isinstance(topn, Integral) and topn < 1:
            return []
        positive = _ensure_list(positive)
        negative = _ensure_list(negative)
        if not positive and not negative:
            raise ValueError("cannot compute similarity with no input")
        if not topn:
            raise NotImplementedError("topn=None is not supported for 3CosMul")
        mode = "index" if exact is False else "exact"
        return self._v.most_similar(
            self._terms(positive), self._terms(negative), int(topn), restrict_vocab, True, mode, ef,
            allow=None if allow is None else list(allow),
            deny=None if deny is None else list(deny),
        )

    def similar_by_key(self, key: Key, topn: Optional[int] = 10, restrict_vocab: Optional[int] = None):
        """The keys nearest to ``key``."""
        return self.most_similar(positive=[key], topn=topn, restrict_vocab=restrict_vocab)

    similar_by_word = similar_by_key

    def similar_by_vector(self, vector: np.ndarray, topn: Optional[int] = 10, restrict_vocab: Optional[int] = None):
        """The keys nearest to a vector."""
        return self.most_similar(positive=[vector], topn=topn, restrict_vocab=restrict_vocab)

    def similarity(self, w1: Key, w2: Key) -> float:
        """Cosine similarity of two keys."""
        if isinstance(w1, str) and isinstance(w2, str):
            try:
                return np.float32(self._v.similarity(w1, w2))
            except KeyError:
                w = w1 if not self._v.has_vector(w1) else w2
                raise KeyError(f"Key '{w}' not present") from None
        return np.float32(np.dot(_unitvec(self[w1]), _unitvec(self[w2])))

    def n_similarity(self, ws1: Sequence[Key], ws2: Sequence[Key]) -> float:
        """Cosine similarity of the means of two sets of keys' raw vectors (keys without a
        vector left out, as gensim leaves them out)."""
        if not (len(ws1) and len(ws2)):
            raise ZeroDivisionError("At least one of the passed list is empty.")
        m1 = self.get_mean_vector(ws1, pre_normalize=False)
        m2 = self.get_mean_vector(ws2, pre_normalize=False)
        return np.float32(np.dot(_unitvec(m1), _unitvec(m2)))

    def most_similar_to_given(self, key1: Key, keys_list: Sequence[Key]) -> Key:
        """The key of ``keys_list`` most similar to ``key1``."""
        return keys_list[int(np.argmax([self.similarity(key1, key) for key in keys_list]))]

    def distance(self, w1: Key, w2: Key) -> float:
        """``1 - similarity(w1, w2)``."""
        return 1 - self.similarity(w1, w2)

    @staticmethod
    def cosine_similarities(vector_1: np.ndarray, vectors_all: np.ndarray) -> np.ndarray:
        """Cosine of one vector with each row of a matrix."""
        norm = np.linalg.norm(vector_1)
        all_norms = np.linalg.norm(vectors_all, axis=1)
        return np.dot(vectors_all, vector_1) / (norm * all_norms)

    def distances(self, word_or_vector: Union[Key, np.ndarray], other_words: Iterable[Key] = ()) -> np.ndarray:
        """Cosine distances from a key or vector to ``other_words`` (every key by default)."""
        other_words = list(other_words)
        if isinstance(word_or_vector, str) and other_words and all(isinstance(o, str) for o in other_words):
            return _frombuffer(self._v.distances_to(word_or_vector, other_words), _F32).copy()
        v = self.get_vector(word_or_vector) if isinstance(word_or_vector, str) else np.asarray(word_or_vector)
        if not other_words:
            sims = self.get_normed_vectors() @ _unitvec(v)
            return 1 - sims
        others = self[other_words]
        return 1 - self.cosine_similarities(v, others)

    def closer_than(self, key1: Key, key2: Key) -> List[str]:
        """Every key closer to ``key1`` than ``key2`` is."""
        d = self.distances(key1)
        i1, i2 = self.get_index(key1), self.get_index(key2)
        rows = np.flatnonzero(d < d[i2])
        return self._v.words_at(rows[rows != i1].tolist())

    def rank(self, key1: Key, key2: Key) -> int:
        """The rank of ``key2`` among the neighbours of ``key1`` (1: the nearest)."""
        return len(self.closer_than(key1, key2)) + 1

    def rank_by_centrality(self, words: Sequence[Key], use_norm: bool = True) -> List[Tuple[float, str]]:
        """The words by their cosine with the mean of all, most central first."""
        used = [w for w in words if w in self]
        if len(used) != len(words):
            logger.warning("vectors for words %s are not present in the model, ignoring these words", set(words) - set(used))
        if not used:
            raise ValueError("cannot select a word from an empty list")
        vectors = np.vstack([self.get_vector(w, norm=use_norm) for w in used]).astype(np.float32)
        mean = _unitvec(vectors.mean(axis=0))
        return sorted(zip(vectors @ mean, used), reverse=True)

    def doesnt_match(self, words: Sequence[Key]) -> str:
        """The word furthest from the mean of the others (unknown words are ignored)."""
        used = [w for w in words if w in self]
        if len(used) != len(words):
            logger.warning("vectors for words %s are not present in the model, ignoring these words", set(words) - set(used))
        if not used:
            raise ValueError("cannot select a word from an empty list")
        return self._v.doesnt_match(used)

    def embed_text(self, text: str, unit: bool = False) -> np.ndarray:
        """The vector of a text (not in gensim): the mean of its words' vectors, the text split
        into lowercased Unicode words as wordvec's classifier and daemon (`EmbedText`) split it;
        words outside the vocabulary are left out (``KeyError`` when none is known), and
        ``unit`` scales the mean to unit length."""
        vector, _known, _unknown = self._v.embed_text(text, unit)
        return np.asarray(vector)

    # ---- the index (not in gensim) ----------------------------------------------------

    def build_index(
        self,
        m: int = 16,
        ef_construction: int = 200,
        ef_search: int = 64,
        restrict_vocab: Optional[int] = None,
        progress: Any = None,
    ) -> None:
        """Builds an HNSW index on all cores: ``most_similar(..., exact=False)`` then answers
        from a few hundred rows instead of all (the default stays the exact scan, as gensim's;
        :class:`HnswIndexer` passes the index as gensim's ``indexer``). Save it with
        :meth:`save_index`."""
        self._v.build_index(m, ef_construction, ef_search, restrict_vocab, _progress(progress, "indexing"))

    def save_index(self, fname: Union[str, os.PathLike]) -> None:
        """Writes the index (one file; ``PATH.idx`` beside the vectors is opened by :meth:`load`)."""
        self._v.save_index(os.fspath(fname))

    def load_index(self, fname: Union[str, os.PathLike]) -> None:
        """Maps an index built for these vectors."""
        self._v.load_index(os.fspath(fname))

    @property
    def has_index(self) -> bool:
        """Whether an index is built or loaded."""
        return self._v.has_index

    # ---- evaluation ---------------------------------------------------------------------

    def evaluate_word_analogies(
        self,
        analogies: Union[str, os.PathLike],
        restrict_vocab: int = 300000,
        case_insensitive: bool = True,
        dummy4unknown: bool = False,
        similarity_function: str = "most_similar",
    ) -> Tuple[float, List[Dict[str, Any]]]:
        """gensim's analogy evaluation: ``(accuracy, sections)``, each section a dict with its
        name and the lists of correctly and wrongly answered ``(a, b, c, expected)`` questions,
        the last one ``Total accuracy``. With ``dummy4unknown`` a question with a word outside
        the evaluated vocabulary counts as answered wrongly instead of being skipped."""
        if similarity_function != "most_similar":
            raise NotImplementedError("only similarity_function='most_similar' (3CosAdd)")
        score, sections, _oov = self._v.evaluate_analogies(
            os.fspath(analogies), restrict_vocab, case_insensitive, bool(dummy4unknown)
        )
        out = [
            {"section": name, "correct": [tuple(q) for q in ok], "incorrect": [tuple(q) for q in bad]}
            for name, ok, bad in sections
        ]
        return score, out

    def evaluate_word_pairs(
        self,
        pairs: Union[str, os.PathLike],
        delimiter: str = "\t",
        encoding: str = "utf8",
        restrict_vocab: int = 300000,
        case_insensitive: bool = True,
        dummy4unknown: bool = False,
    ):
        """gensim's word-pair evaluation: ``((pearson, p), (spearman, p), oov %)``; with
        ``dummy4unknown`` a pair with a word outside the evaluated vocabulary scores 0 instead of
        being skipped."""
        if len(delimiter) != 1:
            raise ValueError("delimiter must be one character")
        return self._v.evaluate_pairs(os.fspath(pairs), delimiter, restrict_vocab, case_insensitive, bool(dummy4unknown))


def _restore(cls, state, extra) -> KeyedVectors:
    """Unpickles :class:`KeyedVectors` (see ``KeyedVectors.__reduce__``)."""
    if state[0] == "file":
        _, (path, args), fingerprint, writes = state
        try:
            kv = cls._opened(path, **args)
        except FileNotFoundError as e:
            raise FileNotFoundError(
                f"cannot unpickle the vectors of {path}: the file is gone ({e}); pickled vectors "
                "read from a file travel as its path"
            ) from None
        if kv._v.fingerprint() != fingerprint:
            raise ValueError(
                f"cannot unpickle the vectors of {path}: the file changed since they were pickled "
                "(its words or vectors differ); pickled vectors read from a file travel as its path"
            )
        kv._fingerprint = fingerprint
        for keys, data, replace in writes:
            kv._v.add(keys, data, replace)
        kv._writes = list(writes)
        kv._forget()
    elif state[0] == "native":
        kv = cls(_vectors_from_native(state[1]))
    else:
        _, words, data, dims = state
        kv = cls(_wordvec.Vectors.from_matrix(words, data, dims) if words else _wordvec.Vectors.empty(dims))
    kv._dtype = np.dtype(extra["dtype"])
    kv._f32 = kv._dtype == np.float32
    kv._reset(kv._f32)
    kv._attrs.update((k, v.copy()) for k, v in extra["attrs"].items())
    return kv


def _vectors_from_native(data: bytes) -> "_wordvec.Vectors":
    """Vectors from the bytes of a native file: written to a temporary file, mapped, and the
    file removed (the mapping keeps its pages; where the system refuses to remove a mapped
    file, it is left in the temporary directory)."""
    import tempfile

    fd, path = tempfile.mkstemp(suffix=".wvec")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        return _wordvec.Vectors.open(path)
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass


class HnswIndexer:
    """wordvec's HNSW index as gensim's ``indexer`` argument (as gensim's ``AnnoyIndexer``):
    ``kv.most_similar(word, indexer=HnswIndexer(kv))`` answers from the index, as gensim's
    does from Annoy's. The index is ``kv``'s own (built here when it has none, with ``m`` and
    ``ef_construction``); ``ef`` is the candidate list of each query (more: closer to exact)."""

    def __init__(self, model: Optional[KeyedVectors] = None, m: int = 16, ef_construction: int = 200, ef: int = 64, progress: Any = None):
        if model is None:
            raise TypeError("HnswIndexer(model): the KeyedVectors to index")
        kv = getattr(model, "wv", model)
        if not isinstance(kv, KeyedVectors):
            raise TypeError(f"HnswIndexer indexes wordvec's KeyedVectors, not {type(model).__name__}")
        if not kv.has_index:
            kv.build_index(m=m, ef_construction=ef_construction, ef_search=ef, progress=progress)
        self.model = kv
        self.ef = int(ef)

    def most_similar(self, vector: np.ndarray, num_neighbors: int) -> List[Tuple[str, float]]:
        """The ``num_neighbors`` keys nearest to ``vector`` by cosine, from the index (gensim's
        indexer method)."""
        kv = self.model
        term = _as_vector_bytes(vector, kv.vector_size)
        return kv._v.most_similar([term], [], int(num_neighbors), None, False, "index", self.ef)


class FastTextKeyedVectors(KeyedVectors):
    """A fastText model's word vectors, as gensim's ``FastTextKeyedVectors``: a word outside
    the vocabulary has the vector of its character n-grams (the mean of their rows, as fastText
    and gensim compute it), so ``word in kv`` is true for any word with an n-gram, and every
    call that takes a key (``kv[word]``, ``most_similar``, ``most_similar_cosmul``,
    ``similarity``, ``n_similarity``, ``get_mean_vector``, ``doesnt_match``, ``distances``...)
    answers such words as gensim does; ``key_to_index``, ``has_index_for`` and the calls that
    need a row (``rank``, ``closer_than``) know the vocabulary only, as gensim's. Open one with
    :func:`load_facebook_vectors`."""

    def __contains__(self, key: Any) -> bool:
        return isinstance(key, str) and self._v.has_vector(key)

    def _settings(self) -> Tuple[int, int, int]:
        sw = self._v.subwords
        return sw if sw is not None else (0, 0, 0)

    @property
    def min_n(self) -> int:
        """The shortest n-gram, in characters."""
        return self._settings()[0]

    @property
    def max_n(self) -> int:
        """The longest n-gram, in characters."""
        return self._settings()[1]

    @property
    def bucket(self) -> int:
        """The number of n-gram hash buckets (0: no n-grams)."""
        return self._settings()[2]

    def __repr__(self) -> str:
        return f"<FastTextKeyedVectors {self._v.describe()}, n-grams {self.min_n}-{self.max_n}>"


def load_facebook_vectors(path: Union[str, os.PathLike], encoding: str = "utf-8", progress: Any = None) -> FastTextKeyedVectors:
    """The word vectors of a fastText model (``.bin`` written by fastText or gensim's
    ``save_facebook_model``), as gensim's ``load_facebook_vectors``: the vocabulary's rows
    mapped, words outside it answered from their n-grams."""
    if encoding.lower().replace("-", "") != "utf8":
        raise NotImplementedError("only UTF-8 models are supported")
    return FastTextKeyedVectors._opened(path, format="fasttext", progress=_progress(progress, f"loading {path}"))


def load_facebook_model(path: Union[str, os.PathLike], encoding: str = "utf-8", progress: Any = None) -> "FastText":
    """A fastText model, as gensim's ``load_facebook_model``: a :class:`FastText` with the
    file's vocabulary, counts, both matrices and settings, so ``model.wv`` answers and
    ``build_vocab(new, update=True)`` + ``train`` go on training (see :class:`FastText`)."""
    if encoding.lower().replace("-", "") != "utf8":
        raise NotImplementedError("only UTF-8 models are supported")
    return FastText._from_facebook(path)


def train(
    corpus_file: Union[str, os.PathLike, Sequence[Union[str, os.PathLike]]],
    sg: int = 0,
    vector_size: int = 100,
    window: int = 5,
    negative: int = 5,
    sample: float = 1e-3,
    min_count: int = 5,
    epochs: int = 5,
    workers: Optional[int] = None,
    alpha: Optional[float] = None,
    min_alpha: Optional[float] = None,
    seed: int = 1,
    max_vocab_size: Optional[int] = None,
    hs: int = 0,
    progress: Any = None,
) -> KeyedVectors:
    """Trains word2vec with negative sampling on a text file of whitespace-separated tokens, one
    sentence per line (gensim's ``Word2Vec(corpus_file=...)`` argument names), on all cores;
    returns the word vectors. ``progress``: ``True`` for a bar, or a callable receiving a dict
    (epoch, words done, learning rate, words/s, loss) a few times a second."""
    if hs:
        raise NotImplementedError("hierarchical softmax (hs=1) is not supported; use negative sampling")
    files = [corpus_file] if isinstance(corpus_file, (str, os.PathLike)) else list(corpus_file)
    cb = None
    if progress is True:
        bar = ProgressBar("training")

        def cb(report):
            bar("training", report["words_done"], report["words_total"])

    elif callable(progress):
        cb = progress
    handle = _wordvec.train(
        [os.fspath(f) for f in files],
        sg=bool(sg),
        vector_size=vector_size,
        window=window,
        negative=negative,
        sample=sample,
        min_count=min_count,
        epochs=epochs,
        workers=workers,
        alpha=alpha,
        min_alpha=min_alpha,
        seed=seed,
        max_vocab_size=max_vocab_size,
        progress=cb,
    )
    return KeyedVectors(handle)


class Classifier:
    """wordvec's text classifier: the mean of a text's word embeddings through hidden layers to
    sigmoid or softmax outputs. Train it on a CSV/TSV file (``text`` and ``label`` columns),
    optionally on pretrained vectors, or load a model written by ``wordvec classify train``."""

    def __init__(self, handle: "_wordvec.Classifier"):
        self._c = handle

    @classmethod
    def load(cls, path: Union[str, os.PathLike]) -> "Classifier":
        """Loads a model file."""
        return cls(_wordvec.Classifier.load(os.fspath(path)))

    @classmethod
    def train(
        cls,
        data: Union[str, os.PathLike],
        vectors: Optional[KeyedVectors] = None,
        hidden: Sequence[int] = (64,),
        epochs: int = 10,
        lr: float = 0.001,
        batch_size: int = 32,
        dim: Optional[int] = None,
        min_count: int = 1,
        seed: int = 42,
        freeze: bool = False,
        text_column: str = "text",
        label_column: str = "label",
        multi_label: Optional[str] = None,
        progress: Any = None,
        valid_data: Optional[Union[str, os.PathLike]] = None,
        test_data: Optional[Union[str, os.PathLike]] = None,
    ) -> "Classifier":
        """Trains on a data file; ``vectors`` initialises the embeddings (``freeze`` keeps them).
        ``dim`` is the embedding dimension: by default the vectors' (100 without them); a
        ``dim`` that differs from the vectors' raises ``ValueError``. ``valid_data`` and
        ``test_data`` are validation and test files (then all of ``data`` trains); without them
        ``data`` is shuffled with ``seed`` and split 80/10/10. ``progress``: a callable
        receiving one dict per epoch (losses, validation accuracy)."""
        handle = _wordvec.Classifier.train(
            os.fspath(data),
            vectors=vectors._v if vectors is not None else None,
            hidden=list(hidden),
            epochs=epochs,
            lr=lr,
            batch_size=batch_size,
            dim=dim,
            min_count=min_count,
            seed=seed,
            freeze=freeze,
            text_column=text_column,
            label_column=label_column,
            multi_label=multi_label,
            progress=progress if callable(progress) else None,
            valid_data=None if valid_data is None else os.fspath(valid_data),
            test_data=None if test_data is None else os.fspath(test_data),
        )
        return cls(handle)

    def save(self, path: Union[str, os.PathLike]) -> None:
        """Writes the model file (atomically)."""
        self._c.save(os.fspath(path))

    def __reduce__(self):
        """Pickles (and ``copy.deepcopy``) by value: the bytes of the model file."""
        import tempfile

        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "model")
            self._c.save(path)
            with open(path, "rb") as f:
                data = f.read()
        return (_classifier_from_bytes, (data,))

    @property
    def labels(self) -> List[str]:
        """The labels, in output order."""
        return self._c.labels

    @property
    def multi_label(self) -> bool:
        """Whether a text can have several labels (or none)."""
        return self._c.multi_label

    def predict(self, texts: Union[str, Sequence[str]]) -> Union[List[str], List[List[str]]]:
        """The predicted label of each text (a list of labels per text for multi-label models);
        one text gives one answer."""
        single = isinstance(texts, str)
        preds = self._c.predict([texts] if single else list(texts))
        if self._c.multi_label:
            out = [labels for labels, _ in preds]
        else:
            out = [labels[0] for labels, _ in preds]
        return out[0] if single else out

    def predict_proba(self, texts: Union[str, Sequence[str]]) -> np.ndarray:
        """Every label's probability for each text (``texts x labels``)."""
        single = isinstance(texts, str)
        preds = self._c.predict([texts] if single else list(texts))
        probs = np.array([p for _, p in preds], dtype=np.float32)
        return probs[0] if single else probs


def _classifier_from_bytes(data: bytes) -> Classifier:
    """Unpickles a :class:`Classifier` from its model file's bytes."""
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "model")
        with open(path, "wb") as f:
            f.write(data)
        return Classifier.load(path)


from .word2vec import Word2Vec  # noqa: E402  (after KeyedVectors, which it uses)
from .fasttext import FastText, save_facebook_model  # noqa: E402  (after FastTextKeyedVectors)
