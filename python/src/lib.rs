//! `wordvec._wordvec`: the compiled half of the `wordvec` Python package.
//!
//! This module is deliberately small and low-level: handles on the library's objects
//! ([`Vectors`], [`Classifier`]), functions that take and return plain Python values, and
//! [`Array`], a read-only buffer that NumPy adopts without a copy through the array interface.
//! gensim's API (argument forms, defaults, exceptions, NumPy conversions) is written in Python
//! on top, in `wordvec/__init__.py`, where it is easiest to match gensim line by line.
//!
//! Every load, scan, evaluation, build and training run releases the GIL (`py.detach`), so
//! queries from several Python threads run in parallel on the library's own thread pool.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use pyo3::exceptions::{PyFileNotFoundError, PyKeyError, PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString, PyTuple};
use wordvec::classify;
use wordvec::index::{HnswIndex, IndexParams};
use wordvec::progress::Progress;
use wordvec::search::{Filter, Mode, Query};
use wordvec::storage::Rows;
use wordvec::{
    Embeddings, Error, ErrorKind, Format, LoadOptions, SaveOptions, Term, UnicodeErrors,
};

/// wordvec's errors as Python exceptions: unknown words are `KeyError` (as gensim's), caller
/// mistakes and corrupt data `ValueError`, a missing file `FileNotFoundError`, other I/O
/// `OSError`, the rest `RuntimeError`. The message is wordvec's, which names the file, record and
/// byte offset.
fn py_err(e: Error) -> PyErr {
    let msg = e.to_string();
    if let Error::Io { source, .. } = &e {
        if source.kind() == std::io::ErrorKind::NotFound {
            return PyFileNotFoundError::new_err(msg);
        }
    }
    match e.kind() {
        ErrorKind::NotFound => PyKeyError::new_err(msg),
        ErrorKind::InvalidArgument | ErrorKind::Data => PyValueError::new_err(msg),
        ErrorKind::Io => PyOSError::new_err(msg),
        _ => PyRuntimeError::new_err(msg),
    }
}

/// What owns the memory an [`Array`] points into: held, never read, so that the memory lives
/// as long as the array.
#[allow(dead_code)]
enum Owner {
    /// Floats of its own.
    Floats(Vec<f32>),
    /// Rows of a set of embeddings (mapped from a file, or held in memory), kept alive here.
    Rows(Arc<Embeddings>),
}

/// A read-only `float32` array that NumPy reads in place: `numpy.asarray(a)` makes an array whose
/// base is `a`, so the memory (a file's mapping included) lives as long as any NumPy array made
/// from it, whatever happens to the object it came from.
#[pyclass(frozen, module = "wordvec._wordvec")]
pub struct Array {
    owner: Owner,
    /// Address of the first float.
    addr: usize,
    shape: Vec<usize>,
    /// Bytes between rows (2-D only).
    row_stride: Option<usize>,
}

impl Array {
    fn floats(values: Vec<f32>, shape: Vec<usize>) -> Array {
        let addr = values.as_ptr() as usize;
        Array {
            owner: Owner::Floats(values),
            addr,
            shape,
            row_stride: None,
        }
    }
}

#[pymethods]
impl Array {
    /// NumPy's array interface (version 3): shape, little-endian float32, the address marked
    /// read-only, and the row stride.
    #[getter]
    fn __array_interface__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("version", 3)?;
        d.set_item("shape", PyTuple::new(py, &self.shape)?)?;
        d.set_item("typestr", "<f4")?;
        d.set_item("data", (self.addr, true))?;
        match self.row_stride {
            Some(s) => d.set_item("strides", (s, 4usize))?,
            None => d.set_item("strides", py.None())?,
        }
        Ok(d)
    }

    /// Whether the floats are the rows of the embeddings themselves (no copy was made).
    #[getter]
    fn shares_rows(&self) -> bool {
        matches!(self.owner, Owner::Rows(_))
    }
}

/// `((pearson, p), (spearman, p), oov %)`, as gensim's `evaluate_word_pairs` returns it.
type PairsAnswer = ((f64, f64), (f64, f64), f64);

