//! Approximate nearest neighbours: an HNSW graph over the rows of a set of embeddings, built
//! once on all cores, saved as one memory-mapped file beside the vectors, and searched in place.
//!
//! The index answers the same queries as the exact scan ([`crate::query`]), with the same
//! semantics: the query vector is built the same way, input words are excluded, and every
//! returned score is recomputed exactly from the stored vectors, so only *which* words come back
//! can differ from the exact answer (measured by [`recall`]). 3CosMul re-ranks the index's
//! candidates for the 3CosAdd query exactly.
//!
//! ```
//! use wordvec::index::{HnswIndex, IndexParams};
//! use wordvec::search::{Mode, Query, Searcher};
//!
//! let emb = wordvec::default_model::load()?;
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("default.idx");
//! HnswIndex::build(&emb, IndexParams::default(), None)?.save(&path)?;
//! let index = HnswIndex::load(&path, &emb)?; // mapped, checked against these vectors
//! let searcher = Searcher { embeddings: emb, index: Some(index) };
//! let q = Query::new(&["king".into()], &[], 5).mode(Mode::Index);
//! assert_eq!(searcher.search(&q)?.len(), 5);
//! # Ok::<(), wordvec::Error>(())
//! ```
//!
//! - [`graph`]: the file format (flat `u32` link arrays, no copy of the vectors);
//! - `build`: the parallel builder (hnswlib's algorithm);
//! - `search`: the search loop;
//! - `reference` (with the `hnsw-rs` feature): hnsw_rs, as an alternative builder and as the
//!   reference the parity tests compare with; its dump files ([`meta`], walked by a private checker) are what
//!   `wordvec index import` converts, which is also how indexes of the previous format
//!   (`wordvec-hnsw-1`) are carried over.

pub(crate) mod build;
#[cfg(feature = "hnsw-rs")]
pub(crate) mod distance;
mod dump_check;
pub mod graph;
pub mod meta;
#[cfg(feature = "hnsw-rs")]
pub mod reference;
pub(crate) mod search;

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::progress::Progress;
use rayon::prelude::*;

use crate::embeddings::Embeddings;
use crate::error::{Error, Result};
use crate::filter::Filter;
use crate::limits::MAX_EF;
use crate::query::{Neighbor, Prepared, Query, Scoring, Term};
use crate::simd;
pub use graph::{Graph, GraphInfo};
pub use meta::IndexMeta;

/// The distance name hnsw_rs writes into the dumps wordvec made with it: the Rust type name of
/// `distance::UnitDot` (a test under the `hnsw-rs` feature checks that they agree). Importing
/// checks it without needing hnsw_rs.
const UNIT_DOT: &str = "wordvec::index::distance::UnitDot";

/// Which code builds the graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Builder {
    /// wordvec's parallel builder (`build`).
    #[default]
    Native,
    /// hnsw_rs, then an import of its dump (with the `hnsw-rs` feature; an error without it).
    HnswRs,
}

/// How to build and search an index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexParams {
    /// Links per node (16; word embeddings gain from 32-48 at a memory cost).
    pub m: usize,
    /// Candidate list size while building (200).
    pub ef_construction: usize,
    /// Default candidate list size while searching (32: recall@10 about 0.99 on word vectors,
    /// see BENCHMARKS.md); larger is slower and more exact.
    pub ef_search: usize,
    /// Index only the first N (most frequent) words.
    pub restrict_vocab: Option<usize>,
    /// Which builder.
    pub builder: Builder,
}

impl Default for IndexParams {
    fn default() -> Self {
        IndexParams {
            m: 16,
            ef_construction: 200,
            ef_search: 32,
            restrict_vocab: None,
            builder: Builder::Native,
        }
    }
}

/// Where the index of a vectors file lives unless told otherwise: `PATH.idx`, which
/// `wordvec index build` writes and every command and the daemon open when it exists.
pub fn default_path(vectors: &Path) -> PathBuf {
    let mut s = vectors.as_os_str().to_owned();
    s.push(".idx");
    PathBuf::from(s)
}

/// An HNSW index over a set of embeddings.
#[derive(Debug, Clone)]
pub struct HnswIndex {
    graph: Graph,
}

