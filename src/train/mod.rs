//! Training word vectors: skip-gram and CBOW with negative sampling (word2vec), on all cores.
//!
//! ```no_run
//! use wordvec::train::{Model, TrainConfig, Trainer};
//!
//! let config = TrainConfig::default().model(Model::SkipGram).dims(100).epochs(5);
//! let trained = Trainer::new(config)?
//!     .on_progress(|p| eprintln!("epoch {} {:.0} words/s", p.epoch, p.words_per_sec))
//!     .train(&["corpus.txt".into()])?;
//! let vectors = trained.to_embeddings()?;
//! # Ok::<(), wordvec::Error>(())
//! ```
//!
//! The algorithm and its defaults are the word2vec C tool's (v0.1c): subsampling of frequent
//! words before windowing, a random window shrink per centre word, negatives drawn from
//! `count^0.75`, the learning rate decaying linearly over all epochs, threads updating shared
//! matrices without locks (Hogwild), each thread on its own slice of the corpus. With one thread
//! and a fixed seed, output is bit-for-bit reproducible, across checkpoint and resume too.
//!
//! Modules: [`vocab`] (the vocabulary a run keeps, public in [`Trained`]); private to the
//! crate: `corpus` (reading and encoding text), `sampling` (random draws, schedule), `hogwild`
//! (shared matrices), `sgns` (the kernels), `checkpoint` (the resumable state; its public face
//! is [`checkpoint_epochs`]).

pub(crate) mod checkpoint;
pub(crate) mod corpus;
#[cfg(feature = "cuda")]
pub(crate) mod cuda;
// Only the CUDA path cuts chunks, but the module is plain CPU code, so it is compiled and its
// tests run in every build.
#[cfg_attr(not(feature = "cuda"), allow(dead_code))]
pub(crate) mod device_chunks;
pub(crate) mod hogwild;
pub(crate) mod sampling;
pub(crate) mod sgns;
pub mod subword;
pub mod vocab;

pub use checkpoint::TrainState;
pub use corpus::{sentence_channel, SentenceChunk, SentenceReceiver, SentenceSender, Sentences};

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::progress::{self, SharedProgress};
use serde::{Deserialize, Serialize};

use crate::embeddings::Embeddings;
use crate::error::{Error, Result};
use hogwild::SharedMatrix;
use sampling::{keep_probability, unigram_weights, AliasTable, Lcg, SigmoidTable};
use sgns::{Shared, ThreadStats};
pub use subword::SubwordModel;
use subword::SubwordRows;
use vocab::TrainVocab;

/// Skip-gram or CBOW.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Model {
    /// Predict context words from the centre word.
    SkipGram,
    /// Predict the centre word from the mean of its context.
    Cbow,
}

/// Where training runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Device {
    /// All CPU cores (Hogwild threads).
    #[default]
    Cpu,
    /// The CUDA GPU with this index.
    Cuda(usize),
}

impl std::str::FromStr for Device {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "cpu" => Ok(Device::Cpu),
            "cuda" => Ok(Device::Cuda(0)),
            _ => s
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(Device::Cuda)
                .ok_or_else(|| {
                    Error::invalid(format!("unknown device {s:?}: cpu, cuda or cuda:N"))
                }),
        }
    }
}

