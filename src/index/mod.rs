//! Approximate nearest neighbours: an HNSW graph (crate hnsw_rs) over the unit-normalised rows
//! of a set of embeddings, built once on all cores, saved beside the vectors and reloaded.
//!
//! The index answers the same queries as the exact scan ([`crate::query`]), with the same
//! semantics: the query vector is built the same way, input words are excluded, and every
//! returned score is recomputed exactly from the stored vectors, so only *which* words come back
//! can differ from the exact answer (measured by [`recall`]). 3CosMul re-ranks the index's
//! candidates for the 3CosAdd query exactly.
//!
//! hnsw_rs can abort the process on bad input (an assertion in its dot distance, `exit` on
//! unreadable files, panics on mismatched graph/data pairs). Every call is guarded: the
//! distance is clamped ([`distance::UnitDot`]), files are verified by hash before hnsw_rs reads
//! them ([`meta`]), and calls into it run under `catch_unwind`.

pub mod distance;
mod dump_check;
pub mod meta;

use std::path::Path;
use std::time::Instant;

use hnsw_rs::hnswio::HnswIo;
use hnsw_rs::prelude::{FilterT, Hnsw, Neighbour};
use indicatif::ProgressBar;
use rayon::prelude::*;

use crate::embeddings::Embeddings;
use crate::error::{Error, Result};
use crate::limits::MAX_EF;
use crate::query::{Neighbor, Prepared, Term};
use crate::simd;
use distance::UnitDot;
pub use meta::IndexMeta;

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
}

impl Default for IndexParams {
    fn default() -> Self {
        IndexParams {
            m: 16,
            ef_construction: 200,
            ef_search: 32,
            restrict_vocab: None,
        }
    }
}

type Graph<'a> = Hnsw<'a, f32, UnitDot>;

self_cell::self_cell!(
    /// A reloaded graph and the loader it borrows from, owned together so the pair can live in a
    /// long-running service.
    struct Loaded {
        owner: HnswIo,
        #[not_covariant]
        dependent: Graph,
    }
);

enum Inner {
    Built(Box<Graph<'static>>),
    Loaded(Loaded),
}

/// An HNSW index over a set of embeddings.
pub struct HnswIndex {
    inner: Inner,
    meta: IndexMeta,
}

impl std::fmt::Debug for HnswIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HnswIndex")
            .field("meta", &self.meta)
            .finish()
    }
}

/// Runs a call into hnsw_rs, turning a panic into an error.
fn guarded<T>(what: &str, f: impl FnOnce() -> T) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|p| {
        let msg = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        Error::invalid(format!("{what} failed inside hnsw_rs: {msg}"))
    })
}

impl HnswIndex {
    /// Builds an index over `emb` (the first `params.restrict_vocab` rows) on all cores.
    pub fn build(
        emb: &Embeddings,
        params: IndexParams,
        progress: Option<&ProgressBar>,
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
        let start = Instant::now();
        // hnsw_rs only saves graphs made with its maximum of 16 layers; the layer generator
        // rarely uses more than ln(n) of them anyway.
        let graph: Graph<'static> =
            Hnsw::new(params.m, n.max(1), 16, params.ef_construction, UnitDot);
        // Unit rows, normalised in f64 so that |v| = 1 to within one rounding.
        let batch = 16_384;
        if let Some(p) = progress {
            p.set_length(n as u64);
        }
        for lo in (0..n).step_by(batch) {
            let hi = (lo + batch).min(n);
            let rows: Vec<Vec<f32>> = (lo..hi)
                .into_par_iter()
                .map(|i| unit_f64(&emb.storage().row(i)))
                .collect();
            let items: Vec<(&[f32], usize)> = rows
                .iter()
                .enumerate()
                .map(|(k, v)| (v.as_slice(), lo + k))
                .collect();
            guarded("building the index", || graph.parallel_insert_slice(&items))?;
            if let Some(p) = progress {
                p.set_position(hi as u64);
            }
        }
        if let Some(p) = progress {
            p.finish_and_clear();
        }
        let mut graph = graph;
        graph.set_searching_mode(true);
        let meta = IndexMeta {
            format: meta::FORMAT.into(),
            fingerprint: meta::fingerprint(emb),
            vocab_len: emb.len(),
            indexed: n,
            dims: emb.dims(),
            m: params.m,
            ef_construction: params.ef_construction,
            ef_search: params.ef_search,
            build_seconds: start.elapsed().as_secs_f64(),
            graph: meta::FileCheck {
                bytes: 0,
                xxh3: String::new(),
            },
            data: meta::FileCheck {
                bytes: 0,
                xxh3: String::new(),
            },
        };
        Ok(HnswIndex {
            inner: Inner::Built(Box::new(graph)),
            meta,
        })
    }

