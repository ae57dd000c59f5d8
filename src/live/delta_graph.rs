//! The delta's own HNSW graph, grown in the background as words are written, so that the index
//! path of a [`View`](super::View) does not scan every delta row.
//!
//! - Delta rows are only ever appended (a replaced or deleted word's old row stays until
//!   compaction), so a graph over rows `0..n` of one delta stays valid for every later snapshot
//!   of it. Rows are inserted as hnswlib's `addPoint` inserts them ([`Growing`]): the graph is
//!   never rebuilt, each row is inserted once.
//! - The writer offers each new delta after a write ([`DeltaIndex::offer`]); when the rows the
//!   graph lacks reach [`MIN_TAIL`] (and a share of the graph, so that copying the graph out is a
//!   small part of the work), one background thread inserts them on all cores and publishes a
//!   flat copy of the graph ([`DeltaGraph`]). A write never waits for it: a write is acknowledged
//!   once its log record is synced, whatever the graph is doing.
//! - A query searches the newest published graph, admitting only rows that are the current row
//!   of their word in the query's view (a row written after the view, replaced or deleted is
//!   traversed, never returned), and scans the rows the graph lacks exactly. Scores are the exact
//!   cosines of the merged rows either way (the graph's rows are the delta's rows, bit for bit).
//! - A compaction starts a new delta, and with it a new [`DeltaIndex`]; a job of the old one
//!   that is still running finishes into the old one, which only old views read.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::embeddings::{Embeddings, Metadata};
use crate::index::build::Growing;
use crate::index::HnswIndex;
use crate::search::Searcher;
use crate::storage::Storage;
use crate::vocab::Vocab;

use super::delta::Delta;
use super::lock;

/// Rows the graph must lack before a job starts: fewer are scanned exactly, faster than a
/// search of a graph would find them.
pub(crate) const MIN_TAIL: usize = 256;

/// Rows `0..n` of a delta snapshot, as the vocabulary and storage of an [`Embeddings`].
#[derive(Clone)]
struct Rows(Arc<Delta>, usize);

impl Vocab for Rows {
    fn len(&self) -> usize {
        self.1
    }

    fn word(&self, idx: usize) -> &str {
        self.0.word(idx)
    }

    fn index(&self, word: &str) -> Option<usize> {
        self.0
            .get(word)
            .map(|e| e.row as usize)
            .filter(|&r| r < self.1)
    }
}

impl Storage for Rows {
    fn dims(&self) -> usize {
        self.0.dims()
    }

    fn len(&self) -> usize {
        self.1
    }

    #[inline]
    fn row_bytes(&self, idx: usize) -> &[u8] {
        self.0.row_bytes(idx)
    }
}

/// A published graph over the first delta rows, with the rows it was built over.
pub(crate) struct DeltaGraph {
    emb: Embeddings,
    index: HnswIndex,
}

impl DeltaGraph {
    /// The delta rows the graph holds, as embeddings (row `i` is delta row `i`).
    pub(crate) fn embeddings(&self) -> &Embeddings {
        &self.emb
    }

    /// The graph.
    pub(crate) fn index(&self) -> &HnswIndex {
        &self.index
    }

    /// Delta rows in the graph (`0..len()`).
    pub(crate) fn len(&self) -> usize {
        self.emb.len()
    }
}

/// The graph of one delta, growing (see the module documentation).
pub(crate) struct DeltaIndex {
    ef_search: usize,
    unit_rows: bool,
    meta: Metadata,
    growing: Mutex<Growing>,
    /// The newest delta offered, for the job to pick up when it is done with the one before.
    newest: Mutex<Option<Arc<Delta>>>,
    latest: Mutex<Option<Arc<DeltaGraph>>>,
    /// Rows in `latest`.
    covered: AtomicUsize,
    busy: AtomicBool,
    /// Set when a job failed: the delta is then scanned exactly, as before any graph.
    failed: AtomicBool,
}

impl std::fmt::Debug for DeltaIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeltaIndex")
            .field("covered", &self.covered.load(Ordering::Relaxed))
            .finish()
    }
}

