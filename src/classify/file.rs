//! The model file: everything to predict (vocabulary, labels, architecture, the kept weights)
//! and, after training, everything to resume (current weights, optimiser moments, epoch,
//! early-stopping state, history).
//!
//! Layout (little-endian):
//!
//! | bytes        | content                                                         |
//! |--------------|-----------------------------------------------------------------|
//! | 8            | magic `WVCLSF01`                                                |
//! | 8            | `u64` length `H` of the JSON header                             |
//! | `H`          | JSON header: architecture, labels, task, vocabulary, config, state, and the list of tensors (name, length) |
//! | 4 x total    | the tensors' `f32` values, in the header's order                |
//! | 8            | `u64` XXH3-64 of every byte before it                           |
//!
//! A JSON header keeps the file self-describing and easy to extend; the checksum turns any
//! corruption or truncation into an error that says so, before a single weight is used.

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::classifier::Classifier;
use super::config::{ClassifierConfig, EpochReport};
use super::data::Task;
use super::model::{Architecture, Params};
use super::optim::{OptimizerKind, OptimizerState};
use super::vocab::TextVocab;
use crate::error::{Error, Result};

/// The header: magic (the version is in it), then the JSON header's length.
const HEADER: crate::bytes::Header = crate::bytes::Header {
    name: "classifier model",
    magic: b"WVCLSF01",
    version: None,
    len: 16,
};

/// Training state kept in the model file so that training can resume.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainState {
    /// Epochs completed.
    pub epochs_done: usize,
    /// The epoch whose weights are kept (lowest validation loss; the last without validation).
    pub best_epoch: usize,
    /// Its validation loss.
    pub best_valid_loss: Option<f64>,
    /// Epochs since the validation loss last improved.
    pub bad_epochs: usize,
    /// Whether early stopping ended the run.
    pub stopped_early: bool,
    /// Per-epoch figures.
    pub history: Vec<EpochReport>,
    /// Fingerprint of the training data (see [`super::Dataset::fingerprint`]).
    pub data_fingerprint: u64,
    /// The class weights used in the loss.
    pub class_weights: Option<Vec<f32>>,
    /// Weights after the last epoch.
    pub current: Params,
    /// Optimiser moments and step.
    pub optimizer: OptimizerState,
}

/// A model file's contents.
#[derive(Debug, Clone)]
pub struct ModelFile {
    /// The classifier (with the kept weights).
    pub classifier: Classifier,
    /// The settings it was trained with.
    pub config: ClassifierConfig,
    /// The state to resume training (absent in files written without it).
    pub state: Option<TrainState>,
}

#[derive(Serialize, Deserialize)]
struct Header {
    architecture: Architecture,
    labels: Vec<String>,
    task: Task,
    vocab: Vec<String>,
    config: ClassifierConfig,
    state: Option<StateHeader>,
    tensors: Vec<TensorEntry>,
}

#[derive(Serialize, Deserialize)]
struct StateHeader {
    epochs_done: usize,
    best_epoch: usize,
    best_valid_loss: Option<f64>,
    bad_epochs: usize,
    stopped_early: bool,
    history: Vec<EpochReport>,
    data_fingerprint: u64,
    class_weights: Option<Vec<f32>>,
    optimizer_step: u64,
    #[serde(default)]
    current_is_best: bool,
}

#[derive(Serialize, Deserialize)]
struct TensorEntry {
    name: String,
    len: usize,
}

/// A model file's contents, borrowed: what training hands to its per-epoch callback, so that a
/// checkpoint can be written without copying the weights.
#[derive(Debug, Clone, Copy)]
pub struct ModelView<'a> {
    /// The classifier (with the kept weights).
    pub classifier: &'a Classifier,
    /// The settings it was trained with.
    pub config: &'a ClassifierConfig,
    /// The state to resume training.
    pub state: Option<&'a TrainState>,
}