impl HnswIndex {
    /// Builds an index over `emb` (the first `params.restrict_vocab` rows) on all cores.
    pub fn build(
        emb: &Embeddings,
        params: IndexParams,
        progress: Option<&dyn Progress>,
    ) -> Result<Self> {
        if params.m < 2 || params.m > 255 {
            return Err(Error::invalid(format!(
                "M must be between 2 and 255, not {}",
                params.m
            )));
        }
        crate::limits::between_1_and("ef_construction", params.ef_construction, MAX_EF)?;
        crate::limits::between_1_and("ef_search", params.ef_search, MAX_EF)?;
        let n = params
            .restrict_vocab
            .map_or(emb.len(), |r| r.min(emb.len()));
        if let Some(p) = progress {
            p.start("", n as u64);
        }
        let report = |done: usize| {
            if let Some(p) = progress {
                p.set_position(done as u64);
            }
        };
        let graph =
            match params.builder {
                Builder::Native => build::build(
                    emb,
                    build::BuildParams {
                        m: params.m,
                        ef_construction: params.ef_construction,
                        n,
                        seed: 0x5eed,
                    },
                    params.ef_search,
                    &report,
                )?,
                #[cfg(not(feature = "hnsw-rs"))]
                Builder::HnswRs => return Err(Error::invalid(
                    "this build of wordvec has no hnsw_rs builder (the `hnsw-rs` feature is off)",
                )),
                #[cfg(feature = "hnsw-rs")]
                Builder::HnswRs => {
                    let start = Instant::now();
                    let g = reference::HnswRsGraph::build(
                        emb,
                        n,
                        params.m,
                        params.ef_construction,
                        &report,
                    )?;
                    let tmp = tempfile::tempdir().map_err(|e| {
                        Error::io(
                            "cannot create a temporary folder in",
                            std::env::temp_dir(),
                            e,
                        )
                    })?;
                    let (gf, df) = g.dump(tmp.path())?;
                    let mut graph = import_dump(
                        &gf,
                        &df,
                        emb,
                        n,
                        params.m,
                        params.ef_construction,
                        params.ef_search,
                    )?;
                    graph.set_build_seconds(start.elapsed().as_secs_f64());
                    graph
                }
            };
        if let Some(p) = progress {
            p.finish();
        }
        Ok(HnswIndex { graph })
    }

    /// An index over `graph` (built by [`build::Growing`]).
    pub(crate) fn from_graph(graph: Graph) -> Self {
        HnswIndex { graph }
    }

