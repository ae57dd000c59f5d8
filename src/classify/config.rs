//! What a classifier training run is asked to do ([`ClassifierConfig`], with its loss and
//! class-weight choices) and what each epoch reports ([`EpochReport`]). Both are saved in the
//! model file, so they live apart from the training loop that reads the file to resume.

use serde::{Deserialize, Serialize};

use super::activation::Activation;
use super::optim::{OptimizerConfig, OptimizerKind};
use crate::embeddings::Embeddings;
use crate::error::{Error, Result};

/// Which loss (and output layer) to train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum LossChoice {
    /// BCE with one sigmoid output for two labels, cross-entropy for more, per-label BCE for
    /// multi-label data.
    #[default]
    Auto,
    /// Binary cross-entropy on sigmoid outputs (one output for two labels, else one per label).
    Bce,
    /// Cross-entropy on a softmax over one output per label (single-label data only).
    Ce,
}

/// Class weights in the loss.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ClassWeights {
    /// All 1.
    #[default]
    None,
    /// `n / (labels * n_c)` (scikit-learn's "balanced"); multi-label: `(n - n_c) / n_c` as the
    /// positive weight.
    Inverse,
    /// The square root of `Inverse`.
    SqrtInverse,
    /// Given weights, one per label in label order.
    Explicit(Vec<f32>),
}

/// Everything that shapes a training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassifierConfig {
    /// Embedding dimension (the pretrained vectors' when they are given).
    pub dim: usize,
    /// Hidden layer widths.
    pub hidden: Vec<usize>,
    /// Hidden activation.
    pub activation: Activation,
    /// Dropout after each hidden activation.
    pub dropout: f32,
    /// Loss.
    pub loss: LossChoice,
    /// Class weights.
    pub class_weights: ClassWeights,
    /// Sample batches so that classes are balanced (see `classify::sampler`).
    pub balance_batches: bool,
    /// Optimiser.
    pub optimizer: OptimizerConfig,
    /// Texts per batch.
    pub batch_size: usize,
    /// Epochs (the total, counting those of a resumed run).
    pub epochs: usize,
    /// Minimum count of a word (or n-gram) in the training texts to get its own row.
    pub min_count: usize,
    /// Longest run of words that gets its own row (1: words only; 2 adds bigrams, ...).
    #[serde(default = "one")]
    pub word_ngrams: usize,
    /// Train, validation and test fractions.
    pub split: [f64; 3],
    /// The rows are already split, in train, validation, test order: the first `.0` rows
    /// train, the next `.1` validate, the rest test. Overrides `split`.
    #[serde(default)]
    pub presplit: Option<(usize, usize)>,
    /// Seed of every random choice.
    pub seed: u64,
    /// Stop after this many epochs without a lower validation loss.
    pub patience: Option<usize>,
    /// Keep the (pretrained) embedding fixed.
    pub freeze: bool,
    /// Standard deviation of the random initial embedding rows (PyTorch uses 1; a small value
    /// keeps rare words from adding noise to a text's mean before they are learned).
    #[serde(default = "default_init_std")]
    pub init_std: f32,
}

impl ClassifierConfig {
    /// Whether resuming a model saved with `saved` under this configuration keeps the saved
    /// settings unchanged, as [`super::train()`] does: only the number of epochs, the patience and the
    /// pre-split sizes may differ. When this is false, training still resumes, with the saved
    /// settings; a front end says so.
    pub fn resumes_as(&self, saved: &ClassifierConfig) -> bool {
        let asked = ClassifierConfig {
            epochs: saved.epochs,
            patience: saved.patience,
            presplit: saved.presplit,
            ..self.clone()
        };
        asked == *saved
    }

    /// Checks every floating-point setting before anything is built: NaN or an infinity would
    /// otherwise train silently (a NaN momentum compares as 0) or be reported later as a diverged
    /// loss. The one check for the CLI, the Python binding and the library; each error names the
    /// setting by its CLI flag.
    pub fn validate(&self) -> Result<()> {
        let opt = &self.optimizer;
        check(
            "--lr",
            "the learning rate",
            opt.lr,
            "positive and finite",
            |v| v > 0.0,
        )?;
        check(
            "--momentum",
            "the momentum",
            opt.momentum,
            "in [0, 1)",
            |v| (0.0..1.0).contains(&v),
        )?;
        check("--dropout", "the dropout", self.dropout, "in [0, 1)", |v| {
            (0.0..1.0).contains(&v)
        })?;
        check(
            "--init-std",
            "the initial embedding std",
            self.init_std,
            ">= 0",
            |v| v >= 0.0,
        )?;
        if let ClassWeights::Explicit(w) = &self.class_weights {
            for &w in w {
                check("--class-weights", "a class weight", w, ">= 0", |v| v >= 0.0)?;
            }
        }
        for f in self.split {
            check("--split", "a split fraction", f as f32, "in [0, 1]", |v| {
                (0.0..=1.0).contains(&v)
            })?;
        }
        Ok(())
    }

