//! [`Classifier`]: the library's text classifier, trained on data files or loaded from a model
//! file. The decisions a training run makes (the embedding dimension beside pretrained vectors,
//! how validation and test files split the data) are the library's, as the command line's.

use std::path::PathBuf;
use std::sync::Arc;

use pyo3::prelude::*;
use wordvec::classify::{self, ClassifierConfig, DataOptions, Dataset, OptimizerConfig};

use crate::errors::py_err;
use crate::progress::call_with_dict;
use crate::vectors::Vectors;

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

    /// Trains on a CSV/TSV file with `text` and `label` columns (names configurable); with
    /// `valid_data` or `test_data` files the data is split as they say, else by 80/10/10.
    /// `dim` defaults to the pretrained vectors' dimension (100 without them).
    #[staticmethod]
    #[pyo3(signature = (data, vectors=None, hidden=vec![64], epochs=10, lr=0.001, batch_size=32, dim=None, min_count=1, seed=42, freeze=false, text_column="text", label_column="label", multi_label=None, progress=None, valid_data=None, test_data=None))]
    #[allow(clippy::too_many_arguments)]
    fn train(
        py: Python<'_>,
        data: PathBuf,
        vectors: Option<&Vectors>,
        hidden: Vec<usize>,
        epochs: usize,
        lr: f32,
        batch_size: usize,
        dim: Option<usize>,
        min_count: usize,
        seed: u64,
        freeze: bool,
        text_column: &str,
        label_column: &str,
        multi_label: Option<&str>,
        progress: Option<Py<PyAny>>,
        valid_data: Option<PathBuf>,
        test_data: Option<PathBuf>,
    ) -> PyResult<Classifier> {
        let opts = DataOptions {
            text_column: text_column.to_owned(),
            label_column: label_column.to_owned(),
            multi_label: multi_label.map(str::to_owned),
            ..DataOptions::default()
        };
        let defaults = ClassifierConfig::default();
        let config = ClassifierConfig {
            hidden,
            epochs,
            optimizer: OptimizerConfig {
                lr,
                ..defaults.optimizer
            },
            batch_size,
            min_count,
            seed,
            freeze,
            ..defaults
        };
        let run = |emb: Option<&wordvec::Embeddings>| -> wordvec::Result<classify::ModelFile> {
            let (ds, presplit) =
                Dataset::read_split(&data, valid_data.as_deref(), test_data.as_deref(), &opts)?;
            let config = ClassifierConfig {
                dim: ClassifierConfig::embedding_dim(dim, emb, "dim")?,
                presplit,
                ..config
            };
            let on_epoch = |r: &classify::EpochReport, _: classify::file::ModelView<'_>| {
                if let Some(cb) = &progress {
                    report_epoch(cb, r);
                }
                Ok(())
            };
            Ok(classify::train(&ds, &config, emb, None, None, on_epoch)?.model)
        };
        let model = match vectors {
            Some(v) => v.emb(py, |e| run(Some(e))),
            None => py.detach(|| run(None)),
        }
        .map_err(py_err)?;
        Ok(Classifier {
            file: Arc::new(model),
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

/// One epoch's figures to `progress(report)`.
fn report_epoch(callback: &Py<PyAny>, r: &classify::EpochReport) {
    call_with_dict(callback, |d| {
        d.set_item("epoch", r.epoch)?;
        d.set_item("train_loss", r.train_loss)?;
        d.set_item("valid_loss", r.valid_loss)?;
        d.set_item("valid_accuracy", r.valid_accuracy)
    });
}
