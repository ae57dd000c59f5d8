//! [`Vectors`]: a set of word vectors and its optional HNSW index, held as the library's
//! [`Searcher`], the one place that decides between the exact scan and the index; written to
//! (gensim's `add_vectors`), an in-memory live model over it ([`crate::state`]).
//!
//! The state sits behind a lock because an index can be built or loaded after the vectors are,
//! and a write changes it. Every lock is taken with the GIL released ([`Vectors::with`],
//! [`Vectors::set_index`], [`Vectors::add`]), so a thread waiting for the lock never holds the
//! GIL that a lock holder's progress callback needs.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockWriteGuard};

use pyo3::exceptions::{PyIndexError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use wordvec::index::HnswIndex;
use wordvec::limits::{MAX_WRITE_BYTES, MAX_WRITE_WORDS};
use wordvec::live::LiveOptions;
use wordvec::search::Searcher;
use wordvec::storage::Rows;
use wordvec::{Embeddings, LoadOptions, SaveOptions};

use crate::array::{Array, Owner};
use crate::errors::{floats, format_arg, py_err, unicode_errors};
use crate::progress::PyProgress;
use crate::state::{Current, State};

/// A set of word vectors, with an optional HNSW index.
#[pyclass(frozen, module = "wordvec._wordvec")]
pub struct Vectors {
    state: Arc<RwLock<State>>,
    /// Whether [`Vectors::int8_for_scans`] ran: it builds at most once.
    int8_tried: AtomicBool,
    /// Stops that build: a write raises it rather than wait for the build's read lock (the
    /// copy would be of rows the write replaces).
    int8_cancel: wordvec::cancel::Cancel,
}

/// Rows times dimensions from which the first exact scan makes an int8 copy in memory
/// ([`Vectors::int8_for_scans`]): 8 MiB of f32, where a scan starts to read from memory
/// rather than from the caches of this machine class.
const INT8_FROM: usize = 2 << 20;

impl Vectors {
    pub(crate) fn new(emb: Embeddings, index: Option<HnswIndex>) -> Vectors {
        let mut searcher = Searcher::exact(emb);
        searcher.index = index;
        Vectors {
            state: Arc::new(RwLock::new(State::Frozen(searcher))),
            int8_tried: AtomicBool::new(false),
            int8_cancel: wordvec::cancel::Cancel::new(),
        }
    }

    /// At the first exact scan: vectors of 8 MiB and more without an int8 copy get one in
    /// memory (the library's [`wordvec::quant`]: a quarter of the f32 rows' bytes, scanned
    /// first, the rows that can still be in the answer re-scored in f32, so answers are the
    /// f32 scan's, word for word and score for score). gensim's first query makes a full f32
    /// copy of the unit rows (`fill_norms`); this one costs a quarter of that, and the scans
    /// read a quarter of the bytes. It is made on one thread of its own, started once the
    /// first scan has answered (7-8 s for 3,000,000 x 300), so neither that answer nor the
    /// scans meanwhile wait for it: they read the f32 rows until it is attached. Vectors that
    /// hold a non-finite value get no copy (the f32 scan reports the corrupt row); written
    /// vectors (a live model) are left as they are, and a write stops a build under way.
    fn int8_for_scans(&self, py: Python<'_>) {
        if self.int8_tried.swap(true, Ordering::Relaxed) {
            return;
        }
        let wanted = self.peek(py, |c| match c {
            Current::Base(s) => {
                let e = &s.embeddings;
                e.int8().is_none() && e.len().saturating_mul(e.dims()) >= INT8_FROM
            }
            Current::View(_) => false,
        });
        if !wanted {
            return;
        }
        let state = Arc::clone(&self.state);
        let cancel = self.int8_cancel.clone();
        let build = move || {
            let built = match &*state.read().unwrap_or_else(PoisonError::into_inner) {
                State::Frozen(s) if s.embeddings.int8().is_none() && !cancel.is_cancelled() => {
                    cancel
                        .scope(|| wordvec::quant::Int8Rows::build_in_background(&s.embeddings))
                        .ok()
                }
                _ => None,
            };
            if let Some(rows) = built {
                if let State::Frozen(s) =
                    &mut *state.write().unwrap_or_else(PoisonError::into_inner)
                {
                    if s.embeddings.int8().is_none() {
                        // Made from these very rows: the sizes agree.
                        let _ = s.embeddings.attach_int8(rows);
                    }
                }
            }
        };
        // Without a thread (the system refused one), the scans stay on the f32 rows.
        let _ = std::thread::Builder::new()
            .name("wordvec-int8".into())
            .spawn(build);
    }

    /// Runs `f` on what a call reads now (the vectors as opened, or the live model's merged
    /// rows) with the GIL released. A panic in an earlier holder leaves the state as it was
    /// (writers change it in single assignments, and the live model keeps its own invariants),
    /// so a poisoned lock is used as is.
    pub(crate) fn with<R: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&Current<'_>) -> R + Send,
    ) -> R {
        py.detach(|| {
            let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
            f(&state.current())
        })
    }

    /// Runs a short `f` (a lookup, one row) on what a call reads now, holding the GIL when the
    /// lock is free: releasing and taking back the GIL costs more than such a call. When a
    /// writer holds the lock (it waits with the GIL released, and a progress callback of its
    /// may need the GIL), this waits as [`Vectors::with`] does, with the GIL released.
    pub(crate) fn peek<R: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&Current<'_>) -> R + Send,
    ) -> R {
        match self.state.try_read() {
            Ok(state) => f(&state.current()),
            Err(std::sync::TryLockError::Poisoned(p)) => f(&p.into_inner().current()),
            Err(std::sync::TryLockError::WouldBlock) => self.with(py, f),
        }
    }

    /// Whether `word` is in the vocabulary (the GIL held when the lock is free).
    pub(crate) fn contains_now(&self, py: Python<'_>, word: &str) -> bool {
        self.peek(py, |c| c.contains(word))
    }

    /// The row of `word` (the GIL held when the lock is free).
    pub(crate) fn index_now(&self, py: Python<'_>, word: &str) -> Option<usize> {
        self.peek(py, |c| c.embeddings().index(word))
    }

    /// The float32 bytes of `word`'s row (unit length with `norm`) when the lock is free and the
    /// word is in the vocabulary (see [`Vectors::row_into_now`]).
    pub(crate) fn row_bytes_now(&self, word: &str, norm: bool) -> Option<Vec<u8>> {
        let dims = self.state.try_read().ok()?.current().embeddings().dims();
        let mut out = vec![0u8; 4 * dims];
        self.row_into_now(word, norm, &mut out).then_some(out)
    }

    /// Writes `word`'s row (unit length with `norm`) into `out` as little-endian float32 bytes,
    /// straight from the stored row, when the lock is free, the word is in the vocabulary and
    /// `out` holds exactly one row; false (and `out` untouched) otherwise: `kv[word]`'s path.
    /// The values are [`Embeddings::raw_row`]'s and [`Embeddings::unit_row`]'s.
    pub(crate) fn row_into_now(&self, word: &str, norm: bool, out: &mut [u8]) -> bool {
        let Ok(state) = self.state.try_read() else {
            return false;
        };
        let current = state.current();
        let e = current.embeddings();
        let Some(i) = e.index(word) else {
            return false;
        };
        let row = e.storage().row_bytes(i);
        if row.len() != out.len() {
            return false;
        }
        out.copy_from_slice(row);
        if e.unit_rows() != norm {
            /// One operation for the whole row, chosen once per row, not per component.
            fn rescale(out: &mut [u8], f: impl Fn(f32) -> f32) {
                for c in out.chunks_exact_mut(4) {
                    let x = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
                    c.copy_from_slice(&f(x).to_le_bytes());
                }
            }
            let n = e.norms()[i];
            match (norm, n > 0.0) {
                (false, _) => rescale(out, |x| x * n),
                (true, true) => rescale(out, |x| x / n),
                (true, false) => out.fill(0),
            }
        }
        true
    }

    /// Runs `f` on the embeddings (the merged rows after a write) with the GIL released.
    pub(crate) fn emb<R: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&Embeddings) -> R + Send,
    ) -> R {
        self.with(py, |c| f(c.embeddings()))
    }

    /// Dimensions (the GIL held when the lock is free).
    pub(crate) fn dims_now(&self, py: Python<'_>) -> usize {
        self.peek(py, |c| c.embeddings().dims())
    }

    /// Rows now.
    pub(crate) fn len_now(&self, py: Python<'_>) -> usize {
        self.peek(py, |c| c.len())
    }

    /// The word of row `row`, or an `IndexError`.
    pub(crate) fn word_now(&self, py: Python<'_>, row: usize) -> PyResult<String> {
        self.peek(py, |c| {
            let e = c.embeddings();
            if row >= e.len() {
                return Err(format!("row {row} is past the {} rows", e.len()));
            }
            Ok(e.word(row).to_owned())
        })
        .map_err(PyIndexError::new_err)
    }

    /// The words of `rows` (each checked by the caller to be a row).
    pub(crate) fn words_at(&self, py: Python<'_>, rows: &[usize]) -> Vec<String> {
        self.with(py, |c| {
            let e = c.embeddings();
            rows.iter().map(|&r| e.word(r).to_owned()).collect()
        })
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Replaces the index, with the GIL released. After a write the index stays the base's: a
    /// new one would have to cover the merged rows, which are saved and loaded for that.
    pub(crate) fn set_index(&self, py: Python<'_>, index: HnswIndex) -> PyResult<()> {
        py.detach(|| match &mut *self.write() {
            State::Frozen(s) => {
                s.index = Some(index);
                Ok(())
            }
            _ => Err(PyValueError::new_err(
                "the vectors were written to: save() and load() them to build or load an index over the merged rows",
            )),
        })
    }

    /// The whole matrix without a copy, when the rows are those of the vectors as opened and lie
    /// back to back in memory (the state, which holds them, is the array's owner).
    fn shared_matrix(&self, c: &Current<'_>) -> Option<Array> {
        let e = c.embeddings();
        let (n, d) = (e.len(), e.dims());
        match e.storage().rows() {
            Some(Rows::Dense { bytes, width }) if c.unmodified() && width >= d * 4 && n > 0 => {
                Some(Array::rows(
                    Owner::Rows(self.state.clone()),
                    bytes.as_ptr() as usize,
                    [n, d],
                    width,
                ))
            }
            _ => None,
        }
    }

    /// Writes `items` in batches within the library's limits of one write, after checking the
    /// words of all (dimensions and values the caller has checked), so that a bad batch changes
    /// nothing. Words already there are replaced with `replace`, left as they are without.
    fn add_items(&self, items: Vec<(String, Vec<f32>)>, replace: bool) -> wordvec::Result<usize> {
        check_words(&items)?;
        // A write makes the vectors live, which keep no int8 copy: a build under way stops
        // (within 4,096 rows) rather than hold the write up for seconds.
        self.int8_cancel.cancel();
        let mut state = self.write();
        let model = state.live();
        let items: Vec<_> = if replace {
            items
        } else {
            let view = model.view();
            items
                .into_iter()
                .filter(|(w, _)| !view.contains(w))
                .collect()
        };
        let (count, dims) = (items.len(), model.view().dims());
        let longest = items.iter().map(|(w, _)| w.len()).max().unwrap_or(0);
        let per_write = (MAX_WRITE_BYTES / (4 * dims + longest)).clamp(1, MAX_WRITE_WORDS);
        let mut items = items.into_iter().peekable();
        while items.peek().is_some() {
            model.upsert(items.by_ref().take(per_write).collect())?;
        }
        Ok(count)
    }
}