impl ModelView<'_> {
    /// Writes the file atomically (temporary file, then rename).
    pub fn save(&self, path: &Path) -> Result<()> {
        let c = self.classifier;
        let mut tensors: Vec<(String, &[f32])> = c
            .params
            .tensors()
            .into_iter()
            .map(|(n, t)| (format!("best/{n}"), t))
            .collect();
        // After an epoch that improved, the current weights are the kept ones: stored once.
        let current_is_best = self.state.is_some_and(|s| s.current == c.params);
        if let Some(s) = self.state {
            if !current_is_best {
                tensors.extend(
                    s.current
                        .tensors()
                        .into_iter()
                        .map(|(n, t)| (format!("current/{n}"), t)),
                );
            }
            tensors.extend(
                s.optimizer
                    .tensors()
                    .into_iter()
                    .map(|(n, t)| (format!("optimizer/{n}"), t)),
            );
        }
        let header = Header {
            architecture: c.arch.clone(),
            labels: c.labels.clone(),
            task: c.task,
            vocab: c.vocab.words().to_vec(),
            config: self.config.clone(),
            state: self.state.map(|s| StateHeader {
                epochs_done: s.epochs_done,
                best_epoch: s.best_epoch,
                best_valid_loss: s.best_valid_loss,
                bad_epochs: s.bad_epochs,
                stopped_early: s.stopped_early,
                history: s.history.clone(),
                data_fingerprint: s.data_fingerprint,
                class_weights: s.class_weights.clone(),
                optimizer_step: s.optimizer.step,
                current_is_best,
            }),
            tensors: tensors
                .iter()
                .map(|(name, t)| TensorEntry {
                    name: name.clone(),
                    len: t.len(),
                })
                .collect(),
        };
        let json = serde_json::to_vec(&header)
            .map_err(|e| Error::internal(format!("cannot encode the model header: {e}")))?;
        crate::io::write_atomically(path, |w| {
            let mut hash = xxhash_rust::xxh3::Xxh3::new();
            let mut put = |w: &mut std::io::BufWriter<&mut std::fs::File>, b: &[u8]| {
                hash.update(b);
                w.write_all(b)
            };
            let mut head = HEADER.writer();
            head.u64(json.len() as u64);
            put(w, &head.finish())?;
            put(w, &json)?;
            for (_, t) in &tensors {
                put(w, bytemuck::cast_slice(t))?;
            }
            w.write_all(&hash.digest().to_le_bytes())
        })
    }
}

