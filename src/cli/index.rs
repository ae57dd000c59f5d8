//! `wordvec index build|info|verify|import|eval`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use wordvec::index::{recall, Builder, Graph, HnswIndex, IndexParams};
use wordvec::Embeddings;

use super::{open_vectors, output, progress_bar, LoadArgs};

#[derive(Debug, Subcommand)]
pub(crate) enum IndexCommand {
    /// Build an HNSW index over a vectors file and save it beside the vectors.
    #[command(
        after_help = "Example:\n  wordvec index build vectors.wvec -o vectors.idx --m 16 --ef-construction 200\n  wordvec index build vectors.wvec --int8   (vectors.wvec.idx and vectors.wvec.i8: faster searches)\n  wordvec nn vectors.wvec king --index vectors.idx"
    )]
    Build(BuildArgs),
    /// Show an index's parameters (from its header).
    #[command(after_help = "Example:\n  wordvec index info vectors.idx")]
    Info(InfoArgs),
    /// Check every link of an index (opening one checks only its header and bounds).
    #[command(after_help = "Example:\n  wordvec index verify vectors.idx")]
    Verify(InfoArgs),
    /// Convert an index of the previous format (hnsw_rs's .hnsw.graph and .hnsw.data files).
    #[command(
        after_help = "Example:\n  wordvec index import vectors.wvec vectors.wvec.idx -o vectors.wvec.idx"
    )]
    Import(ImportArgs),
    /// Measure recall@k against the exact scan, and queries per second, over a range of ef.
    #[command(
        after_help = "Example:\n  wordvec index eval vectors.wvec vectors.idx --queries 1000 --ef 10,20,40,80,160"
    )]
    Eval(EvalArgs),
}

#[derive(Debug, Args)]
pub(crate) struct BuildArgs {
    /// Vectors file.
    pub vectors: PathBuf,
    /// Index to write [default: VECTORS.idx].
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Which code builds the graph: wordvec's parallel builder, or hnsw_rs (then converted).
    #[arg(long, value_enum, default_value_t = BuilderArg::Native)]
    pub builder: BuilderArg,
    /// Links per node (more: better recall, more memory).
    #[arg(long, default_value_t = 16)]
    pub m: usize,
    /// Candidate list size while building.
    #[arg(long, default_value_t = 200)]
    pub ef_construction: usize,
    /// Default candidate list size for searches.
    #[arg(long, default_value_t = 32)]
    pub ef_search: usize,
    /// Index only the N most frequent words.
    #[arg(long, value_name = "N")]
    pub restrict_vocab: Option<usize>,
    /// Also write VECTORS.i8, the int8 copy of the rows (unless it exists): searches then
    /// traverse the graph over it (a quarter of the bytes) and re-score what they find in f32,
    /// and exact queries scan it first.
    #[arg(long)]
    pub int8: bool,
    #[command(flatten)]
    pub load: LoadArgs,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum BuilderArg {
    Native,
    HnswRs,
}

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// Vectors file the index was built from.
    pub vectors: PathBuf,
    /// The old index (its metadata file; INDEX.hnsw.graph and INDEX.hnsw.data beside it).
    pub index: PathBuf,
    /// The converted index (may be the old index's own path).
    #[arg(short, long)]
    pub output: PathBuf,
    #[command(flatten)]
    pub load: LoadArgs,
}