    /// The embedding dimension of a run: the one asked for, else the pretrained vectors',
    /// else the default (100). Asking for a dimension the pretrained vectors do not have is an
    /// error, whose message names the setting as the caller spells it (`setting`: `--dim`,
    /// `dim`), so that every front end makes the same decision with its own words.
    pub fn embedding_dim(
        asked: Option<usize>,
        pretrained: Option<&Embeddings>,
        setting: &str,
    ) -> Result<usize> {
        match (pretrained, asked) {
            (Some(e), Some(d)) if d != e.dims() => Err(Error::invalid(format!(
                "{setting} {d} differs from the {} dimensions of the pretrained vectors",
                e.dims()
            ))),
            (Some(e), _) => Ok(e.dims()),
            (None, d) => Ok(d.unwrap_or(ClassifierConfig::default().dim)),
        }
    }
}

/// `value` when it is finite and `ok`, else an error naming `flag`.
fn check(flag: &str, what: &str, value: f32, must_be: &str, ok: fn(f32) -> bool) -> Result<()> {
    if value.is_finite() && ok(value) {
        return Ok(());
    }
    Err(Error::invalid(format!(
        "{flag} {value}: {what} must be {must_be}"
    )))
}

fn default_init_std() -> f32 {
    0.1
}

impl Default for ClassifierConfig {
    /// The lecture's model: dim 100, one hidden layer of 10 ReLUs, dropout 0.5, Adam 1e-3,
    /// batches of 256, 15 epochs, min count 10, split 80/10/10 with seed 42; embedding rows
    /// start from N(0, 0.1).
    fn default() -> Self {
        ClassifierConfig {
            dim: 100,
            hidden: vec![10],
            activation: Activation::Relu,
            dropout: 0.5,
            loss: LossChoice::Auto,
            class_weights: ClassWeights::None,
            balance_batches: false,
            optimizer: OptimizerConfig {
                kind: OptimizerKind::Adam,
                lr: 1e-3,
                momentum: 0.0,
            },
            batch_size: 256,
            epochs: 15,
            min_count: 10,
            word_ngrams: 1,
            split: [0.8, 0.1, 0.1],
            presplit: None,
            seed: 42,
            patience: None,
            freeze: false,
            init_std: default_init_std(),
        }
    }
}

/// Figures of one epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochReport {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss over the epoch's batches (dropout on).
    pub train_loss: f64,
    /// Validation loss (None without a validation split).
    pub valid_loss: Option<f64>,
    /// Validation accuracy.
    pub valid_accuracy: Option<f64>,
    /// Validation macro-F1.
    pub valid_macro_f1: Option<f64>,
    /// Wall time of the epoch, validation included.
    pub seconds: f64,
}

impl std::fmt::Display for EpochReport {
    /// One line: `epoch   3  train loss 0.4321  valid loss 0.4567  accuracy 81.25%  macro-F1
    /// 0.8011  (0.42 s)`, without the validation figures when there is no validation split.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "epoch {:>3}  train loss {:.4}",
            self.epoch, self.train_loss
        )?;
        if let (Some(l), Some(acc), Some(f1)) =
            (self.valid_loss, self.valid_accuracy, self.valid_macro_f1)
        {
            write!(
                f,
                "  valid loss {l:.4}  accuracy {:.2}%  macro-F1 {f1:.4}",
                100.0 * acc
            )?;
        }
        write!(f, "  ({:.2} s)", self.seconds)
    }
}

fn one() -> usize {
    1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn an_epoch_line_shows_validation_figures_only_when_there_are_some() {
        let mut r = EpochReport {
            epoch: 3,
            train_loss: 0.43214,
            valid_loss: None,
            valid_accuracy: None,
            valid_macro_f1: None,
            seconds: 0.4161,
        };
        assert_eq!(r.to_string(), "epoch   3  train loss 0.4321  (0.42 s)");
        r.valid_loss = Some(0.45671);
        r.valid_accuracy = Some(0.8125);
        r.valid_macro_f1 = Some(0.80114);
        assert_eq!(
            r.to_string(),
            "epoch   3  train loss 0.4321  valid loss 0.4567  accuracy 81.25%  macro-F1 0.8011  (0.42 s)"
        );
    }

    #[test]
    fn the_embedding_dim_is_the_pretrained_vectors_unless_asked_otherwise() {
        let emb = Embeddings::from_vectors(&["a", "b"], vec![0.5; 2 * 32], 32).unwrap();
        let dim = ClassifierConfig::embedding_dim;
        assert_eq!(dim(None, None, "dim").unwrap(), 100);
        assert_eq!(dim(Some(8), None, "dim").unwrap(), 8);
        assert_eq!(dim(None, Some(&emb), "dim").unwrap(), 32);
        assert_eq!(dim(Some(32), Some(&emb), "dim").unwrap(), 32);
        let e = dim(Some(8), Some(&emb), "--dim").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(
            e.to_string()
                .contains("--dim 8 differs from the 32 dimensions"),
            "{e}"
        );
    }
}