/// Training hyperparameters. `Default` gives the word2vec C tool's defaults; the setters make a
/// builder of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Skip-gram or CBOW (default CBOW, as the C tool and gensim).
    pub model: Model,
    /// Vector dimensions (100).
    pub dims: usize,
    /// Maximum context window on each side (5).
    pub window: usize,
    /// Negative samples per positive pair (5).
    pub negative: usize,
    /// Subsampling threshold (1e-3; 0 disables).
    pub sample: f64,
    /// Words seen fewer times are dropped (5).
    pub min_count: u64,
    /// Keep at most this many of the most frequent words.
    pub max_vocab: Option<usize>,
    /// Passes over the corpus (5).
    pub epochs: usize,
    /// Starting learning rate (0.025 skip-gram, 0.05 CBOW when `None`).
    pub alpha: Option<f32>,
    /// Final learning rate (`alpha * 1e-4` when `None`, as the C tool).
    pub min_alpha: Option<f32>,
    /// Training threads (all cores when 0 is not given: see [`TrainConfig::default`]).
    pub threads: usize,
    /// Random seed.
    pub seed: u64,
    /// Where to train: the CPU cores, or a CUDA GPU (needs the `cuda` cargo feature).
    #[serde(default)]
    pub device: Device,
    /// Skip-gram: batched windows with shared negatives (pWord2Vec; the default, as it is
    /// faster at the same quality, see BENCHMARKS.md); `false` runs the C tool's per-pair
    /// updates. Subword CBOW: each word's rows summed once and updated once per occurrence
    /// (see [`subword`]); `false` runs fastText's update per window. Ignored for word CBOW.
    pub batched: bool,
    /// CBOW only: the context's mean (`true`, the default) or its sum is the input vector
    /// (gensim's `cbow_mean`).
    #[serde(default = "yes")]
    pub cbow_mean: bool,
    /// Negatives are drawn from `count^ns_exponent` (0.75, the C tool's and gensim's; 0 draws
    /// uniformly, 1 by frequency, negative values favour rare words).
    #[serde(default = "three_quarters")]
    pub ns_exponent: f64,
    /// Whether each centre word draws a shorter window (`true`, the C tool's and gensim's
    /// default, weighting near contexts more) or always uses the full one (gensim's
    /// `shrink_windows=False`).
    #[serde(default = "yes")]
    pub shrink_windows: bool,
    /// Shortest character n-gram, in code points (0, the default: no n-grams, word vectors
    /// only). Subword training (fastText's) is on when `maxn >= minn > 0`; see [`subword`].
    #[serde(default)]
    pub minn: usize,
    /// Longest character n-gram, in code points (fastText uses 6 with `minn` 3).
    #[serde(default)]
    pub maxn: usize,
    /// Hash buckets of the n-gram rows (2,000,000, as fastText); used with subwords only.
    #[serde(default = "default_bucket")]
    pub bucket: usize,
}

/// Serde default of the flags added after the first checkpoints.
fn yes() -> bool {
    true
}

/// Serde default of [`TrainConfig::ns_exponent`].
fn three_quarters() -> f64 {
    0.75
}

/// Serde default of [`TrainConfig::bucket`].
fn default_bucket() -> usize {
    2_000_000
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            model: Model::Cbow,
            dims: 100,
            window: 5,
            negative: 5,
            sample: 1e-3,
            min_count: 5,
            max_vocab: None,
            epochs: 5,
            alpha: None,
            min_alpha: None,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            seed: 1,
            device: Device::Cpu,
            batched: true,
            cbow_mean: true,
            ns_exponent: 0.75,
            shrink_windows: true,
            minn: 0,
            maxn: 0,
            bucket: default_bucket(),
        }
    }
}