/// A term of a query: a word (`str`) or a vector (`bytes` of little-endian float32).
enum PyTerm {
    Word(String),
    Vector(Vec<f32>),
}

fn terms(items: &[Bound<'_, PyAny>]) -> PyResult<Vec<PyTerm>> {
    items
        .iter()
        .map(|t| {
            if t.is_instance_of::<PyString>() {
                Ok(PyTerm::Word(t.extract::<String>()?))
            } else if let Ok(b) = t.cast::<PyBytes>() {
                let bytes = b.as_bytes();
                if bytes.len() % 4 != 0 {
                    return Err(PyValueError::new_err(
                        "a vector term must be float32 bytes (a multiple of 4)",
                    ));
                }
                Ok(PyTerm::Vector(
                    bytes
                        .chunks_exact(4)
                        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                        .collect(),
                ))
            } else {
                Err(PyValueError::new_err(
                    "a query term is a word (str) or a vector (float32 bytes)",
                ))
            }
        })
        .collect()
}

fn as_terms(t: &[PyTerm]) -> Vec<Term<'_>> {
    t.iter()
        .map(|t| match t {
            PyTerm::Word(w) => Term::Word(w),
            PyTerm::Vector(v) => Term::Vector(v),
        })
        .collect()
}

fn unicode_errors(s: &str) -> PyResult<UnicodeErrors> {
    match s {
        "strict" => Ok(UnicodeErrors::Strict),
        "replace" => Ok(UnicodeErrors::Replace),
        "ignore" => Ok(UnicodeErrors::Ignore),
        other => Err(PyValueError::new_err(format!(
            "unicode_errors must be 'strict', 'replace' or 'ignore', not {other:?}"
        ))),
    }
}

fn format_arg(s: Option<&str>) -> PyResult<Option<Format>> {
    s.map(|s| s.parse::<Format>().map_err(py_err)).transpose()
}

/// A Python callable that receives progress: `callback(message, done, total)`, called with the
/// GIL taken for each report (a few thousand per run at most). Errors it raises are printed and
/// otherwise ignored: progress must not stop the work.
struct PyProgress {
    callback: Py<PyAny>,
    message: RwLock<String>,
    total: std::sync::atomic::AtomicU64,
    done: std::sync::atomic::AtomicU64,
}

impl PyProgress {
    fn new(callback: Py<PyAny>) -> Arc<PyProgress> {
        Arc::new(PyProgress {
            callback,
            message: RwLock::new(String::new()),
            total: 0.into(),
            done: 0.into(),
        })
    }

    fn report(&self) {
        use std::sync::atomic::Ordering::Relaxed;
        let message = self.message.read().map(|m| m.clone()).unwrap_or_default();
        let (done, total) = (self.done.load(Relaxed), self.total.load(Relaxed));
        Python::attach(|py| {
            if let Err(e) = self.callback.call1(py, (message, done, total)) {
                e.print(py);
            }
        });
    }
}

impl Progress for PyProgress {
    fn start(&self, message: &str, total: u64) {
        if let Ok(mut m) = self.message.write() {
            *m = message.to_owned();
        }
        self.total
            .store(total, std::sync::atomic::Ordering::Relaxed);
        self.done.store(0, std::sync::atomic::Ordering::Relaxed);
        self.report();
    }
    fn set_position(&self, done: u64) {
        self.done.store(done, std::sync::atomic::Ordering::Relaxed);
        self.report();
    }
    fn inc(&self, n: u64) {
        self.done.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        self.report();
    }
    fn finish(&self) {
        let total = self.total.load(std::sync::atomic::Ordering::Relaxed);
        self.done.store(total, std::sync::atomic::Ordering::Relaxed);
        self.report();
    }
}

/// A set of word vectors, with an optional HNSW index.
#[pyclass(frozen, module = "wordvec._wordvec")]
pub struct Vectors {
    emb: Arc<Embeddings>,
    index: RwLock<Option<Arc<HnswIndex>>>,
}

impl Vectors {
    fn new(emb: Embeddings) -> Vectors {
        Vectors {
            emb: Arc::new(emb),
            index: RwLock::new(None),
        }
    }

    fn index(&self) -> Option<Arc<HnswIndex>> {
        self.index.read().ok().and_then(|i| i.clone())
    }
}

