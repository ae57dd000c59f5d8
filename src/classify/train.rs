//! Training: configuration, the epoch loop with validation and early stopping, class weights,
//! and resuming from a model file.
//!
//! Every random choice comes from ChaCha8 streams derived from the seed and the epoch (the
//! split, the initial weights, each epoch's order and dropout masks), so a run resumed from
//! the model file of epoch `e` continues exactly as the uninterrupted run did.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;

use super::classifier::{evaluate_params, Classifier};
use super::config::{ClassWeights, ClassifierConfig, EpochReport, LossChoice};
use super::data::{Dataset, Split, Task};
use super::file::{ModelFile, ModelView, TrainState};
use super::loss::{loss_sum, normalizer};
use super::metrics::Evaluation;
use super::model::{
    backward, forward, Architecture, Backward, Forward, OutputKind, Params, RowGrads,
};
use super::optim::{step, OptimizerState};
use super::sampler;
use super::vocab::{Encoded, TextVocab, PAD};
use crate::error::{Error, Result};
use crate::Embeddings;

/// What a finished run produced.
#[derive(Debug)]
pub struct TrainOutcome {
    /// The model file contents (best weights, and the state to resume).
    pub model: ModelFile,
    /// Scores of the kept weights on the test split (None when the split has no test part).
    pub test: Option<Evaluation>,
}

impl TrainOutcome {
    /// The run's report: `model` is where the caller saved it, `texts` the rows it trained on
    /// (all splits), `seconds` how long it took.
    pub fn summary<'a>(&'a self, model: &'a Path, texts: usize, seconds: f64) -> TrainSummary<'a> {
        let c = &self.model.classifier;
        let state = self
            .model
            .state
            .as_ref()
            .expect("a trained model keeps its training state");
        TrainSummary {
            model,
            labels: &c.labels,
            vocabulary: c.vocab.len(),
            epochs: state.epochs_done,
            best_epoch: state.best_epoch,
            stopped_early: state.stopped_early,
            seconds,
            history: &state.history,
            test: self.test.as_ref(),
            texts,
            task: c.task,
            learned: c.vocab.learned(),
        }
    }
}

/// What a finished run did: serialised, the JSON report a front end prints; displayed, its
/// one-line summary.
#[derive(Debug, Serialize)]
pub struct TrainSummary<'a> {
    /// Where the model was saved.
    pub model: &'a Path,
    /// The labels, in the model's order.
    pub labels: &'a [String],
    /// Vocabulary rows (with the padding and unknown-word rows).
    pub vocabulary: usize,
    /// Epochs done (in total, when resumed).
    pub epochs: usize,
    /// The epoch whose weights are kept.
    pub best_epoch: usize,
    /// Whether early stopping ended the run.
    pub stopped_early: bool,
    /// Wall time of the run.
    pub seconds: f64,
    /// Every epoch's figures.
    pub history: &'a [EpochReport],
    /// Scores of the kept weights on the test split.
    pub test: Option<&'a Evaluation>,
    /// Texts in the data (all splits).
    #[serde(skip)]
    pub texts: usize,
    /// Single-, multi-class or multi-label.
    #[serde(skip)]
    pub task: Task,
    /// Words and n-grams with a row of their own.
    #[serde(skip)]
    pub learned: usize,
}

impl std::fmt::Display for TrainSummary<'_> {
    /// `800 texts, 2 labels (binary), vocabulary 31 words; 4 epochs in 0.12 s; kept the
    /// weights of epoch 4`, with `(stopped early)` after the time when it did.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} texts, {} labels ({}), vocabulary {} words; {} epochs in {:.2} s{}; \
             kept the weights of epoch {}",
            self.texts,
            self.labels.len(),
            self.task.name(),
            self.learned,
            self.epochs,
            self.seconds,
            if self.stopped_early {
                " (stopped early)"
            } else {
                ""
            },
            self.best_epoch,
        )
    }
}

/// Texts per parallel shard of a training batch.
const SHARD: usize = 128;

fn rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(stream);
    r
}

/// Streams: 2e+1 the order of epoch e, 2e+2 its dropout masks (initial weights: see
/// [`Params::init`]).
fn order_stream(epoch: usize) -> u64 {
    2 * epoch as u64 + 1
}

