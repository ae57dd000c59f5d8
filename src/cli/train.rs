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
    /// Skip-gram or CBOW [default: cbow; with --update, the model's].
    #[arg(long, value_enum)]
    pub model: Option<ModelArg>,
    /// Vector dimensions [default: 100; with --update, the model's].
    #[arg(long)]
    pub dim: Option<usize>,
    /// Maximum context window on each side [default: 5; with --update, the model's].
    #[arg(long)]
    pub window: Option<usize>,
    /// Negative samples per positive pair [default: 5; with --update, the model's].
    #[arg(long)]
    pub negative: Option<usize>,
    /// Subsampling threshold for frequent words, 0 disables [default: 1e-3; with --update, the
    /// model's].
    #[arg(long)]
    pub sample: Option<f64>,
    /// Drop words seen fewer times [default: 5; with --update, the model's].
    #[arg(long)]
    pub min_count: Option<u64>,
    /// Keep at most N of the most frequent words.
    #[arg(long, value_name = "N")]
    pub max_vocab: Option<usize>,
    /// Passes over the corpus [default: 5; with --update, the model's].
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Starting learning rate [default: 0.025 skip-gram, 0.05 CBOW; with --update, a
    /// checkpoint's].
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
    /// per-pair updates of the C tool. Subword CBOW (--minn > 0): read and update each word's
    /// n-gram rows once per occurrence, not once per window; `--batched false` runs
    /// fastText's updates.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub batched: bool,
    /// Negatives are drawn from count^EXP: 0.75 as word2vec and gensim; fastText draws from
    /// count^0.5 [default: 0.75; with --update, a checkpoint's].
    #[arg(long, value_name = "EXP")]
    pub ns_exponent: Option<f64>,
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
    /// by every --update, which writes the updated state beside OUTPUT) or an unsupervised
    /// fastText .bin (written by fastText, gensim or wordvec: its vocabulary, counts and both
    /// matrices), e.g. `wordvec train new.txt --update cc.en.300.bin -o more.bin`. A subword
    /// model keeps its n-gram settings and bucket rows: new words get rows of their own and
    /// share the trained n-gram rows.
    #[arg(long, value_name = "MODEL")]
    pub update: Option<PathBuf>,
    #[command(flatten)]
    pub subwords: SubwordArgs,
}

/// fastText's subword model: on when `--maxn >= --minn > 0`.
#[derive(Debug, Args)]
pub(crate) struct SubwordArgs {
    /// Shortest character n-gram in code points; 0 trains word vectors only. With n-grams, an
    /// output named .bin (or --format fasttext) is fastText's .bin model (with
    /// --checkpoint-every-epoch it is written at the end only; the checkpoint is kept each
    /// epoch), .wvec keeps the n-grams too [default: 0; with --update, the model's].
    #[arg(long)]
    pub minn: Option<usize>,
    /// Longest character n-gram in code points [default: 6 (fastText's); with --update, the
    /// model's].
    #[arg(long)]
    pub maxn: Option<usize>,
    /// Hash buckets of the n-gram rows [default: 2000000; with --update, the model's].
    #[arg(long)]
    pub buckets: Option<usize>,
    /// Also write the word vectors as word2vec text, OUTPUT with the extension .vec (as fastText).
    #[arg(long)]
    pub save_vectors: bool,
}

