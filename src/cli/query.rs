//! `nn`, `analogy`, `similarity`, `doesnt-match` and `repl`.

use std::io::BufRead;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use serde::Serialize;
use wordvec::search::{Filter, Mode, Query, Searcher};
use wordvec::server::proto;
use wordvec::{Embeddings, Term};

use super::client::{self, Client, ServerArgs};
use super::output;
use super::{open_vectors, split_file_and_words, LoadArgs};

#[derive(Debug, Args)]
pub(crate) struct NnArgs {
    /// [VECTORS] WORD...: an optional vectors file, then the words whose vectors are summed.
    #[arg(value_name = "ARGS")]
    pub args: Vec<String>,
    /// Words to subtract from the query.
    #[arg(short = 'n', long = "negative", value_name = "WORD")]
    pub negative: Vec<String>,
    /// How many neighbours.
    #[arg(short, long, default_value_t = 10)]
    pub k: usize,
    /// Read one query per line (words separated by spaces) from FILE ("-" for stdin).
    #[arg(long, value_name = "FILE")]
    pub queries: Option<PathBuf>,
    /// Print JSON (one object per query) instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub search: SearchArgs,
}

/// How `nn` and `analogy` search: where (a file, an index, a daemon), how exactly, among which
/// words.
#[derive(Debug, Args)]
pub(crate) struct SearchArgs {
    /// Only consider the N most frequent words.
    #[arg(long, value_name = "N")]
    pub restrict_vocab: Option<usize>,
    /// Answer through this HNSW index (default: VECTORS.idx when it exists).
    #[arg(long, value_name = "INDEX")]
    pub index: Option<PathBuf>,
    /// Index search breadth (candidate list size); larger is slower and more exact.
    #[arg(long)]
    pub ef: Option<usize>,
    /// Scan every vector exactly, even when an index exists.
    #[arg(long)]
    pub exact: bool,
    #[command(flatten)]
    pub filter: FilterArgs,
    #[command(flatten)]
    pub remote: ServerArgs,
    #[command(flatten)]
    pub load: LoadArgs,
}

impl SearchArgs {
    /// The searcher for `file` (or the default model): its vectors and, unless `--exact`, the
    /// index named or found beside them; and the filter of `--only`/`--exclude`.
    fn open(&self, file: Option<&std::path::Path>) -> Result<(Searcher, Filter)> {
        let emb = open_vectors(file, &self.load)?;
        let index_path = match (&self.index, file) {
            (Some(i), _) => Some(i.to_owned()),
            (None, Some(f)) => Some(wordvec::index::default_path(f)).filter(|p| p.exists()),
            _ => None,
        };
        let index = match index_path {
            Some(p) if !self.exact => Some(super::index::open_index(&p, &emb)?),
            _ => None,
        };
        let filter = self.filter.filter(&emb)?;
        let searcher = Searcher {
            embeddings: emb,
            index,
        };
        Ok((searcher, filter))
    }

    /// `query` with these flags' options.
    fn apply<'a>(&self, query: Query<'a>, filter: Filter) -> Query<'a> {
        query
            .restrict_vocab(self.restrict_vocab)
            .filter(filter)
            .mode(if self.exact { Mode::Exact } else { Mode::Auto })
            .ef(self.ef)
    }

    /// The flags as the daemon's request fields: `(exact, ef, restrict_vocab)`, 0 for unset.
    fn wire(&self) -> (bool, u32, u32) {
        (
            self.exact,
            self.ef.unwrap_or(0) as u32,
            self.restrict_vocab.unwrap_or(0) as u32,
        )
    }
}

/// Allow- and deny-lists of words, from files.
#[derive(Debug, Clone, Args)]
pub(crate) struct FilterArgs {
    /// Answer only words listed in FILE (words separated by spaces or lines).
    #[arg(long, value_name = "FILE")]
    pub only: Option<PathBuf>,
    /// Never answer the words listed in FILE.
    #[arg(long, value_name = "FILE")]
    pub exclude: Option<PathBuf>,
}

impl FilterArgs {
    fn read(path: &Option<PathBuf>) -> Result<Option<Vec<String>>> {
        let Some(p) = path else { return Ok(None) };
        let text =
            std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
        Ok(Some(text.split_whitespace().map(str::to_owned).collect()))
    }

    /// The two lists (the allow-list `None` when not given).
    fn lists(&self) -> Result<(Option<Vec<String>>, Vec<String>)> {
        Ok((
            Self::read(&self.only)?,
            Self::read(&self.exclude)?.unwrap_or_default(),
        ))
    }

    /// The filter for `emb`.
    fn filter(&self, emb: &Embeddings) -> Result<Filter> {
        let (only, exclude) = self.lists()?;
        Ok(Filter::from_words(emb, only.as_deref(), &exclude)?)
    }
}

#[derive(Serialize)]
struct NnJson<'a> {
    query: &'a [String],
    negative: &'a [String],
    neighbors: &'a [wordvec::Neighbor],
}