/// The class weights `config` asks for, from the training rows' label counts.
pub fn class_weights(
    config: &ClassWeights,
    task: Task,
    labels: usize,
    targets: &[Vec<u32>],
    rows: &[usize],
) -> Result<Option<Vec<f32>>> {
    let mut count = vec![0usize; labels];
    for &r in rows {
        for &l in &targets[r] {
            count[l as usize] += 1;
        }
    }
    let n = rows.len() as f64;
    let inverse = |c: usize| -> f64 {
        let nc = count[c].max(1) as f64;
        if task == Task::MultiLabel {
            ((n - nc) / nc).max(f64::MIN_POSITIVE)
        } else {
            n / (labels as f64 * nc)
        }
    };
    Ok(match config {
        ClassWeights::None => None,
        ClassWeights::Inverse => Some((0..labels).map(|c| inverse(c) as f32).collect()),
        ClassWeights::SqrtInverse => Some((0..labels).map(|c| inverse(c).sqrt() as f32).collect()),
        ClassWeights::Explicit(w) => {
            if w.len() != labels {
                return Err(Error::invalid(format!(
                    "{} class weights given for {labels} labels",
                    w.len()
                )));
            }
            if w.iter().any(|w| !w.is_finite() || *w < 0.0) || w.iter().all(|w| *w == 0.0) {
                return Err(Error::invalid(
                    "class weights must be finite, non-negative, and not all 0",
                ));
            }
            Some(w.clone())
        }
    })
}

/// Trains a classifier on `data`.
///
/// - `pretrained`: vectors to start the embedding from (words missing from them start random);
///   `config.dim` must equal their dimension.
/// - `resume`: a model file written by an earlier run on the same data; training continues
///   after its last epoch with its settings, except `epochs` and `patience`, taken from
///   `config`.
/// - `on_epoch` runs after every epoch with the epoch's figures and the model file as it
///   stands, borrowed (the caller may save it: that is the checkpoint).
/// - `stop`: when set, training ends after the current epoch.
///
/// The run in steps: where it starts (settings, vocabulary, weights and state, fresh or
/// resumed); what the epochs need (split, encoded texts, sampling weights, workspaces); each
/// epoch (the batches, validation, early stopping, the callback); the end (the kept weights and
/// the test scores).
pub fn train(
    data: &Dataset,
    config: &ClassifierConfig,
    pretrained: Option<&Embeddings>,
    resume: Option<ModelFile>,
    stop: Option<&AtomicBool>,
    mut on_epoch: impl FnMut(&EpochReport, ModelView<'_>) -> Result<()>,
) -> Result<TrainOutcome> {
    let setup = Instant::now();
    config.validate()?;
    let (labels, task) = data.label_set()?;
    let targets = data.targets(&labels)?;
    let start = match resume {
        Some(file) => Start::resume(file, config, data.fingerprint(), &labels)?,
        None => {
            let known = (task, labels.as_slice(), targets.as_slice());
            Start::fresh(data, config, pretrained, known, setup)?
        }
    };
    let mut trainer = Trainer::new(data, start, labels, task, targets)?;
    tracing::info!(
        vocabulary = trainer.kept.vocab.len(),
        elapsed = ?setup.elapsed(),
        "encoded the texts"
    );
    while trainer.state.epochs_done < trainer.config.epochs && !trainer.state.stopped_early {
        if stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
            break;
        }
        let report = trainer.epoch()?;
        trainer.checkpoint(report, &mut on_epoch)?;
    }
    Ok(trainer.finish())
}

/// Where a run starts: its settings, vocabulary, architecture, training state and kept
/// weights, fresh or from the model file to resume.
struct Start {
    config: ClassifierConfig,
    vocab: TextVocab,
    arch: Architecture,
    state: TrainState,
    best: Params,
}

impl Start {
    /// The run saved in `file`, with `config`'s epochs and patience; the data (its
    /// `fingerprint` and `labels`) must be the data it was trained on.
    fn resume(
        file: ModelFile,
        config: &ClassifierConfig,
        fingerprint: u64,
        labels: &[String],
    ) -> Result<Start> {
        let Some(state) = file.state else {
            return Err(Error::invalid(
                "the model file holds no training state to resume from",
            ));
        };
        if state.data_fingerprint != fingerprint || file.classifier.labels != labels {
            return Err(Error::invalid(
                "the data differs from the data the model was trained on; resume with the same file",
            ));
        }
        let mut c = file.config.clone();
        c.epochs = config.epochs;
        c.patience = config.patience;
        c.validate()?;
        let cl = file.classifier;
        Ok(Start {
            config: c,
            vocab: cl.vocab,
            arch: cl.arch,
            state,
            best: cl.params,
        })
    }

