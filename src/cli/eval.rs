//! `wordvec eval analogies` and `wordvec eval pairs`.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::{Args, Subcommand};
use wordvec::eval::{self, DEFAULT_RESTRICT_VOCAB};

use super::{open_vectors, output, LoadArgs};

#[derive(Debug, Subcommand)]
pub(crate) enum EvalCommand {
    /// Analogy accuracy on questions-words.txt (gensim's evaluate_word_analogies).
    #[command(
        after_help = "Example:\n  wordvec eval analogies vectors.bin questions-words.txt --restrict-vocab 30000"
    )]
    Analogies(EvalArgs),
    /// Pearson/Spearman on word pairs such as wordsim353.tsv (gensim's evaluate_word_pairs).
    #[command(after_help = "Example:\n  wordvec eval pairs vectors.bin wordsim353.tsv")]
    Pairs(PairsArgs),
}

#[derive(Debug, Args)]
pub(crate) struct EvalArgs {
    /// [VECTORS] FILE: optional vectors file, then the evaluation file.
    #[arg(value_name = "ARGS", num_args = 1..=2, required = true)]
    pub args: Vec<String>,
    /// Only the N most frequent words take part.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_RESTRICT_VOCAB)]
    pub restrict_vocab: usize,
    /// Compare words as they are (gensim's default folds case).
    #[arg(long)]
    pub case_sensitive: bool,
    /// fastText models: answer questions (score pairs) whose words are outside the evaluated
    /// vocabulary with those words' n-gram vectors, instead of skipping them (gensim skips them).
    #[arg(long)]
    pub oov_from_subwords: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub load: LoadArgs,
}

#[derive(Debug, Args)]
pub(crate) struct PairsArgs {
    #[command(flatten)]
    pub common: EvalArgs,
    /// Field separator of the pairs file.
    #[arg(long, default_value_t = '\t')]
    pub delimiter: char,
}

fn files(args: &[String]) -> Result<(Option<PathBuf>, PathBuf)> {
    match args {
        [data] => Ok((None, data.into())),
        [vectors, data] => Ok((Some(vectors.into()), data.into())),
        _ => bail!("expected [VECTORS] FILE"),
    }
}

pub(crate) fn run(cmd: EvalCommand) -> Result<()> {
    match cmd {
        EvalCommand::Analogies(a) => {
            let (vectors, data) = files(&a.args)?;
            let emb = open_vectors(vectors.as_deref(), &a.load)?;
            if a.oov_from_subwords && emb.subwords().is_none() {
                bail!("--oov-from-subwords needs a fastText model (these vectors have no n-grams)");
            }
            let r = eval::evaluate_analogies_with(
                &emb,
                &data,
                &eval::analogies::AnalogyOptions {
                    restrict_vocab: a.restrict_vocab,
                    case_insensitive: !a.case_sensitive,
                    oov_from_subwords: a.oov_from_subwords,
                    dummy4unknown: false,
                },
            )?;
            if a.json {
                return output::json(&r);
            }
            println!("analogies: {}  [{}]", data.display(), emb.describe());
            println!(
                "{:<32} {:>8} {:>9} {:>9}",
                "section", "correct", "questions", "accuracy"
            );
            for s in &r.sections {
                println!(
                    "{:<32} {:>8} {:>9} {:>8.2}%",
                    s.section,
                    s.correct,
                    s.correct + s.incorrect,
                    100.0 * s.accuracy()
                );
            }
            println!(
                "out of vocabulary: {} of {} questions ({:.2}%)",
                r.oov, r.questions, r.oov_percent
            );
            Ok(())
        }
        EvalCommand::Pairs(p) => {
            let a = p.common;
            let (vectors, data) = files(&a.args)?;
            let emb = open_vectors(vectors.as_deref(), &a.load)?;
            if a.oov_from_subwords && emb.subwords().is_none() {
                bail!("--oov-from-subwords needs a fastText model (these vectors have no n-grams)");
            }
            let r = eval::evaluate_pairs_with(
                &emb,
                &data,
                p.delimiter,
                a.restrict_vocab,
                !a.case_sensitive,
                a.oov_from_subwords,
                false,
            )?;
            if a.json {
                return output::json(&r);
            }
            println!("word pairs: {}  [{}]", data.display(), emb.describe());
            println!("pearson:  {:.4}", r.pearson);
            println!("spearman: {:.4}", r.spearman);
            println!(
                "pairs:    {} scored, {} out of vocabulary ({:.2}%)",
                r.pairs, r.oov, r.oov_percent
            );
            Ok(())
        }
    }
}