impl DeltaIndex {
    /// A graph for the delta over `base`, with the base graph's settings; none when the base
    /// has no graph (its queries are exact scans, which need none).
    pub(crate) fn new(base: &Searcher) -> Option<Arc<DeltaIndex>> {
        let info = base.index.as_ref()?.info();
        Some(Arc::new(DeltaIndex {
            ef_search: info.ef_search,
            unit_rows: base.embeddings.unit_rows(),
            meta: base.embeddings.metadata().clone(),
            growing: Mutex::new(Growing::new(info.m, info.ef_construction, 0xde17a)),
            newest: Mutex::new(None),
            latest: Mutex::new(None),
            covered: AtomicUsize::new(0),
            busy: AtomicBool::new(false),
            failed: AtomicBool::new(false),
        }))
    }

    /// The newest published graph.
    pub(crate) fn latest(&self) -> Option<Arc<DeltaGraph>> {
        lock(&self.latest).clone()
    }

    /// Delta rows in the newest published graph.
    pub(crate) fn covered(&self) -> usize {
        self.covered.load(Ordering::Acquire)
    }

    /// Whether a graph of `rows` rows lacks enough of them to be worth a job.
    fn worth_growing(&self, rows: usize) -> bool {
        let covered = self.covered();
        let tail = rows.saturating_sub(covered);
        !self.failed.load(Ordering::Relaxed) && tail >= MIN_TAIL.max(covered / 32)
    }

    /// Takes the delta as the writer holds it after a write; starts a background job when the
    /// graph lacks enough of its rows and no job is running.
    pub(crate) fn offer(self: &Arc<Self>, delta: &Arc<Delta>) {
        *lock(&self.newest) = Some(delta.clone());
        if !self.worth_growing(delta.rows()) || self.busy.swap(true, Ordering::AcqRel) {
            return;
        }
        let me = self.clone();
        let spawned = std::thread::Builder::new()
            .name("wordvec-delta-graph".into())
            .spawn(move || me.run());
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot start the delta's graph job: the delta is scanned exactly");
            self.busy.store(false, Ordering::Release);
        }
    }

    /// The job: grows the graph to the newest delta offered until it lacks too few rows.
    fn run(&self) {
        loop {
            let delta = lock(&self.newest).clone();
            match delta {
                Some(d) if self.worth_growing(d.rows()) => {
                    if let Err(e) = self.grow_to(d) {
                        tracing::warn!(error = %e, "the delta's graph stopped growing: its new rows are scanned exactly");
                        self.failed.store(true, Ordering::Relaxed);
                    }
                    continue;
                }
                _ => {}
            }
            self.busy.store(false, Ordering::Release);
            // A write offered between the look above and the flag's clearing found the job
            // busy and started none: look once more, and go on if no other job started since.
            let rows = lock(&self.newest).as_ref().map_or(0, |d| d.rows());
            if !self.worth_growing(rows) || self.busy.swap(true, Ordering::AcqRel) {
                return;
            }
        }
    }

    fn grow_to(&self, delta: Arc<Delta>) -> crate::error::Result<()> {
        let n = delta.rows();
        let norms: Vec<f32> = (0..n).map(|r| delta.norm(r)).collect();
        let rows = Rows(delta, n);
        let emb = Embeddings::from_parts(
            Box::new(rows.clone()),
            Box::new(rows),
            norms.into(),
            self.unit_rows,
            self.meta.clone(),
        )?;
        let graph = {
            let mut g = lock(&self.growing);
            g.grow(&emb, n, &|_| {})?;
            g.graph(&emb, self.ef_search)?
        };
        let published = Arc::new(DeltaGraph {
            emb,
            index: HnswIndex::from_graph(graph),
        });
        *lock(&self.latest) = Some(published);
        self.covered.store(n, Ordering::Release);
        tracing::debug!(rows = n, "grew the delta's graph");
        Ok(())
    }

    /// Blocks until no job runs and the graph lacks fewer rows than a job would take (for
    /// tests and benchmarks, which measure a settled graph).
    pub(crate) fn settle(&self) {
        loop {
            let rows = lock(&self.newest).as_ref().map_or(0, |d| d.rows());
            if !self.busy.load(Ordering::Acquire) && !self.worth_growing(rows) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    }
}