    /// A new run: the vocabulary of the training split, the architecture `config` and the
    /// data's `task` ask for, initial (or pretrained) weights, class weights.
    fn fresh(
        data: &Dataset,
        config: &ClassifierConfig,
        pretrained: Option<&Embeddings>,
        (task, labels, targets): (Task, &[String], &[Vec<u32>]),
        setup: Instant,
    ) -> Result<Start> {
        let split = make_split(data.len(), config)?;
        let train_texts: Vec<&str> = split
            .train
            .iter()
            .map(|&r| data.texts[r].as_str())
            .collect();
        if config.word_ngrams == 0 {
            return Err(Error::invalid(
                "word n-grams must be at least 1 (words alone)",
            ));
        }
        let vocab = TextVocab::build(&train_texts, config.min_count, config.word_ngrams);
        tracing::debug!(elapsed = ?setup.elapsed(), "vocabulary built");
        let arch = architecture(config, task, vocab.len(), labels.len())?;
        if config.batch_size == 0 {
            return Err(Error::invalid("the batch size must be at least 1"));
        }
        if config.epochs == 0 {
            return Err(Error::invalid("training needs at least 1 epoch"));
        }
        let mut params = Params::init(&arch, config.init_std, config.seed);
        tracing::debug!(elapsed = ?setup.elapsed(), "weights initialised");
        if let Some(emb) = pretrained {
            init_from_pretrained(&mut params, &vocab, emb, config.dim)?;
        } else if config.freeze {
            return Err(Error::invalid(
                "freezing the embedding needs pretrained vectors",
            ));
        }
        let class_weights = class_weights(
            &config.class_weights,
            task,
            labels.len(),
            targets,
            &split.train,
        )?;
        let state = TrainState {
            epochs_done: 0,
            best_epoch: 0,
            best_valid_loss: None,
            bad_epochs: 0,
            stopped_early: false,
            history: Vec::new(),
            data_fingerprint: data.fingerprint(),
            class_weights,
            optimizer: OptimizerState::new(&config.optimizer, &params),
            current: params.clone(),
        };
        Ok(Start {
            config: config.clone(),
            vocab,
            arch,
            state,
            best: params,
        })
    }
}

/// The network `config` asks for over a vocabulary of `vocab_size` rows and `labels` labels;
/// the output layer follows the loss and the task.
fn architecture(
    config: &ClassifierConfig,
    task: Task,
    vocab_size: usize,
    labels: usize,
) -> Result<Architecture> {
    let output = match (config.loss, task) {
        (LossChoice::Ce, Task::MultiLabel) => {
            return Err(Error::invalid(
                "cross-entropy needs one label per text; multi-label data trains with bce",
            ))
        }
        (LossChoice::Ce, _) | (LossChoice::Auto, Task::MultiClass) => OutputKind::Softmax,
        _ => OutputKind::Sigmoid,
    };
    let arch = Architecture {
        vocab_size,
        dim: config.dim,
        hidden: config.hidden.clone(),
        activation: config.activation,
        dropout: config.dropout,
        labels,
        output,
    };
    arch.validate()?;
    Ok(arch)
}

/// Balanced sampling: each training row's class (multi-label rows by their rarest label, rows
/// without a label in a class of their own), weighted by [`sampler::balancing_weights`].
fn balancing_weights(train: &[usize], targets: &[Vec<u32>], labels: usize) -> Vec<f64> {
    let mut count = vec![0usize; labels];
    for &r in train {
        for &l in &targets[r] {
            count[l as usize] += 1;
        }
    }
    let class: Vec<usize> = train
        .iter()
        .map(|&r| {
            targets[r]
                .iter()
                .map(|&l| l as usize)
                .min_by_key(|&l| count[l])
                .unwrap_or(labels)
        })
        .collect();
    sampler::balancing_weights(&class, labels + 1)
}