macro_rules! setters {
    ($($(#[$m:meta])* $name:ident: $ty:ty),* $(,)?) => {
        $( $(#[$m])* pub fn $name(mut self, v: $ty) -> Self { self.$name = v; self } )*
    };
}

impl TrainConfig {
    setters! {
        /// Sets the model.
        model: Model,
        /// Sets the dimensions.
        dims: usize,
        /// Sets the window.
        window: usize,
        /// Sets the number of negatives.
        negative: usize,
        /// Sets the subsampling threshold.
        sample: f64,
        /// Sets the minimum count.
        min_count: u64,
        /// Sets the vocabulary cap.
        max_vocab: Option<usize>,
        /// Sets the number of epochs.
        epochs: usize,
        /// Sets the starting learning rate.
        alpha: Option<f32>,
        /// Sets the final learning rate.
        min_alpha: Option<f32>,
        /// Sets the number of threads.
        threads: usize,
        /// Sets the seed.
        seed: u64,
        /// Sets batched skip-gram.
        batched: bool,
        /// Sets the device.
        device: Device,
        /// Sets CBOW's mean (or sum) of the context.
        cbow_mean: bool,
        /// Sets the exponent of the negative-sampling distribution.
        ns_exponent: f64,
        /// Sets whether windows shrink at random.
        shrink_windows: bool,
        /// Sets the shortest n-gram (0: no subwords).
        minn: usize,
        /// Sets the longest n-gram.
        maxn: usize,
        /// Sets the number of n-gram hash buckets.
        bucket: usize,
    }

    /// Whether this trains subwords (fastText's model): `minn` is not 0.
    pub fn subwords(&self) -> bool {
        self.minn > 0
    }

    /// Rows of the input matrix for `words` vocabulary words: the words' rows, then the n-gram
    /// buckets' rows when training subwords.
    pub fn input_rows(&self, words: usize) -> usize {
        words.saturating_add(if self.subwords() { self.bucket } else { 0 })
    }

    /// The starting learning rate in effect.
    pub fn start_alpha(&self) -> f32 {
        self.alpha.unwrap_or(match self.model {
            Model::SkipGram => 0.025,
            Model::Cbow => 0.05,
        })
    }

    /// The final learning rate in effect.
    pub fn end_alpha(&self) -> f32 {
        self.min_alpha.unwrap_or(self.start_alpha() * 1e-4)
    }

    /// Checks every parameter; the error names the first bad one.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: &str| Err(Error::invalid(m.to_owned()));
        if self.dims == 0 || self.dims > crate::formats::MAX_DIMS as usize {
            return bad(&format!(
                "dim must be between 1 and {}, not {}",
                crate::formats::MAX_DIMS,
                self.dims
            ));
        }
        if self.negative == 0 {
            return bad("negative must be at least 1 (negative sampling is the only objective)");
        }
        crate::limits::between_1_and("window", self.window, crate::limits::MAX_WINDOW)?;
        crate::limits::at_most("negative", self.negative, crate::limits::MAX_NEGATIVE)?;
        if self.threads == 0 {
            return bad("threads must be at least 1");
        }
        if self.epochs == 0 {
            return bad("epochs must be at least 1");
        }
        if matches!(self.device, Device::Cuda(_)) && !(self.cbow_mean && self.shrink_windows) {
            return bad("the CUDA trainer takes the context's mean and shrinks windows: cbow_mean and shrink_windows cannot be turned off on a GPU");
        }
        if !self.ns_exponent.is_finite() {
            return bad("ns_exponent must be a finite number");
        }
        if !(self.sample >= 0.0 && self.sample.is_finite()) {
            return bad("sample must be 0 or a positive number");
        }
        self.validate_subwords()?;
        let a = self.start_alpha();
        if !(a > 0.0 && a.is_finite() && self.end_alpha() >= 0.0 && self.end_alpha() <= a) {
            return bad("alpha must be positive and min-alpha between 0 and alpha");
        }
        Ok(())
    }

    /// The n-gram settings: off with `minn` 0; else `minn <= maxn <=`
    /// [`crate::limits::MAX_NGRAM_CHARS`], `bucket` in `1..=`[`crate::limits::MAX_BUCKETS`], on
    /// the CPU.
    fn validate_subwords(&self) -> Result<()> {
        if !self.subwords() {
            return Ok(());
        }
        if self.maxn < self.minn {
            return Err(Error::invalid(format!(
                "maxn {} is below minn {}: n-grams of {}..={} code points cannot exist (minn 0 trains words only)",
                self.maxn, self.minn, self.minn, self.maxn
            )));
        }
        crate::limits::at_most("maxn", self.maxn, crate::limits::MAX_NGRAM_CHARS)?;
        crate::limits::between_1_and("buckets", self.bucket, crate::limits::MAX_BUCKETS)?;
        if self.device != Device::Cpu {
            return Err(Error::Device(
                "subword training (minn > 0) runs on the CPU only: the CUDA trainer has no n-grams; use --device cpu, or --minn 0 for word vectors".into(),
            ));
        }
        Ok(())
    }

    /// Whether `other` trains the same way (everything but the thread count and the device).
    fn same_training(&self, other: &TrainConfig) -> bool {
        let norm = |c: &TrainConfig| TrainConfig {
            threads: 0,
            device: Device::Cpu,
            ..c.clone()
        };
        norm(self) == norm(other)
    }
}

/// A progress report, delivered a few times a second.
#[derive(Debug, Clone)]
pub struct Progress {
    /// Current epoch, from 1.
    pub epoch: usize,
    /// Number of epochs.
    pub epochs: usize,
    /// Words processed over all epochs.
    pub words_done: u64,
    /// Words of all epochs.
    pub words_total: u64,
    /// Current learning rate.
    pub alpha: f32,
    /// Recent throughput.
    pub words_per_sec: f64,
    /// Mean loss per (word, target) pair since the previous report.
    pub loss: f64,
}

/// The result of [`Trainer::train`].
pub struct Trained {
    /// The vocabulary with counts.
    pub vocab: TrainVocab,
    /// The word vectors, `vocab.len() x dims`: the input rows of a word model; for a subword
    /// model, fastText's vector of each word (its row averaged with its n-grams' rows).
    pub vectors: Vec<f32>,
    /// Output vectors of negative sampling, `vocab.len() x dims`.
    pub output: Vec<f32>,
    /// The settings it was trained with.
    pub config: TrainConfig,
    /// Dimensions.
    pub dims: usize,
    /// Epochs completed.
    pub epochs_done: usize,
    /// True when stopped by the stop flag before the last epoch finished.
    pub interrupted: bool,
    /// Words processed (all epochs) and wall time of the training passes.
    pub words_trained: u64,
    /// Seconds spent in the training passes (not counting and encoding).
    pub train_seconds: f64,
    /// The loss summed over every (word, target) pair of the epochs run (gensim's
    /// `get_latest_training_loss` with `compute_loss`; NaN on a GPU).
    pub loss: f64,
    /// The n-gram settings and whole matrices of a subword model (`None` for word vectors).
    pub subwords: Option<SubwordModel>,
}

impl Trained {
    /// The vectors as [`Embeddings`] (fails if training diverged to NaN); a subword model's
    /// carry its n-gram table (shared, not copied), so that words outside the vocabulary have
    /// vectors too.
    pub fn to_embeddings(&self) -> Result<Embeddings> {
        match &self.subwords {
            Some(sw) => sw.embeddings(self.vocab.words(), self.vectors.clone()),
            None => Embeddings::from_vectors(self.vocab.words(), self.vectors.clone(), self.dims),
        }
    }

    /// Words per second of the training passes.
    pub fn words_per_sec(&self) -> f64 {
        self.words_trained as f64 / self.train_seconds.max(1e-9)
    }

    /// What training needs to go on (to save as a checkpoint, to update with new text): for a
    /// subword model its whole input matrix (the words' rows, then the buckets'), not the
    /// averaged word vectors.
    pub fn into_state(self) -> TrainState {
        let vectors = match self.subwords {
            Some(model) => model.into_input(),
            None => self.vectors,
        };
        TrainState {
            config: self.config,
            epochs_done: self.epochs_done,
            vocab: self.vocab,
            vectors,
            output: self.output,
        }
    }
}

type ProgressFn = Box<dyn Fn(&Progress) + Send + Sync>;
type EpochFn = Box<dyn Fn(usize, &Embeddings) -> Result<()> + Send + Sync>;

/// Runs training. Build it, attach callbacks, call [`train`](Trainer::train).
pub struct Trainer {
    config: TrainConfig,
    progress: Option<ProgressFn>,
    on_epoch: Option<EpochFn>,
    stop: Arc<AtomicBool>,
    checkpoint: Option<PathBuf>,
    resume: Option<PathBuf>,
    io_progress: Option<SharedProgress>,
}

impl Trainer {
    /// A trainer for `config` (validated here).
    pub fn new(config: TrainConfig) -> Result<Self> {
        config.validate()?;
        Ok(Trainer {
            config,
            progress: None,
            on_epoch: None,
            stop: Arc::new(AtomicBool::new(false)),
            checkpoint: None,
            resume: None,
            io_progress: None,
        })
    }

    /// Calls `f` with progress a few times a second.
    pub fn on_progress(mut self, f: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Box::new(f));
        self
    }

    /// Calls `f(epochs_done, vectors)` after each completed epoch (to save them, say).
    pub fn on_epoch(
        mut self,
        f: impl Fn(usize, &Embeddings) -> Result<()> + Send + Sync + 'static,
    ) -> Self {
        self.on_epoch = Some(Box::new(f));
        self
    }

    /// Progress of the counting and encoding passes (in bytes of the corpus files).
    pub fn with_io_progress(mut self, p: SharedProgress) -> Self {
        self.io_progress = Some(p);
        self
    }

    /// Writes a checkpoint to `path` after every epoch.
    pub fn checkpoint_every_epoch(mut self, path: impl Into<PathBuf>) -> Self {
        self.checkpoint = Some(path.into());
        self
    }

    /// Continues from a checkpoint instead of starting afresh.
    pub fn resume_from(mut self, path: impl Into<PathBuf>) -> Self {
        self.resume = Some(path.into());
        self
    }

    /// The flag that stops training (set it from a Ctrl-C handler, say); threads finish their
    /// current sentence and [`train`](Trainer::train) returns with `interrupted` set.
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        self.stop.clone()
    }

    /// Trains on the corpus files: from scratch, or from the checkpoint given to
    /// [`resume_from`](Trainer::resume_from).
    pub fn train(&self, corpus_files: &[PathBuf]) -> Result<Trained> {
        let cfg = &self.config;
        let files = Sentences::Files(nonempty(corpus_files)?);
        let state = match &self.resume {
            Some(path) => self.resumed(path)?,
            None => {
                let counts = self.count(files)?;
                let vocab = TrainVocab::from_counts(counts, cfg.min_count, cfg.max_vocab)?;
                TrainState::new(cfg.clone(), vocab)?
            }
        };
        self.train_state(state, Sentences::Files(corpus_files.to_vec()))
    }

    /// Goes on training a finished model on new text, gensim's `build_vocab(update=True)`
    /// then `train`: the new words of `corpus_files` seen at least `min_count` times are added
    /// (see [`TrainState::update_vocab`]), then all epochs run over the new text, the learning
    /// rate decaying from `alpha` again. The dimensions must be the model's.
    pub fn train_update(&self, mut state: TrainState, corpus_files: &[PathBuf]) -> Result<Trained> {
        let cfg = &self.config;
        self.check_dims(&state)?;
        let counts = self.count(Sentences::Files(nonempty(corpus_files)?))?;
        let known = state.vocab.len();
        let added = state.update_vocab(counts, |_, c| c >= cfg.min_count, cfg.max_vocab)?;
        tracing::info!(known, added, "updated the vocabulary");
        self.train_state(state, Sentences::Files(corpus_files.to_vec()))
    }

    /// Trains `state` on `corpus` from epoch `state.epochs_done` to the configured number (words
    /// outside the state's vocabulary are skipped): [`encode`](Trainer::encode) then
    /// [`train_encoded`](Trainer::train_encoded), the step under [`train`](Trainer::train) and
    /// [`train_update`](Trainer::train_update).
    pub fn train_state(&self, state: TrainState, corpus: Sentences) -> Result<Trained> {
        self.check_state(&state)?;
        let encoded = self.encode(&state.vocab, corpus)?;
        self.train_encoded(state, &encoded)
    }

    /// Reads `corpus` once and keeps it as the ids of `vocab`'s words (in a mapped temporary
    /// file), ready for the epochs; an error if no word of it is in `vocab`. A stream's
    /// producer can fail part-way and drop the result, with the model untouched.
    pub fn encode(&self, vocab: &TrainVocab, corpus: Sentences) -> Result<Encoded> {
        let io_bar = progress::or_silent(&self.io_progress);
        io_bar.start("encoding the corpus", corpus_bytes(&corpus)?);
        let encoded = corpus::EncodedCorpus::encode(corpus, vocab, io_bar)?;
        io_bar.finish();
        if encoded.words() == 0 {
            return Err(Error::invalid(
                "no word of the corpus is in the vocabulary: nothing to train",
            ));
        }
        Ok(Encoded(encoded))
    }

    /// Trains `state` on a corpus [`encode`](Trainer::encode)d with its vocabulary, from epoch
    /// `state.epochs_done` to the configured number.
    pub fn train_encoded(&self, state: TrainState, encoded: &Encoded) -> Result<Trained> {
        self.check_state(&state)?;
        if encoded.0.counts().len() != state.vocab.len() {
            return Err(Error::invalid(format!(
                "the corpus was encoded with a vocabulary of {} words, the model has {}",
                encoded.0.counts().len(),
                state.vocab.len()
            )));
        }
        self.run(state, &encoded.0)
    }

    /// An error unless `state` has this trainer's dimensions and n-gram settings, and matrices
    /// of its size (a subword model's input matrix has its buckets' rows after the words').
    fn check_state(&self, state: &TrainState) -> Result<()> {
        self.check_dims(state)?;
        let (cfg, d) = (&self.config, self.config.dims);
        let ngrams = |c: &TrainConfig| c.subwords().then_some((c.minn, c.maxn, c.bucket));
        if ngrams(&state.config) != ngrams(cfg) {
            let show = |c: &TrainConfig| match ngrams(c) {
                Some((minn, maxn, bucket)) => {
                    format!("n-grams of {minn}..={maxn} code points in {bucket} buckets")
                }
                None => "no n-grams (word vectors only)".to_string(),
            };
            return Err(Error::invalid(format!(
                "subword mismatch: the model has {}, the settings ask for {}",
                show(&state.config),
                show(cfg)
            )));
        }
        let words = state.vocab.len();
        let input = cfg.input_rows(words).checked_mul(d);
        if Some(state.vectors.len()) != input || state.output.len() != words * d {
            return Err(Error::invalid(format!(
                "the model's matrices hold {} and {} floats, {} input rows ({words} words) and {words} output rows x {d} dims need {} and {}",
                state.vectors.len(),
                state.output.len(),
                cfg.input_rows(words),
                cfg.input_rows(words).saturating_mul(d),
                words * d
            )));
        }
        Ok(())
    }

    /// The state in the checkpoint at `path`, made with this trainer's settings.
    fn resumed(&self, path: &Path) -> Result<TrainState> {
        let ck = TrainState::load(path)?;
        if !ck.config.same_training(&self.config) {
            return Err(Error::invalid(format!(
                "{}: the checkpoint was made with different settings ({}); resume with the same ones",
                path.display(),
                serde_json::to_string(&ck.config).unwrap_or_default()
            )));
        }
        tracing::info!(path = %path.display(), epochs_done = ck.epochs_done, "resuming from checkpoint");
        Ok(ck)
    }

    /// An error unless `state` has this trainer's dimensions.
    fn check_dims(&self, state: &TrainState) -> Result<()> {
        if state.config.dims == self.config.dims {
            return Ok(());
        }
        Err(Error::invalid(format!(
            "dimension mismatch: the model has {} dimensions, the settings ask for {}",
            state.config.dims, self.config.dims
        )))
    }

    /// Counts the words of `corpus`, with progress for files.
    fn count(&self, corpus: Sentences) -> Result<hashbrown::HashMap<Box<str>, u64>> {
        let io_bar = progress::or_silent(&self.io_progress);
        io_bar.start("counting words", corpus_bytes(&corpus)?);
        let (counts, total) = corpus::count_in(corpus, io_bar)?;
        tracing::info!(
            tokens = total,
            distinct = counts.len(),
            "counted the corpus"
        );
        Ok(counts)
    }

    /// The epochs from `state.epochs_done` over the encoded corpus.
    fn run(&self, state: TrainState, encoded: &corpus::EncodedCorpus) -> Result<Trained> {
        let cfg = &self.config;
        let TrainState {
            vocab,
            vectors,
            output,
            epochs_done: start_epoch,
            ..
        } = state;
        // Subsampling follows the counts of the text being trained (after an update, the new
        // text's, as gensim); negatives follow the vocabulary's (all text seen).
        let train_words = encoded.words();
        tracing::info!(words = vocab.len(), train_words, "vocabulary ready");
        let keep: Vec<f32> = encoded
            .counts()
            .iter()
            .map(|&c| keep_probability(c, train_words, cfg.sample))
            .collect();
        let alias = AliasTable::new(&unigram_weights(vocab.counts(), cfg.ns_exponent));
        let subword_rows = cfg
            .subwords()
            .then(|| SubwordRows::new(vocab.words(), cfg.minn, cfg.maxn, cfg.bucket))
            .transpose()?;
        let words_done = AtomicU64::new(train_words * start_epoch as u64);
        let run = RunContext {
            trainer: self,
            words_done: &words_done,
            total_words: train_words * cfg.epochs as u64,
            keep: &keep,
            alias: &alias,
            encoded,
            subwords: subword_rows.as_ref(),
        };
        let mut runner: Box<dyn EpochRunner + '_> = match cfg.device {
            Device::Cpu => Box::new(CpuRunner::new(vectors, output, cfg)),
            Device::Cuda(index) => device_runner(index, vectors, output, &run)?,
        };
        let started = Instant::now();
        let (epochs_done, interrupted, loss) =
            self.epochs(&mut *runner, &run, &vocab, start_epoch)?;
        let train_seconds = started.elapsed().as_secs_f64();
        let words_trained = words_done.load(Ordering::Relaxed) - train_words * start_epoch as u64;
        let (input, output) = runner.into_matrices()?;
        let (vectors, subwords) = word_vectors(cfg, &vocab, input, &output)?;
        Ok(Trained {
            vocab,
            vectors,
            output,
            config: cfg.clone(),
            dims: cfg.dims,
            epochs_done,
            interrupted,
            words_trained,
            train_seconds,
            loss,
            subwords,
        })
    }

    /// Runs the epochs from `start`, with the checkpoints and callbacks after each: the epochs
    /// done, whether the stop flag cut the run, and the summed loss.
    fn epochs(
        &self,
        runner: &mut dyn EpochRunner,
        run: &RunContext,
        vocab: &TrainVocab,
        start: usize,
    ) -> Result<(usize, bool, f64)> {
        let cfg = &self.config;
        let (mut epochs_done, mut loss) = (start, 0.0);
        for epoch in start..cfg.epochs {
            runner.run_epoch(epoch, run)?;
            loss += runner.epoch_loss();
            if self.stop.load(Ordering::Relaxed) {
                return Ok((epochs_done, true, loss));
            }
            epochs_done = epoch + 1;
            if self.checkpoint.is_some() || self.on_epoch.is_some() {
                let (s0, s1) = runner.snapshot()?;
                if let Some(path) = &self.checkpoint {
                    checkpoint::save(path, cfg, epochs_done, vocab, &s0, &s1)?;
                }
                if let Some(f) = &self.on_epoch {
                    let (vectors, model) = word_vectors(cfg, vocab, s0, &s1)?;
                    let emb = match model {
                        Some(m) => m.embeddings(vocab.words(), vectors)?,
                        None => Embeddings::from_vectors(vocab.words(), vectors, cfg.dims)?,
                    };
                    f(epochs_done, &emb)?;
                }
            }
        }
        Ok((epochs_done, false, loss))
    }

    /// Reports progress until `done()` says the epoch's workers have finished.
    pub(crate) fn report_until(
        &self,
        done: &dyn Fn() -> bool,
        epoch: usize,
        words_done: &AtomicU64,
        total_words: u64,
        stats: &[ThreadStats],
    ) {
        let Some(f) = &self.progress else {
            while !done() {
                std::thread::sleep(Duration::from_millis(50));
            }
            return;
        };
        let cfg = &self.config;
        let (mut last_t, mut last_w) = (Instant::now(), words_done.load(Ordering::Relaxed));
        let (mut last_loss, mut last_pairs) = sum_stats(stats);
        // A report a few times a second, and one when the epoch ends (however short it was).
        let mut finished = false;
        while !finished {
            std::thread::sleep(Duration::from_millis(50));
            finished = done();
            if !finished && last_t.elapsed() < Duration::from_millis(400) {
                continue;
            }
            let w = words_done.load(Ordering::Relaxed);
            let (loss, pairs) = sum_stats(stats);
            let dt = last_t.elapsed().as_secs_f64();
            f(&Progress {
                epoch: epoch + 1,
                epochs: cfg.epochs,
                words_done: w,
                words_total: total_words,
                alpha: sampling::learning_rate(cfg.start_alpha(), cfg.end_alpha(), w, total_words),
                words_per_sec: (w - last_w) as f64 / dt,
                loss: if pairs > last_pairs {
                    (loss - last_loss) / (pairs - last_pairs) as f64
                } else {
                    f64::NAN
                },
            });
            (last_t, last_w, last_loss, last_pairs) = (Instant::now(), w, loss, pairs);
        }
    }
}

