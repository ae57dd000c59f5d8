//! Similarity queries: a Python call's arguments as the library's [`Query`], answered by the
//! library's searcher, or a live model's view after a write (which chooses between the exact scan and the index, exactly as the
//! command line and the daemon do).

use pyo3::exceptions::{PyKeyError, PyValueError};
use pyo3::PyResult;
use wordvec::search::{Filter, Mode, Query};
use wordvec::Embeddings;

use crate::errors::{as_terms, py_err, PyTerm};
use crate::state::Current;

/// One `most_similar` call, converted from Python and ready to run without the GIL.
pub(crate) struct Request {
    pub positive: Vec<PyTerm>,
    pub negative: Vec<PyTerm>,
    pub topn: usize,
    pub restrict_vocab: Option<usize>,
    pub cosmul: bool,
    pub mode: Mode,
    pub ef: Option<usize>,
    /// Only these words may be answered (words outside the vocabulary are ignored).
    pub allow: Option<Vec<String>>,
    /// Never these words.
    pub deny: Option<Vec<String>>,
}

impl Request {
    /// The `(word, score)` pairs `c` answers.
    pub(crate) fn answer(&self, c: &Current<'_>) -> wordvec::Result<Vec<(String, f32)>> {
        let filter = if self.allow.is_some() || self.deny.is_some() {
            Filter::from_words(
                c.embeddings(),
                self.allow.as_deref(),
                self.deny.as_deref().unwrap_or(&[]),
            )?
        } else {
            Filter::default()
        };
        let (pos, neg) = (as_terms(&self.positive), as_terms(&self.negative));
        let q = Query::new(&pos, &neg, self.topn)
            .filter(filter)
            .cosmul(self.cosmul)
            .restrict_vocab(self.restrict_vocab)
            .mode(self.mode)
            .ef(self.ef);
        let found = c.search(&q)?;
        Ok(found.into_iter().map(|n| (n.word, n.score)).collect())
    }
}

/// gensim's `get_mean_vector` over words (see [`crate::vectors::Vectors::mean_vector`]): the
/// weighted sum in float32, word by word as gensim adds them, over the sum of the weights'
/// magnitudes; all zeros when no word counted.
pub(crate) fn mean_vector(
    e: &Embeddings,
    words: &[String],
    weights: &[f32],
    pre_normalize: bool,
    ignore_missing: bool,
) -> PyResult<Vec<f32>> {
    if words.len() != weights.len() {
        return Err(PyValueError::new_err(
            "keys and weights array must have same number of elements",
        ));
    }
    let mut mean = vec![0f32; e.dims()];
    let mut total = 0f32;
    for (word, &w) in words.iter().zip(weights) {
        let v = if pre_normalize {
            e.unit_vector(word)
        } else {
            e.vector(word)
        };
        match v {
            Ok(v) => {
                mean.iter_mut().zip(&v).for_each(|(m, x)| *m += w * x);
                total += w.abs();
            }
            Err(wordvec::Error::UnknownWords(_)) if ignore_missing => {}
            Err(wordvec::Error::UnknownWords(_)) => {
                return Err(PyKeyError::new_err(format!(
                    "Key '{word}' not present in vocabulary"
                )))
            }
            Err(other) => return Err(py_err(other)),
        }
    }
    if total > 0.0 {
        mean.iter_mut().for_each(|m| *m /= total);
    }
    Ok(mean)
}
