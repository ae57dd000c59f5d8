//! `wordvec classify train|eval|predict`: the embedding-MLP text classifier.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use wordvec::classify::{
    self, plot, Activation, ClassWeights, Classifier, ClassifierConfig, DataOptions, Dataset,
    Evaluation, LossChoice, ModelFile, OptimizerConfig, OptimizerKind,
};

use super::{open_vectors, output, LoadArgs};

#[derive(Debug, Subcommand)]
pub(crate) enum ClassifyCommand {
    /// Train a classifier on a CSV/TSV file (header row; text and label columns by name).
    #[command(
        after_help = "Examples:\n  wordvec classify train tweets.csv -o tweets.wvcls\n  wordvec classify train reviews.tsv -o m.wvcls --vectors news.wvec --freeze --hidden 64,32 --plot loss.png\n  wordvec classify train tags.csv -o tags.wvcls --multi-label '|' --class-weights inverse --patience 3\n  wordvec classify train tweets.csv -o tweets.wvcls --epochs 30 --resume tweets.wvcls"
    )]
    Train(Box<TrainArgs>),
    /// Score a model on a labelled file: accuracy, macro-F1, per-label precision/recall,
    /// confusion matrix.
    #[command(after_help = "Example:\n  wordvec classify eval tweets.wvcls held-out.csv")]
    Eval(EvalArgs),
    /// Write a model without its training state (the weights a server needs, a third to a
    /// quarter of the size; it can no longer be resumed).
    #[command(
        after_help = "Example:\n  wordvec classify export tweets.wvcls -o tweets-serve.wvcls"
    )]
    Export(ExportArgs),
    /// Predict labels of texts given as arguments, or of stdin's lines.
    #[command(
        after_help = "Examples:\n  wordvec classify predict tweets.wvcls \"what a lovely day\" \"so tired of this\"\n  wordvec classify predict tweets.wvcls - --json < texts.txt"
    )]
    Predict(PredictArgs),
}

#[derive(Debug, Clone, Args)]
pub(crate) struct DataArgs {
    /// Name of the text column.
    #[arg(long, default_value = "text")]
    pub text_column: String,
    /// Name of the label column.
    #[arg(long, default_value = "label")]
    pub label_column: String,
    /// Field delimiter (default: tab for .tsv/.tab files, else comma).
    #[arg(long)]
    pub delimiter: Option<char>,
    /// Texts may have several labels, separated by SEP in the label column.
    #[arg(long, value_name = "SEP")]
    pub multi_label: Option<String>,
}