/// A corpus read once and kept as word ids for the epochs (see [`Trainer::encode`]).
pub struct Encoded(corpus::EncodedCorpus);

impl Encoded {
    /// The number of word occurrences it holds (of the vocabulary's words).
    pub fn words(&self) -> u64 {
        self.0.words()
    }
}

/// What every epoch runner reads.
pub(crate) struct RunContext<'a> {
    pub trainer: &'a Trainer,
    pub words_done: &'a AtomicU64,
    pub total_words: u64,
    pub keep: &'a [f32],
    pub alias: &'a AliasTable,
    pub encoded: &'a corpus::EncodedCorpus,
    /// Each word's input rows, when training subwords.
    pub subwords: Option<&'a SubwordRows>,
}

/// Runs epochs on one kind of hardware.
pub(crate) trait EpochRunner {
    /// One pass over the corpus; returns early (Ok) when the stop flag is set.
    fn run_epoch(&mut self, epoch: usize, run: &RunContext) -> Result<()>;
    /// Copies of the input and output matrices.
    fn snapshot(&mut self) -> Result<(Vec<f32>, Vec<f32>)>;
    /// The summed loss of the last epoch (NaN where the runner does not add it up).
    fn epoch_loss(&self) -> f64 {
        f64::NAN
    }

    /// The input and output matrices at the end (without a copy where the runner can).
    fn into_matrices(mut self: Box<Self>) -> Result<(Vec<f32>, Vec<f32>)> {
        self.snapshot()
    }
}