    /// Saves the index as one file, atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let bytes = self.graph.to_bytes();
        crate::io::write_atomically(path, |w| std::io::Write::write_all(w, &bytes))
    }

    /// Opens an index saved by [`save`](Self::save) for `emb` by mapping it: the header and
    /// section bounds are checked, and that it was built from these very vectors (fingerprint);
    /// nothing is built. An index of the previous format (hnsw_rs's files) is a clear error
    /// naming the command that converts it.
    pub fn load(path: &Path, emb: &Embeddings) -> Result<Self> {
        let start = Instant::now();
        let index = HnswIndex {
            graph: Self::open_graph(path)?,
        };
        index.check_vectors(path, emb)?;
        tracing::info!(path = %path.display(), elapsed = ?start.elapsed(), "loaded index");
        Ok(index)
    }

    /// The index beside the vectors file `vectors` ([`default_path`]), opened for `emb`, or
    /// `None` when there is no such file.
    pub fn load_default(vectors: &Path, emb: &Embeddings) -> Result<Option<Self>> {
        let path = default_path(vectors);
        if !path.exists() {
            return Ok(None);
        }
        Self::load(&path, emb).map(Some)
    }

    /// Maps an index file's graph without checking it against vectors (`index info`,
    /// `index verify`).
    pub fn open_graph(path: &Path) -> Result<Graph> {
        let backing = crate::io::map_file(path)?;
        let bytes: &[u8] = (*backing).as_ref();
        if bytes.first() == Some(&b'{') {
            if let Ok(old) = serde_json::from_slice::<IndexMeta>(bytes) {
                return Err(Error::format(
                    path,
                    None,
                    0,
                    format!(
                        "an index of the previous format ({}, hnsw_rs's files): convert it with `wordvec index import {} -o NEW.idx` or rebuild it with `wordvec index build`",
                        old.format,
                        path.display()
                    ),
                ));
            }
            return Err(Error::format(path, None, 0, "not a wordvec index"));
        }
        Graph::open(backing, path)
    }

    /// Converts an index of the previous format (metadata `path` beside hnsw_rs's
    /// `path.hnsw.graph` and `path.hnsw.data`, built from `emb`): every record of hnsw_rs's files
    /// is checked, then the graph is copied into wordvec's format unchanged.
    pub fn import(path: &Path, emb: &Embeddings) -> Result<Self> {
        let meta = meta::load_and_verify(path, Some(emb))?;
        let (g, d) = meta::hnsw_files(path);
        let mut graph = import_dump(
            &g,
            &d,
            emb,
            meta.indexed,
            meta.m,
            meta.ef_construction,
            meta.ef_search,
        )?;
        graph.set_build_seconds(meta.build_seconds);
        Ok(HnswIndex { graph })
    }

    /// Checks every link of the graph (opening checks only the header and bounds).
    pub fn verify(&self) -> Result<()> {
        self.graph.verify()
    }

    fn check_vectors(&self, path: &Path, emb: &Embeddings) -> Result<()> {
        let i = self.info();
        let fp = emb.fingerprint();
        if fp != i.fingerprint || emb.len() != i.vocab_len || emb.dims() != i.dims {
            return Err(Error::invalid(format!(
                "index {} was built from other vectors ({} words x {} dims, fingerprint {}) than these ({} words x {} dims, fingerprint {fp}); rebuild it with `wordvec index build`",
                path.display(),
                i.vocab_len,
                i.dims,
                i.fingerprint,
                emb.len(),
                emb.dims()
            )));
        }
        Ok(())
    }

    /// The index's parameters.
    pub fn info(&self) -> &GraphInfo {
        self.graph.info()
    }

    /// The graph.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// Candidate rows for a unit query: up to `k` rows not in `exclude` and admitted by
    /// `filter`, best first by exact cosine.
    #[allow(clippy::too_many_arguments)]
    fn candidates(
        &self,
        emb: &Embeddings,
        query: &[f32],
        k: usize,
        exclude: &[usize],
        ef: usize,
        restrict: Option<usize>,
        filter: &Filter,
    ) -> Result<Vec<Neighbor>> {
        let k = k.min(self.info().indexed);
        let r = restrict.unwrap_or(usize::MAX);
        let admit = |id: u32| (id as usize) < r && filter.admits(id as usize);
        let want = k.saturating_add(exclude.len());
        let mut scored = self.scored_where(emb, query, want, ef, admit)?;
        // The best `want` hold the best `k` of the rows left once the query's own are out.
        scored.retain(|(i, _)| !exclude.contains(i));
        scored.truncate(k);
        let out = scored
            .into_iter()
            .map(|(index, score)| Neighbor {
                word: emb.word(index).to_owned(),
                index,
                score,
            })
            .collect();
        Ok(out)
    }

    /// Up to `k` rows admitted by `admit`, best first by exact cosine with the unit `query`
    /// (ties to the lower row), with the graph search's candidate list of at least `ef`. A live
    /// model's view searches its base this way, admitting only rows that are not tombstoned.
    pub(crate) fn scored_where(
        &self,
        emb: &Embeddings,
        query: &[f32],
        k: usize,
        ef: usize,
        admit: impl Fn(u32) -> bool,
    ) -> Result<Vec<(usize, f32)>> {
        crate::cancel::check()?;
        let indexed = self.info().indexed;
        if k == 0 || indexed == 0 {
            return Ok(Vec::new());
        }
        let rows = indexed.max(1);
        let ef = ef.max(k.min(rows)).min(rows);
        let (mut found, traversal) = search::search(&self.graph, emb, query, ef, admit);
        if traversal == search::Traversal::F32 {
            // Exact distances: only the best `k` can be the answer. Approximate ones
            // (int8 traversal) are all re-scored below, which is what makes them exact.
            found.truncate(k);
        }
        let dot = simd::dot_fn();
        let mut scored: Vec<(usize, f32)> = found
            .into_iter()
            .map(|n| n.id as usize)
            .filter(|&i| i < emb.len())
            .map(|i| {
                let score = crate::query::checked_cosine(emb.cosine_with(dot, i, query));
                (i, score)
            })
            .collect();
        if let Some(bad) = scored
            .iter()
            .filter(|(_, s)| s.is_nan())
            .map(|&(i, _)| i)
            .min()
        {
            return Err(emb.corrupt_row(bad));
        }
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        scored.truncate(k);
        Ok(scored)
    }

    /// Answers `q` through the graph, with the exact path's semantics: the same query vector,
    /// query words excluded, scores recomputed exactly from the vectors; 3CosMul re-ranks the
    /// 3CosAdd query's best `max(10 k, 100)` candidates exactly.
    pub fn search(&self, emb: &Embeddings, q: &Query) -> Result<Vec<Neighbor>> {
        q.check()?;
        let i = self.info();
        if emb.len() != i.vocab_len || emb.dims() != i.dims {
            return Err(Error::invalid(format!(
                "index built for {} words x {} dims, vectors have {} x {}",
                i.vocab_len,
                i.dims,
                emb.len(),
                emb.dims()
            )));
        }
        let cosmul = q.scoring == Scoring::CosMul;
        let Prepared { pos, neg, exclude } = emb.prepare(&q.positive, &q.negative, cosmul)?;
        let query = emb.mean_query(&pos, &neg);
        let ef = q.ef.unwrap_or(i.ef_search);
        if !cosmul {
            return self.candidates(emb, &query, q.k, &exclude, ef, q.restrict_vocab, &q.filter);
        }
        let pool =
            q.k.min(i.indexed)
                .saturating_mul(10)
                .max(100)
                .min(i.indexed.max(1));
        let cands = self.candidates(
            emb,
            &query,
            pool,
            &exclude,
            ef.max(pool).min(MAX_EF),
            q.restrict_vocab,
            &q.filter,
        )?;
        let dot = simd::dot_fn();
        let mut scored: Vec<Neighbor> = cands
            .into_iter()
            .map(|mut n| {
                n.score = emb.cosmul_score(dot, n.index, &pos, &neg);
                n
            })
            .collect();
        scored.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.index.cmp(&b.index)));
        scored.truncate(q.k);
        Ok(scored)
    }
}

