//! `wordvec train`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use wordvec::train::{Model, TrainConfig, TrainState, Trainer};
use wordvec::{Format, SaveOptions};

use super::{progress_bar, FormatArg};

#[derive(Debug, Args)]
pub(crate) struct TrainArgs {
    /// Corpus files: plain text or gzip, whitespace-separated words, one sentence per line.
    #[arg(required = true)]
    pub corpus: Vec<PathBuf>,
    /// Output vectors (format from --format, else from the extension: .wvec native, .txt text,
    /// anything else word2vec binary).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Skip-gram or CBOW.
    #[arg(long, value_enum, default_value_t = ModelArg::Cbow)]
    pub model: ModelArg,
    /// Vector dimensions [default: 100; with --update, the model's].
    #[arg(long)]
    pub dim: Option<usize>,
    /// Maximum context window on each side.
    #[arg(long, default_value_t = 5)]
    pub window: usize,
    /// Negative samples per positive pair.
    #[arg(long, default_value_t = 5)]
    pub negative: usize,
    /// Subsampling threshold for frequent words (0 disables).
    #[arg(long, default_value_t = 1e-3)]
    pub sample: f64,
    /// Drop words seen fewer times.
    #[arg(long, default_value_t = 5)]
    pub min_count: u64,
    /// Keep at most N of the most frequent words.
    #[arg(long, value_name = "N")]
    pub max_vocab: Option<usize>,
    /// Passes over the corpus.
    #[arg(long, default_value_t = 5)]
    pub epochs: usize,
    /// Starting learning rate [default: 0.025 skip-gram, 0.05 CBOW].
    #[arg(long)]
    pub alpha: Option<f32>,
    /// Final learning rate [default: alpha * 1e-4].
    #[arg(long)]
    pub min_alpha: Option<f32>,
    /// Training threads [default: all cores].
    #[arg(long)]
    pub threads: Option<usize>,
    /// Random seed (with --threads 1 the output is reproducible bit for bit).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Skip-gram: train each window's context words against shared negatives as small matrix
    /// products (pWord2Vec); faster at the same quality. `--batched false` runs the classic
    /// per-pair updates of the C tool.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub batched: bool,
    /// Where to train: cpu, or cuda[:N] for GPU N (needs a build with `--features cuda`).
    #[arg(long, default_value = "cpu", value_name = "DEVICE")]
    pub device: String,
    /// Output format.
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// Also write the vocabulary with counts ("word count" lines, as the C tool's -save-vocab).
    #[arg(long, value_name = "FILE")]
    pub save_vocab: Option<PathBuf>,
    /// After every epoch, save the vectors and a checkpoint (OUTPUT.ckpt) atomically.
    #[arg(long)]
    pub checkpoint_every_epoch: bool,
    /// Continue from a checkpoint written by --checkpoint-every-epoch (same settings).
    #[arg(long, value_name = "CHECKPOINT", conflicts_with = "update")]
    pub resume: Option<PathBuf>,
    /// Go on training a finished model on the new corpus (gensim's online training): words
    /// of the corpus seen --min-count times are added, known words keep their rows and go on
    /// training. MODEL is a training state (OUTPUT.ckpt, written by --checkpoint-every-epoch and
    /// by every --update, which writes the updated state beside OUTPUT).
    #[arg(long, value_name = "MODEL")]
    pub update: Option<PathBuf>,
}

impl TrainArgs {
    /// The settings the flags ask for (the dimensions of `model_dims`, an updated model's,
    /// unless --dim is given).
    fn config(&self, model_dims: Option<usize>) -> Result<TrainConfig> {
        Ok(TrainConfig::default()
            .model(match self.model {
                ModelArg::Skipgram => Model::SkipGram,
                ModelArg::Cbow => Model::Cbow,
            })
            .dims(self.dim.or(model_dims).unwrap_or(100))
            .window(self.window)
            .negative(self.negative)
            .sample(self.sample)
            .min_count(self.min_count)
            .max_vocab(self.max_vocab)
            .epochs(self.epochs)
            .alpha(self.alpha)
            .min_alpha(self.min_alpha)
            .threads(self.threads.unwrap_or(TrainConfig::default().threads))
            .seed(self.seed)
            .batched(self.batched)
            .device(self.device.parse()?))
    }
}