/// A run in progress: the data as the loop reads it, the state it changes, and its
/// workspaces.
struct Trainer {
    config: ClassifierConfig,
    arch: Architecture,
    task: Task,
    split: Split,
    encoded: Encoded,
    targets: Vec<Vec<u32>>,
    /// Class weights of the loss.
    weights: Option<Vec<f32>>,
    /// Sampling weights of the training rows, when batches are balanced.
    balance: Option<Vec<f64>>,
    state: TrainState,
    /// The weights of the best epoch so far.
    best: Params,
    /// The classifier as the callback sees it; its weights are swapped in and out of `best`
    /// around each call, so nothing large is copied.
    kept: Classifier,
    work: Workspace,
}

impl Trainer {
    /// Everything the epochs need, from where the run `start`s.
    fn new(
        data: &Dataset,
        start: Start,
        labels: Vec<String>,
        task: Task,
        targets: Vec<Vec<u32>>,
    ) -> Result<Trainer> {
        let Start {
            config,
            vocab,
            arch,
            state,
            best,
        } = start;
        let split = make_split(data.len(), &config)?;
        if config.patience.is_some() && split.valid.is_empty() {
            return Err(Error::invalid(
                "early stopping (patience) needs a validation split",
            ));
        }
        let all: Vec<&str> = data.texts.iter().map(String::as_str).collect();
        let encoded = Encoded::new(&vocab, &all);
        let balance = config
            .balance_batches
            .then(|| balancing_weights(&split.train, &targets, labels.len()));
        let kept = Classifier {
            arch: arch.clone(),
            labels,
            task,
            vocab,
            params: Params::zeros(&Architecture {
                vocab_size: 0,
                ..arch.clone()
            }),
        };
        let work = Workspace::new(&arch, config.batch_size, split.train.len());
        Ok(Trainer {
            weights: state.class_weights.clone(),
            config,
            arch,
            task,
            split,
            encoded,
            targets,
            balance,
            state,
            best,
            kept,
            work,
        })
    }

    /// One epoch: its batches in the epoch's order, then validation and early stopping.
    fn epoch(&mut self) -> Result<EpochReport> {
        let start = Instant::now();
        let epoch = self.state.epochs_done;
        let mut order_rng = rng(self.config.seed, order_stream(epoch));
        let order = match &self.balance {
            Some(w) => sampler::weighted(&self.split.train, w, &mut order_rng),
            None => sampler::shuffled(&self.split.train, &mut order_rng),
        };
        let (mut loss_total, mut seen) = (0.0, 0usize);
        for (b, batch) in order.chunks(self.config.batch_size).enumerate() {
            loss_total += self.batch(epoch, b, batch)? * batch.len() as f64;
            seen += batch.len();
        }
        self.state.epochs_done += 1;
        let valid = self.validate();
        self.keep_best(valid.as_ref());
        Ok(EpochReport {
            epoch: self.state.epochs_done,
            train_loss: loss_total / seen.max(1) as f64,
            valid_loss: valid.as_ref().map(|v| v.loss),
            valid_accuracy: valid.as_ref().map(|v| v.accuracy),
            valid_macro_f1: valid.as_ref().map(|v| v.macro_f1),
            seconds: start.elapsed().as_secs_f64(),
        })
    }

    /// Batch `b` of `epoch`: its gradients, then one optimiser step. Returns its mean loss.
    fn batch(&mut self, epoch: usize, b: usize, rows: &[usize]) -> Result<f64> {
        let texts: Vec<&[u32]> = rows.iter().map(|&r| self.encoded.text(r)).collect();
        let t: Vec<&[u32]> = rows.iter().map(|&r| &self.targets[r][..]).collect();
        let weights = self.weights.as_deref();
        let norm = normalizer(&self.arch, &t, weights);
        let update_embedding = !self.config.freeze;
        let batch = Batch {
            arch: &self.arch,
            params: &self.state.current,
            weights,
            texts: &texts,
            targets: &t,
            norm,
            update_embedding,
            seed: self.config.seed,
            epoch,
            index: b,
        };
        let l = self.work.gradients(&batch) / norm;
        if !l.is_finite() {
            return Err(Error::invalid(format!(
                "training diverged: the loss is {l} in epoch {}, batch {b}; lower the learning rate",
                epoch + 1
            )));
        }
        let (layers, embedding) = self.work.combine(rows.len(), update_embedding);
        step(
            &self.config.optimizer,
            &mut self.state.optimizer,
            &mut self.state.current,
            layers,
            embedding,
        );
        Ok(l)
    }

