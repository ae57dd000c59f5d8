//! One HNSW graph over the base and the delta, grown in the background as words are written,
//! so that the index path of a [`View`](super::View) searches one graph, as it would after a
//! compaction, instead of the base's graph and every delta row.
//!
//! - The graph's nodes are the base rows (ids `0..N`, the base graph's links copied once, at
//!   the first job) followed by the delta rows (id `N + d`). Delta rows are only ever appended (a
//!   replaced or deleted word's old row stays until compaction), so a graph over the first delta
//!   rows stays valid for every later snapshot of the delta. Rows are inserted as hnswlib's
//!   `addPoint` inserts them ([`Growing`]): each row once, linked both ways into the base's
//!   graph, never a rebuild.
//! - The writer offers each new delta after a write ([`DeltaIndex::offer`]); when the graph
//!   lacks [`MIN_TAIL`] rows or more (a 1,024th of the graph on a large base) and no job runs, one background thread inserts them on all
//!   cores and publishes a flat copy of the graph ([`DeltaGraph`]; copying it is what lets queries
//!   read it without a lock while the next job inserts). A write never waits for it: a write is
//!   acknowledged once its log record is synced, whatever the graph is doing.
//! - A query searches the newest published graph, admitting only rows that are in its view and
//!   current there (base rows not tombstoned; delta rows that are their word's row in the view:
//!   rows replaced, deleted or written after the view are traversed, never returned), and scans
//!   the delta rows the graph lacks exactly. Scores are the exact cosines of the merged rows
//!   either way (the graph's rows are the base's and the delta's rows, bit for bit).
//! - A compaction starts a new delta, and with it a new [`DeltaIndex`]; a job of the old one
//!   that is still running finishes into the old one, which only old views read.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::embeddings::Embeddings;
use crate::index::build::Growing;
use crate::index::HnswIndex;
use crate::search::Searcher;
use crate::storage::Storage;
use crate::vocab::Vocab;

use super::delta::Delta;
use super::lock;

/// The threads that grow delta graphs: as many as the machine has, at a lower priority than the
/// threads that answer requests (nice 10 on Linux), so that a bulk load's graph work takes the
/// cores the writes and queries leave idle rather than adding to their latency.
fn pool() -> &'static rayon::ThreadPool {
    static POOL: std::sync::OnceLock<rayon::ThreadPool> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .thread_name(|i| format!("wordvec-delta-graph-{i}"))
            .start_handler(|_| lower_priority())
            .build()
            .unwrap_or_else(|_| {
                // No threads to spare: one thread of the pool's caller's kind.
                rayon::ThreadPoolBuilder::new()
                    .num_threads(1)
                    .build()
                    .expect("a pool of one thread")
            })
    })
}