/// The CPU runner: Hogwild threads over shared matrices.
struct CpuRunner {
    syn0: SharedMatrix,
    syn1: SharedMatrix,
    sigmoid: SigmoidTable,
    stats: Vec<ThreadStats>,
}

impl CpuRunner {
    fn new(syn0: Vec<f32>, syn1: Vec<f32>, cfg: &TrainConfig) -> Self {
        CpuRunner {
            syn0: SharedMatrix::new(syn0, cfg.dims),
            syn1: SharedMatrix::new(syn1, cfg.dims),
            sigmoid: SigmoidTable::default(),
            stats: (0..cfg.threads).map(|_| ThreadStats::default()).collect(),
        }
    }
}

impl EpochRunner for CpuRunner {
    fn run_epoch(&mut self, epoch: usize, run: &RunContext) -> Result<()> {
        let cfg = &run.trainer.config;
        let shared = Shared {
            syn0: &self.syn0,
            syn1: &self.syn1,
            keep: run.keep,
            alias: run.alias,
            sigmoid: &self.sigmoid,
            model: cfg.model,
            batched: cfg.batched,
            window: cfg.window,
            shrink_windows: cfg.shrink_windows,
            cbow_mean: cfg.cbow_mean,
            negative: cfg.negative,
            alpha: cfg.start_alpha(),
            min_alpha: cfg.end_alpha(),
            total_words: run.total_words,
            words_done: run.words_done,
            stop: &run.trainer.stop,
            subwords: run.subwords,
        };
        let slices = run.encoded.slices(cfg.threads);
        let stats = &self.stats;
        std::thread::scope(|scope| {
            let handles: Vec<_> = slices
                .iter()
                .zip(stats)
                .enumerate()
                .map(|(t, (slice, st))| {
                    let shared = &shared;
                    scope.spawn(move || {
                        let mut rng = Lcg::new(cfg.seed, (epoch * 65_536 + t) as u64);
                        sgns::train_slice(shared, slice, &mut rng, st);
                    })
                })
                .collect();
            run.trainer.report_until(
                &|| handles.iter().all(|h| h.is_finished()),
                epoch,
                run.words_done,
                run.total_words,
                stats,
            );
        });
        Ok(())
    }