    /// The current weights' scores on the validation split (None without one).
    fn validate(&self) -> Option<Evaluation> {
        (!self.split.valid.is_empty()).then(|| {
            evaluate_params(
                &self.arch,
                &self.state.current,
                &self.kept.labels,
                self.task == Task::MultiLabel,
                (&self.encoded, &self.targets, &self.split.valid),
                self.weights.as_deref(),
            )
        })
    }

    /// Early stopping: keeps the current weights when their validation loss is the lowest yet
    /// (always, without validation), else counts a bad epoch and stops after `patience`.
    fn keep_best(&mut self, valid: Option<&Evaluation>) {
        let state = &mut self.state;
        match valid {
            Some(v) if state.best_valid_loss.is_none_or(|b| v.loss < b) => {
                state.best_valid_loss = Some(v.loss);
                state.best_epoch = state.epochs_done;
                state.bad_epochs = 0;
                self.best.clone_from(&state.current);
            }
            Some(_) => {
                state.bad_epochs += 1;
                if self.config.patience.is_some_and(|p| state.bad_epochs >= p) {
                    state.stopped_early = true;
                }
            }
            None => {
                state.best_epoch = state.epochs_done;
                self.best.clone_from(&state.current);
            }
        }
    }

    /// Records the epoch's `report` and shows `on_epoch` the model file as it stands (the
    /// checkpoint), with the kept weights borrowed from `best`.
    fn checkpoint(
        &mut self,
        report: EpochReport,
        on_epoch: &mut impl FnMut(&EpochReport, ModelView<'_>) -> Result<()>,
    ) -> Result<()> {
        self.state.history.push(report);
        let report = self.state.history.last().expect("just pushed");
        std::mem::swap(&mut self.kept.params, &mut self.best);
        let r = on_epoch(
            report,
            ModelView {
                classifier: &self.kept,
                config: &self.config,
                state: Some(&self.state),
            },
        );
        std::mem::swap(&mut self.kept.params, &mut self.best);
        r
    }

    /// The model file with the kept weights, and their scores on the test split.
    fn finish(self) -> TrainOutcome {
        let Trainer {
            config,
            split,
            encoded,
            targets,
            weights,
            state,
            best,
            mut kept,
            ..
        } = self;
        kept.params = best;
        let model = ModelFile {
            classifier: kept,
            config,
            state: Some(state),
        };
        let test = (!split.test.is_empty()).then(|| {
            model
                .classifier
                .evaluate_encoded(&encoded, &targets, &split.test, weights.as_deref())
        });
        TrainOutcome { model, test }
    }
}

/// One batch as its shards see it.
struct Batch<'b> {
    arch: &'b Architecture,
    params: &'b Params,
    /// Class weights of the loss.
    weights: Option<&'b [f32]>,
    texts: &'b [&'b [u32]],
    targets: &'b [&'b [u32]],
    /// The loss normaliser of the whole batch.
    norm: f64,
    update_embedding: bool,
    seed: u64,
    epoch: usize,
    /// The batch's position in the epoch.
    index: usize,
}

impl Batch<'_> {
    /// Forward, loss and backward of shard `i` (texts `i * SHARD..`), with its dropout masks
    /// from its own position in the epoch's dropout stream (`shards` per full batch), so
    /// results do not depend on the number of threads. Returns the shard's loss sum.
    fn shard(&self, i: usize, shards: usize, fw: &mut Forward, bw: &mut Backward) -> f64 {
        let span = i * SHARD..((i + 1) * SHARD).min(self.texts.len());
        let mut r = rng(self.seed, order_stream(self.epoch) + 1);
        r.set_word_pos(((self.index * shards + i) as u128) << 32);
        forward(
            self.arch,
            self.params,
            &self.texts[span.clone()],
            Some(&mut r),
            fw,
        );
        bw.dlogits.resize(span.len() * self.arch.outputs(), 0.0);
        let l = loss_sum(
            self.arch,
            &fw.logits,
            &self.targets[span],
            self.weights,
            self.norm,
            Some(&mut bw.dlogits),
        );
        backward(self.arch, self.params, fw, self.update_embedding, bw);
        l
    }
}

/// Per dense layer: the (weight, bias) gradients of a batch.
type LayerGrads = [(Vec<f32>, Vec<f32>)];

/// The embedding rows a batch touches and their gradients, as the optimiser takes them.
type EmbeddingGrads<'a> = (&'a RowGrads, &'a [f32]);