impl ModelFile {
    /// A borrowed view of the contents.
    pub fn view(&self) -> ModelView<'_> {
        ModelView {
            classifier: &self.classifier,
            config: &self.config,
            state: self.state.as_ref(),
        }
    }

    /// Writes the file atomically (temporary file, then rename).
    pub fn save(&self, path: &Path) -> Result<()> {
        self.view().save(path)
    }

    /// Reads and checks a model file.
    pub fn load(path: &Path) -> Result<ModelFile> {
        let bytes = std::fs::read(path).map_err(|e| Error::io("cannot read", path, e))?;
        let bad =
            |offset: usize, message: String| Error::format(path, None, offset as u64, message);
        let mut c = HEADER.open(&bytes, path)?;
        if bytes.len() < HEADER.len + 8 {
            return Err(bad(
                HEADER.len,
                "the file ends before its checksum: truncated".into(),
            ));
        }
        let body = bytes.len() - 8;
        let stored = u64::from_le_bytes(bytes[body..].try_into().expect("8 bytes"));
        if xxhash_rust::xxh3::xxh3_64(&bytes[..body]) != stored {
            return Err(bad(
                body,
                format!(
                    "checksum mismatch: the file ({} bytes) is truncated or corrupt",
                    bytes.len()
                ),
            ));
        }
        let hlen = c.u64("the header length")? as usize;
        if hlen > body - 16 {
            return Err(bad(8, format!("header length {hlen} exceeds the file")));
        }
        let header: Header = serde_json::from_slice(&bytes[16..16 + hlen])
            .map_err(|e| bad(16, format!("bad header: {e}")))?;
        // Lengths come from the file: add them without overflow.
        let total = header
            .tensors
            .iter()
            .try_fold(0usize, |a, t| a.checked_add(t.len))
            .and_then(|t| t.checked_mul(4))
            .unwrap_or(usize::MAX);
        let data = &bytes[16 + hlen..body];
        if data.len() != total {
            return Err(bad(
                16 + hlen,
                format!(
                    "{} bytes of weights where the header lists {total}",
                    data.len()
                ),
            ));
        }
        let mut tensors = std::collections::HashMap::new();
        let mut at = 0;
        for t in &header.tensors {
            let values: Vec<f32> = data[at..at + 4 * t.len]
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
                .collect();
            if let Some(i) = values.iter().position(|v| !v.is_finite()) {
                return Err(bad(
                    16 + hlen + at + 4 * i,
                    format!("tensor {} holds a non-finite value at index {i}", t.name),
                ));
            }
            tensors.insert(t.name.clone(), values);
            at += 4 * t.len;
        }
        let arch = header.architecture;
        arch.validate().map_err(|e| bad(16, e.to_string()))?;
        let needed = arch.param_count().map_err(|e| bad(16, e.to_string()))?;
        if arch.labels != header.labels.len() || arch.vocab_size != header.vocab.len() {
            return Err(bad(
                16,
                "the header's sizes disagree (labels or vocabulary)".into(),
            ));
        }
        // The architecture's sizes come from the file too: they must fit in its weights before
        // anything of that shape is allocated.
        if needed > data.len() / 4 {
            return Err(bad(
                16,
                format!(
                    "the architecture needs {needed} weights, the file holds {}",
                    data.len() / 4
                ),
            ));
        }
        let mut take_params = |prefix: &str| -> Result<Params> {
            let mut p = Params::zeros(&arch);
            for (i, t) in p.tensors_mut().into_iter().enumerate() {
                let name = format!("{prefix}/{}", tensor_name(i));
                let v = tensors
                    .remove(&name)
                    .ok_or_else(|| bad(16, format!("tensor {name} is missing")))?;
                if v.len() != t.len() {
                    return Err(bad(
                        16,
                        format!(
                            "tensor {name} has {} values, the architecture needs {}",
                            v.len(),
                            t.len()
                        ),
                    ));
                }
                *t = v;
            }
            Ok(p)
        };
        let params = take_params("best")?;
        let state = match header.state {
            None => None,
            Some(s) => {
                let current = if s.current_is_best {
                    params.clone()
                } else {
                    take_params("current")?
                };
                let n = current.tensors().len();
                let mut moments = |kind: &str| -> Result<Vec<Vec<f32>>> {
                    (0..n)
                        .map(|i| {
                            let name = format!("optimizer/{kind}{i}");
                            tensors
                                .remove(&name)
                                .ok_or_else(|| bad(16, format!("tensor {name} is missing")))
                        })
                        .collect()
                };
                let opt = &header.config.optimizer;
                let first = if opt.kind == OptimizerKind::Adam || opt.momentum > 0.0 {
                    moments("first")?
                } else {
                    Vec::new()
                };
                let second = if opt.kind == OptimizerKind::Adam {
                    moments("second")?
                } else {
                    Vec::new()
                };
                for (m, p) in first
                    .iter()
                    .chain(&second)
                    .zip(current.tensors().iter().cycle())
                {
                    if m.len() != p.1.len() {
                        return Err(bad(16, "optimizer state has the wrong size".into()));
                    }
                }
                Some(TrainState {
                    epochs_done: s.epochs_done,
                    best_epoch: s.best_epoch,
                    best_valid_loss: s.best_valid_loss,
                    bad_epochs: s.bad_epochs,
                    stopped_early: s.stopped_early,
                    history: s.history,
                    data_fingerprint: s.data_fingerprint,
                    class_weights: s.class_weights,
                    current,
                    optimizer: OptimizerState {
                        step: s.optimizer_step,
                        first,
                        second,
                    },
                })
            }
        };
        let vocab = TextVocab::from_words(header.vocab, header.config.word_ngrams)
            .map_err(|e| bad(16, e.to_string()))?;
        Ok(ModelFile {
            classifier: Classifier {
                arch,
                labels: header.labels,
                task: header.task,
                vocab,
                params,
            },
            config: header.config,
            state,
        })
    }
}