pub(crate) fn nn(a: NnArgs) -> Result<()> {
    let (file, words) = if a.search.remote.server.is_some() {
        (None, a.args.clone())
    } else {
        split_file_and_words(&a.args, None)?
    };
    let mut queries: Vec<Vec<String>> = Vec::new();
    if !words.is_empty() {
        queries.push(words);
    }
    if let Some(q) = &a.queries {
        let reader: Box<dyn BufRead> = if q.as_os_str() == "-" {
            Box::new(std::io::stdin().lock())
        } else {
            Box::new(std::io::BufReader::new(
                std::fs::File::open(q).with_context(|| format!("cannot open {}", q.display()))?,
            ))
        };
        for line in reader.lines() {
            let line = line.with_context(|| format!("reading {}", q.display()))?;
            let words: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
            if !words.is_empty() {
                queries.push(words);
            }
        }
    }
    if queries.is_empty() && a.negative.is_empty() {
        bail!("no query: give words (wordvec nn [VECTORS] WORD...) or --queries FILE");
    }
    if queries.is_empty() {
        queries.push(Vec::new());
    }
    let print = |q: &[String], result: &[wordvec::Neighbor], describe: &str| -> Result<()> {
        if a.json {
            output::json(&NnJson {
                query: q,
                negative: &a.negative,
                neighbors: result,
            })
        } else {
            let mut title = format!("nearest to {}", q.join(" + "));
            for n in &a.negative {
                title.push_str(&format!(" - {n}"));
            }
            output::neighbors_table(&format!("{title}  [{describe}]"), result, "cosine")
        }
    };
    if a.search.remote.server.is_some() {
        let (only, exclude) = a.search.filter.lists()?;
        let mut c = Client::connect(&a.search.remote)?;
        let describe = c.describe()?;
        let (exact, ef, restrict_vocab) = a.search.wire();
        for q in &queries {
            let req = proto::MostSimilarRequest {
                model: c.model.clone(),
                positive: q.iter().map(|w| client::word(w)).collect(),
                negative: a.negative.iter().map(|w| client::word(w)).collect(),
                top_k: a.k as u32,
                exact,
                ef,
                restrict_vocab,
                only_words: only.clone().unwrap_or_default(),
                exclude_words: exclude.clone(),
            };
            let r =
                c.rt.block_on(c.inner.most_similar(req))
                    .map_err(client::status_error)?
                    .into_inner();
            print(q, &client::neighbors(r), &describe)?;
        }
        return Ok(());
    }
    let (searcher, filter) = a.search.open(file.as_deref())?;
    let negative: Vec<Term> = a.negative.iter().map(Term::from).collect();
    for q in &queries {
        let positive: Vec<Term> = q.iter().map(Term::from).collect();
        let query = a
            .search
            .apply(Query::new(&positive, &negative, a.k), filter.clone());
        let result = searcher.search(&query)?;
        print(q, &result, &searcher.embeddings.describe())?;
    }
    Ok(())
}

#[derive(Debug, Args)]
pub(crate) struct AnalogyArgs {
    /// [VECTORS] A B C: A is to B as C is to ?
    #[arg(value_name = "ARGS", num_args = 3..=4)]
    pub args: Vec<String>,
    /// How many answers.
    #[arg(short, long, default_value_t = 10)]
    pub k: usize,
    /// Use 3CosMul instead of 3CosAdd.
    #[arg(long)]
    pub cosmul: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub search: SearchArgs,
}

pub(crate) fn analogy(a: AnalogyArgs) -> Result<()> {
    let (file, words) = if a.search.remote.server.is_some() {
        anyhow::ensure!(
            a.args.len() == 3,
            "with --server, give exactly three words A B C"
        );
        (None, a.args.clone())
    } else {
        split_file_and_words(&a.args, Some(3))?
    };
    let (x, y, z) = (&words[0], &words[1], &words[2]);
    let (result, describe) = if a.search.remote.server.is_some() {
        let (only, exclude) = a.search.filter.lists()?;
        let mut c = Client::connect(&a.search.remote)?;
        let describe = c.describe()?;
        let (exact, ef, restrict_vocab) = a.search.wire();
        let req = proto::AnalogyRequest {
            model: c.model.clone(),
            a: x.clone(),
            b: y.clone(),
            c: z.clone(),
            top_k: a.k as u32,
            cosmul: a.cosmul,
            exact,
            ef,
            restrict_vocab,
            only_words: only.unwrap_or_default(),
            exclude_words: exclude,
        };
        (
            client::neighbors(
                c.rt.block_on(c.inner.analogy(req))
                    .map_err(client::status_error)?
                    .into_inner(),
            ),
            describe,
        )
    } else {
        let (searcher, filter) = a.search.open(file.as_deref())?;
        let positive = [Term::from(y), Term::from(z)];
        let negative = [Term::from(x)];
        let query = a.search.apply(
            Query::new(&positive, &negative, a.k).cosmul(a.cosmul),
            filter,
        );
        let r = searcher.search(&query)?;
        (r, searcher.embeddings.describe())
    };
    if a.json {
        output::json(&result)
    } else {
        let title = format!("{x} is to {y} as {z} is to ?  [{describe}]");
        output::neighbors_table(&title, &result, if a.cosmul { "3cosmul" } else { "cosine" })
    }
}

