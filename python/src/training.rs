//! `train` and [`Word2VecModel`]: word2vec training from Python, with gensim's argument names
//! mapped onto the library's [`TrainConfig`].

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use wordvec::train::vocab::{effective_min_count, TrainVocab};
use wordvec::train::{
    count_words, sentence_channel, Model, Sentences, TrainConfig, TrainState, Trainer,
};
use wordvec::Embeddings;

use crate::errors::py_err;
use crate::progress::call_with_dict;
use crate::vectors::Vectors;

/// Trains word2vec (skip-gram or CBOW, negative sampling) on text files of whitespace-separated
/// tokens, one sentence per line; `progress(report)` receives a dict a few times a second.
#[pyfunction]
#[pyo3(signature = (corpus_files, sg=false, vector_size=100, window=5, negative=5, sample=1e-3, min_count=5, epochs=5, workers=None, alpha=None, min_alpha=None, seed=1, max_vocab_size=None, progress=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn train(
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
            call_with_dict(&cb, |d| {
                d.set_item("epoch", p.epoch)?;
                d.set_item("epochs", p.epochs)?;
                d.set_item("words_done", p.words_done)?;
                d.set_item("words_total", p.words_total)?;
                d.set_item("alpha", p.alpha)?;
                d.set_item("words_per_sec", p.words_per_sec)?;
                d.set_item("loss", p.loss)
            })
        });
    }
    let emb = py
        .detach(|| trainer.train(&corpus_files)?.to_embeddings())
        .map_err(py_err)?;
    Ok(Vectors::new(emb, None))
}

/// The state of a `wordvec.Word2Vec` (the Python class in `wordvec/word2vec.py` wraps it): the
/// settings, and once a vocabulary is built, the library's [`TrainState`] (vocabulary with
/// counts, input and output vectors), so that training goes on where it stopped, after a save
/// and load, a pickle, or an online vocabulary update.
///
/// Sentences reach Rust as an iterator of chunks (lists of token lists) that Python produces;
/// each chunk crosses a bounded channel to the library's counter or encoder on its own thread,
/// so Python's iteration and Rust's work overlap. The epochs run with the GIL released.
#[pyclass(module = "wordvec._wordvec")]
pub(crate) struct Word2VecModel {
    config: TrainConfig,
    state: Option<TrainState>,
    loss: f64,
}

/// Chunks of sentences in flight between Python and the reader thread.
const CHUNKS_IN_FLIGHT: usize = 4;

/// Runs `consume` on a thread over the sentences of `chunks` (an iterable of lists of token
/// lists), feeding it from this thread. An exception raised by the iteration, or a chunk that
/// is not lists of str, is the error (the reader sees the stream end early, and its result is
/// dropped).
fn stream_into<R: Send>(
    py: Python<'_>,
    chunks: &Bound<'_, PyAny>,
    consume: impl FnOnce(Sentences) -> wordvec::Result<R> + Send,
) -> PyResult<R> {
    let (tx, rx) = sentence_channel(CHUNKS_IN_FLIGHT);
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || consume(Sentences::Stream(rx)));
        let fed = (|| -> PyResult<()> {
            for chunk in chunks.try_iter()? {
                let chunk: Vec<Vec<String>> = chunk?.extract().map_err(|e| {
                    PyTypeError::new_err(format!("a sentence must be a list of str tokens: {e}"))
                })?;
                if py.detach(|| tx.send(chunk)).is_err() {
                    break; // the reader failed: its error is the one to raise
                }
            }
            Ok(())
        })();
        drop(tx);
        let read = py
            .detach(|| reader.join())
            .map_err(|_| PyRuntimeError::new_err("the reading thread panicked"))?;
        fed?;
        read.map_err(py_err)
    })
}