    fn snapshot(&mut self) -> Result<(Vec<f32>, Vec<f32>)> {
        Ok((self.syn0.snapshot(), self.syn1.snapshot()))
    }

    fn epoch_loss(&self) -> f64 {
        // Each thread publishes its epoch's running sum last when its slice is done.
        sum_stats(&self.stats).0
    }

    fn into_matrices(self: Box<Self>) -> Result<(Vec<f32>, Vec<f32>)> {
        Ok((self.syn0.into_vec(), self.syn1.into_vec()))
    }
}

#[cfg(feature = "cuda")]
fn device_runner<'a>(
    index: usize,
    syn0: Vec<f32>,
    syn1: Vec<f32>,
    run: &RunContext,
) -> Result<Box<dyn EpochRunner + 'a>> {
    Ok(Box::new(cuda::CudaRunner::new(index, syn0, syn1, run)?))
}

#[cfg(not(feature = "cuda"))]
fn device_runner<'a>(
    index: usize,
    _: Vec<f32>,
    _: Vec<f32>,
    _: &RunContext,
) -> Result<Box<dyn EpochRunner + 'a>> {
    Err(Error::Device(format!(
        "cannot train on cuda:{index}: this wordvec was built without CUDA support (rebuild with `cargo build --release --features cuda`)"
    )))
}

