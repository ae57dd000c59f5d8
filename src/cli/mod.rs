//! The `wordvec` command line: argument definitions and the glue from arguments to the library.
//! No logic lives here that a library user would need.

pub(crate) mod classify;
pub(crate) mod client;
pub(crate) mod convert;
pub(crate) mod embed;
pub(crate) mod eval;
pub(crate) mod index;
pub(crate) mod info;
pub(crate) mod output;
#[cfg(feature = "postgres")]
pub(crate) mod pg;
pub(crate) mod query;
pub(crate) mod serve;
pub(crate) mod train;
pub(crate) mod write;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use wordvec::progress::Progress;
use wordvec::{Embeddings, Format, LoadOptions, UnicodeErrors};

/// Word embeddings toolkit: load word2vec files by memory mapping, query, evaluate, train, index
/// and serve them.
///
/// Commands that take vectors use the embedded default model when no file is given: `wordvec nn
/// king` asks the default model, `wordvec nn vectors.bin king` asks vectors.bin.
#[derive(Debug, Parser)]
#[command(
    name = "wordvec",
    version,
    propagate_version = true,
    after_help = "Example:\n  wordvec nn GoogleNews-vectors-negative300.bin king queen -k 5"
)]
pub(crate) struct Cli {
    /// More log output (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Show what a vectors file holds: format, words, dimensions, first words.
    #[command(after_help = "Example:\n  wordvec info GoogleNews-vectors-negative300.bin")]
    Info(info::InfoArgs),
    /// Nearest neighbours of a word, or of the sum of several (like word2vec's `distance`).
    #[command(
        after_help = "Examples:\n  wordvec nn vectors.bin king -k 5\n  wordvec nn king --negative man   (embedded default model)\n  wordvec nn vectors.bin --queries words.txt --json\n  wordvec nn vectors.bin king --only cities.txt --exclude stop.txt"
    )]
    Nn(query::NnArgs),
    /// Analogy: A is to B as C is to ? (3CosAdd, or 3CosMul with --cosmul).
    #[command(after_help = "Example:\n  wordvec analogy vectors.bin man king woman   (-> queen)")]
    Analogy(query::AnalogyArgs),
    /// Text vectors: the mean of each text's word vectors (tokenised as the classifier does).
    #[command(
        after_help = "Examples:\n  wordvec embed vectors.bin \"the king and the queen\"\n  wordvec embed --unit --json < texts.txt   (embedded default model, one text per line)\n  wordvec embed \"a text\" --server http://127.0.0.1:50051"
    )]
    Embed(embed::EmbedArgs),
    /// Cosine similarity of two words.
    #[command(after_help = "Example:\n  wordvec similarity vectors.bin king queen")]
    Similarity(query::SimilarityArgs),
    /// The word that fits least with the others.
    #[command(
        name = "doesnt-match",
        after_help = "Example:\n  wordvec doesnt-match vectors.bin red green blue computer"
    )]
    DoesntMatch(query::DoesntMatchArgs),
    /// Convert between formats (bin, txt, glove, native); the output name picks the format.
    #[command(
        after_help = "Examples:\n  wordvec convert GoogleNews-vectors-negative300.bin.gz news.wvec\n  wordvec convert news.wvec news.txt\n  wordvec convert in.bin out.bin --to bin --binary-newline no\n  wordvec convert news.bin news.wvec --int8   (also news.wvec.i8, scanned first by exact queries)"
    )]
    Convert(convert::ConvertArgs),
    /// Evaluate vectors on analogies or word-pair similarity (gensim's rules).
    #[command(
        subcommand,
        after_help = "Examples:\n  wordvec eval analogies vectors.bin questions-words.txt\n  wordvec eval pairs vectors.bin wordsim353.tsv"
    )]
    Eval(eval::EvalCommand),
    /// Run the gRPC daemon (vectors, similarity, analogies; health, reflection, auth, limits).
    #[command(
        after_help = "Examples:\n  wordvec serve                                   (embedded default model on 127.0.0.1:50051)\n  wordvec serve --vectors news=news.wvec --index news=news.wvec.idx --metrics-listen 127.0.0.1:9090\n  wordvec serve --vectors news=news.wvec --wal-dir /var/lib/wordvec --auth-token-file token   (takes writes)\n  wordvec nn king --server http://127.0.0.1:50051"
    )]
    Serve(Box<serve::ServeArgs>),
    /// Add or replace words in a served model: every row of a vectors file, in batches (the
    /// server needs --wal-dir and --auth-token-file).
    #[command(
        after_help = "Example:\n  wordvec upsert new-words.txt --server http://127.0.0.1:50051 --model news --auth-token-file token"
    )]
    Upsert(write::UpsertArgs),
    /// Delete words from a served model (the server needs --wal-dir and --auth-token-file).
    #[command(
        after_help = "Example:\n  wordvec delete spam eggs --server http://127.0.0.1:50051 --model news --auth-token-file token"
    )]
    Delete(write::DeleteArgs),
    /// Compact a served model: its writes become its new base file, and its log starts again.
    #[command(
        after_help = "Example:\n  wordvec compact --server http://127.0.0.1:50051 --model news --auth-token-file token"
    )]
    Compact(write::CompactArgs),
    /// Build, inspect and evaluate HNSW indexes for approximate nearest-neighbour queries.
    #[command(
        subcommand,
        after_help = "Examples:\n  wordvec index build vectors.wvec\n  wordvec index eval vectors.wvec vectors.wvec.idx\n  wordvec index import vectors.wvec old.idx -o vectors.wvec.idx"
    )]
    Index(index::IndexCommand),
    /// Train word vectors (skip-gram or CBOW with negative sampling) on text files.
    #[command(
        after_help = "Examples:\n  wordvec train corpus.txt -o vectors.bin --model skipgram --dim 100 --epochs 5\n  wordvec train a.txt b.txt.gz -o v.wvec --checkpoint-every-epoch\n  wordvec train corpus.txt -o vectors.bin --resume vectors.bin.ckpt\n  wordvec train new.txt --update vectors.bin.ckpt -o v2.bin   (online training; writes v2.bin.ckpt)"
    )]
    Train(train::TrainArgs),
    /// Text classification: train an embedding-MLP on labelled CSV/TSV, evaluate it, predict.
    #[command(
        subcommand,
        after_help = "Examples:\n  wordvec classify train tweets.csv -o tweets.wvcls --plot loss.png\n  wordvec classify eval tweets.wvcls test.csv\n  wordvec classify predict tweets.wvcls \"what a day\"\n  wordvec serve --classifier tweets=tweets.wvcls"
    )]
    Classify(classify::ClassifyCommand),
    /// Write vectors into a PostgreSQL table (pgvector), resumably; --sync keeps it equal to the
    /// file.
    #[cfg(feature = "postgres")]
    #[command(
        after_help = "Examples:\n  PGPASSWORD=... wordvec export news.wvec postgres://app@db/vectors --table words --index hnsw\n  wordvec export retrained.wvec postgres://app@db/vectors --table words --sync   (password from ~/.pgpass)"
    )]
    Export(Box<pg::ExportArgs>),
    /// Read a PostgreSQL table with a text key and a pgvector column into a vectors file.
    #[cfg(feature = "postgres")]
    #[command(
        after_help = "Example:\n  wordvec import postgres://app@db/vectors --table words -o words.wvec"
    )]
    Import(pg::ImportArgs),
    /// Interactive nearest neighbours: type words, get neighbours ("-word" subtracts).
    #[command(after_help = "Example:\n  wordvec repl vectors.bin\n  > king -man woman")]
    Repl(query::ReplArgs),
}

