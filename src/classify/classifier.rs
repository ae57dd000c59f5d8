//! A trained classifier: vocabulary, labels, architecture and weights; batch prediction and
//! evaluation. Immutable once built, so one instance serves any number of threads.

use rayon::prelude::*;
use serde::Serialize;

use super::data::{Dataset, Task};
use super::loss::loss;
use super::metrics::{argmax, evaluate, Evaluation};
use super::model::{forward, Architecture, Forward, Params};
use super::vocab::{Encoded, Scratch, TextVocab};
use crate::error::{Error, Result};

/// A classifier ready to predict.
#[derive(Debug, Clone)]
pub struct Classifier {
    /// The model's shape.
    pub arch: Architecture,
    /// Label names, in output order (sorted).
    pub labels: Vec<String>,
    /// Binary, multi-class or multi-label.
    pub task: Task,
    /// The vocabulary.
    pub vocab: TextVocab,
    /// The weights.
    pub params: Params,
}

/// One text's prediction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    /// Predicted label indices: the most probable label, or for multi-label models every label
    /// over 0.5 (possibly none).
    pub labels: Vec<usize>,
    /// Every label's probability, in label order.
    pub probabilities: Vec<f32>,
}

/// Texts per forward pass when predicting (and per rayon task).
const PREDICT_CHUNK: usize = 256;

impl Classifier {
    /// Number of labels.
    pub fn num_labels(&self) -> usize {
        self.labels.len()
    }

    /// Whether a text can have several labels.
    pub fn multi_label(&self) -> bool {
        self.task == Task::MultiLabel
    }

    fn logits_into(&self, texts: &[&[u32]], fw: &mut Forward) {
        forward::<rand_chacha::ChaCha8Rng>(&self.arch, &self.params, texts, None, fw);
    }

    /// Label probabilities of `texts` (`texts x labels`, row-major). Texts are tokenised as in
    /// training; words the model does not know count as `<unk>`, and a text with no word at
    /// all (only punctuation, say) is `<unk>` alone. An empty (or all-space) text is an error.
    pub fn probabilities<S: AsRef<str> + Sync>(&self, texts: &[S]) -> Result<Vec<f32>> {
        if let Some(i) = texts.iter().position(|t| t.as_ref().trim().is_empty()) {
            return Err(Error::invalid(format!("text {i} is empty")));
        }
        let c = self.num_labels();
        let mut out = vec![0.0; texts.len() * c];
        // Each chunk encodes its texts into one id buffer and runs one forward pass: the only
        // allocations are per chunk, none per token.
        let run = |(texts, out): (&[S], &mut [f32])| {
            let mut ids = Vec::with_capacity(texts.len() * 16);
            let mut ends = Vec::with_capacity(texts.len());
            let mut scratch = Scratch::default();
            for t in texts {
                self.vocab.encode(t.as_ref(), &mut scratch, &mut ids);
                ends.push(ids.len());
            }
            let mut start = 0;
            let slices: Vec<&[u32]> = ends
                .iter()
                .map(|&e| {
                    let s = &ids[start..e];
                    start = e;
                    s
                })
                .collect();
            let mut fw = Forward::default();
            self.logits_into(&slices, &mut fw);
            let k = self.arch.outputs();
            for (logits, probs) in fw.logits.chunks(k).zip(out.chunks_mut(c)) {
                self.arch.probabilities(logits, probs);
            }
        };
        if texts.len() > PREDICT_CHUNK {
            texts
                .par_chunks(PREDICT_CHUNK)
                .zip(out.par_chunks_mut(PREDICT_CHUNK * c))
                .for_each(run);
        } else {
            run((texts, &mut out));
        }
        Ok(out)
    }

    /// Predictions for `texts` (see [`Classifier::probabilities`]).
    pub fn predict<S: AsRef<str> + Sync>(&self, texts: &[S]) -> Result<Vec<Prediction>> {
        let probs = self.probabilities(texts)?;
        Ok(probs
            .chunks(self.num_labels())
            .map(|p| self.prediction(p))
            .collect())
    }

    /// The prediction for one row of probabilities.
    pub fn prediction(&self, probs: &[f32]) -> Prediction {
        let labels = if self.multi_label() {
            (0..probs.len()).filter(|&i| probs[i] > 0.5).collect()
        } else {
            vec![argmax(probs)]
        };
        Prediction {
            labels,
            probabilities: probs.to_vec(),
        }
    }

    /// Scores the model on `rows` of an encoded data set (`targets` by row), with the training
    /// loss (`weights`: class weights, as in training).
    pub fn evaluate_encoded(
        &self,
        encoded: &Encoded,
        targets: &[Vec<u32>],
        rows: &[usize],
        weights: Option<&[f32]>,
    ) -> Evaluation {
        evaluate_params(
            &self.arch,
            &self.params,
            &self.labels,
            self.multi_label(),
            (encoded, targets, rows),
            weights,
        )
    }

    /// Scores the model on a whole labelled file (its labels must be among the model's).
    pub fn evaluate(&self, data: &Dataset) -> Result<Evaluation> {
        if data.multi_label != self.multi_label() {
            return Err(Error::invalid(if self.multi_label() {
                "the model is multi-label: give the label separator (--multi-label)"
            } else {
                "the model is single-label, but the data was read as multi-label"
            }));
        }
        let targets = data.targets(&self.labels)?;
        if let Some(i) = targets.iter().position(|t| t.is_empty()) {
            if !self.multi_label() {
                return Err(Error::invalid(format!("row {i} has no label")));
            }
        }
        let texts: Vec<&str> = data.texts.iter().map(String::as_str).collect();
        let encoded = Encoded::new(&self.vocab, &texts);
        let rows: Vec<usize> = (0..data.len()).collect();
        Ok(self.evaluate_encoded(&encoded, &targets, &rows, None))
    }
}

/// Scores `params` on `rows` of an encoded data set: the logits chunk by chunk in parallel,
/// then the loss over all of them and the metrics.
pub(crate) fn evaluate_params(
    arch: &Architecture,
    params: &Params,
    labels: &[String],
    multi_label: bool,
    (encoded, targets, rows): (&Encoded, &[Vec<u32>], &[usize]),
    weights: Option<&[f32]>,
) -> Evaluation {
    let texts: Vec<&[u32]> = rows.iter().map(|&r| encoded.text(r)).collect();
    let t: Vec<&[u32]> = rows.iter().map(|&r| &targets[r][..]).collect();
    let k = arch.outputs();
    let mut logits = vec![0.0; texts.len() * k];
    texts
        .par_chunks(PREDICT_CHUNK)
        .zip(logits.par_chunks_mut(PREDICT_CHUNK * k))
        .for_each(|(texts, out)| {
            let mut fw = Forward::default();
            forward::<rand_chacha::ChaCha8Rng>(arch, params, texts, None, &mut fw);
            out.copy_from_slice(&fw.logits);
        });
    let l = if rows.is_empty() {
        0.0
    } else {
        loss(arch, &logits, &t, weights, None)
    };
    let c = labels.len();
    let mut probs = vec![0.0; texts.len() * c];
    for (z, p) in logits.chunks(k).zip(probs.chunks_mut(c)) {
        arch.probabilities(z, p);
    }
    let owned: Vec<Vec<u32>> = t.iter().map(|t| t.to_vec()).collect();
    evaluate(labels, multi_label, &probs, &owned, l)
}