impl TrainArgs {
    /// The settings the flags ask for. With `--update`, each setting a flag does not give is
    /// `model`'s, as gensim's `train` after `build_vocab(update=True)` takes the model's own:
    /// objective, dimensions and n-grams (the trainer refuses others), window, negatives,
    /// subsampling, min-count and epochs (from a fastText `.bin`'s arguments too), and the
    /// learning rates and negative-sampling exponent (a checkpoint's; a fastText `.bin` does
    /// not store them, so they are the defaults).
    fn config(&self, model: Option<&TrainConfig>) -> Result<TrainConfig> {
        let sw = &self.subwords;
        let base = model.cloned().unwrap_or_default();
        // An updated model's n-grams, or none (minn 0) with fastText's other defaults.
        let (minn, maxn, bucket) = match model {
            Some(m) if m.subwords() => (m.minn, m.maxn, m.bucket),
            _ => (0, 6, TrainConfig::default().bucket),
        };
        Ok(TrainConfig::default()
            .model(match (self.model, model) {
                (Some(ModelArg::Skipgram), _) => Model::SkipGram,
                (Some(ModelArg::Cbow), _) => Model::Cbow,
                (None, Some(m)) => m.model,
                (None, None) => Model::Cbow,
            })
            .dims(self.dim.or(model.map(|m| m.dims)).unwrap_or(100))
            .window(self.window.unwrap_or(base.window))
            .negative(self.negative.unwrap_or(base.negative))
            .sample(self.sample.unwrap_or(base.sample))
            .min_count(self.min_count.unwrap_or(base.min_count))
            .max_vocab(self.max_vocab)
            .epochs(self.epochs.unwrap_or(base.epochs))
            .alpha(self.alpha.or(base.alpha))
            .min_alpha(self.min_alpha.or(base.min_alpha))
            .threads(self.threads.unwrap_or(TrainConfig::default().threads))
            .seed(self.seed)
            .batched(self.batched)
            .ns_exponent(self.ns_exponent.unwrap_or(base.ns_exponent))
            .device(self.device.parse()?)
            .minn(sw.minn.unwrap_or(minn))
            .maxn(sw.maxn.unwrap_or(maxn))
            .bucket(sw.buckets.unwrap_or(bucket)))
    }
}

/// The training state of `--update MODEL`: a fastText `.bin` (told by its magic number) or a
/// checkpoint, with what to do when MODEL is neither.
fn load_state(path: &std::path::Path) -> Result<TrainState> {
    let mut head = [0u8; 8];
    let n = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
        .with_context(|| format!("cannot read {}", path.display()))?;
    if wordvec::formats::fasttext::is_fasttext(&head[..n]) {
        return TrainState::from_fasttext(path)
            .with_context(|| format!("--update reads {} as a fastText model", path.display()));
    }
    TrainState::load(path).with_context(|| {
        format!(
            "--update needs a model with its training state (output vectors and counts): a \
             fastText .bin, or OUTPUT.ckpt as written by --checkpoint-every-epoch or --update; \
             {} holds none",
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
    let config = a.config(update.as_ref().map(|s| &s.config))?;
    let format = a
        .format
        .map_or_else(|| Format::from_extension(&a.output), Format::from);
    let fasttext_out = fasttext_output(&a, format, config.subwords())?;
    let vectors_out = a
        .subwords
        .save_vectors
        .then(|| a.output.with_extension("vec"));
    if let Some(v) = &vectors_out {
        wordvec::io::check_not_input(v, &corpus)?;
    }

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
        if !fasttext_out {
            trainer = trainer
                .on_epoch(move |_, emb| wordvec::save(emb, &out, format, &SaveOptions::default()));
        }
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
    match (&trained.subwords, fasttext_out) {
        (Some(model), true) => model.save_fasttext(&trained.vocab, &a.output)?,
        _ => wordvec::save(&emb, &a.output, format, &SaveOptions::default())?,
    }
    if let Some(v) = &vectors_out {
        wordvec::save(&emb, v, Format::Word2VecText, &SaveOptions::default())?;
    }
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
        a.output.display(),
        format = if fasttext_out {
            "fasttext"
        } else {
            format.name()
        }
    );
    if a.update.is_some() {
        // The embeddings share a subword model's input matrix: dropped first, the state
        // takes it without a copy.
        drop(emb);
        trained.into_state().save(&ck)?;
        eprintln!("wrote the training state to {}", ck.display());
    }
    Ok(())
}

/// Whether the output is fastText's `.bin`: with subwords, when asked by `--format fasttext`
/// or by a `.bin` name without `--format`. fastText's format without subwords is refused
/// before training (its readers need the n-gram settings a word model lacks).
fn fasttext_output(a: &TrainArgs, format: Format, subwords: bool) -> Result<bool> {
    let by_name = a.format.is_none()
        && a.output
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("bin"));
    if format == Format::FastText && !subwords {
        anyhow::bail!("--format fasttext writes subword models only: give --minn 3 --maxn 6 (say)");
    }
    Ok(subwords && (format == Format::FastText || by_name))
}