/// `values` as little-endian float32 bytes.
fn float_bytes<'py>(py: Python<'py>, values: &[f32]) -> Bound<'py, PyBytes> {
    let mut bytes = Vec::with_capacity(values.len() * 4);
    values
        .iter()
        .for_each(|v| bytes.extend_from_slice(&v.to_le_bytes()));
    PyBytes::new(py, &bytes)
}

/// The live model's checks of words (the longest its default options take), done on the whole
/// call before its first batch is written.
fn check_words(items: &[(String, Vec<f32>)]) -> wordvec::Result<()> {
    let max = LiveOptions::default().max_word_bytes;
    for (w, _) in items {
        if w.is_empty() || w.len() > max {
            return Err(wordvec::Error::InvalidArgument(format!(
                "a key must be a word of 1 to {max} bytes, not {:?}",
                wordvec::limits::echo(w)
            )));
        }
    }
    Ok(())
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
        Ok(Vectors::new(emb, index))
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
        let values = floats(data);
        let emb = py
            .detach(|| Embeddings::from_vectors(&words, values, dims))
            .map_err(py_err)?;
        Ok(Vectors::new(emb, None))
    }

    /// An empty set of vectors of `dims` dimensions, filled by [`Vectors::add`].
    #[staticmethod]
    fn empty(dims: usize) -> PyResult<Vectors> {
        wordvec::limits::between_1_and("dimensions", dims, wordvec::limits::MAX_DIMS)
            .map_err(py_err)?;
        let emb = Embeddings::from_vectors::<&str>(&[], Vec::new(), dims).map_err(py_err)?;
        Ok(Vectors::new(emb, None))
    }

    /// Adds `words` with their vectors (a row-major float32 matrix, as bytes): new words after
    /// the others, in order; words already there get their new vector in place with `replace`,
    /// and are left as they are without (gensim's `add_vectors`). A word given twice keeps its
    /// last vector. The vectors are checked (dimensions, finite values) before anything is
    /// written. Returns how many words were written.
    fn add(
        &self,
        py: Python<'_>,
        words: Vec<String>,
        data: &[u8],
        replace: bool,
    ) -> PyResult<usize> {
        let dims = self.dims(py);
        if data.len() % 4 != 0 || data.len() / 4 != words.len().saturating_mul(dims) {
            return Err(PyValueError::new_err(format!(
                "{} keys of {dims} dimensions need {} float32 values, not {}",
                words.len(),
                words.len().saturating_mul(dims),
                data.len() / 4
            )));
        }
        let values = floats(data);
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(PyValueError::new_err(format!(
                "the vector of {:?} holds {} at dimension {}",
                wordvec::limits::echo(&words[i / dims]),
                values[i],
                i % dims
            )));
        }
        let items: Vec<(String, Vec<f32>)> = words
            .into_iter()
            .zip(values.chunks_exact(dims).map(<[f32]>::to_vec))
            .collect();
        py.detach(|| self.add_items(items, replace)).map_err(py_err)
    }

    /// Whether the vectors were written to (then reads answer over the merged rows).
    #[getter]
    fn modified(&self, py: Python<'_>) -> bool {
        self.with(py, |c| !c.unmodified())
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
        let format = format.parse::<wordvec::Format>().map_err(py_err)?;
        let mut opts = SaveOptions::default().newline_after_vector(newline_after_vector);
        if let Some(cb) = progress {
            opts = opts.progress(PyProgress::new(cb));
        }
        self.emb(py, |e| wordvec::save(e, &path, format, &opts))
            .map_err(py_err)
    }

    fn __len__(&self, py: Python<'_>) -> usize {
        self.peek(py, |c| c.len())
    }

    /// Whether `word` is in the vocabulary.
    fn contains(&self, py: Python<'_>, word: &str) -> bool {
        self.peek(py, |c| c.contains(word))
    }

    /// Whether exact scans read an int8 copy first (a `PATH.i8` beside the file, or the one the
    /// first exact scan of large vectors makes in memory).
    #[getter]
    fn int8(&self, py: Python<'_>) -> bool {
        self.peek(py, |c| c.embeddings().int8().is_some())
    }

    /// Dimensions.
    #[getter]
    fn dims(&self, py: Python<'_>) -> usize {
        self.peek(py, |c| c.embeddings().dims())
    }

    /// Whether the stored rows are unit length (the native format), so that [`Self::matrix`]
    /// holds normalised vectors.
    #[getter]
    fn unit_rows(&self, py: Python<'_>) -> bool {
        self.emb(py, |e| e.unit_rows())
    }

    /// Where the vectors came from and their size.
    fn describe(&self, py: Python<'_>) -> String {
        self.emb(py, |e| e.describe())
    }

    /// The row of `word`, or `None`.
    fn index_of(&self, py: Python<'_>, word: &str) -> Option<usize> {
        self.peek(py, |c| c.embeddings().index(word))
    }

    /// Whether `word` has a vector (in the vocabulary, or from its n-grams for fastText models).
    fn has_vector(&self, py: Python<'_>, word: &str) -> bool {
        self.peek(py, |c| c.embeddings().has_vector(word))
    }

    /// The words of rows `start..stop` (clamped to the vocabulary).
    #[pyo3(signature = (start=0, stop=None))]
    fn words(&self, py: Python<'_>, start: usize, stop: Option<usize>) -> Vec<String> {
        self.emb(py, |e| {
            let stop = stop.map_or(e.len(), |s| s.min(e.len()));
            (start.min(stop)..stop)
                .map(|i| e.word(i).to_owned())
                .collect()
        })
    }

    /// The word of row `row`.
    fn word(&self, py: Python<'_>, row: usize) -> PyResult<String> {
        self.word_now(py, row)
    }

    /// The words of rows `rows`, in order (`IndexError` past the last row).
    #[pyo3(name = "words_at")]
    fn py_words_at(&self, py: Python<'_>, rows: Vec<usize>) -> PyResult<Vec<String>> {
        let n = self.len_now(py);
        if let Some(bad) = rows.iter().find(|&&r| r >= n) {
            return Err(PyIndexError::new_err(format!(
                "row {bad} is past the {n} rows"
            )));
        }
        Ok(self.words_at(py, &rows))
    }

    /// Each row's length before normalisation.
    fn norms(&self, py: Python<'_>) -> Array {
        let norms = self.emb(py, |e| e.norms().to_vec());
        let n = norms.len();
        Array::floats(norms, vec![n])
    }

    /// Rows `rows` (raw, or unit length with `norm`), as one `len(rows) x dims` array.
    #[pyo3(signature = (rows, norm=false))]
    fn rows(&self, py: Python<'_>, rows: Vec<usize>, norm: bool) -> PyResult<Array> {
        let (values, d) = self
            .emb(py, |e| {
                let n = e.len();
                if let Some(bad) = rows.iter().find(|&&r| r >= n) {
                    return Err(format!("row {bad} is past the {n} rows"));
                }
                let d = e.dims();
                let mut out = Vec::with_capacity(rows.len() * d);
                for &r in &rows {
                    if norm {
                        out.extend(e.unit_row(r));
                    } else {
                        out.extend(e.raw_row(r));
                    }
                }
                Ok((out, d))
            })
            .map_err(PyValueError::new_err)?;
        Ok(Array::floats(values, vec![rows.len(), d]))
    }

    /// The vector of `word` (from its n-grams outside the vocabulary of a fastText model), as
    /// little-endian float32 bytes: `numpy.frombuffer` makes them an array in a fraction of the
    /// time the array interface of an [`Array`] takes, which matters for a call this short.
    #[pyo3(signature = (word, norm=false))]
    fn vector<'py>(
        &self,
        py: Python<'py>,
        word: &str,
        norm: bool,
    ) -> PyResult<Bound<'py, PyBytes>> {
        if let Some(bytes) = self.row_bytes_now(word, norm) {
            return Ok(PyBytes::new(py, &bytes));
        }
        let v = self
            .peek(py, |c| {
                let e = c.embeddings();
                if norm {
                    e.unit_vector(word)
                } else {
                    e.vector(word)
                }
            })
            .map_err(py_err)?;
        Ok(float_bytes(py, &v))
    }

    /// The vectors of `words` (raw, or unit length with `norm`; from their n-grams outside the
    /// vocabulary of a fastText model), one row after another as float32 bytes: `kv[words]` in
    /// one call. The first word without a vector is a `KeyError` naming it as gensim does.
    #[pyo3(signature = (words, norm=false))]
    fn vectors_of<'py>(
        &self,
        py: Python<'py>,
        words: Vec<String>,
        norm: bool,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = self.peek(py, |c| {
            let e = c.embeddings();
            let mut out = Vec::with_capacity(words.len() * e.dims() * 4);
            for w in &words {
                let v = if norm { e.unit_vector(w) } else { e.vector(w) };
                match v {
                    Ok(v) => v
                        .iter()
                        .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
                    Err(wordvec::Error::UnknownWords(_)) => return Err(Err(w.clone())),
                    Err(other) => return Err(Ok(other)),
                }
            }
            Ok(out)
        });
        match bytes {
            Ok(b) => Ok(PyBytes::new(py, &b)),
            Err(Err(word)) => Err(pyo3::exceptions::PyKeyError::new_err(format!(
                "Key '{word}' not present"
            ))),
            Err(Ok(e)) => Err(py_err(e)),
        }
    }

    /// gensim's `distances(word, other_words)`: `1 - cosine` of `word` (from its n-grams outside
    /// the vocabulary of a fastText model) with each of `others` (rows of the vocabulary, as
    /// gensim reads them), as float32 bytes; the first word without its vector or row is a
    /// `KeyError` naming it as gensim does.
    fn distances_to<'py>(
        &self,
        py: Python<'py>,
        word: &str,
        others: Vec<String>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let found = self.peek(py, |c| {
            let e = c.embeddings();
            let unit = |w: &str| match e.unit_vector(w) {
                Err(wordvec::Error::UnknownWords(_)) => Err(Err(w.to_owned())),
                other => other.map_err(Ok),
            };
            let u = unit(word)?;
            let mut out = Vec::with_capacity(others.len());
            for o in &others {
                let v = e
                    .index(o)
                    .map(|i| e.unit_row(i))
                    .ok_or_else(|| Err(o.clone()))?;
                out.push(1.0 - u.iter().zip(&v).map(|(x, y)| x * y).sum::<f32>());
            }
            Ok(out)
        });
        match found {
            Ok(d) => Ok(float_bytes(py, &d)),
            Err(Err(word)) => Err(pyo3::exceptions::PyKeyError::new_err(format!(
                "Key '{word}' not present"
            ))),
            Err(Ok(e)) => Err(py_err(e)),
        }
    }

    /// Cosine similarity of two words (from their n-grams outside the vocabulary of a fastText
    /// model).
    fn similarity(&self, py: Python<'_>, a: &str, b: &str) -> PyResult<f32> {
        self.peek(py, |c| c.embeddings().similarity(a, b))
            .map_err(py_err)
    }

    /// gensim's `get_mean_vector` over words: the sum of each word's vector (unit length with
    /// `pre_normalize`) times its weight, divided by the sum of the weights' magnitudes, in
    /// float32 and in gensim's order, so the sums are gensim's to the last bit. A word without
    /// a vector is skipped with `ignore_missing`, else a `KeyError`. Returns the mean as float32
    /// bytes and whether any word counted.
    fn mean_vector<'py>(
        &self,
        py: Python<'py>,
        words: Vec<String>,
        weights: Vec<f32>,
        pre_normalize: bool,
        ignore_missing: bool,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let mean = self.peek(py, |c| {
            crate::search::mean_vector(
                c.embeddings(),
                &words,
                &weights,
                pre_normalize,
                ignore_missing,
            )
        })?;
        Ok(float_bytes(py, &mean))
    }

    /// The fastText n-gram settings `(minn, maxn, bucket)`, for vectors read from a fastText
    /// model (or a native file that kept its n-grams); `None` for others.
    #[getter]
    fn subwords(&self, py: Python<'_>) -> Option<(usize, usize, u32)> {
        self.peek(py, |c| {
            c.embeddings()
                .subwords()
                .map(|s| (s.minn(), s.maxn(), s.bucket()))
        })
    }

    /// The file these vectors were read from and its format, while no write changed them
    /// (`None` for vectors made in memory): what a pickle re-opens.
    fn origin(&self, py: Python<'_>) -> Option<(PathBuf, String)> {
        self.peek(py, |c| {
            let meta = c.embeddings().metadata();
            match (&meta.source, meta.format) {
                (Some(p), Some(f)) if c.unmodified() && !p.to_string_lossy().starts_with('<') => {
                    Some((p.clone(), f.name().to_owned()))
                }
                _ => None,
            }
        })
    }

    /// The library's fingerprint of the vectors (every word and every norm, hashed): a pickle
    /// keeps it to tell whether the file it re-opens still holds the same vectors.
    fn fingerprint(&self, py: Python<'_>) -> String {
        self.emb(py, |e| e.fingerprint())
    }

    /// The whole matrix, the raw vectors or (`norm`) the unit ones: the stored rows themselves,
    /// without a copy, when they are stored that way and lie back to back (raw: text formats and
    /// vectors made in memory; unit: the native `.wvec`), else a copy (word2vec binary files,
    /// whose rows lie between the words, and the other kind of the native file's rows).
    #[pyo3(signature = (norm=false))]
    fn matrix(&self, py: Python<'_>, norm: bool) -> Array {
        self.with(py, |c| {
            let e = c.embeddings();
            if e.unit_rows() == norm {
                if let Some(shared) = self.shared_matrix(c) {
                    return shared;
                }
            }
            let (n, d) = (e.len(), e.dims());
            let mut out = Vec::with_capacity(n * d);
            for i in 0..n {
                out.extend(if norm { e.unit_row(i) } else { e.raw_row(i) });
            }
            Array::floats(out, vec![n, d])
        })
    }

    /// Whether [`Vectors::matrix`] gives the stored rows themselves (no copy) for `norm`.
    fn matrix_shared(&self, py: Python<'_>, norm: bool) -> bool {
        self.peek(py, |c| {
            c.embeddings().unit_rows() == norm && self.shared_matrix(c).is_some()
        })
    }

    /// The `topn` nearest to the mean of `positive` minus `negative` (3CosAdd, or 3CosMul with
    /// `cosmul`), as `(word, score)` pairs; `mode` is `auto`, `exact` or `index`, decided as
    /// the library's `Searcher` decides; `allow` (only these words) and `deny` (never these)
    /// filter the answers.
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
        let scan = !cosmul && mode != "index";
        let q = crate::search::Request {
            positive: crate::errors::terms(&positive)?,
            negative: crate::errors::terms(&negative)?,
            topn,
            restrict_vocab,
            cosmul,
            mode: crate::errors::mode(mode)?,
            ef,
            allow,
            deny,
        };
        let answer = self.with(py, |c| q.answer(c)).map_err(py_err);
        if scan && answer.is_ok() {
            self.int8_for_scans(py);
        }
        answer
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
        let v = self
            .emb(py, |e| wordvec::classify::embed_text(e, text, unit))
            .map_err(py_err)?;
        let d = v.vector.len();
        Ok((Array::floats(v.vector, vec![d]), v.known, v.unknown))
    }

    /// The word furthest from the mean of the others.
    fn doesnt_match(&self, py: Python<'_>, words: Vec<String>) -> PyResult<String> {
        self.emb(py, |e| e.doesnt_match(&words))
            .map(|d| d.word)
            .map_err(py_err)
    }

    /// gensim's `evaluate_word_analogies`: `(accuracy, sections, oov %)`, each section
    /// `(name, correct questions, incorrect questions)` with questions as 4-tuples of words, the
    /// last section "Total accuracy".
    #[pyo3(signature = (path, restrict_vocab=300_000, case_insensitive=true, dummy4unknown=false))]
    fn evaluate_analogies(
        &self,
        py: Python<'_>,
        path: PathBuf,
        restrict_vocab: usize,
        case_insensitive: bool,
        dummy4unknown: bool,
    ) -> PyResult<crate::eval::AnalogiesAnswer> {
        self.emb(py, |e| {
            crate::eval::analogies(e, &path, restrict_vocab, case_insensitive, dummy4unknown)
        })
        .map_err(py_err)
    }

    /// gensim's `evaluate_word_pairs`: `((pearson, p), (spearman, p), oov %)`.
    #[pyo3(signature = (path, delimiter='\t', restrict_vocab=300_000, case_insensitive=true, dummy4unknown=false))]
    fn evaluate_pairs(
        &self,
        py: Python<'_>,
        path: PathBuf,
        delimiter: char,
        restrict_vocab: usize,
        case_insensitive: bool,
        dummy4unknown: bool,
    ) -> PyResult<crate::eval::PairsAnswer> {
        self.emb(py, |e| {
            crate::eval::pairs(
                e,
                &path,
                delimiter,
                restrict_vocab,
                case_insensitive,
                dummy4unknown,
            )
        })
        .map_err(py_err)
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
        let params = wordvec::index::IndexParams {
            m,
            ef_construction,
            ef_search,
            restrict_vocab,
            ..wordvec::index::IndexParams::default()
        };
        let progress = progress.map(PyProgress::new);
        let index = self
            .emb(py, |e| crate::index::build(e, params, progress.as_deref()))
            .map_err(py_err)?;
        self.set_index(py, index)
    }

    /// Saves the index (one file, atomically).
    fn save_index(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        self.with(py, |c| match c {
            Current::Base(s) => s.index.as_ref().map(|i| crate::index::save(i, &path)),
            // The base's index covers the rows before the writes only.
            Current::View(_) => None,
        })
        .ok_or_else(|| {
            PyValueError::new_err(
                "no index over these rows: call build_index() first (after a write, on the saved and loaded vectors)",
            )
        })?
        .map_err(py_err)
    }

    /// Maps an index saved for these vectors.
    fn load_index(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        let index = self
            .emb(py, |e| HnswIndex::load(&path, e))
            .map_err(py_err)?;
        self.set_index(py, index)
    }

    /// Whether an index is loaded or built.
    #[getter]
    fn has_index(&self, py: Python<'_>) -> bool {
        py.detach(|| {
            self.state
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .indexed()
        })
    }
}
