//! Training: configuration, the epoch loop with validation and early stopping, class weights,
//! and resuming from a model file.
//!
//! Every random choice comes from ChaCha8 streams derived from the seed and the epoch (the
//! split, the initial weights, each epoch's order and dropout masks), so a run resumed from
//! the model file of epoch `e` continues exactly as the uninterrupted run did.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

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
    let fingerprint = data.fingerprint();

    // The run's settings, vocabulary, weights and state: fresh, or from the file to resume.
    let (config, vocab, arch, mut state, mut best) = match resume {
        Some(file) => {
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
            (c, cl.vocab, cl.arch, state, cl.params)
        }
        None => {
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
                vocab_size: vocab.len(),
                dim: config.dim,
                hidden: config.hidden.clone(),
                activation: config.activation,
                dropout: config.dropout,
                labels: labels.len(),
                output,
            };
            arch.validate()?;
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
                &targets,
                &split.train,
            )?;
            let state = TrainState {
                epochs_done: 0,
                best_epoch: 0,
                best_valid_loss: None,
                bad_epochs: 0,
                stopped_early: false,
                history: Vec::new(),
                data_fingerprint: fingerprint,
                class_weights,
                optimizer: OptimizerState::new(&config.optimizer, &params),
                current: params.clone(),
            };
            (config.clone(), vocab, arch, state, params)
        }
    };
    let split = make_split(data.len(), &config)?;
    if config.patience.is_some() && split.valid.is_empty() {
        return Err(Error::invalid(
            "early stopping (patience) needs a validation split",
        ));
    }
    let all: Vec<&str> = data.texts.iter().map(String::as_str).collect();
    let encoded = Encoded::new(&vocab, &all);
    let weights = state.class_weights.clone();
    let update_embedding = !config.freeze;

    // Balanced sampling: each training row's class (multi-label rows by their rarest label,
    // rows without a label in a class of their own).
    let balance = config.balance_batches.then(|| {
        let mut count = vec![0usize; labels.len()];
        for &r in &split.train {
            for &l in &targets[r] {
                count[l as usize] += 1;
            }
        }
        let class: Vec<usize> = split
            .train
            .iter()
            .map(|&r| {
                targets[r]
                    .iter()
                    .map(|&l| l as usize)
                    .min_by_key(|&l| count[l])
                    .unwrap_or(labels.len())
            })
            .collect();
        sampler::balancing_weights(&class, labels.len() + 1)
    });

    // The classifier as the callback sees it; its weights are swapped in and out of `best`
    // around each call, so nothing large is copied.
    let mut kept = Classifier {
        arch: arch.clone(),
        labels: labels.clone(),
        task,
        vocab,
        params: Params::zeros(&Architecture {
            vocab_size: 0,
            ..arch.clone()
        }),
    };

    tracing::info!(vocabulary = kept.vocab.len(), elapsed = ?setup.elapsed(), "encoded the texts");
    // Workspaces for the shards of the largest batch there can be (a batch size beyond the
    // training split is just the whole split).
    let shards = config.batch_size.min(split.train.len()).div_ceil(SHARD);
    let mut work: Vec<(Forward, Backward)> = (0..shards)
        .map(|_| (Forward::default(), Backward::new(&arch)))
        .collect();
    let mut rows = RowGrads::new(arch.vocab_size);
    let mut dx = Vec::new();
    let k = arch.outputs();
    while state.epochs_done < config.epochs && !state.stopped_early {
        if stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
            break;
        }
        let start = Instant::now();
        let epoch = state.epochs_done;
        let mut order_rng = rng(config.seed, order_stream(epoch));
        let order = match &balance {
            Some(w) => sampler::weighted(&split.train, w, &mut order_rng),
            None => sampler::shuffled(&split.train, &mut order_rng),
        };
        let (mut loss_total, mut seen) = (0.0, 0usize);
        for (b, batch) in order.chunks(config.batch_size).enumerate() {
            let texts: Vec<&[u32]> = batch.iter().map(|&r| encoded.text(r)).collect();
            let t: Vec<&[u32]> = batch.iter().map(|&r| &targets[r][..]).collect();
            let norm = normalizer(&arch, &t, weights.as_deref());
            // The batch in shards of SHARD texts, in parallel; each shard's dropout masks come
            // from its own position in the epoch's dropout stream, so results do not depend on
            // the number of threads.
            let current = &state.current;
            let used = batch.len().div_ceil(SHARD);
            // Listing the embedding rows the batch touches needs only its texts: it runs
            // alongside the shards.
            let rows_ref = &mut rows;
            let prepare = || {
                if update_embedding {
                    rows_ref.prepare(&texts);
                }
            };
            let (l, ()) = rayon::join(
                || {
                    work[..used]
                        .par_iter_mut()
                        .enumerate()
                        .map(|(i, (fw, bw))| {
                            let span = i * SHARD..((i + 1) * SHARD).min(batch.len());
                            let mut r = rng(config.seed, order_stream(epoch) + 1);
                            r.set_word_pos(((b * shards + i) as u128) << 32);
                            forward(&arch, current, &texts[span.clone()], Some(&mut r), fw);
                            bw.dlogits.resize(span.len() * k, 0.0);
                            let l = loss_sum(
                                &arch,
                                &fw.logits,
                                &t[span],
                                weights.as_deref(),
                                norm,
                                Some(&mut bw.dlogits),
                            );
                            backward(&arch, current, fw, update_embedding, bw);
                            l
                        })
                        .collect::<Vec<f64>>()
                        .iter()
                        .sum::<f64>()
                },
                prepare,
            );
            let l = l / norm;
            if !l.is_finite() {
                return Err(Error::invalid(format!(
                    "training diverged: the loss is {l} in epoch {}, batch {b}; lower the learning rate",
                    epoch + 1
                )));
            }
            loss_total += l * batch.len() as f64;
            seen += batch.len();
            let (first, rest) = work[..used].split_first_mut().expect("a batch has texts");
            for (_, bw) in rest.iter() {
                first.1.add_layers(bw);
            }
            if update_embedding {
                dx.clear();
                dx.extend_from_slice(&first.1.dx);
                for (_, bw) in rest.iter() {
                    dx.extend_from_slice(&bw.dx);
                }
            }
            step(
                &config.optimizer,
                &mut state.optimizer,
                &mut state.current,
                &first.1.layers,
                update_embedding.then_some((&rows, &dx[..])),
            );
        }
        state.epochs_done += 1;
        let valid = (!split.valid.is_empty()).then(|| {
            evaluate_params(
                &arch,
                &state.current,
                &labels,
                task == Task::MultiLabel,
                (&encoded, &targets, &split.valid),
                weights.as_deref(),
            )
        });
        match &valid {
            Some(v) if state.best_valid_loss.is_none_or(|b| v.loss < b) => {
                state.best_valid_loss = Some(v.loss);
                state.best_epoch = state.epochs_done;
                state.bad_epochs = 0;
                best.clone_from(&state.current);
            }
            Some(_) => {
                state.bad_epochs += 1;
                if config.patience.is_some_and(|p| state.bad_epochs >= p) {
                    state.stopped_early = true;
                }
            }
            None => {
                state.best_epoch = state.epochs_done;
                best.clone_from(&state.current);
            }
        }
        let report = EpochReport {
            epoch: state.epochs_done,
            train_loss: loss_total / seen.max(1) as f64,
            valid_loss: valid.as_ref().map(|v| v.loss),
            valid_accuracy: valid.as_ref().map(|v| v.accuracy),
            valid_macro_f1: valid.as_ref().map(|v| v.macro_f1),
            seconds: start.elapsed().as_secs_f64(),
        };
        state.history.push(report.clone());
        std::mem::swap(&mut kept.params, &mut best);
        let r = on_epoch(
            &report,
            ModelView {
                classifier: &kept,
                config: &config,
                state: Some(&state),
            },
        );
        std::mem::swap(&mut kept.params, &mut best);
        r?;
    }
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
    Ok(TrainOutcome { model, test })
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
