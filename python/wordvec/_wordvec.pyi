"""Type stubs of ``wordvec._wordvec``, the compiled half of the package (python/src).

Only the extension module is described here: the public API is ``wordvec/__init__.py``, whose
annotations are its one description. Keep this file in step with the ``#[pyclass]``,
``#[pymethods]`` and ``#[pyfunction]`` items of python/src (their ``#[pyo3(signature = ...)]``
attributes give the names and defaults below).
"""

import os
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

_Path = Union[str, os.PathLike]
#: A query term: a word, or a vector as little-endian float32 bytes.
_Term = Union[str, bytes]
#: ``callback(message, done, total)``.
_Progress = Optional[Callable[[str, int, int], Any]]
#: ``callback(report)``, one dict per report.
_Report = Optional[Callable[[Dict[str, Any]], Any]]
_Question = Tuple[str, str, str, str]

__version__: str

class Array:
    """A read-only float32 buffer that ``numpy.asarray`` adopts without a copy."""

    @property
    def __array_interface__(self) -> Dict[str, Any]: ...
    @property
    def shares_rows(self) -> bool: ...

class Vectors:
    @staticmethod
    def open(
        path: _Path,
        format: Optional[str] = None,
        limit: Optional[int] = None,
        unicode_errors: str = "strict",
        progress: _Progress = None,
    ) -> Vectors: ...
    @staticmethod
    def from_matrix(words: Sequence[str], data: bytes, dims: int) -> Vectors: ...
    @staticmethod
    def empty(dims: int) -> Vectors: ...
    def add(self, words: Sequence[str], data: bytes, replace: bool) -> int: ...
    @property
    def modified(self) -> bool: ...
    def save(
        self,
        path: _Path,
        format: str,
        newline_after_vector: Optional[bool] = None,
        progress: _Progress = None,
    ) -> None: ...
    def __len__(self) -> int: ...
    @property
    def dims(self) -> int: ...
    @property
    def int8(self) -> bool: ...
    @property
    def unit_rows(self) -> bool: ...
    def describe(self) -> str: ...
    def index_of(self, word: str) -> Optional[int]: ...
    def contains(self, word: str) -> bool: ...
    def has_vector(self, word: str) -> bool: ...
    def words(self, start: int = 0, stop: Optional[int] = None) -> List[str]: ...
    def word(self, row: int) -> str: ...
    def norms(self) -> Array: ...
    def rows(self, rows: Sequence[int], norm: bool = False) -> Array: ...
    def vector(self, word: str, norm: bool = False) -> bytes: ...
    def vectors_of(self, words: Sequence[str], norm: bool = False) -> bytes: ...
    def words_at(self, rows: Sequence[int]) -> List[str]: ...
    def distances_to(self, word: str, others: Sequence[str]) -> bytes: ...
    def mean_vector(
        self, words: Sequence[str], weights: Sequence[float], pre_normalize: bool, ignore_missing: bool
    ) -> bytes: ...
    @property
    def subwords(self) -> Optional[Tuple[int, int, int]]: ...
    def origin(self) -> Optional[Tuple[str, str]]: ...
    def fingerprint(self) -> str: ...
    def matrix(self, norm: bool = False) -> Array: ...
    def matrix_shared(self, norm: bool) -> bool: ...
    def most_similar(
        self,
        positive: Sequence[_Term],
        negative: Sequence[_Term],
        topn: int,
        restrict_vocab: Optional[int] = None,
        cosmul: bool = False,
        mode: str = "exact",
        ef: Optional[int] = None,
        allow: Optional[Sequence[str]] = None,
        deny: Optional[Sequence[str]] = None,
    ) -> List[Tuple[str, float]]: ...
    def embed_text(self, text: str, unit: bool = False) -> Tuple[Array, int, List[str]]: ...
    def similarity(self, a: str, b: str) -> float: ...
    def doesnt_match(self, words: Sequence[str]) -> str: ...
    def evaluate_analogies(
        self,
        path: _Path,
        restrict_vocab: int = 300000,
        case_insensitive: bool = True,
        dummy4unknown: bool = False,
    ) -> Tuple[float, List[Tuple[str, List[_Question], List[_Question]]], float]: ...
    def evaluate_pairs(
        self,
        path: _Path,
        delimiter: str = "\t",
        restrict_vocab: int = 300000,
        case_insensitive: bool = True,
        dummy4unknown: bool = False,
    ) -> Tuple[Tuple[float, float], Tuple[float, float], float]: ...
    def build_index(
        self,
        m: int = 16,
        ef_construction: int = 200,
        ef_search: int = 64,
        restrict_vocab: Optional[int] = None,
        progress: _Progress = None,
    ) -> None: ...
    def save_index(self, path: _Path) -> None: ...
    def load_index(self, path: _Path) -> None: ...
    @property
    def has_index(self) -> bool: ...