#[cfg(target_os = "linux")]
fn lower_priority() {
    // SAFETY: setpriority takes plain integers and touches no memory of ours; on Linux, who = 0
    // with PRIO_PROCESS names the calling thread. Failing (no permission) leaves the thread as it
    // was, which is only slower for the others.
    let r = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 10) };
    if r != 0 {
        tracing::debug!("cannot lower the priority of a delta graph thread");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

/// Rows the graph must lack before a job starts: fewer are scanned exactly, faster than a
/// search of a graph would find them.
pub(crate) const MIN_TAIL: usize = 256;

/// The graph's rows: the base's rows, then delta rows `0..n` of a delta snapshot, as the
/// vocabulary and storage of an [`Embeddings`].
#[derive(Clone)]
struct Rows {
    base: Arc<Searcher>,
    delta: Arc<Delta>,
    n: usize,
    /// The base's rows (read per distance: not asked of the base each time).
    base_len: usize,
}

impl Rows {
    #[inline]
    fn base_len(&self) -> usize {
        self.base_len
    }
}

impl Vocab for Rows {
    fn len(&self) -> usize {
        self.base_len() + self.n
    }

    fn word(&self, idx: usize) -> &str {
        match idx.checked_sub(self.base_len()) {
            None => self.base.embeddings.word(idx),
            Some(d) => self.delta.word(d),
        }
    }

    fn index(&self, word: &str) -> Option<usize> {
        match self.delta.get(word) {
            Some(e) if (e.row as usize) < self.n => Some(self.base_len() + e.row as usize),
            _ => self.base.embeddings.index(word),
        }
    }
}

impl Storage for Rows {
    fn dims(&self) -> usize {
        self.base.embeddings.dims()
    }

    fn len(&self) -> usize {
        self.base_len() + self.n
    }

    #[inline]
    fn row_bytes(&self, idx: usize) -> &[u8] {
        match idx.checked_sub(self.base_len()) {
            None => self.base.embeddings.storage().row_bytes(idx),
            Some(d) => self.delta.row_bytes(d),
        }
    }
}

/// A published graph over the base rows and the first delta rows, with those rows.
pub(crate) struct DeltaGraph {
    emb: Embeddings,
    index: HnswIndex,
    base_len: usize,
}

impl DeltaGraph {
    /// The graph's rows as embeddings: row `i < base_len()` is base row `i`, row
    /// `base_len() + d` delta row `d`.
    pub(crate) fn embeddings(&self) -> &Embeddings {
        &self.emb
    }

    /// The graph.
    pub(crate) fn index(&self) -> &HnswIndex {
        &self.index
    }

    /// Base rows (the first nodes).
    pub(crate) fn base_len(&self) -> usize {
        self.base_len
    }

    /// Delta rows in the graph (`0..delta_rows()`).
    pub(crate) fn delta_rows(&self) -> usize {
        self.emb.len() - self.base_len
    }
}

/// The graph of one delta, growing (see the module documentation).
pub(crate) struct DeltaIndex {
    base: Arc<Searcher>,
    ef_search: usize,
    /// The graph being grown: the base's, copied at the first job.
    growing: Mutex<Option<Growing>>,
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
    /// A graph for the delta over `base`, grown from the base's graph; none when the base has
    /// no graph over all its rows (its queries are then exact scans, which need none).
    pub(crate) fn new(base: &Arc<Searcher>) -> Option<Arc<DeltaIndex>> {
        let info = base.index.as_ref()?.info();
        if info.indexed < base.embeddings.len() {
            return None;
        }
        Some(Arc::new(DeltaIndex {
            base: base.clone(),
            ef_search: info.ef_search,
            growing: Mutex::new(None),
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

    /// Whether a graph lacking some of the delta's `rows` rows lacks enough to be worth a job.
    ///
    /// A job copies the whole graph out (base rows included), so on a large base it waits for
    /// more rows: a 1,024th of the graph's rows (about 3,000 on a 3M-row base, an exact scan of
    /// well under a millisecond per query) bounds that copying to a few bytes per row written.
    fn worth_growing(&self, rows: usize) -> bool {
        let covered = self.covered();
        let tail = rows.saturating_sub(covered);
        let graph_rows = self.base.embeddings.len() + covered;
        !self.failed.load(Ordering::Relaxed) && tail >= MIN_TAIL.max(graph_rows / 1024)
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
                    if let Err(e) = pool().install(|| self.grow_to(d)) {
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

    /// Grows the graph to every row of `delta` now, on this thread, unless it holds them
    /// already; the newest graph then (which holds at least `delta`'s rows).
    pub(crate) fn cover(&self, delta: &Arc<Delta>) -> crate::error::Result<Arc<DeltaGraph>> {
        if self.covered() < delta.rows() || self.latest().is_none() {
            self.grow_to(delta.clone())?;
        }
        self.latest()
            .ok_or_else(|| crate::error::Error::internal("the delta's graph was not published"))
    }

    fn grow_to(&self, delta: Arc<Delta>) -> crate::error::Result<()> {
        let n = delta.rows();
        let base_len = self.base.embeddings.len();
        let mut norms = Vec::with_capacity(base_len + n);
        norms.extend_from_slice(self.base.embeddings.norms());
        norms.extend((0..n).map(|r| delta.norm(r)));
        let rows = Rows {
            base: self.base.clone(),
            delta,
            n,
            base_len,
        };
        let emb = Embeddings::from_parts(
            Box::new(rows.clone()),
            Box::new(rows),
            norms.into(),
            self.base.embeddings.unit_rows(),
            self.base.embeddings.metadata().clone(),
        )?;
        let graph = {
            let mut g = lock(&self.growing);
            let g = g.get_or_insert_with(|| {
                let base = self
                    .base
                    .index
                    .as_ref()
                    .expect("a delta index has a base graph");
                Growing::from_graph(base.graph(), 0x5eed)
            });
            g.grow(&emb, base_len + n, &|_| {})?;
            g.graph(&emb, self.ef_search)?
        };
        let published = Arc::new(DeltaGraph {
            emb,
            index: HnswIndex::from_graph(graph),
            base_len,
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