#[derive(Debug, Args)]
pub(crate) struct InfoArgs {
    /// Index file.
    pub index: PathBuf,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct EvalArgs {
    /// Vectors file the index was built from.
    pub vectors: PathBuf,
    /// Index file.
    pub index: PathBuf,
    /// Number of word queries (and as many analogy queries).
    #[arg(long, default_value_t = 500)]
    pub queries: usize,
    /// Neighbours per query.
    #[arg(short, long, default_value_t = 10)]
    pub k: usize,
    /// Candidate list sizes to try.
    #[arg(long, value_delimiter = ',', default_value = "10,20,40,80,160")]
    pub ef: Vec<usize>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub load: LoadArgs,
}

/// Maps a graph file without its vectors (for `info` and `verify`).
fn open_graph(path: &Path) -> Result<Graph> {
    Ok(HnswIndex::open_graph(path)?)
}

/// Opens an index for `emb`.
pub(crate) fn open_index(path: &Path, emb: &Embeddings) -> Result<HnswIndex> {
    HnswIndex::load(path, emb).with_context(|| format!("opening index {}", path.display()))
}

pub(crate) fn run(cmd: IndexCommand) -> Result<()> {
    match cmd {
        IndexCommand::Build(a) => build(a),
        IndexCommand::Info(a) => info(a),
        IndexCommand::Verify(a) => verify(a),
        IndexCommand::Import(a) => import(a),
        IndexCommand::Eval(a) => eval(a),
    }
}

/// `index build`: the int8 copy if asked (the build searches it), then the graph and its file.
fn build(a: BuildArgs) -> Result<()> {
    if a.int8 && a.load.limit.is_some() {
        anyhow::bail!(
            "--int8 copies every row of the vectors file; it cannot be combined with --limit"
        );
    }
    let mut emb = open_vectors(Some(&a.vectors), &a.load)?;
    // The copy is written first: the build's searches run over it too.
    let side = wordvec::quant::sidecar_path(&a.vectors);
    if a.int8 && emb.int8().is_none() {
        let t = Instant::now();
        let rows = wordvec::quant::Int8Rows::build(&emb)?;
        rows.save(&side)?;
        emb.attach_int8(rows)?;
        eprintln!(
            "wrote {} (int8 copy) in {:.2} s",
            side.display(),
            t.elapsed().as_secs_f64()
        );
    }
    let params = IndexParams {
        m: a.m,
        ef_construction: a.ef_construction,
        ef_search: a.ef_search,
        restrict_vocab: a.restrict_vocab,
        builder: match a.builder {
            BuilderArg::Native => Builder::Native,
            BuilderArg::HnswRs => Builder::HnswRs,
        },
    };
    let out = a
        .output
        .unwrap_or_else(|| wordvec::index::default_path(&a.vectors));
    wordvec::io::check_not_input(&out, &[a.vectors.as_path()])?;
    wordvec::io::OutputPath::new(&out)?;
    let bar = progress_bar("indexing");
    let idx = HnswIndex::build(&emb, params, Some(bar.as_ref()))?;
    let t = Instant::now();
    idx.save(&out)?;
    eprintln!(
        "indexed {} of {} words in {:.1} s, saved {} in {:.1} s",
        idx.info().indexed,
        emb.len(),
        idx.info().build_seconds,
        out.display(),
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `index info`: the header's parameters.
fn info(a: InfoArgs) -> Result<()> {
    let info = open_graph(&a.index)?.info().clone();
    if a.json {
        return output::json(&info);
    }
    let bytes = std::fs::metadata(&a.index)?.len();
    println!("index:            {}", a.index.display());
    println!(
        "vectors:          {} words x {} dims (fingerprint {})",
        info.vocab_len, info.dims, info.fingerprint
    );
    println!("indexed:          {} words", info.indexed);
    println!(
        "M:                {} (link slots {} / {} on layer 0)",
        info.m, info.slots, info.slots0
    );
    println!("ef_construction:  {}", info.ef_construction);
    println!("ef_search:        {}", info.ef_search);
    println!("build time:       {:.1} s", info.build_seconds);
    println!(
        "file:             {bytes} bytes ({:.1} per indexed word)",
        bytes as f64 / info.indexed.max(1) as f64
    );
    Ok(())
}

/// `index verify`: every link checked.
fn verify(a: InfoArgs) -> Result<()> {
    let g = open_graph(&a.index)?;
    g.verify()
        .with_context(|| format!("verifying {}", a.index.display()))?;
    println!(
        "{}: every link of {} nodes checked",
        a.index.display(),
        g.len()
    );
    Ok(())
}

/// `index import`: an hnsw_rs index converted to wordvec's format.
fn import(a: ImportArgs) -> Result<()> {
    let emb = open_vectors(Some(&a.vectors), &a.load)?;
    wordvec::io::check_not_input(&a.output, &[a.vectors.as_path()])?;
    let t = Instant::now();
    let idx = HnswIndex::import(&a.index, &emb)
        .with_context(|| format!("importing {}", a.index.display()))?;
    idx.save(&a.output)?;
    eprintln!(
        "converted {} ({} nodes) into {} in {:.1} s",
        a.index.display(),
        idx.info().indexed,
        a.output.display(),
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `index eval`: recall and queries per second over a range of ef.
fn eval(a: EvalArgs) -> Result<()> {
    let emb = open_vectors(Some(&a.vectors), &a.load)?;
    let idx = open_index(&a.index, &emb)?;
    let reports = recall(&emb, &idx, a.queries, a.k, &a.ef)?;
    if a.json {
        return output::json(&reports);
    }
    println!(
        "recall@{} over {} word and {} analogy queries  [{}]",
        a.k,
        a.queries,
        a.queries,
        a.index.display()
    );
    println!(
        "{:>6} {:>13} {:>16} {:>12} {:>14}",
        "ef", "recall words", "recall analogy", "qps 1 thread", "qps all cores"
    );
    for r in reports {
        println!(
            "{:>6} {:>13.4} {:>16.4} {:>12.0} {:>14.0}",
            r.ef, r.recall_words, r.recall_analogies, r.qps_one_thread, r.qps_all_threads
        );
    }
    Ok(())
}