    /// Saves the index as `path` (metadata) plus `path.hnsw.graph` and `path.hnsw.data`. The
    /// graph is dumped into a temporary folder beside `path`, the files are renamed into place,
    /// and the metadata, which holds their hashes, is written last.
    pub fn save(&mut self, path: &Path) -> Result<()> {
        let out = crate::io::OutputPath::new(path)?;
        let tmp = out.temp_dir()?;
        let dumped = match &self.inner {
            Inner::Built(g) => guarded("saving the index", || {
                hnsw_rs::api::AnnT::file_dump(&**g, tmp.path(), "index")
            })?,
            Inner::Loaded(l) => l.with_dependent(|_, g| {
                guarded("saving the index", || {
                    hnsw_rs::api::AnnT::file_dump(g, tmp.path(), "index")
                })
            })?,
        }
        .map_err(|e| {
            Error::io(
                "cannot write the index into",
                tmp.path(),
                std::io::Error::other(e.to_string()),
            )
        })?;
        let (src_graph, src_data) = meta::hnsw_files(&tmp.path().join(&dumped));
        let (graph, data) = meta::hnsw_files(out.target());
        for f in [&graph, &data] {
            crate::io::OutputPath::new(f)?;
        }
        let mut meta = self.meta.clone();
        meta.graph = meta::check_file(&src_graph)?;
        meta.data = meta::check_file(&src_data)?;
        std::fs::rename(&src_graph, &graph)
            .map_err(|e| Error::io("cannot rename into place", &graph, e))?;
        std::fs::rename(&src_data, &data)
            .map_err(|e| Error::io("cannot rename into place", &data, e))?;
        let json = serde_json::to_vec_pretty(&meta).map_err(|e| Error::invalid(e.to_string()))?;
        crate::io::write_atomically(path, |w| std::io::Write::write_all(w, &json))?;
        self.meta = meta;
        Ok(())
    }