/// The buffers of a batch, made once for the largest batch there can be (a batch size beyond
/// the training split is just the whole split).
struct Workspace {
    /// Shards of a full batch.
    shards: usize,
    /// Each shard's forward and backward buffers.
    work: Vec<(Forward, Backward)>,
    /// The embedding rows the batch touches.
    rows: RowGrads,
    /// The shards' embedding gradients, in shard order.
    dx: Vec<f32>,
}

impl Workspace {
    fn new(arch: &Architecture, batch_size: usize, train_rows: usize) -> Workspace {
        let shards = batch_size.min(train_rows).div_ceil(SHARD);
        Workspace {
            shards,
            work: (0..shards)
                .map(|_| (Forward::default(), Backward::new(arch)))
                .collect(),
            rows: RowGrads::new(arch.vocab_size),
            dx: Vec::new(),
        }
    }

    /// The batch's gradients, shard by shard in parallel; listing the embedding rows the batch
    /// touches needs only its texts, so it runs alongside the shards. Returns the loss sum.
    fn gradients(&mut self, batch: &Batch<'_>) -> f64 {
        let used = batch.texts.len().div_ceil(SHARD);
        let shards = self.shards;
        let rows = &mut self.rows;
        let prepare = || {
            if batch.update_embedding {
                rows.prepare(batch.texts);
            }
        };
        let (l, ()) = rayon::join(
            || {
                self.work[..used]
                    .par_iter_mut()
                    .enumerate()
                    .map(|(i, (fw, bw))| batch.shard(i, shards, fw, bw))
                    .collect::<Vec<f64>>()
                    .iter()
                    .sum::<f64>()
            },
            prepare,
        );
        l
    }

    /// The optimiser's input for a batch of `texts`: the shards' layer gradients summed into
    /// the first shard's, and (when the embedding learns) the rows and their gradients.
    fn combine(
        &mut self,
        texts: usize,
        update_embedding: bool,
    ) -> (&LayerGrads, Option<EmbeddingGrads<'_>>) {
        let used = texts.div_ceil(SHARD);
        let (first, rest) = self.work[..used]
            .split_first_mut()
            .expect("a batch has texts");
        for (_, bw) in rest.iter() {
            first.1.add_layers(bw);
        }
        if update_embedding {
            self.dx.clear();
            self.dx.extend_from_slice(&first.1.dx);
            for (_, bw) in rest.iter() {
                self.dx.extend_from_slice(&bw.dx);
            }
        }
        (
            &first.1.layers,
            update_embedding.then_some((&self.rows, &self.dx[..])),
        )
    }
}

/// The split `config` asks for.
fn make_split(n: usize, config: &ClassifierConfig) -> Result<Split> {
    match config.presplit {
        Some((train, valid)) => {
            if train == 0 || train + valid > n {
                return Err(Error::invalid(format!(
                    "a split of {train} training and {valid} validation rows does not fit {n} rows"
                )));
            }
            Ok(Split {
                train: (0..train).collect(),
                valid: (train..train + valid).collect(),
                test: (train + valid..n).collect(),
            })
        }
        None => Split::new(n, config.split, config.seed),
    }
}

/// Copies the pretrained vectors of the vocabulary's words into the embedding.
fn init_from_pretrained(
    params: &mut Params,
    vocab: &TextVocab,
    emb: &Embeddings,
    dim: usize,
) -> Result<()> {
    if emb.dims() != dim {
        return Err(Error::invalid(format!(
            "the embedding dimension {dim} differs from the pretrained vectors' {}",
            emb.dims()
        )));
    }
    let (mut found, mut from_subwords) = (0, 0);
    for (id, word) in vocab.words().iter().enumerate() {
        if id as u32 == PAD || id == super::vocab::UNK as usize {
            continue;
        }
        let row = match emb.index(word) {
            Some(row) => emb.raw_row(row),
            // Pretrained fastText vectors give words outside their vocabulary a vector from
            // their n-grams.
            None => match emb.subword_vector(word)? {
                Some(v) => {
                    from_subwords += 1;
                    v
                }
                None => continue,
            },
        };
        params.embedding[id * dim..(id + 1) * dim].copy_from_slice(&row);
        found += 1;
    }
    tracing::info!(
        found,
        from_subwords,
        vocab = vocab.len() - 2,
        "embedding rows initialised from pretrained vectors"
    );
    Ok(())
}
