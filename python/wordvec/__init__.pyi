"""Type stubs of the ``wordvec`` package (gensim 4's ``KeyedVectors`` API and wordvec's additions)."""

import os
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

__version__: str

PathLike = Union[str, os.PathLike]
Key = str
Vector = npt.NDArray[np.float32]
Term = Union[str, Vector, Tuple[Union[str, Vector], float]]
Terms = Union[Term, Sequence[Term], None]
Progress = Union[bool, None, Callable[[str, int, int], Any]]

class ProgressBar:
    label: str
    enabled: bool
    def __init__(self, label: str, stream: Any = ...) -> None: ...
    def __call__(self, message: str, done: int, total: int) -> None: ...

class KeyedVectors:
    @classmethod
    def load_word2vec_format(
        cls,
        fname: PathLike,
        fvocab: None = ...,
        binary: bool = ...,
        encoding: str = ...,
        unicode_errors: str = ...,
        limit: Optional[int] = ...,
        datatype: Any = ...,
        no_header: bool = ...,
        progress: Progress = ...,
    ) -> KeyedVectors: ...
    @classmethod
    def load(cls, fname: PathLike, mmap: Optional[str] = ..., progress: Progress = ...) -> KeyedVectors: ...
    def save(self, fname: PathLike, progress: Progress = ...) -> None: ...
    def save_word2vec_format(
        self,
        fname: PathLike,
        fvocab: None = ...,
        binary: bool = ...,
        total_vec: None = ...,
        write_header: bool = ...,
        prefix: str = ...,
        append: bool = ...,
        sort_attr: str = ...,
        progress: Progress = ...,
    ) -> None: ...
    def __len__(self) -> int: ...
    def __contains__(self, key: object) -> bool: ...
    def __getitem__(self, key_or_keys: Union[Key, Iterable[Key]]) -> Vector: ...
    def has_index_for(self, key: object) -> bool: ...
    @property
    def vector_size(self) -> int: ...
    @property
    def index_to_key(self) -> Sequence[str]: ...
    @property
    def key_to_index(self) -> Dict[str, int]: ...
    @property
    def vectors(self) -> Vector: ...
    @property
    def norms(self) -> Vector: ...
    def fill_norms(self, force: bool = ...) -> None: ...
    def get_normed_vectors(self) -> Vector: ...
    def get_index(self, key: Any, default: Optional[int] = ...) -> int: ...
    def get_vector(self, key: Key, norm: bool = ...) -> Vector: ...
    def word_vec(self, key: Key, norm: bool = ...) -> Vector: ...
    def get_mean_vector(
        self,
        keys: Sequence[Union[Key, Vector]],
        weights: Optional[Sequence[float]] = ...,
        pre_normalize: bool = ...,
        post_normalize: bool = ...,
        ignore_missing: bool = ...,
    ) -> Vector: ...
    def most_similar(
        self,
        positive: Terms = ...,
        negative: Terms = ...,
        topn: Optional[int] = ...,
        clip_start: int = ...,
        clip_end: Optional[int] = ...,
        restrict_vocab: Optional[int] = ...,
        indexer: None = ...,
        exact: Optional[bool] = ...,
        ef: Optional[int] = ...,
        allow: Optional[Iterable[str]] = ...,
        deny: Optional[Iterable[str]] = ...,
    ) -> Union[List[Tuple[str, float]], Vector]: ...
    def most_similar_cosmul(
        self,
        positive: Terms = ...,
        negative: Terms = ...,
        topn: Optional[int] = ...,
        restrict_vocab: Optional[int] = ...,
        exact: Optional[bool] = ...,
        ef: Optional[int] = ...,
        allow: Optional[Iterable[str]] = ...,
        deny: Optional[Iterable[str]] = ...,
    ) -> List[Tuple[str, float]]: ...
    def similar_by_key(self, key: Key, topn: Optional[int] = ..., restrict_vocab: Optional[int] = ...) -> List[Tuple[str, float]]: ...
    def similar_by_word(self, word: Key, topn: Optional[int] = ..., restrict_vocab: Optional[int] = ...) -> List[Tuple[str, float]]: ...
    def similar_by_vector(self, vector: Vector, topn: Optional[int] = ..., restrict_vocab: Optional[int] = ...) -> List[Tuple[str, float]]: ...
    def similarity(self, w1: Key, w2: Key) -> np.float32: ...
    def n_similarity(self, ws1: Sequence[Key], ws2: Sequence[Key]) -> np.float32: ...
    def distance(self, w1: Key, w2: Key) -> np.float32: ...
    @staticmethod
    def cosine_similarities(vector_1: Vector, vectors_all: Vector) -> Vector: ...
    def distances(self, word_or_vector: Union[Key, Vector], other_words: Iterable[Key] = ...) -> Vector: ...
    def closer_than(self, key1: Key, key2: Key) -> List[str]: ...
    def rank(self, key1: Key, key2: Key) -> int: ...
    def rank_by_centrality(self, words: Sequence[Key], use_norm: bool = ...) -> List[Tuple[np.float32, str]]: ...
    def doesnt_match(self, words: Sequence[Key]) -> str: ...
    def embed_text(self, text: str, unit: bool = ...) -> Vector: ...
    def build_index(
        self,
        m: int = ...,
        ef_construction: int = ...,
        ef_search: int = ...,
        restrict_vocab: Optional[int] = ...,
        progress: Progress = ...,
    ) -> None: ...
    def save_index(self, fname: PathLike) -> None: ...
    def load_index(self, fname: PathLike) -> None: ...
    @property
    def has_index(self) -> bool: ...
    def evaluate_word_analogies(
        self,
        analogies: PathLike,
        restrict_vocab: int = ...,
        case_insensitive: bool = ...,
        dummy4unknown: bool = ...,
        similarity_function: str = ...,
    ) -> Tuple[float, List[Dict[str, Any]]]: ...
    def evaluate_word_pairs(
        self,
        pairs: PathLike,
        delimiter: str = ...,
        encoding: str = ...,
        restrict_vocab: int = ...,
        case_insensitive: bool = ...,
        dummy4unknown: bool = ...,
    ) -> Tuple[Tuple[float, float], Tuple[float, float], float]: ...