#[derive(Debug, Args)]
pub(crate) struct SimilarityArgs {
    /// [VECTORS] WORD1 WORD2
    #[arg(value_name = "ARGS", num_args = 2..=3)]
    pub args: Vec<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub remote: ServerArgs,
    #[command(flatten)]
    pub load: LoadArgs,
}

pub(crate) fn similarity(a: SimilarityArgs) -> Result<()> {
    let s = if a.remote.server.is_some() {
        anyhow::ensure!(a.args.len() == 2, "with --server, give exactly two words");
        let mut c = Client::connect(&a.remote)?;
        let req = proto::SimilarityRequest {
            model: c.model.clone(),
            pairs: vec![proto::WordPair {
                a: a.args[0].clone(),
                b: a.args[1].clone(),
            }],
        };
        c.rt.block_on(c.inner.similarity(req))
            .map_err(client::status_error)?
            .into_inner()
            .similarities[0]
    } else {
        let (file, words) = split_file_and_words(&a.args, Some(2))?;
        open_vectors(file.as_deref(), &a.load)?.similarity(&words[0], &words[1])?
    };
    let words = if a.remote.server.is_some() {
        a.args.clone()
    } else {
        split_file_and_words(&a.args, Some(2))?.1
    };
    if a.json {
        output::json(&serde_json::json!({"a": words[0], "b": words[1], "similarity": s}))
    } else {
        println!("{s:.6}");
        Ok(())
    }
}

#[derive(Debug, Args)]
pub(crate) struct DoesntMatchArgs {
    /// [VECTORS] WORD...
    #[arg(value_name = "ARGS", required = true)]
    pub args: Vec<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub remote: ServerArgs,
    #[command(flatten)]
    pub load: LoadArgs,
}

pub(crate) fn doesnt_match(a: DoesntMatchArgs) -> Result<()> {
    let d = if a.remote.server.is_some() {
        let mut c = Client::connect(&a.remote)?;
        let req = proto::DoesntMatchRequest {
            model: c.model.clone(),
            words: a.args.clone(),
        };
        let r =
            c.rt.block_on(c.inner.doesnt_match(req))
                .map_err(client::status_error)?
                .into_inner();
        wordvec::DoesntMatch {
            word: r.word,
            ignored: r.ignored,
        }
    } else {
        let (file, words) = split_file_and_words(&a.args, None)?;
        open_vectors(file.as_deref(), &a.load)?.doesnt_match(&words)?
    };
    if a.json {
        return output::json(&d);
    }
    if !d.ignored.is_empty() {
        eprintln!("ignored (not in the vocabulary): {}", d.ignored.join(", "));
    }
    println!("{}", d.word);
    Ok(())
}

#[derive(Debug, Args)]
pub(crate) struct ReplArgs {
    /// Vectors file (the embedded default model when omitted).
    pub vectors: Option<PathBuf>,
    /// How many neighbours.
    #[arg(short, long, default_value_t = 10)]
    pub k: usize,
    #[command(flatten)]
    pub load: LoadArgs,
}

/// Answers one REPL line: words are added, `-word`s subtracted.
pub(crate) fn answer_line(
    emb: &Embeddings,
    line: &str,
    k: usize,
) -> Result<Vec<wordvec::Neighbor>> {
    let (mut pos, mut neg) = (Vec::new(), Vec::new());
    for tok in line.split_whitespace() {
        match tok.strip_prefix('-') {
            Some(w) if !w.is_empty() => neg.push(Term::Word(w)),
            _ => pos.push(Term::Word(tok)),
        }
    }
    Ok(emb.most_similar(&pos, &neg, k, None)?)
}

pub(crate) fn repl(a: ReplArgs) -> Result<()> {
    let emb = open_vectors(a.vectors.as_deref(), &a.load)?;
    eprintln!(
        "{}: enter words (\"-word\" subtracts), an empty line or Ctrl-D quits",
        emb.describe()
    );
    let mut editor = rustyline::DefaultEditor::new()?;
    loop {
        match editor.readline("> ") {
            Ok(line) => {
                let line = line.trim();
                if line.is_empty() || line == "EXIT" {
                    break;
                }
                let _ = editor.add_history_entry(line);
                match answer_line(&emb, line, a.k) {
                    Ok(r) => output::neighbors_table(&format!("nearest to {line}"), &r, "cosine")?,
                    Err(e) => eprintln!("error: {e}"),
                }
            }
            Err(
                rustyline::error::ReadlineError::Interrupted | rustyline::error::ReadlineError::Eof,
            ) => break,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