/// Reads a checked hnsw_rs dump into wordvec's graph, with link slots wide enough for every list
/// in it.
fn import_dump(
    graph_file: &Path,
    data_file: &Path,
    emb: &Embeddings,
    n: usize,
    m: usize,
    ef_construction: usize,
    ef_search: usize,
) -> Result<Graph> {
    let dump = dump_check::check(
        graph_file,
        data_file,
        dump_check::Expect {
            points: n,
            dims: emb.dims(),
            m,
        },
        UNIT_DOT,
    )?;
    let slots0 = dump
        .links
        .iter()
        .map(|l| l[0].len())
        .max()
        .unwrap_or(0)
        .max(2 * m);
    let slots = dump
        .links
        .iter()
        .flat_map(|l| l.iter().skip(1).map(Vec::len))
        .max()
        .unwrap_or(0)
        .max(m);
    let mut parts = graph::GraphParts {
        levels: dump.levels.clone(),
        layer0: vec![0; n * (1 + slots0)],
        upper_start: vec![graph::NO_UPPER; n],
        upper: Vec::new(),
        entry: dump.entry,
    };
    let mut records = 0u32;
    for (i, lists) in dump.links.iter().enumerate() {
        let rec = &mut parts.layer0[i * (1 + slots0)..(i + 1) * (1 + slots0)];
        rec[0] = lists[0].len() as u32;
        rec[1..1 + lists[0].len()].copy_from_slice(&lists[0]);
        parts.push_upper(i, &lists[1..], slots, &mut records);
    }
    build::link_unreachable(emb, &mut parts, slots0, ef_construction.max(m));
    let info = GraphInfo {
        indexed: n,
        vocab_len: emb.len(),
        dims: emb.dims(),
        m,
        slots,
        slots0,
        ef_construction,
        ef_search: ef_search.clamp(1, MAX_EF),
        fingerprint: emb.fingerprint(),
        build_seconds: 0.0,
    };
    Graph::from_parts(info, parts)
}

/// Recall and speed of an index against the exact scan.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RecallReport {
    /// Candidate list size.
    pub ef: usize,
    /// Mean fraction of the exact top k that the index returned, word queries.
    pub recall_words: f64,
    /// The same for analogy queries (a - b + c).
    pub recall_analogies: f64,
    /// Word queries per second on one thread (the best of three passes).
    pub qps_one_thread: f64,
    /// Word queries per second on all cores (the best of three passes).
    pub qps_all_threads: f64,
}