/// How to read a vectors file.
#[derive(Debug, Clone, Args)]
pub(crate) struct LoadArgs {
    /// Read the file as this format instead of detecting it.
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// What to do with words that are not valid UTF-8.
    #[arg(long, value_enum, default_value_t = UnicodeErrorsArg::Strict)]
    pub unicode_errors: UnicodeErrorsArg,
    /// Read only the first N words.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormatArg {
    Bin,
    Txt,
    Glove,
    Native,
    /// A fastText model (.bin); read only.
    Fasttext,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Bin => Format::Word2VecBinary,
            FormatArg::Txt => Format::Word2VecText,
            FormatArg::Glove => Format::GloveText,
            FormatArg::Native => Format::Native,
            FormatArg::Fasttext => Format::FastText,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum UnicodeErrorsArg {
    Strict,
    Replace,
    Ignore,
}

impl From<UnicodeErrorsArg> for UnicodeErrors {
    fn from(u: UnicodeErrorsArg) -> Self {
        match u {
            UnicodeErrorsArg::Strict => UnicodeErrors::Strict,
            UnicodeErrorsArg::Replace => UnicodeErrors::Replace,
            UnicodeErrorsArg::Ignore => UnicodeErrors::Ignore,
        }
    }
}

/// Files above this size get a progress bar while loading (they take about a second or more).
const PROGRESS_BYTES: u64 = 64 << 20;

/// A progress bar on stderr (drawn only on a terminal), as the library's progress receiver.
pub(crate) fn progress_bar(message: &str) -> Arc<Bar> {
    let pb = ProgressBar::new(0);
    pb.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {percent:>3}% {elapsed} (eta {eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    pb.set_message(message.to_owned());
    Arc::new(Bar(pb))
}

/// An indicatif bar that receives the library's [`Progress`] reports.
pub(crate) struct Bar(ProgressBar);

impl Progress for Bar {
    fn start(&self, message: &str, total: u64) {
        self.0.set_length(total);
        self.0.set_position(0);
        if !message.is_empty() {
            self.0.set_message(message.to_owned());
        }
    }
    fn set_position(&self, done: u64) {
        self.0.set_position(done);
    }
    fn inc(&self, n: u64) {
        self.0.inc(n);
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

/// On the first Ctrl-C sets `stop` and says that work ends after `unit` (training checks the
/// flag between units); a second Ctrl-C exits at once with 130.
pub(crate) fn stop_on_ctrl_c(stop: Arc<AtomicBool>, unit: &'static str) -> Result<()> {
    ctrlc::set_handler(move || {
        if stop.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("\nstopping after the current {unit} (Ctrl-C again to quit at once)");
    })
    .context("installing the Ctrl-C handler")
}

/// How to read `path` as `load` asks, with a progress bar for files large enough to need one.
pub(crate) fn load_options(path: &Path, load: &LoadArgs) -> Result<LoadOptions> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("cannot open {}", path.display()))?
        .len();
    let mut opts = LoadOptions::default()
        .format(load.format.map(Into::into))
        .unicode_errors(load.unicode_errors.into())
        .limit(load.limit);
    if size > PROGRESS_BYTES {
        opts = opts.progress(progress_bar(&format!("loading {}", path.display())));
    }
    Ok(opts)
}

/// Opens `path` (with the int8 copy beside it, when there is one), or the embedded default model
/// when `path` is `None`.
pub(crate) fn open_vectors(path: Option<&Path>, load: &LoadArgs) -> Result<Embeddings> {
    let Some(path) = path else {
        return wordvec::default_model::load().context("loading the embedded default model");
    };
    let opts = load_options(path, load)?;
    let start = Instant::now();
    let emb = wordvec::open(path, &opts)?;
    tracing::info!(path = %path.display(), words = emb.len(), dims = emb.dims(), elapsed = ?start.elapsed(), "loaded vectors");
    Ok(emb)
}

/// Splits positional arguments into an optional vectors file and words: the first argument is
/// the file when it names an existing file, or when `words_exact` words follow it.
pub(crate) fn split_file_and_words(
    args: &[String],
    words_exact: Option<usize>,
) -> Result<(Option<PathBuf>, Vec<String>)> {
    let Some(first) = args.first() else {
        return Ok((None, Vec::new()));
    };
    let is_file = Path::new(first).is_file();
    match words_exact {
        Some(n) if args.len() == n + 1 => {
            if !is_file {
                bail!("{first}: no such vectors file");
            }
            Ok((Some(first.into()), args[1..].to_vec()))
        }
        Some(n) if args.len() == n && is_file => bail!(
            "{first} is a vectors file: give {n} words after it (got {})",
            n - 1
        ),
        Some(n) if args.len() != n => bail!(
            "expected {n} words (after an optional vectors file), got {}",
            args.len()
        ),
        _ if is_file => Ok((Some(first.into()), args[1..].to_vec())),
        _ => Ok((None, args.to_vec())),
    }
}