#[pymethods]
impl Vectors {
    /// Opens a vectors file (word2vec binary or text, gzipped or not, GloVe, native `.wvec`,
    /// fastText `.bin`), detecting its format unless `format` names one; an int8 copy beside it
    /// (`PATH.i8`) and an index (`PATH.idx`) are picked up.
    #[staticmethod]
    #[pyo3(signature = (path, format=None, limit=None, unicode_errors="strict", progress=None))]
    fn open(
        py: Python<'_>,
        path: PathBuf,
        format: Option<&str>,
        limit: Option<usize>,
        unicode_errors: &str,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<Vectors> {
        let mut opts = LoadOptions::default()
            .format(format_arg(format)?)
            .limit(limit)
            .unicode_errors(self::unicode_errors(unicode_errors)?);
        if let Some(cb) = progress {
            opts = opts.progress(PyProgress::new(cb));
        }
        let (emb, index) = py
            .detach(|| -> wordvec::Result<_> {
                let emb = wordvec::open(&path, &opts)?;
                let index = if limit.is_none() {
                    HnswIndex::load_default(&path, &emb)?
                } else {
                    None
                };
                Ok((emb, index))
            })
            .map_err(py_err)?;
        let v = Vectors::new(emb);
        *v.index.write().expect("fresh lock") = index.map(Arc::new);
        Ok(v)
    }

    /// Vectors from words and a row-major float32 matrix (bytes).
    #[staticmethod]
    fn from_matrix(
        py: Python<'_>,
        words: Vec<String>,
        data: &[u8],
        dims: usize,
    ) -> PyResult<Vectors> {
        if dims == 0 || data.len() % 4 != 0 || data.len() / 4 != words.len().saturating_mul(dims) {
            return Err(PyValueError::new_err(format!(
                "{} words x {dims} dims need {} float32 values, not {}",
                words.len(),
                words.len().saturating_mul(dims),
                data.len() / 4
            )));
        }
        let values: Vec<f32> = data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let emb = py
            .detach(|| Embeddings::from_vectors(&words, values, dims))
            .map_err(py_err)?;
        Ok(Vectors::new(emb))
    }

    /// Writes the vectors in `format` (`bin`, `txt`, `glove`, `native`), atomically.
    #[pyo3(signature = (path, format, newline_after_vector=None, progress=None))]
    fn save(
        &self,
        py: Python<'_>,
        path: PathBuf,
        format: &str,
        newline_after_vector: Option<bool>,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<()> {
        let format = format.parse::<Format>().map_err(py_err)?;
        let mut opts = SaveOptions::default().newline_after_vector(newline_after_vector);
        if let Some(cb) = progress {
            opts = opts.progress(PyProgress::new(cb));
        }
        py.detach(|| wordvec::save(&self.emb, &path, format, &opts))
            .map_err(py_err)
    }

    fn __len__(&self) -> usize {
        self.emb.len()
    }

    /// Dimensions.
    #[getter]
    fn dims(&self) -> usize {
        self.emb.dims()
    }

    /// Whether the stored rows are unit length (the native format), so that [`Self::matrix`]
    /// holds normalised vectors.
    #[getter]
    fn unit_rows(&self) -> bool {
        self.emb.unit_rows()
    }

    /// Where the vectors came from and their size.
    fn describe(&self) -> String {
        self.emb.describe()
    }

    /// The row of `word`, or `None`.
    fn index_of(&self, word: &str) -> Option<usize> {
        self.emb.index(word)
    }

    /// Whether `word` has a vector (in the vocabulary, or from its n-grams for fastText models).
    fn has_vector(&self, word: &str) -> bool {
        self.emb.has_vector(word)
    }

    /// The words of rows `start..stop` (clamped to the vocabulary).
    #[pyo3(signature = (start=0, stop=None))]
    fn words(&self, start: usize, stop: Option<usize>) -> Vec<String> {
        let stop = stop.map_or(self.emb.len(), |s| s.min(self.emb.len()));
        (start.min(stop)..stop)
            .map(|i| self.emb.word(i).to_owned())
            .collect()
    }

    /// The word of row `row`.
    fn word(&self, row: usize) -> PyResult<String> {
        if row >= self.emb.len() {
            return Err(pyo3::exceptions::PyIndexError::new_err(format!(
                "row {row} is past the {} rows",
                self.emb.len()
            )));
        }
        Ok(self.emb.word(row).to_owned())
    }

    /// Each row's length before normalisation.
    fn norms(&self) -> Array {
        Array::floats(self.emb.norms().to_vec(), vec![self.emb.len()])
    }

    /// Rows `rows` (raw, or unit length with `norm`), as one `len(rows) x dims` array.
    #[pyo3(signature = (rows, norm=false))]
    fn rows(&self, py: Python<'_>, rows: Vec<usize>, norm: bool) -> PyResult<Array> {
        let n = self.emb.len();
        if let Some(bad) = rows.iter().find(|&&r| r >= n) {
            return Err(PyValueError::new_err(format!(
                "row {bad} is past the {n} rows"
            )));
        }
        let d = self.emb.dims();
        let values = py.detach(|| {
            let mut out = Vec::with_capacity(rows.len() * d);
            for &r in &rows {
                if norm {
                    out.extend(self.emb.unit_row(r));
                } else {
                    out.extend(self.emb.raw_row(r));
                }
            }
            out
        });
        Ok(Array::floats(values, vec![rows.len(), d]))
    }

    /// The vector of `word` (from its n-grams outside the vocabulary of a fastText model).
    #[pyo3(signature = (word, norm=false))]
    fn vector(&self, word: &str, norm: bool) -> PyResult<Array> {
        let v = if norm {
            self.emb.unit_vector(word)
        } else {
            self.emb.vector(word)
        }
        .map_err(py_err)?;
        let d = v.len();
        Ok(Array::floats(v, vec![d]))
    }

    /// The whole matrix as stored: for files whose rows lie back to back (native `.wvec`, text
    /// formats) the rows themselves, without a copy; for word2vec binary files, whose rows are
    /// interleaved with the words, a copy.
    fn matrix(&self, py: Python<'_>) -> Array {
        let (n, d) = (self.emb.len(), self.emb.dims());
        if let Some(Rows::Dense { bytes, width }) = self.emb.storage().rows() {
            if width >= d * 4 && n > 0 {
                return Array {
                    addr: bytes.as_ptr() as usize,
                    owner: Owner::Rows(self.emb.clone()),
                    shape: vec![n, d],
                    row_stride: Some(width),
                };
            }
        }
        let values = py.detach(|| {
            let mut out = Vec::with_capacity(n * d);
            for i in 0..n {
                out.extend(self.emb.storage().row(i));
            }
            out
        });
        Array::floats(values, vec![n, d])
    }

    /// The `topn` nearest to the mean of `positive` minus `negative` (3CosAdd, or 3CosMul with
    /// `cosmul`), as `(word, score)` pairs; `mode` is `auto`, `exact` or `index`; `allow` (only
    /// these words) and `deny` (never these) filter the answers.
    #[pyo3(signature = (positive, negative, topn, restrict_vocab=None, cosmul=false, mode="exact", ef=None, allow=None, deny=None))]
    #[allow(clippy::too_many_arguments)]
    fn most_similar(
        &self,
        py: Python<'_>,
        positive: Vec<Bound<'_, PyAny>>,
        negative: Vec<Bound<'_, PyAny>>,
        topn: usize,
        restrict_vocab: Option<usize>,
        cosmul: bool,
        mode: &str,
        ef: Option<usize>,
        allow: Option<Vec<String>>,
        deny: Option<Vec<String>>,
    ) -> PyResult<Vec<(String, f32)>> {
        let mode = match mode {
            "auto" => Mode::Auto,
            "exact" => Mode::Exact,
            "index" => Mode::Index,
            other => {
                return Err(PyValueError::new_err(format!(
                    "mode must be 'auto', 'exact' or 'index', not {other:?}"
                )))
            }
        };
        let (pos, neg) = (terms(&positive)?, terms(&negative)?);
        let index = self.index();
        let found = py
            .detach(|| {
                let filter = if allow.is_some() || deny.is_some() {
                    Filter::from_words(&self.emb, allow.as_deref(), deny.as_deref().unwrap_or(&[]))?
                } else {
                    Filter::default()
                };
                let q = Query::new(&as_terms(&pos), &as_terms(&neg), topn)
                    .filter(filter)
                    .cosmul(cosmul)
                    .restrict_vocab(restrict_vocab)
                    .mode(mode)
                    .ef(ef);
                q.check()?;
                let use_index = match (mode, &index) {
                    (Mode::Exact, _) => None,
                    (Mode::Index, None) => {
                        return Err(Error::InvalidArgument(
                            "no index: call build_index() or load_index() first".into(),
                        ))
                    }
                    (_, i) => i.as_ref(),
                };
                match use_index {
                    Some(i) if restrict_vocab.is_none_or(|r| r <= i.info().indexed) => {
                        i.search(&self.emb, &q)
                    }
                    _ => self.emb.search_exact(&q),
                }
            })
            .map_err(py_err)?;
        Ok(found.into_iter().map(|n| (n.word, n.score)).collect())
    }

    /// The vector of a text (the mean of its words' vectors, tokenised as the classifier
    /// tokenises), the number of words that counted and the unknown ones.
    #[pyo3(signature = (text, unit=false))]
    fn embed_text(
        &self,
        py: Python<'_>,
        text: &str,
        unit: bool,
    ) -> PyResult<(Array, usize, Vec<String>)> {
        let v = py
            .detach(|| classify::embed_text(&self.emb, text, unit))
            .map_err(py_err)?;
        let d = v.vector.len();
        Ok((Array::floats(v.vector, vec![d]), v.known, v.unknown))
    }

    /// Cosine similarity of two words.
    fn similarity(&self, py: Python<'_>, a: &str, b: &str) -> PyResult<f32> {
        py.detach(|| self.emb.similarity(a, b)).map_err(py_err)
    }

    /// The word furthest from the mean of the others.
    fn doesnt_match(&self, py: Python<'_>, words: Vec<String>) -> PyResult<String> {
        py.detach(|| self.emb.doesnt_match(&words))
            .map(|d| d.word)
            .map_err(py_err)
    }

    /// gensim's `evaluate_word_analogies`: `(accuracy, sections, oov %)`, each section
    /// `(name, correct questions, incorrect questions)` with questions as 4-tuples of words, the
    /// last section "Total accuracy".
    #[pyo3(signature = (path, restrict_vocab=300_000, case_insensitive=true))]
    #[allow(clippy::type_complexity)]
    fn evaluate_analogies(
        &self,
        py: Python<'_>,
        path: PathBuf,
        restrict_vocab: usize,
        case_insensitive: bool,
    ) -> PyResult<(f64, Vec<(String, Vec<[String; 4]>, Vec<[String; 4]>)>, f64)> {
        let opts = wordvec::eval::AnalogyOptions {
            restrict_vocab,
            case_insensitive,
            oov_from_subwords: false,
        };
        let r = py
            .detach(|| wordvec::eval::evaluate_analogies_with(&self.emb, &path, &opts))
            .map_err(py_err)?;
        let last = r.sections.len().saturating_sub(1);
        let mut sections: Vec<(String, Vec<[String; 4]>, Vec<[String; 4]>)> = r
            .sections
            .iter()
            .map(|s| (s.section.clone(), Vec::new(), Vec::new()))
            .collect();
        for a in &r.answered {
            for at in [a.section, last] {
                let s = &mut sections[at];
                if a.correct {
                    s.1.push(a.words.clone());
                } else {
                    s.2.push(a.words.clone());
                }
            }
        }
        Ok((r.total_accuracy, sections, r.oov_percent))
    }

    /// gensim's `evaluate_word_pairs`: `((pearson, p), (spearman, p), oov %)`.
    #[pyo3(signature = (path, delimiter='\t', restrict_vocab=300_000, case_insensitive=true))]
    fn evaluate_pairs(
        &self,
        py: Python<'_>,
        path: PathBuf,
        delimiter: char,
        restrict_vocab: usize,
        case_insensitive: bool,
    ) -> PyResult<PairsAnswer> {
        let r = py
            .detach(|| {
                wordvec::eval::evaluate_pairs_with(
                    &self.emb,
                    &path,
                    delimiter,
                    restrict_vocab,
                    case_insensitive,
                    false,
                )
            })
            .map_err(py_err)?;
        Ok((
            (r.pearson, r.pearson_p),
            (r.spearman, r.spearman_p),
            r.oov_percent,
        ))
    }

    /// Builds an HNSW index over the first `restrict_vocab` rows (all by default) on all cores.
    #[pyo3(signature = (m=16, ef_construction=200, ef_search=64, restrict_vocab=None, progress=None))]
    fn build_index(
        &self,
        py: Python<'_>,
        m: usize,
        ef_construction: usize,
        ef_search: usize,
        restrict_vocab: Option<usize>,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<()> {
        let params = IndexParams {
            m,
            ef_construction,
            ef_search,
            restrict_vocab,
            ..IndexParams::default()
        };
        let progress = progress.map(PyProgress::new);
        let index = py
            .detach(|| {
                HnswIndex::build(
                    &self.emb,
                    params,
                    progress.as_ref().map(|p| p.as_ref() as &dyn Progress),
                )
            })
            .map_err(py_err)?;
        *self.index.write().expect("index lock") = Some(Arc::new(index));
        Ok(())
    }

    /// Saves the index (one file, atomically).
    fn save_index(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        let index = self
            .index()
            .ok_or_else(|| PyValueError::new_err("no index: call build_index() first"))?;
        py.detach(|| {
            let mut copy = (*index).clone();
            copy.save(&path)
        })
        .map_err(py_err)
    }

    /// Maps an index saved for these vectors.
    fn load_index(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        let index = py
            .detach(|| HnswIndex::load(&path, &self.emb))
            .map_err(py_err)?;
        *self.index.write().expect("index lock") = Some(Arc::new(index));
        Ok(())
    }

    /// Whether an index is loaded or built.
    #[getter]
    fn has_index(&self) -> bool {
        self.index().is_some()
    }
}

/// Trains word2vec (skip-gram or CBOW, negative sampling) on text files of whitespace-separated
/// tokens, one sentence per line; `progress(report)` receives a dict a few times a second.
#[pyfunction]
#[pyo3(signature = (corpus_files, sg=false, vector_size=100, window=5, negative=5, sample=1e-3, min_count=5, epochs=5, workers=None, alpha=None, min_alpha=None, seed=1, max_vocab_size=None, progress=None))]
#[allow(clippy::too_many_arguments)]
fn train(
    py: Python<'_>,
    corpus_files: Vec<PathBuf>,
    sg: bool,
    vector_size: usize,
    window: usize,
    negative: usize,
    sample: f64,
    min_count: u64,
    epochs: usize,
    workers: Option<usize>,
    alpha: Option<f32>,
    min_alpha: Option<f32>,
    seed: u64,
    max_vocab_size: Option<usize>,
    progress: Option<Py<PyAny>>,
) -> PyResult<Vectors> {
    use wordvec::train::{Model, TrainConfig, Trainer};
    let defaults = TrainConfig::default();
    let config = TrainConfig {
        model: if sg { Model::SkipGram } else { Model::Cbow },
        dims: vector_size,
        window,
        negative,
        sample,
        min_count,
        epochs,
        threads: workers.unwrap_or(defaults.threads),
        alpha,
        min_alpha,
        seed,
        max_vocab: max_vocab_size,
        ..defaults
    };
    let mut trainer = Trainer::new(config).map_err(py_err)?;
    if let Some(cb) = progress {
        trainer = trainer.on_progress(move |p| {
            Python::attach(|py| {
                let d = PyDict::new(py);
                let _ = d.set_item("epoch", p.epoch);
                let _ = d.set_item("epochs", p.epochs);
                let _ = d.set_item("words_done", p.words_done);
                let _ = d.set_item("words_total", p.words_total);
                let _ = d.set_item("alpha", p.alpha);
                let _ = d.set_item("words_per_sec", p.words_per_sec);
                let _ = d.set_item("loss", p.loss);
                if let Err(e) = cb.call1(py, (d,)) {
                    e.print(py);
                }
            })
        });
    }
    let emb = py
        .detach(|| trainer.train(&corpus_files)?.to_embeddings())
        .map_err(py_err)?;
    Ok(Vectors::new(emb))
}

/// A text classifier: the mean of a text's word embeddings through hidden layers to
/// sigmoid/softmax outputs.
#[pyclass(frozen, module = "wordvec._wordvec")]
pub struct Classifier {
    file: Arc<classify::ModelFile>,
}

#[pymethods]
impl Classifier {
    /// Loads a model file written by `wordvec classify train` or [`Classifier::save`].
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<Classifier> {
        let file = py
            .detach(|| classify::ModelFile::load(&path))
            .map_err(py_err)?;
        Ok(Classifier {
            file: Arc::new(file),
        })
    }

    /// Trains on a CSV/TSV file with `text` and `label` columns (names configurable).
    #[staticmethod]
    #[pyo3(signature = (data, vectors=None, hidden=vec![64], epochs=10, lr=0.001, batch_size=32, dim=100, min_count=1, seed=42, freeze=false, text_column="text", label_column="label", multi_label=None, progress=None))]
    #[allow(clippy::too_many_arguments)]
    fn train(
        py: Python<'_>,
        data: PathBuf,
        vectors: Option<&Vectors>,
        hidden: Vec<usize>,
        epochs: usize,
        lr: f32,
        batch_size: usize,
        dim: usize,
        min_count: usize,
        seed: u64,
        freeze: bool,
        text_column: &str,
        label_column: &str,
        multi_label: Option<&str>,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<Classifier> {
        let opts = classify::DataOptions {
            text_column: text_column.to_owned(),
            label_column: label_column.to_owned(),
            multi_label: multi_label.map(str::to_owned),
            ..classify::DataOptions::default()
        };
        let defaults = classify::ClassifierConfig::default();
        let config = classify::ClassifierConfig {
            hidden,
            epochs,
            optimizer: classify::OptimizerConfig {
                lr,
                ..defaults.optimizer
            },
            batch_size,
            dim: vectors.map_or(dim, |v| v.emb.dims()),
            min_count,
            seed,
            freeze,
            ..defaults
        };
        let pretrained = vectors.map(|v| v.emb.clone());
        let out = py
            .detach(|| {
                let ds = classify::Dataset::read(&data, &opts)?;
                classify::train(&ds, &config, pretrained.as_deref(), None, None, |r, _| {
                    if let Some(cb) = &progress {
                        Python::attach(|py| {
                            let d = PyDict::new(py);
                            let _ = d.set_item("epoch", r.epoch);
                            let _ = d.set_item("train_loss", r.train_loss);
                            let _ = d.set_item("valid_loss", r.valid_loss);
                            let _ = d.set_item("valid_accuracy", r.valid_accuracy);
                            if let Err(e) = cb.call1(py, (d,)) {
                                e.print(py);
                            }
                        });
                    }
                    Ok(())
                })
            })
            .map_err(py_err)?;
        Ok(Classifier {
            file: Arc::new(out.model),
        })
    }

    /// Writes the model (with its training state when it was trained here).
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        py.detach(|| self.file.save(&path)).map_err(py_err)
    }

    /// Whether a text can have several labels.
    #[getter]
    fn multi_label(&self) -> bool {
        self.file.classifier.multi_label()
    }

    /// The labels, in output order.
    #[getter]
    fn labels(&self) -> Vec<String> {
        self.file.classifier.labels.clone()
    }

    /// For each text: the predicted labels and every label's probability.
    fn predict(
        &self,
        py: Python<'_>,
        texts: Vec<String>,
    ) -> PyResult<Vec<(Vec<String>, Vec<f32>)>> {
        let c = &self.file.classifier;
        let preds = py.detach(|| c.predict(&texts)).map_err(py_err)?;
        Ok(preds
            .into_iter()
            .map(|p| {
                (
                    p.labels.iter().map(|&l| c.labels[l].clone()).collect(),
                    p.probabilities,
                )
            })
            .collect())
    }
}

/// The module.
#[pymodule]
fn _wordvec(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Vectors>()?;
    m.add_class::<Array>()?;
    m.add_class::<Classifier>()?;
    m.add_function(wrap_pyfunction!(train, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
