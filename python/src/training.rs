//! `train`: word2vec training from Python, with gensim's argument names mapped onto the
//! library's [`TrainConfig`].

use std::path::PathBuf;

use pyo3::prelude::*;
use wordvec::train::{Model, TrainConfig, Trainer};

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
