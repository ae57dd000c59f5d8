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
    /// Skip-gram only: batched windows with shared negatives (pWord2Vec; the default, as it is
    /// faster at the same quality, see BENCHMARKS.md); `false` runs the C tool's per-pair
    /// updates. Ignored for CBOW.
    pub batched: bool,
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
        words + if self.subwords() { self.bucket } else { 0 }
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

    /// Trains on the corpus files.
    pub fn train(&self, corpus_files: &[PathBuf]) -> Result<Trained> {
        let cfg = &self.config;
        if corpus_files.is_empty() {
            return Err(Error::invalid("no corpus file given"));
        }
        let io_bar = progress::or_silent(&self.io_progress);
        let total_bytes = corpus::total_bytes(corpus_files)?;

        let (vocab, syn0, syn1, start_epoch) = match &self.resume {
            Some(path) => {
                let ck = checkpoint::load(path)?;
                if !ck.config.same_training(cfg) {
                    return Err(Error::invalid(format!(
                        "{}: the checkpoint was made with different settings ({}); resume with the same ones",
                        path.display(),
                        serde_json::to_string(&ck.config).unwrap_or_default()
                    )));
                }
                tracing::info!(path = %path.display(), epochs_done = ck.epochs_done, "resuming from checkpoint");
                (ck.vocab, ck.syn0, ck.syn1, ck.epochs_done)
            }
            None => {
                io_bar.start("counting words", total_bytes);
                let (counts, total) = corpus::count_words(corpus_files, io_bar)?;
                tracing::info!(
                    tokens = total,
                    distinct = counts.len(),
                    "counted the corpus"
                );
                let vocab = TrainVocab::from_counts(counts, cfg.min_count, cfg.max_vocab)?;
                let (syn0, syn1) = if cfg.subwords() {
                    let syn0 = subword::init_input(vocab.len(), cfg)?;
                    (
                        syn0,
                        crate::limits::zeroed("the output matrix", vocab.len() * cfg.dims)?,
                    )
                } else {
                    init_matrices(vocab.len(), cfg.dims, cfg.seed)
                };
                (vocab, syn0, syn1, 0)
            }
        };
        io_bar.start("encoding the corpus", total_bytes);
        let encoded = corpus::EncodedCorpus::encode(corpus_files, &vocab, io_bar)?;
        io_bar.finish();
        let train_words = vocab.total();
        tracing::info!(words = vocab.len(), train_words, "vocabulary ready");
        let subword_rows = cfg
            .subwords()
            .then(|| SubwordRows::new(vocab.words(), cfg.minn, cfg.maxn, cfg.bucket))
            .transpose()?;

        let keep: Vec<f32> = vocab
            .counts()
            .iter()
            .map(|&c| keep_probability(c, train_words, cfg.sample))
            .collect();
        let alias = AliasTable::new(&unigram_weights(vocab.counts(), 0.75));
        let total_words = train_words * cfg.epochs as u64;
        let words_done = AtomicU64::new(train_words * start_epoch as u64);
        let run = RunContext {
            trainer: self,
            words_done: &words_done,
            total_words,
            keep: &keep,
            alias: &alias,
            encoded: &encoded,
            subwords: subword_rows.as_ref(),
        };
        let mut runner: Box<dyn EpochRunner + '_> = match cfg.device {
            Device::Cpu => Box::new(CpuRunner::new(syn0, syn1, cfg)),
            Device::Cuda(index) => device_runner(index, syn0, syn1, &run)?,
        };

        let started = Instant::now();
        let mut epochs_done = start_epoch;
        let mut interrupted = false;
        for epoch in start_epoch..cfg.epochs {
            runner.run_epoch(epoch, &run)?;
            if self.stop.load(Ordering::Relaxed) {
                interrupted = true;
                break;
            }
            epochs_done = epoch + 1;
            if self.checkpoint.is_some() || self.on_epoch.is_some() {
                let (s0, s1) = runner.snapshot()?;
                if let Some(path) = &self.checkpoint {
                    checkpoint::save(path, cfg, epochs_done, &vocab, &s0, &s1)?;
                }
                if let Some(f) = &self.on_epoch {
                    let (vectors, model) = word_vectors(cfg, &vocab, s0, s1)?;
                    let emb = match model {
                        Some(m) => m.embeddings(vocab.words(), vectors)?,
                        None => Embeddings::from_vectors(vocab.words(), vectors, cfg.dims)?,
                    };
                    f(epochs_done, &emb)?;
                }
            }
        }
        let train_seconds = started.elapsed().as_secs_f64();
        let words_trained = words_done.load(Ordering::Relaxed) - train_words * start_epoch as u64;
        let (s0, s1) = runner.into_matrices()?;
        let (vectors, subwords) = word_vectors(cfg, &vocab, s0, s1)?;
        Ok(Trained {
            vocab,
            vectors,
            dims: cfg.dims,
            epochs_done,
            interrupted,
            words_trained,
            train_seconds,
            subwords,
        })
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

/// The word vectors of trained matrices: the input rows themselves for a word model; for a
/// subword model fastText's vectors, with the model they come from.
fn word_vectors(
    cfg: &TrainConfig,
    vocab: &TrainVocab,
    syn0: Vec<f32>,
    syn1: Vec<f32>,
) -> Result<(Vec<f32>, Option<SubwordModel>)> {
    if !cfg.subwords() {
        return Ok((syn0, None));
    }
    let model = SubwordModel::new(cfg, syn0, syn1);
    Ok((model.word_vectors(vocab.words())?, Some(model)))
}

/// Input vectors uniform in `+-0.5 / dims` (as the C tool), output vectors zero.
fn init_matrices(words: usize, dims: usize, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let mut rng = Lcg::new(seed, u64::MAX);
    let syn0 = (0..words * dims)
        .map(|_| (rng.coin() - 0.5) / dims as f32)
        .collect();
    (syn0, vec![0.0; words * dims])
}

/// Convenience: trains and returns embeddings in one call.
pub fn train(config: TrainConfig, corpus_files: &[PathBuf]) -> Result<Embeddings> {
    Trainer::new(config)?.train(corpus_files)?.to_embeddings()
}

/// Reads a checkpoint's epoch count (for messages).
pub fn checkpoint_epochs(path: &Path) -> Result<usize> {
    Ok(checkpoint::load(path)?.epochs_done)
}