fn sum_stats(stats: &[ThreadStats]) -> (f64, u64) {
    stats
        .iter()
        .map(ThreadStats::read)
        .fold((0.0, 0), |(l, p), (l2, p2)| (l + l2, p + p2))
}

/// `files`, or an error if there are none.
fn nonempty(files: &[PathBuf]) -> Result<Vec<PathBuf>> {
    if files.is_empty() {
        return Err(Error::invalid("no corpus file given"));
    }
    Ok(files.to_vec())
}

/// The size of a corpus's files, for progress (0 for a stream).
fn corpus_bytes(corpus: &Sentences) -> Result<u64> {
    match corpus {
        Sentences::Files(paths) => corpus::total_bytes(paths),
        Sentences::Stream(_) => Ok(0),
    }
}

/// Counts the words of `corpus` (to build a vocabulary with [`TrainVocab::from_counts_with`],
/// or to update one with [`TrainState::update_vocab`]).
pub fn count_words(corpus: Sentences) -> Result<hashbrown::HashMap<Box<str>, u64>> {
    Ok(corpus::count_in(corpus, &crate::progress::Silent)?.0)
}

/// The word vectors of trained matrices: the input rows themselves for a word model; for a
/// subword model fastText's vectors, with the model they come from (holding `input` and a
/// copy of `output`).
fn word_vectors(
    cfg: &TrainConfig,
    vocab: &TrainVocab,
    input: Vec<f32>,
    output: &[f32],
) -> Result<(Vec<f32>, Option<SubwordModel>)> {
    if !cfg.subwords() {
        return Ok((input, None));
    }
    let model = SubwordModel::new(cfg, input, output.to_vec());
    Ok((model.word_vectors(vocab.words())?, Some(model)))
}

/// Convenience: trains and returns embeddings in one call.
pub fn train(config: TrainConfig, corpus_files: &[PathBuf]) -> Result<Embeddings> {
    Trainer::new(config)?.train(corpus_files)?.to_embeddings()
}

/// Reads a checkpoint's epoch count (for messages).
pub fn checkpoint_epochs(path: &Path) -> Result<usize> {
    Ok(TrainState::load(path)?.epochs_done)
}