/// The training state of `--update MODEL`, with what to do when MODEL holds none.
fn load_state(path: &std::path::Path) -> Result<TrainState> {
    TrainState::load(path).with_context(|| {
        format!(
            "--update needs a model with its training state (output vectors and counts), as \
             written to OUTPUT.ckpt by --checkpoint-every-epoch or --update; {} holds none",
            path.display()
        )
    })
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum ModelArg {
    Skipgram,
    Cbow,
}

pub(crate) fn run(a: TrainArgs) -> Result<()> {
    let corpus: Vec<&std::path::Path> = a.corpus.iter().map(|p| p.as_path()).collect();
    wordvec::io::check_not_input(&a.output, &corpus)?;
    wordvec::io::OutputPath::new(&a.output)?;
    if let Some(v) = &a.save_vocab {
        wordvec::io::check_not_input(v, &corpus)?;
    }
    let update = a.update.as_deref().map(load_state).transpose()?;
    let model_dims = update.as_ref().map(|s| s.config.dims);
    let config = a.config(model_dims)?;
    let format = a
        .format
        .map_or_else(|| Format::from_extension(&a.output), Format::from);

    let bar = ProgressBar::new(1000);
    bar.set_style(
        ProgressStyle::with_template("epoch {msg} [{bar:30}] {percent:>3}% {elapsed} (eta {eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let bar2 = bar.clone();
    let mut trainer = Trainer::new(config)?
        .with_io_progress(progress_bar("reading corpus"))
        .on_progress(move |p| {
            bar2.set_position(p.words_done * 1000 / p.words_total.max(1));
            bar2.set_message(format!(
                "{}/{}  {:.0}k words/s  lr {:.5}  loss {:.4}",
                p.epoch,
                p.epochs,
                p.words_per_sec / 1e3,
                p.alpha,
                p.loss
            ));
        });
    let mut ck = a.output.clone().into_os_string();
    ck.push(".ckpt");
    let ck = PathBuf::from(ck);
    if a.checkpoint_every_epoch {
        trainer = trainer.checkpoint_every_epoch(&ck);
        let out = a.output.clone();
        trainer = trainer
            .on_epoch(move |_, emb| wordvec::save(emb, &out, format, &SaveOptions::default()));
    }
    if let Some(r) = &a.resume {
        trainer = trainer.resume_from(r);
    }
    super::stop_on_ctrl_c(trainer.stop_flag(), "sentences")?;

    let trained = match update {
        Some(state) => trainer.train_update(state, &a.corpus)?,
        None => trainer.train(&a.corpus)?,
    };
    bar.finish_and_clear();
    if trained.interrupted {
        let hint = if a.checkpoint_every_epoch {
            format!(
                "; the checkpoint of epoch {} is in {}.ckpt (continue with --resume)",
                trained.epochs_done,
                a.output.display()
            )
        } else {
            String::new()
        };
        eprintln!(
            "interrupted during epoch {}: vectors not written{hint}",
            trained.epochs_done + 1
        );
        std::process::exit(130);
    }
    let emb = trained
        .to_embeddings()
        .context("training diverged (NaN vectors): lower --alpha")?;
    wordvec::save(&emb, &a.output, format, &SaveOptions::default())?;
    if let Some(v) = &a.save_vocab {
        trained.vocab.save(v)?;
    }
    eprintln!(
        "trained {} words x {} dims in {:.1} s ({:.0} words/s over {} epochs); wrote {} ({format})",
        emb.len(),
        emb.dims(),
        trained.train_seconds,
        trained.words_per_sec(),
        trained.epochs_done,
        a.output.display()
    );
    if a.update.is_some() {
        trained.into_state().save(&ck)?;
        eprintln!("wrote the training state to {}", ck.display());
    }
    Ok(())
}