    /// Reloads an index saved by [`save`](Self::save) for `emb`, checking that both files are
    /// intact and that they were built from these very vectors.
    pub fn load(path: &Path, emb: &Embeddings) -> Result<Self> {
        let meta = meta::load_and_verify(path, Some(emb))?;
        let (graph_file, data_file) = meta::hnsw_files(path);
        dump_check::check(
            &graph_file,
            &data_file,
            dump_check::Expect {
                points: meta.indexed,
                dims: meta.dims,
                m: meta.m,
            },
            std::any::type_name::<UnitDot>(),
        )?;
        let (dir, base) = (
            path.parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new(".")),
            path.file_name().and_then(|n| n.to_str()),
        );
        let base = base.ok_or_else(|| {
            Error::invalid(format!("{}: index name must be UTF-8", path.display()))
        })?;
        let io = HnswIo::new(dir, base);
        let loaded = guarded("reloading the index", || {
            Loaded::try_new(io, |io| {
                io.load_hnsw_with_dist::<f32, UnitDot>(UnitDot)
                    .map_err(|e| e.to_string())
            })
        })?
        .map_err(|e| {
            Error::format(
                path,
                None,
                0,
                format!("hnsw_rs could not reload the index: {e}"),
            )
        })?;
        let points = loaded.with_dependent(|_, g| g.get_nb_point());
        if points != meta.indexed {
            return Err(Error::format(
                path,
                None,
                0,
                format!(
                    "graph holds {points} points, the metadata says {}",
                    meta.indexed
                ),
            ));
        }
        Ok(HnswIndex {
            inner: Inner::Loaded(loaded),
            meta,
        })
    }

    /// The index's metadata.
    pub fn meta(&self) -> &IndexMeta {
        &self.meta
    }

    fn search_raw(
        &self,
        query: &[f32],
        k: usize,
        ef: usize,
        restrict: Option<usize>,
    ) -> Result<Vec<Neighbour>> {
        let filter = restrict
            .filter(|&r| r < self.meta.indexed)
            .map(|r| move |id: &usize| *id < r);
        let filter_ref: Option<&dyn FilterT> = filter.as_ref().map(|f| f as &dyn FilterT);
        // hnsw_rs reserves its heaps by `ef` and `k`: neither may exceed the rows there are.
        let rows = self.meta.indexed.max(1);
        let k = k.min(rows);
        let ef = ef.max(k).min(rows);
        match &self.inner {
            Inner::Built(g) => guarded("searching the index", || {
                g.search_filter(query, k, ef, filter_ref)
            }),
            Inner::Loaded(l) => l.with_dependent(|_, g| {
                guarded("searching the index", || {
                    g.search_filter(query, k, ef, filter_ref)
                })
            }),
        }
    }

    fn check(&self, emb: &Embeddings) -> Result<()> {
        if emb.len() != self.meta.vocab_len || emb.dims() != self.meta.dims {
            return Err(Error::invalid(format!(
                "index built for {} words x {} dims, vectors have {} x {}",
                self.meta.vocab_len,
                self.meta.dims,
                emb.len(),
                emb.dims()
            )));
        }
        Ok(())
    }

    /// Candidate rows for a unit query: up to `k` rows not in `exclude`, best first by exact
    /// cosine.
    fn candidates(
        &self,
        emb: &Embeddings,
        query: &[f32],
        k: usize,
        exclude: &[usize],
        ef: Option<usize>,
        restrict: Option<usize>,
    ) -> Result<Vec<Neighbor>> {
        let ef = crate::limits::at_most("ef", ef.unwrap_or(self.meta.ef_search), MAX_EF)?;
        crate::cancel::check()?;
        if k == 0 || self.meta.indexed == 0 {
            return Ok(Vec::new());
        }
        // A k past the indexed rows asks for all of them.
        let k = k.min(self.meta.indexed);
        let want = k.saturating_add(exclude.len());
        let found = self.search_raw(query, want, ef, restrict)?;
        let dot = simd::dot_fn();
        let mut out: Vec<Neighbor> = found
            .into_iter()
            .map(|n| n.d_id)
            .filter(|i| !exclude.contains(i) && *i < emb.len())
            .map(|i| Neighbor {
                word: emb.word(i).to_owned(),
                index: i,
                score: crate::query::checked_cosine(emb.cosine_with(dot, i, query)),
            })
            .collect();
        if let Some(bad) = out
            .iter()
            .filter(|n| n.score.is_nan())
            .map(|n| n.index)
            .min()
        {
            return Err(emb.corrupt_row(bad));
        }
        out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.index.cmp(&b.index)));
        out.truncate(k);
        Ok(out)
    }

    /// [`Embeddings::most_similar`] through the index (`ef`: candidate list size, default from
    /// the build).
    pub fn most_similar(
        &self,
        emb: &Embeddings,
        positive: &[Term],
        negative: &[Term],
        topn: usize,
        restrict_vocab: Option<usize>,
        ef: Option<usize>,
    ) -> Result<Vec<Neighbor>> {
        self.check(emb)?;
        let q = emb.prepare(positive, negative, false)?;
        let query = emb.mean_query(&q.pos, &q.neg);
        self.candidates(emb, &query, topn, &q.exclude, ef, restrict_vocab)
    }

    /// [`Embeddings::most_similar_to_vector`] through the index.
    pub fn most_similar_to_vector(
        &self,
        emb: &Embeddings,
        vector: &[f32],
        topn: usize,
        restrict_vocab: Option<usize>,
        ef: Option<usize>,
    ) -> Result<Vec<Neighbor>> {
        self.most_similar(emb, &[Term::Vector(vector)], &[], topn, restrict_vocab, ef)
    }

    /// [`Embeddings::most_similar_cosmul`] through the index: the 3CosAdd query's best
    /// `max(10 topn, 100)` candidates, re-ranked exactly by 3CosMul.
    pub fn most_similar_cosmul(
        &self,
        emb: &Embeddings,
        positive: &[Term],
        negative: &[Term],
        topn: usize,
        restrict_vocab: Option<usize>,
        ef: Option<usize>,
    ) -> Result<Vec<Neighbor>> {
        self.check(emb)?;
        let Prepared { pos, neg, exclude } = emb.prepare(positive, negative, true)?;
        let query = emb.mean_query(&pos, &neg);
        let ef = crate::limits::at_most("ef", ef.unwrap_or(self.meta.ef_search), MAX_EF)?;
        let pool = topn
            .min(self.meta.indexed)
            .saturating_mul(10)
            .max(100)
            .min(self.meta.indexed.max(1));
        let cands = self.candidates(
            emb,
            &query,
            pool,
            &exclude,
            Some(ef.max(pool).min(MAX_EF)),
            restrict_vocab,
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
        scored.truncate(topn);
        Ok(scored)
    }
}