/// Name of the `i`-th tensor of [`Params::tensors`].
fn tensor_name(i: usize) -> String {
    if i == 0 {
        "embedding".into()
    } else {
        let (layer, which) = ((i - 1) / 2, (i - 1) % 2);
        format!("layer{layer}.{}", ["weight", "bias"][which])
    }
}

impl Classifier {
    /// Loads the classifier of a model file (the training state is read, checked and dropped).
    pub fn load(path: &Path) -> Result<Classifier> {
        Ok(ModelFile::load(path)?.classifier)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::{train, ClassifierConfig, Dataset};

    fn trained(epochs: usize) -> ModelFile {
        let rows: Vec<(String, &str)> = (0..60)
            .map(|i| {
                (
                    format!("w{} x{}", i % 5, i % 3),
                    if i % 2 == 0 { "a" } else { "b" },
                )
            })
            .collect();
        let c = ClassifierConfig {
            min_count: 1,
            epochs,
            dim: 4,
            hidden: vec![3],
            ..Default::default()
        };
        train(&Dataset::from_pairs(&rows), &c, None, None, None, |_, _| {
            Ok(())
        })
        .unwrap()
        .model
    }

    #[test]
    fn round_trip_keeps_everything() {
        let dir = tempfile::tempdir().unwrap();
        let m = trained(3);
        let p = dir.path().join("m.wvcls");
        m.save(&p).unwrap();
        let back = ModelFile::load(&p).unwrap();
        assert_eq!(back.classifier.params, m.classifier.params);
        assert_eq!(back.classifier.vocab.words(), m.classifier.vocab.words());
        assert_eq!(back.classifier.labels, m.classifier.labels);
        assert_eq!(back.classifier.arch, m.classifier.arch);
        assert_eq!(back.config, m.config);
        assert_eq!(back.state, m.state);
        // Saving what was loaded gives the same bytes.
        let p2 = dir.path().join("m2.wvcls");
        back.save(&p2).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), std::fs::read(&p2).unwrap());
    }

    #[test]
    fn current_weights_are_stored_once_when_they_are_the_kept_ones() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = trained(2);
        let (same, differ) = (dir.path().join("same"), dir.path().join("differ"));
        m.state.as_mut().unwrap().current = m.classifier.params.clone();
        m.save(&same).unwrap();
        m.state.as_mut().unwrap().current.embedding[5] += 1.0;
        m.save(&differ).unwrap();
        let params = m
            .classifier
            .params
            .tensors()
            .iter()
            .map(|t| t.1.len())
            .sum::<usize>();
        let (a, b) = (
            std::fs::metadata(&same).unwrap().len(),
            std::fs::metadata(&differ).unwrap().len(),
        );
        assert!(b - a >= 4 * params as u64 - 64, "{a} {b}");
        assert_eq!(
            ModelFile::load(&differ).unwrap().state.unwrap().current,
            m.state.unwrap().current
        );
    }

    #[test]
    fn tampered_sizes_are_errors_not_panics() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.wvcls");
        trained(1).save(&p).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        // A header claiming more bytes than the file has.
        let mut b = bytes.clone();
        b[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
        let n = b.len() - 8;
        let sum = xxhash_rust::xxh3::xxh3_64(&b[..n]);
        b[n..].copy_from_slice(&sum.to_le_bytes());
        std::fs::write(&p, &b).unwrap();
        let e = ModelFile::load(&p).unwrap_err().to_string();
        assert!(e.contains("header length"), "{e}");
        // Too short to be a model.
        std::fs::write(&p, &bytes[..10]).unwrap();
        let e = ModelFile::load(&p).unwrap_err().to_string();
        assert!(e.contains("not a wordvec classifier model"), "{e}");
    }
}