/// Measures recall@k of `index` against the exact scan for `queries` words spread over the
/// indexed rows (and as many analogy queries made of them), at each `ef`.
pub fn recall(
    emb: &Embeddings,
    index: &HnswIndex,
    queries: usize,
    k: usize,
    efs: &[usize],
) -> Result<Vec<RecallReport>> {
    let n = index.info().indexed;
    if n < 4 {
        return Err(Error::invalid("too few indexed words to measure recall"));
    }
    let words: Vec<usize> = (0..queries).map(|q| (q * 7919 + 1) % n).collect();
    recall_on(emb, index, &words, k, efs)
}

/// [`recall`] for the given query rows (the most frequent words, say: rows `0..q`).
pub fn recall_on(
    emb: &Embeddings,
    index: &HnswIndex,
    words: &[usize],
    k: usize,
    efs: &[usize],
) -> Result<Vec<RecallReport>> {
    let n = index.info().indexed;
    if n < 4 || words.is_empty() || words.iter().any(|&w| w >= n) {
        return Err(Error::invalid(
            "query rows must be indexed rows, of at least 4",
        ));
    }
    let restrict = Some(n);
    let exact_w: Vec<Vec<usize>> = words
        .iter()
        .map(|&i| {
            emb.most_similar(&[Term::Word(emb.word(i))], &[], k, restrict)
                .map(|r| r.into_iter().map(|x| x.index).collect())
        })
        .collect::<Result<_>>()?;
    let analogy = |q: usize| {
        (
            words[q],
            words[(q + 1) % words.len()],
            words[(q + 2) % words.len()],
        )
    };
    let exact_a: Vec<Vec<usize>> = (0..words.len())
        .map(|q| {
            let (a, b, c) = analogy(q);
            let (a, b, c) = (emb.word(a), emb.word(b), emb.word(c));
            emb.most_similar(
                &[Term::Word(b), Term::Word(c)],
                &[Term::Word(a)],
                k,
                restrict,
            )
            .map(|r| r.into_iter().map(|x| x.index).collect())
        })
        .collect::<Result<_>>()?;
    let overlap = |got: &[Neighbor], want: &[usize]| {
        if want.is_empty() {
            1.0
        } else {
            got.iter().filter(|n| want.contains(&n.index)).count() as f64 / want.len() as f64
        }
    };
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .map_err(|e| Error::internal(format!("cannot start a one-thread pool: {e}")))?;
    let mut out = Vec::new();
    for &ef in efs {
        let run = |q: usize| {
            index.search(
                emb,
                &Query::new(&[Term::Word(emb.word(words[q]))], &[], k).ef(Some(ef)),
            )
        };
        // Each timing is the best of three passes, so that a busy moment of the machine does not
        // decide it (benches/compare_ann.py times the peers the same way).
        let mut got: Vec<Vec<Neighbor>> = Vec::new();
        let (mut best_one, mut best_all) = (f64::INFINITY, f64::INFINITY);
        for _ in 0..3 {
            let t = Instant::now();
            got = one.install(|| (0..words.len()).map(run).collect::<Result<_>>())?;
            best_one = best_one.min(t.elapsed().as_secs_f64());
            let t = Instant::now();
            let _: Vec<Vec<Neighbor>> = (0..words.len())
                .into_par_iter()
                .map(run)
                .collect::<Result<_>>()?;
            best_all = best_all.min(t.elapsed().as_secs_f64());
        }
        let qps_one = words.len() as f64 / best_one;
        let qps_all = words.len() as f64 / best_all;
        let recall_words = got
            .iter()
            .zip(&exact_w)
            .map(|(g, w)| overlap(g, w))
            .sum::<f64>()
            / words.len() as f64;
        let mut ra = 0.0;
        for (q, want) in exact_a.iter().enumerate() {
            let (a, b, c) = analogy(q);
            let g = index.search(
                emb,
                &Query::new(
                    &[Term::Word(emb.word(b)), Term::Word(emb.word(c))],
                    &[Term::Word(emb.word(a))],
                    k,
                )
                .ef(Some(ef)),
            )?;
            ra += overlap(&g, want);
        }
        out.push(RecallReport {
            ef,
            recall_words,
            recall_analogies: ra / words.len() as f64,
            qps_one_thread: qps_one,
            qps_all_threads: qps_all,
        });
    }
    Ok(out)
}