fn unit_f64(v: &[f32]) -> Vec<f32> {
    let n = v
        .iter()
        .map(|&x| f64::from(x) * f64::from(x))
        .sum::<f64>()
        .sqrt();
    if n > 0.0 {
        v.iter().map(|&x| (f64::from(x) / n) as f32).collect()
    } else {
        vec![0.0; v.len()]
    }
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
    /// Word queries per second on one thread.
    pub qps_one_thread: f64,
    /// Word queries per second on all cores.
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
    let n = index.meta.indexed;
    if n < 4 {
        return Err(Error::invalid("too few indexed words to measure recall"));
    }
    let words: Vec<usize> = (0..queries).map(|q| (q * 7919 + 1) % n).collect();
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
        .map_err(|e| Error::invalid(e.to_string()))?;
    let mut out = Vec::new();
    for &ef in efs {
        let run = |q: usize| {
            index.most_similar(
                emb,
                &[Term::Word(emb.word(words[q]))],
                &[],
                k,
                None,
                Some(ef),
            )
        };
        let t = Instant::now();
        let got: Vec<Vec<Neighbor>> =
            one.install(|| (0..words.len()).map(run).collect::<Result<_>>())?;
        let qps_one = words.len() as f64 / t.elapsed().as_secs_f64();
        let t = Instant::now();
        let _: Vec<Vec<Neighbor>> = (0..words.len())
            .into_par_iter()
            .map(run)
            .collect::<Result<_>>()?;
        let qps_all = words.len() as f64 / t.elapsed().as_secs_f64();
        let recall_words = got
            .iter()
            .zip(&exact_w)
            .map(|(g, w)| overlap(g, w))
            .sum::<f64>()
            / words.len() as f64;
        let mut ra = 0.0;
        for (q, want) in exact_a.iter().enumerate() {
            let (a, b, c) = analogy(q);
            let g = index.most_similar(
                emb,
                &[Term::Word(emb.word(b)), Term::Word(emb.word(c))],
                &[Term::Word(emb.word(a))],
                k,
                None,
                Some(ef),
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