/// A corpus from Python: an iterable of chunks, or text files.
fn run_on<R: Send>(
    py: Python<'_>,
    chunks: Option<&Bound<'_, PyAny>>,
    files: Option<Vec<PathBuf>>,
    consume: impl FnOnce(Sentences) -> wordvec::Result<R> + Send,
) -> PyResult<R> {
    match (chunks, files) {
        (Some(c), None) => stream_into(py, c, consume),
        (None, Some(f)) if !f.is_empty() => py
            .detach(move || consume(Sentences::Files(f)))
            .map_err(py_err),
        _ => Err(PyValueError::new_err(
            "give exactly one of corpus_iterable (sentences) or corpus_file",
        )),
    }
}

#[pymethods]
impl Word2VecModel {
    /// The settings, with gensim's names (see `wordvec.Word2Vec`); `min_n` above 0 makes a
    /// subword model (`wordvec.FastText`: n-grams of `min_n..=max_n` code points hashed into
    /// `bucket` rows), 0 a word model.
    #[new]
    #[pyo3(signature = (sg, vector_size, window, negative, ns_exponent, cbow_mean, shrink_windows, sample, min_count, max_vocab_size, epochs, workers, alpha, min_alpha, seed, min_n=0, max_n=0, bucket=0))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        sg: bool,
        vector_size: usize,
        window: usize,
        negative: usize,
        ns_exponent: f64,
        cbow_mean: bool,
        shrink_windows: bool,
        sample: f64,
        min_count: u64,
        max_vocab_size: Option<usize>,
        epochs: usize,
        workers: usize,
        alpha: f32,
        min_alpha: f32,
        seed: u64,
        min_n: usize,
        max_n: usize,
        bucket: usize,
    ) -> PyResult<Self> {
        let words_only = TrainConfig::default();
        let (maxn, bucket) = match min_n {
            0 => (words_only.maxn, words_only.bucket),
            _ => (max_n, bucket),
        };
        let config = TrainConfig {
            model: if sg { Model::SkipGram } else { Model::Cbow },
            dims: vector_size,
            window,
            negative,
            ns_exponent,
            cbow_mean,
            shrink_windows,
            sample,
            min_count,
            max_vocab: max_vocab_size,
            epochs,
            threads: workers,
            alpha: Some(alpha),
            min_alpha: Some(min_alpha),
            seed,
            minn: min_n,
            maxn,
            bucket,
            ..words_only
        };
        config.validate().map_err(py_err)?;
        Ok(Word2VecModel {
            config,
            state: None,
            loss: 0.0,
        })
    }

    /// Counts the corpus and builds the vocabulary (`update`: extends the trained one, gensim's
    /// online update). `trim_rule(word, count, min_count)` returns 1 to drop a word, 2 to keep
    /// it, 0 for the `min_count` rule; `max_final_vocab` raises `min_count` as gensim's does.
    /// Returns the number of words added.
    #[pyo3(signature = (chunks=None, files=None, update=false, trim_rule=None, min_count=None, max_final_vocab=None))]
    #[allow(clippy::too_many_arguments)]
    fn build_vocab(
        &mut self,
        py: Python<'_>,
        chunks: Option<&Bound<'_, PyAny>>,
        files: Option<Vec<PathBuf>>,
        update: bool,
        trim_rule: Option<Py<PyAny>>,
        min_count: Option<u64>,
        max_final_vocab: Option<usize>,
    ) -> PyResult<usize> {
        if update && self.state.is_none() {
            return Err(PyRuntimeError::new_err(
                "You cannot do an online vocabulary-update of a model which has no prior vocabulary. First build the vocabulary of your model with a corpus before doing an online update.",
            ));
        }
        let counts = run_on(py, chunks, files, count_words)?;
        let min_count = effective_min_count(
            &counts,
            min_count.unwrap_or(self.config.min_count),
            max_final_vocab,
        );
        let mut failure = None;
        let keep = |w: &str, c: u64| match &trim_rule {
            None => c >= min_count,
            Some(rule) => match rule
                .call1(py, (w, c, min_count))
                .and_then(|r| r.extract::<i64>(py))
            {
                Ok(1) => false,
                Ok(2) => true,
                Ok(_) => c >= min_count,
                Err(e) => {
                    failure.get_or_insert(e);
                    false
                }
            },
        };
        let max_vocab = self.config.max_vocab;
        let added = match (&mut self.state, update) {
            (Some(state), true) => state
                .update_vocab(counts, keep, max_vocab)
                .map_err(py_err)?,
            _ => {
                let vocab =
                    TrainVocab::from_counts_with(counts, keep, max_vocab).map_err(py_err)?;
                let n = vocab.len();
                self.state = Some(TrainState::new(self.config.clone(), vocab).map_err(py_err)?);
                n
            }
        };
        match failure {
            Some(e) => Err(e),
            None => Ok(added),
        }
    }

    /// Trains `epochs` passes over the corpus (the learning rate decays from `alpha` to
    /// `min_alpha` over them, as each gensim `train` call); `on_epoch(epochs_done, vectors)`
    /// is called after each. Returns the words trained per second.
    #[pyo3(signature = (chunks=None, files=None, epochs=None, alpha=None, min_alpha=None, on_epoch=None))]
    #[allow(clippy::too_many_arguments)] // Python's keyword arguments
    fn train(
        &mut self,
        py: Python<'_>,
        chunks: Option<&Bound<'_, PyAny>>,
        files: Option<Vec<PathBuf>>,
        epochs: Option<usize>,
        alpha: Option<f32>,
        min_alpha: Option<f32>,
        on_epoch: Option<Py<PyAny>>,
    ) -> PyResult<f64> {
        let mut config = self.config.clone();
        config.epochs = epochs.unwrap_or(config.epochs);
        config.alpha = alpha.or(config.alpha);
        config.min_alpha = min_alpha.or(config.min_alpha);
        let mut trainer = Trainer::new(config).map_err(py_err)?;
        // A callback's exception is raised once the run is over: failing the run would lose the
        // model, whose matrices the run holds.
        let raised: Arc<Mutex<Option<PyErr>>> = Arc::default();
        if let Some(cb) = on_epoch {
            let raised = raised.clone();
            trainer = trainer.on_epoch(move |done, emb| {
                let vectors = Vectors::new(copy(emb)?, None);
                Python::attach(|py| {
                    if let Err(e) = cb.call1(py, (done, vectors)) {
                        let mut slot = raised.lock().unwrap_or_else(PoisonError::into_inner);
                        slot.get_or_insert(e);
                    }
                });
                Ok(())
            });
        }
        // The corpus is read (and a failing iterable fails) before the model is touched.
        let state = self.built()?;
        let encoded = run_on(py, chunks, files, |s| trainer.encode(&state.vocab, s))?;
        let mut state = self.state.take().expect("built above");
        state.epochs_done = 0;
        let trained = py.detach(|| trainer.train_encoded(state, &encoded));
        let trained = trained.map_err(py_err)?;
        self.loss = trained.loss;
        let speed = trained.words_per_sec();
        self.state = Some(trained.into_state());
        let raised = raised.lock().unwrap_or_else(PoisonError::into_inner).take();
        match raised {
            Some(e) => Err(e),
            None => Ok(speed),
        }
    }

    /// The word vectors (a copy, as gensim's `wv` after training).
    fn vectors(&self) -> PyResult<Vectors> {
        let state = self.built()?;
        Ok(Vectors::new(state.to_embeddings().map_err(py_err)?, None))
    }

    /// The vocabulary: words in row order and their counts.
    fn vocab(&self) -> PyResult<(Vec<String>, Vec<u64>)> {
        let state = self.built()?;
        Ok((state.vocab.words().to_vec(), state.vocab.counts().to_vec()))
    }

    /// The loss summed over the last `train` call.
    fn latest_loss(&self) -> f64 {
        self.loss
    }

    /// Writes the state (a training checkpoint) to `path`.
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        let state = self.built()?;
        py.detach(|| state.save(&path)).map_err(py_err)
    }

    /// Writes a subword model as fastText's `.bin` (gensim's `save_facebook_model`).
    fn save_facebook(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        let state = self.built()?;
        py.detach(|| state.save_fasttext(&path)).map_err(py_err)
    }

    /// The state as checkpoint bytes (for pickling by value).
    fn to_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let state = self.built()?;
        let bytes = py.detach(|| state.to_bytes()).map_err(py_err)?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// A model from a checkpoint file (`path`) or checkpoint bytes (`data`), with its settings.
    #[staticmethod]
    #[pyo3(signature = (path=None, data=None))]
    fn load(py: Python<'_>, path: Option<PathBuf>, data: Option<Vec<u8>>) -> PyResult<Self> {
        let state = py
            .detach(|| match (&path, &data) {
                (Some(p), None) => TrainState::load(p),
                (None, Some(d)) => {
                    TrainState::from_bytes(d, std::path::Path::new("<pickled Word2Vec>"))
                }
                _ => Err(wordvec::Error::InvalidArgument(
                    "give a path or the bytes of a checkpoint".into(),
                )),
            })
            .map_err(py_err)?;
        let mut config = state.config.clone();
        config.threads = config.threads.max(1);
        Ok(Word2VecModel {
            config,
            state: Some(state),
            loss: 0.0,
        })
    }

    /// A model from an unsupervised fastText `.bin` (fastText's, gensim's `save_facebook_model`'s
    /// or wordvec's), with its vocabulary, counts, both matrices and settings: gensim's
    /// `load_facebook_model`, training goes on from it.
    #[staticmethod]
    fn load_facebook(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let state = py
            .detach(|| TrainState::from_fasttext(&path))
            .map_err(py_err)?;
        Ok(Word2VecModel {
            config: state.config.clone(),
            state: Some(state),
            loss: 0.0,
        })
    }

    /// The settings as gensim's names: a dict for `Word2Vec.load`.
    fn settings<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let c = &self.config;
        let d = PyDict::new(py);
        d.set_item("sg", i32::from(c.model == Model::SkipGram))?;
        d.set_item("vector_size", c.dims)?;
        d.set_item("window", c.window)?;
        d.set_item("negative", c.negative)?;
        d.set_item("ns_exponent", c.ns_exponent)?;
        d.set_item("cbow_mean", i32::from(c.cbow_mean))?;
        d.set_item("shrink_windows", c.shrink_windows)?;
        d.set_item("sample", c.sample)?;
        d.set_item("min_count", c.min_count)?;
        d.set_item("max_vocab_size", c.max_vocab)?;
        d.set_item("epochs", c.epochs)?;
        d.set_item("workers", c.threads)?;
        // As written (0.025, not the f32's 0.02500000037252903).
        let decimal = |x: f32| x.to_string().parse::<f64>().unwrap_or(f64::from(x));
        d.set_item("alpha", decimal(c.start_alpha()))?;
        d.set_item("min_alpha", decimal(c.end_alpha()))?;
        d.set_item("seed", c.seed)?;
        let (min_n, max_n, bucket) = match c.subwords() {
            true => (c.minn, c.maxn, c.bucket),
            false => (0, 0, 0),
        };
        d.set_item("min_n", min_n)?;
        d.set_item("max_n", max_n)?;
        d.set_item("bucket", bucket)?;
        Ok(d)
    }
}

/// A copy of `emb` (the vectors of an epoch, for a callback that may keep them).
fn copy(emb: &Embeddings) -> wordvec::Result<Embeddings> {
    let words: Vec<&str> = (0..emb.len()).map(|i| emb.word(i)).collect();
    let values = (0..emb.len()).flat_map(|i| emb.raw_row(i)).collect();
    Embeddings::from_vectors(&words, values, emb.dims())
}

impl Word2VecModel {
    fn built(&self) -> PyResult<&TrainState> {
        self.state.as_ref().ok_or_else(|| {
            PyRuntimeError::new_err("the model has no vocabulary yet: call build_vocab() first")
        })
    }
}