impl DataArgs {
    fn options(&self) -> Result<DataOptions> {
        let delimiter = match self.delimiter {
            None => None,
            Some(c) if c.is_ascii() => Some(c as u8),
            Some(c) => bail!("--delimiter {c:?}: must be one ASCII character"),
        };
        if self.multi_label.as_deref() == Some("") {
            bail!("--multi-label: the separator is empty");
        }
        Ok(DataOptions {
            text_column: self.text_column.clone(),
            label_column: self.label_column.clone(),
            delimiter,
            multi_label: self.multi_label.clone(),
        })
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ActivationArg {
    Relu,
    LeakyRelu,
    Gelu,
    Tanh,
    Sigmoid,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LossArg {
    Auto,
    Bce,
    Ce,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OptimizerArg {
    Adam,
    Sgd,
}

#[derive(Debug, Args)]
pub(crate) struct TrainArgs {
    /// The labelled data (CSV or TSV with a header row).
    pub data: PathBuf,
    /// Where to write the model (with the state to resume training from it).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Also write the model after every epoch (a checkpoint to resume from after a crash).
    #[arg(long)]
    pub checkpoint_every_epoch: bool,
    #[command(flatten)]
    pub data_args: DataArgs,
    /// Start the embedding from these vectors (word2vec bin/text, GloVe or native).
    #[arg(long, value_name = "PRETRAINED")]
    pub vectors: Option<PathBuf>,
    /// Keep the pretrained embedding fixed.
    #[arg(long, requires = "vectors")]
    pub freeze: bool,
    /// Embedding dimension [default: 100, or the pretrained vectors']
    #[arg(long)]
    pub dim: Option<usize>,
    /// Hidden layer widths, comma-separated ("none" for no hidden layer).
    #[arg(long, default_value = "10", value_parser = parse_hidden)]
    pub hidden: HiddenArg,
    /// Hidden activation.
    #[arg(long, value_enum, default_value_t = ActivationArg::Relu)]
    pub activation: ActivationArg,
    /// Dropout after each hidden activation (training only).
    #[arg(long, default_value_t = 0.5)]
    pub dropout: f32,
    /// Loss: auto = BCE for 2 labels (one sigmoid output), CE for more, BCE per label for
    /// multi-label data.
    #[arg(long, value_enum, default_value_t = LossArg::Auto)]
    pub loss: LossArg,
    /// Class weights in the loss: none, inverse, sqrt-inverse, or one weight per label in
    /// sorted label order ("0.2,0.8").
    #[arg(long, default_value = "none", value_parser = parse_class_weights)]
    pub class_weights: ClassWeightsArg,
    /// Sample batches with class-balancing weights (capped oversampling of small classes).
    #[arg(long)]
    pub balance_batches: bool,
    /// Optimiser.
    #[arg(long, value_enum, default_value_t = OptimizerArg::Adam)]
    pub optimizer: OptimizerArg,
    /// Learning rate.
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f32,
    /// SGD momentum (--momentum alone means 0.9).
    #[arg(long, num_args = 0..=1, default_missing_value = "0.9", default_value_t = 0.0)]
    pub momentum: f32,
    /// Texts per batch.
    #[arg(long, default_value_t = 256)]
    pub batch_size: usize,
    /// Epochs (in total, when resuming).
    #[arg(long, default_value_t = 15)]
    pub epochs: usize,
    /// Words seen fewer times in the training split map to <unk>.
    #[arg(long, default_value_t = 10)]
    pub min_count: usize,
    /// Standard deviation of the random initial embedding rows (PyTorch's default is 1).
    #[arg(long, default_value_t = 0.1)]
    pub init_std: f32,
    /// Give runs of up to N consecutive words their own rows too (fastText's -wordNgrams).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub word_ngrams: usize,
    /// Train, validation and test fractions (the rows are shuffled with --seed first).
    #[arg(long, default_value = "0.8,0.1,0.1", value_parser = parse_split)]
    pub split: SplitArg,
    /// Validation data in its own file (then DATA is all training data and --split is unused).
    #[arg(long, value_name = "FILE")]
    pub valid_data: Option<PathBuf>,
    /// Test data in its own file (then DATA is all training data and --split is unused).
    #[arg(long, value_name = "FILE")]
    pub test_data: Option<PathBuf>,
    /// Seed of the split, the initial weights, the batch order and dropout.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Stop after N epochs without a lower validation loss (the best epoch's weights are
    /// kept in any case).
    #[arg(long, value_name = "N")]
    pub patience: Option<usize>,
    /// Continue the training saved in this model file (same data; its settings are kept,
    /// except --epochs and --patience).
    #[arg(long, value_name = "CHECKPOINT")]
    pub resume: Option<PathBuf>,
    /// Draw the training and validation loss curves into this PNG.
    #[arg(long, value_name = "PNG")]
    pub plot: Option<PathBuf>,
    /// Print the history and the test report as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub load: LoadArgs,
}

#[derive(Debug, Clone)]
pub(crate) struct HiddenArg(Vec<usize>);

fn parse_hidden(s: &str) -> Result<HiddenArg, String> {
    if s == "none" || s.is_empty() {
        return Ok(HiddenArg(Vec::new()));
    }
    s.split(',')
        .map(|w| match w.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!("{w:?} is not a layer width (a positive integer)")),
        })
        .collect::<Result<_, _>>()
        .map(HiddenArg)
}

#[derive(Debug, Clone)]
pub(crate) struct SplitArg([f64; 3]);

fn parse_split(s: &str) -> Result<SplitArg, String> {
    let v: Vec<f64> = s
        .split(',')
        .map(|x| x.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("{s:?}: expected three fractions like 0.8,0.1,0.1"))?;
    match v[..] {
        [a, b, c] => Ok(SplitArg([a, b, c])),
        _ => Err(format!("{s:?}: expected three fractions like 0.8,0.1,0.1")),
    }
}

#[derive(Debug, Clone)]
pub(crate) struct ClassWeightsArg(ClassWeights);

fn parse_class_weights(s: &str) -> Result<ClassWeightsArg, String> {
    Ok(ClassWeightsArg(match s {
        "none" => ClassWeights::None,
        "inverse" => ClassWeights::Inverse,
        "sqrt-inverse" => ClassWeights::SqrtInverse,
        _ => ClassWeights::Explicit(
            s.split(',')
                .map(|w| {
                    w.trim().parse::<f32>().map_err(|_| {
                        format!(
                            "{s:?}: expected none, inverse, sqrt-inverse or weights like 0.2,0.8"
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
        ),
    }))
}

#[derive(Debug, Args)]
pub(crate) struct EvalArgs {
    /// The model file.
    pub model: PathBuf,
    /// Labelled data (CSV/TSV with a header row).
    pub data: PathBuf,
    #[command(flatten)]
    pub data_args: DataArgs,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// The model file written by `classify train`.
    pub model: PathBuf,
    /// Where to write the model without training state.
    #[arg(short, long)]
    pub output: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct PredictArgs {
    /// The model file.
    pub model: PathBuf,
    /// Texts to classify; none or "-" reads one text per line from stdin.
    pub texts: Vec<String>,
    /// One JSON object per text: text, label(s), every label's probability.
    #[arg(long)]
    pub json: bool,
}

pub(crate) fn run(cmd: ClassifyCommand) -> Result<()> {
    match cmd {
        ClassifyCommand::Train(a) => train(*a),
        ClassifyCommand::Eval(a) => eval(a),
        ClassifyCommand::Predict(a) => predict(a),
        ClassifyCommand::Export(a) => export(a),
    }
}

fn export(a: ExportArgs) -> Result<()> {
    let mut m = ModelFile::load(&a.model)?;
    m.state = None;
    m.save(&a.output)?;
    let (before, after) = (
        std::fs::metadata(&a.model)?.len(),
        std::fs::metadata(&a.output)?.len(),
    );
    writeln!(
        std::io::stdout(),
        "{}: {after} bytes (from {before})",
        a.output.display()
    )?;
    Ok(())
}

fn train(a: TrainArgs) -> Result<()> {
    a.check_outputs()?;
    let t = Instant::now();
    let (data, presplit) = Dataset::read_split(
        &a.data,
        a.valid_data.as_deref(),
        a.test_data.as_deref(),
        &a.data_args.options()?,
    )?;
    tracing::info!(rows = data.len(), elapsed = ?t.elapsed(), "read the data");
    let pretrained = match &a.vectors {
        Some(p) => Some(open_vectors(Some(p), &a.load)?),
        None => None,
    };
    let dim = ClassifierConfig::embedding_dim(a.dim, pretrained.as_ref(), "--dim")?;
    let config = a.config(dim, presplit);
    let resume = a.load_resume(&config)?;
    let resumed_from = resume
        .as_ref()
        .and_then(|r| r.state.as_ref())
        .map_or(0, |s| s.epochs_done);

    let stop = Arc::new(AtomicBool::new(false));
    super::stop_on_ctrl_c(stop.clone(), "epoch")?;
    let bar = epoch_bar(a.epochs, resumed_from);
    let start = Instant::now();
    let out = classify::train(
        &data,
        &config,
        pretrained.as_ref(),
        resume,
        Some(&stop),
        |r, file| {
            if a.checkpoint_every_epoch {
                file.save(&a.output)?;
            }
            show_epoch(&bar, r, a.json);
            Ok(())
        },
    )?;
    bar.finish_and_clear();
    let seconds = start.elapsed().as_secs_f64();
    let t = Instant::now();
    out.model.save(&a.output)?;
    tracing::info!(elapsed = ?t.elapsed(), "saved the model");
    if let Some(p) = &a.plot {
        let state = out.model.state.as_ref().expect("training state");
        plot::plot_losses(&state.history, p)?;
    }
    let summary = out.summary(&a.output, data.len(), seconds);
    if a.json {
        return output::json(&summary);
    }
    writeln!(std::io::stdout(), "{summary}")?;
    if stop.load(Ordering::Relaxed) {
        writeln!(
            std::io::stdout(),
            "interrupted; continue with --resume {}",
            a.output.display()
        )?;
    }
    writeln!(std::io::stdout(), "model: {}", a.output.display())?;
    if let Some(t) = &out.test {
        writeln!(std::io::stdout(), "\ntest split:")?;
        print_evaluation(t, &out.model.classifier)?;
    }
    Ok(())
}

impl TrainArgs {
    /// The model and the plot are written to paths that are none of the inputs (nor each other).
    fn check_outputs(&self) -> Result<()> {
        let inputs: Vec<&Path> = [
            Some(&self.data),
            self.valid_data.as_ref(),
            self.test_data.as_ref(),
            self.vectors.as_ref(),
        ]
        .into_iter()
        .flatten()
        .map(|p| p.as_path())
        .collect();
        wordvec::io::check_not_input(&self.output, &inputs)?;
        wordvec::io::OutputPath::new(&self.output)?;
        if let Some(plot) = &self.plot {
            wordvec::io::check_not_input(plot, &inputs)?;
            wordvec::io::check_not_input(plot, &[self.output.as_path()])?;
        }
        Ok(())
    }

    /// The run the flags ask for, with the embedding dimension `dim` and the split of the data
    /// files (`presplit`) decided by the library.
    fn config(&self, dim: usize, presplit: Option<(usize, usize)>) -> ClassifierConfig {
        ClassifierConfig {
            dim,
            hidden: self.hidden.0.clone(),
            activation: self.activation.into(),
            dropout: self.dropout,
            loss: self.loss.into(),
            class_weights: self.class_weights.0.clone(),
            balance_batches: self.balance_batches,
            optimizer: OptimizerConfig {
                kind: self.optimizer.into(),
                lr: self.lr,
                momentum: self.momentum,
            },
            batch_size: self.batch_size,
            epochs: self.epochs,
            min_count: self.min_count,
            word_ngrams: self.word_ngrams,
            split: self.split.0,
            presplit,
            seed: self.seed,
            patience: self.patience,
            freeze: self.freeze,
            init_std: self.init_std,
        }
    }

    /// The model file of `--resume`, with a warning when the flags ask for settings other than
    /// the saved ones (which the run keeps).
    fn load_resume(&self, config: &ClassifierConfig) -> Result<Option<ModelFile>> {
        let Some(path) = &self.resume else {
            return Ok(None);
        };
        let file = ModelFile::load(path)?;
        if !config.resumes_as(&file.config) {
            tracing::warn!(
                "resuming with the settings saved in {}; only --epochs and --patience change",
                path.display()
            );
        }
        Ok(Some(file))
    }
}

impl From<ActivationArg> for Activation {
    fn from(a: ActivationArg) -> Activation {
        match a {
            ActivationArg::Relu => Activation::Relu,
            ActivationArg::LeakyRelu => Activation::LeakyRelu,
            ActivationArg::Gelu => Activation::Gelu,
            ActivationArg::Tanh => Activation::Tanh,
            ActivationArg::Sigmoid => Activation::Sigmoid,
        }
    }
}

impl From<LossArg> for LossChoice {
    fn from(l: LossArg) -> LossChoice {
        match l {
            LossArg::Auto => LossChoice::Auto,
            LossArg::Bce => LossChoice::Bce,
            LossArg::Ce => LossChoice::Ce,
        }
    }
}

impl From<OptimizerArg> for OptimizerKind {
    fn from(o: OptimizerArg) -> OptimizerKind {
        match o {
            OptimizerArg::Adam => OptimizerKind::Adam,
            OptimizerArg::Sgd => OptimizerKind::Sgd,
        }
    }
}

/// The progress bar of `epochs` epochs, `done` of them already.
fn epoch_bar(epochs: usize, done: usize) -> ProgressBar {
    let bar = ProgressBar::new(epochs as u64);
    bar.set_style(
        ProgressStyle::with_template("epoch {pos}/{len} [{bar:30}] {elapsed} {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_position(done as u64);
    bar
}

/// An epoch's line (above the bar, or on stdout when the bar is hidden; none with `--json`)
/// and the bar's progress.
fn show_epoch(bar: &ProgressBar, r: &classify::EpochReport, quiet: bool) {
    match (quiet, bar.is_hidden()) {
        (true, _) => {}
        // A closed stdout (`| head`) must not stop training: the model is still saved.
        (false, true) => {
            let _ = writeln!(std::io::stdout(), "{r}");
        }
        (false, false) => bar.println(r.to_string()),
    }
    bar.set_position(r.epoch as u64);
    bar.set_message(format!("loss {:.4}", r.train_loss));
}

fn print_evaluation(e: &Evaluation, c: &Classifier) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{} texts  loss {:.4}  accuracy {:.2}%  macro-F1 {:.4}",
        e.texts,
        e.loss,
        100.0 * e.accuracy,
        e.macro_f1
    )?;
    let width = c
        .labels
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(5)
        .max(5)
        + format!("[{}] ", c.labels.len()).len();
    writeln!(
        out,
        "{}  {:>9}  {:>9}  {:>9}  {:>7}",
        super::output::pad("label", width),
        "precision",
        "recall",
        "f1",
        "support"
    )?;
    for l in &e.labels {
        writeln!(
            out,
            "{}  {:>9.4}  {:>9.4}  {:>9.4}  {:>7}",
            super::output::pad(&l.label, width),
            l.precision,
            l.recall,
            l.f1,
            l.support
        )?;
    }
    if c.multi_label() {
        writeln!(
            out,
            "per label: {:>7} {:>7} {:>7} {:>7}",
            "tp", "fp", "fn", "tn"
        )?;
        for (l, row) in c.labels.iter().zip(&e.confusion) {
            writeln!(
                out,
                "{}  {:>7} {:>7} {:>7} {:>7}",
                super::output::pad(l, width),
                row[0],
                row[1],
                row[2],
                row[3]
            )?;
        }
    } else {
        writeln!(out, "confusion (rows: true label, columns: predicted):")?;
        let cell = e
            .confusion
            .iter()
            .flatten()
            .map(|n| n.to_string().len())
            .max()
            .unwrap_or(1)
            .max(3);
        write!(out, "{}", super::output::pad("", width))?;
        for i in 0..c.labels.len() {
            write!(out, " {:>cell$}", format!("[{i}]"))?;
        }
        writeln!(out)?;
        for (i, (l, row)) in c.labels.iter().zip(&e.confusion).enumerate() {
            write!(out, "{}", super::output::pad(&format!("[{i}] {l}"), width))?;
            for n in row {
                write!(out, " {n:>cell$}")?;
            }
            writeln!(out)?;
        }
    }
    Ok(())
}

fn eval(a: EvalArgs) -> Result<()> {
    let c = Classifier::load(&a.model)?;
    let data = Dataset::read(&a.data, &a.data_args.options()?)?;
    let e = c.evaluate(&data)?;
    if a.json {
        return output::json(&e);
    }
    writeln!(
        std::io::stdout(),
        "{} on {}",
        a.model.display(),
        a.data.display()
    )?;
    print_evaluation(&e, &c)
}

/// Texts per prediction batch when reading stdin.
const STDIN_BATCH: usize = 8192;

fn predict(a: PredictArgs) -> Result<()> {
    let c = Classifier::load(&a.model)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut emit = |texts: &[String], first_line: usize| -> Result<()> {
        let preds =
            c.predict(texts)
                .map_err(|e| match texts.iter().position(|t| t.trim().is_empty()) {
                    Some(i) if a.texts.is_empty() || a.texts == ["-"] => {
                        anyhow::anyhow!("stdin line {}: empty text", first_line + i)
                    }
                    _ => e.into(),
                })?;
        for (t, p) in texts.iter().zip(preds) {
            let label = p
                .labels
                .iter()
                .map(|&i| c.labels[i].as_str())
                .collect::<Vec<_>>()
                .join(",");
            if a.json {
                #[derive(Serialize)]
                struct Line<'a> {
                    text: &'a str,
                    label: String,
                    probabilities: serde_json::Map<String, serde_json::Value>,
                }
                let probabilities = c
                    .labels
                    .iter()
                    .zip(&p.probabilities)
                    .map(|(l, &v)| (l.clone(), serde_json::Value::from(v)))
                    .collect();
                serde_json::to_writer(
                    &mut out,
                    &Line {
                        text: t,
                        label,
                        probabilities,
                    },
                )?;
                writeln!(out)?;
            } else {
                // The label(s) and their probabilities; a multi-label text with no label over
                // 0.5 prints two empty columns.
                let probs = p
                    .labels
                    .iter()
                    .map(|&i| format!("{:.4}", p.probabilities[i]))
                    .collect::<Vec<_>>()
                    .join(",");
                writeln!(out, "{label}\t{probs}")?;
            }
        }
        Ok(())
    };
    if a.texts.is_empty() || a.texts == ["-"] {
        let stdin = std::io::stdin().lock();
        let mut batch = Vec::with_capacity(STDIN_BATCH);
        let mut first = 1;
        for (n, line) in stdin.lines().enumerate() {
            batch.push(line.with_context(|| format!("reading stdin line {}", n + 1))?);
            if batch.len() == STDIN_BATCH {
                emit(&batch, first)?;
                first += batch.len();
                batch.clear();
            }
        }
        if !batch.is_empty() {
            emit(&batch, first)?;
        }
    } else {
        emit(&a.texts, 1)?;
    }
    out.flush()?;
    Ok(())
}