def train(
    corpus_file: Union[PathLike, Sequence[PathLike]],
    sg: int = ...,
    vector_size: int = ...,
    window: int = ...,
    negative: int = ...,
    sample: float = ...,
    min_count: int = ...,
    epochs: int = ...,
    workers: Optional[int] = ...,
    alpha: Optional[float] = ...,
    min_alpha: Optional[float] = ...,
    seed: int = ...,
    max_vocab_size: Optional[int] = ...,
    hs: int = ...,
    progress: Union[bool, None, Callable[[Dict[str, Any]], Any]] = ...,
) -> KeyedVectors: ...

class Classifier:
    @classmethod
    def load(cls, path: PathLike) -> Classifier: ...
    @classmethod
    def train(
        cls,
        data: PathLike,
        vectors: Optional[KeyedVectors] = ...,
        hidden: Sequence[int] = ...,
        epochs: int = ...,
        lr: float = ...,
        batch_size: int = ...,
        dim: int = ...,
        min_count: int = ...,
        seed: int = ...,
        freeze: bool = ...,
        text_column: str = ...,
        label_column: str = ...,
        multi_label: Optional[str] = ...,
        progress: Optional[Callable[[Dict[str, Any]], Any]] = ...,
    ) -> Classifier: ...
    def save(self, path: PathLike) -> None: ...
    @property
    def labels(self) -> List[str]: ...
    @property
    def multi_label(self) -> bool: ...
    def predict(self, texts: Union[str, Sequence[str]]) -> Any: ...
    def predict_proba(self, texts: Union[str, Sequence[str]]) -> Vector: ...