class Keys:
    def __init__(self, v: Vectors) -> None: ...
    def __len__(self) -> int: ...
    def __getitem__(self, i: Union[int, slice]) -> Any: ...

class KeyedBase:
    def _bind(self, handle: Vectors, fast: bool, attrs: Dict[str, Any]) -> None: ...
    def _reset(self, fast: bool) -> None: ...
    def _generation(self) -> int: ...
    def _use_index(self, key_to_index: Dict[str, int], generation: int) -> bool: ...
    def __len__(self) -> int: ...
    def __contains__(self, key: object) -> bool: ...
    def __getitem__(self, key: Any) -> Any: ...
    def get_index(self, key: Any, default: Optional[int] = None) -> int: ...
    def get_vecattr(self, key: Any, attr: str) -> Any: ...

class Classifier:
    @staticmethod
    def load(path: _Path) -> Classifier: ...
    @staticmethod
    def train(
        data: _Path,
        vectors: Optional[Vectors] = None,
        hidden: Sequence[int] = [64],
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
        progress: _Report = None,
        valid_data: Optional[_Path] = None,
        test_data: Optional[_Path] = None,
    ) -> Classifier: ...
    def save(self, path: _Path) -> None: ...
    @property
    def multi_label(self) -> bool: ...
    @property
    def labels(self) -> List[str]: ...
    def predict(self, texts: Sequence[str]) -> List[Tuple[List[str], List[float]]]: ...

def train(
    corpus_files: Sequence[_Path],
    sg: bool = False,
    vector_size: int = 100,
    window: int = 5,
    negative: int = 5,
    sample: float = 0.001,
    min_count: int = 5,
    epochs: int = 5,
    workers: Optional[int] = None,
    alpha: Optional[float] = None,
    min_alpha: Optional[float] = None,
    seed: int = 1,
    max_vocab_size: Optional[int] = None,
    progress: _Report = None,
) -> Vectors: ...

class Word2VecModel:
    """The state of a ``wordvec.Word2Vec`` or ``wordvec.FastText`` (``min_n > 0``: n-gram
    bucket rows after the words' rows): settings, vocabulary with counts, input and output
    vectors (``wordvec/word2vec.py`` and ``wordvec/fasttext.py`` wrap it with gensim's API)."""

    def __init__(
        self,
        sg: bool,
        vector_size: int,
        window: int,
        negative: int,
        ns_exponent: float,
        cbow_mean: bool,
        shrink_windows: bool,
        sample: float,
        min_count: int,
        max_vocab_size: Optional[int],
        epochs: int,
        workers: int,
        alpha: float,
        min_alpha: float,
        seed: int,
        min_n: int = 0,
        max_n: int = 0,
        bucket: int = 0,
    ) -> None: ...
    def build_vocab(
        self,
        chunks: Optional[Iterable[List[List[str]]]] = None,
        files: Optional[Sequence[_Path]] = None,
        update: bool = False,
        trim_rule: Optional[Callable[[str, int, int], int]] = None,
        min_count: Optional[int] = None,
        max_final_vocab: Optional[int] = None,
    ) -> int: ...
    def train(
        self,
        chunks: Optional[Iterable[List[List[str]]]] = None,
        files: Optional[Sequence[_Path]] = None,
        epochs: Optional[int] = None,
        alpha: Optional[float] = None,
        min_alpha: Optional[float] = None,
        on_epoch: Optional[Callable[[int, Vectors], None]] = None,
    ) -> float: ...
    def vectors(self) -> Vectors: ...
    def vocab(self) -> Tuple[List[str], List[int]]: ...
    def latest_loss(self) -> float: ...
    def save(self, path: _Path) -> None: ...
    def save_facebook(self, path: _Path) -> None: ...
    def to_bytes(self) -> bytes: ...
    @staticmethod
    def load(path: Optional[_Path] = None, data: Optional[bytes] = None) -> Word2VecModel: ...
    def settings(self) -> Dict[str, Any]: ...
