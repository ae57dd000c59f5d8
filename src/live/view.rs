//! [`View`]: a live model as one reader sees it, the base minus its tombstones plus the delta,
//! fixed at one log sequence number.
//!
//! A view answers every query in one place. The *exact* path scans the merged rows themselves:
//! the view presents base and delta as one [`Embeddings`] (a vocabulary and a storage that look a
//! row up in the base or in the delta, and the rows' lengths in merged order), so every exact
//! query (3CosAdd and 3CosMul, word and vector terms, `restrict_vocab`, filters, `doesnt_match`,
//! a fastText model's words outside the vocabulary) runs the very code that scans a file, over the
//! very bits the compacted file will hold: its answers are those of the compacted file, word for
//! word and score for score. That merged vocabulary is built once per view, when a query first
//! needs it (two arrays of one entry per row, a few milliseconds for 3 million rows); a view with
//! an empty delta is the base itself and builds nothing. Exact scans of a view with a delta do not
//! read the base's int8 copy (it holds base rows only).
//!
//! The *index* path (with the `index` feature) searches the base's graph, skipping tombstoned
//! rows through the admission test the graph search already has for filters, scans the delta's
//! rows exactly, and merges the two by score; scores are exact cosines either way, so what the
//! index path can miss is only what the graph search misses in the base.
//!
//! Rows are numbered in merged order (the order of the compacted file): the base rows that are
//! left, replaced words in their place, then words added since, in the order they were added.
//! [`Neighbor::index`] and `restrict_vocab` use that order.

use std::sync::{Arc, OnceLock};

use crate::embeddings::Embeddings;
use crate::error::Result;
use crate::filter::Filter;
use crate::query::{DoesntMatch, Neighbor, Query};
use crate::search::Searcher;
use crate::storage::Storage;
use crate::vocab::Vocab;

use super::delta::{Delta, Slot};

/// The merged order of a view: where each merged row comes from, and the base rows gone.
#[derive(Debug)]
struct Order {
    /// Merged row -> base row (below the base's length) or base length + delta row.
    src: Vec<u32>,
    /// Base rows removed (deleted, not replaced), one bit each.
    removed: Vec<u64>,
    /// Removed base rows before each 64-row word of `removed`.
    removed_before: Vec<u32>,
    /// Sequence numbers of the words added since the base, sorted: their merged rows follow
    /// the base's.
    new_seqs: Vec<u64>,
    /// Base rows that keep a place (left or replaced).
    base_kept: usize,
}

impl Order {
    fn build(base_len: usize, delta: &Delta) -> Order {
        let mut replaced: Vec<(u32, u32)> = Vec::new();
        let mut added: Vec<(u64, u32)> = Vec::new();
        for (_, e) in delta.entries() {
            match e.slot {
                Slot::Base(i) => replaced.push((i, e.row)),
                Slot::New(seq) => added.push((seq, e.row)),
            }
        }
        replaced.sort_unstable();
        added.sort_unstable();
        let words = base_len.div_ceil(64);
        let mut removed: Vec<u64> = (0..words).map(|w| delta.tomb_word(w)).collect();
        for &(i, _) in &replaced {
            removed[i as usize / 64] &= !(1 << (i % 64));
        }
        let mut removed_before = Vec::with_capacity(words);
        let mut count = 0u32;
        for w in &removed {
            removed_before.push(count);
            count += w.count_ones();
        }
        let base_kept = base_len - count as usize;
        let mut src = Vec::with_capacity(base_kept + added.len());
        let mut next_replaced = replaced.iter().peekable();
        for (w, &gone) in removed.iter().enumerate() {
            let tomb = delta.tomb_word(w);
            let end = (64 * w + 64).min(base_len);
            if tomb == 0 {
                src.extend(64 * w as u32..end as u32);
                continue;
            }
            for i in 64 * w..end {
                if gone & (1 << (i % 64)) != 0 {
                    continue;
                }
                if tomb & (1 << (i % 64)) == 0 {
                    src.push(i as u32);
                } else {
                    let &(r, row) = next_replaced.next().expect("a replaced row's delta row");
                    debug_assert_eq!(r as usize, i);
                    src.push((base_len + row as usize) as u32);
                }
            }
        }
        src.extend(
            added
                .iter()
                .map(|&(_, row)| (base_len + row as usize) as u32),
        );
        Order {
            src,
            removed,
            removed_before,
            new_seqs: added.into_iter().map(|(seq, _)| seq).collect(),
            base_kept,
        }
    }

    /// The merged row of base row `i` (which must not be removed).
    #[inline]
    fn of_base(&self, i: usize) -> usize {
        let w = i / 64;
        let below = self.removed[w] & ((1u64 << (i % 64)) - 1);
        i - self.removed_before[w] as usize - below.count_ones() as usize
    }

    fn of_slot(&self, slot: Slot) -> usize {
        match slot {
            Slot::Base(i) => self.of_base(i as usize),
            Slot::New(seq) => {
                let at = self
                    .new_seqs
                    .binary_search(&seq)
                    .expect("an added word's seq");
                self.base_kept + at
            }
        }
    }
}

/// Base, delta and merged order together: the vocabulary and the storage of a view's merged
/// [`Embeddings`].
struct Parts {
    base: Arc<Searcher>,
    delta: Arc<Delta>,
    order: Order,
}

#[derive(Clone)]
struct Merged(Arc<Parts>);

impl Merged {
    #[inline]
    fn source(&self, m: usize) -> std::result::Result<usize, usize> {
        let s = self.0.order.src[m] as usize;
        let n = self.0.delta.base_len();
        if s < n {
            Ok(s)
        } else {
            Err(s - n)
        }
    }
}

impl Vocab for Merged {
    fn len(&self) -> usize {
        self.0.order.src.len()
    }

    fn word(&self, idx: usize) -> &str {
        match self.source(idx) {
            Ok(b) => self.0.base.embeddings.word(b),
            Err(d) => self.0.delta.word(d),
        }
    }

    fn index(&self, word: &str) -> Option<usize> {
        let p = &*self.0;
        if let Some(e) = p.delta.get(word) {
            return Some(p.order.of_slot(e.slot));
        }
        let i = p.base.embeddings.index(word)?;
        (!p.delta.is_tomb(i)).then(|| p.order.of_base(i))
    }
}

impl Storage for Merged {
    fn dims(&self) -> usize {
        self.0.base.embeddings.dims()
    }

    fn len(&self) -> usize {
        self.0.order.src.len()
    }

    #[inline]
    fn row_bytes(&self, idx: usize) -> &[u8] {
        match self.source(idx) {
            Ok(b) => self.0.base.embeddings.storage().row_bytes(b),
            Err(d) => self.0.delta.row_bytes(d),
        }
    }
}

/// A live model at one log sequence number (see the module documentation). Cheap to hold: a
/// request keeps the view it started with while writes go on.
pub struct View {
    base: Arc<Searcher>,
    delta: Arc<Delta>,
    lsn: u64,
    merged: OnceLock<(Arc<Parts>, Embeddings)>,
    /// Delta row -> its merged row, `u32::MAX` for a row not current in this view: built once
    /// per view, when an indexed query first needs it (a graph search asks for many rows).
    #[cfg(feature = "index")]
    delta_merged: OnceLock<Vec<u32>>,
    /// The delta's graph (shared with the writer, growing): the newest one published is read
    /// at each query.
    #[cfg(feature = "index")]
    graph: Option<Arc<super::delta_graph::DeltaIndex>>,
}

impl std::fmt::Debug for View {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("View")
            .field("lsn", &self.lsn)
            .field("base_rows", &self.base_rows())
            .field("delta_rows", &self.delta_rows())
            .field("tombstones", &self.tombstones())
            .finish()
    }
}

impl View {
    pub(crate) fn new(base: Arc<Searcher>, delta: Arc<Delta>, lsn: u64) -> View {
        View {
            base,
            delta,
            lsn,
            merged: OnceLock::new(),
            #[cfg(feature = "index")]
            delta_merged: OnceLock::new(),
            #[cfg(feature = "index")]
            graph: None,
        }
    }

    /// The same view, with the delta's graph `g`.
    #[cfg(feature = "index")]
    pub(crate) fn with_delta_graph(mut self, g: Arc<super::delta_graph::DeltaIndex>) -> View {
        self.graph = Some(g);
        self
    }

    /// The newest graph published over the delta's rows, if any.
    #[cfg(feature = "index")]
    pub(crate) fn delta_graph(&self) -> Option<Arc<super::delta_graph::DeltaGraph>> {
        self.graph.as_ref().and_then(|g| g.latest())
    }

    /// The graph of the base and the delta grown, on this thread, to every delta row of this
    /// view (for a compaction); none without a base graph.
    #[cfg(feature = "index")]
    pub(crate) fn cover_delta(&self) -> Result<Option<Arc<super::delta_graph::DeltaGraph>>> {
        match &self.graph {
            Some(g) => Ok(Some(g.cover(&self.delta)?)),
            None => Ok(None),
        }
    }

    /// Delta rows in the newest graph of the delta (0 without one).
    #[cfg(feature = "index")]
    pub(crate) fn delta_indexed(&self) -> usize {
        self.graph.as_ref().map_or(0, |g| g.covered())
    }

    /// Blocks until the delta's graph holds all but fewer rows than a job of its would take.
    #[cfg(feature = "index")]
    pub(crate) fn settle(&self) {
        if let Some(g) = &self.graph {
            g.settle();
        }
    }

    /// A view of vectors that take no writes: `base` itself, at LSN 0, with an empty delta (its
    /// queries are `base`'s own). For a program that answers every model through views, live or
    /// not (the server does).
    pub fn of(base: Searcher) -> View {
        let delta = Delta::new(&base.embeddings);
        View::new(Arc::new(base), Arc::new(delta), 0)
    }

    /// Whether the base has an index (queries may then go through it: [`View::uses_index`]).
    #[cfg(feature = "index")]
    pub fn has_index(&self) -> bool {
        self.base.index.is_some()
    }

    pub(crate) fn base(&self) -> &Arc<Searcher> {
        &self.base
    }

    pub(crate) fn delta(&self) -> &Delta {
        &self.delta
    }

    /// The merged rows as [`Embeddings`] (the base's own when nothing was written since it):
    /// everything that reads vectors (a text's vector, a batch of vectors, an evaluation) reads
    /// them here.
    pub fn embeddings(&self) -> &Embeddings {
        if self.delta.is_empty() {
            return &self.base.embeddings;
        }
        &self.merged.get_or_init(|| self.build_merged()).1
    }

    fn build_merged(&self) -> (Arc<Parts>, Embeddings) {
        let base = &self.base.embeddings;
        let order = Order::build(base.len(), &self.delta);
        let n = base.len();
        let norms: Vec<f32> = order
            .src
            .iter()
            .map(|&s| match (s as usize).checked_sub(n) {
                None => base.norms()[s as usize],
                Some(d) => self.delta.norm(d),
            })
            .collect();
        let parts = Arc::new(Parts {
            base: self.base.clone(),
            delta: self.delta.clone(),
            order,
        });
        let mut emb = Embeddings::from_parts(
            Box::new(Merged(parts.clone())),
            Box::new(Merged(parts.clone())),
            norms.into(),
            base.unit_rows(),
            base.metadata().clone(),
        )
        .expect("one word, one row and one length for each merged row");
        emb.share_subwords(base);
        (parts, emb)
    }

    /// The log sequence number of the last write this view holds (0 for none ever).
    pub fn lsn(&self) -> u64 {
        self.lsn
    }

    /// Rows of the base.
    pub fn base_rows(&self) -> usize {
        self.base.embeddings.len()
    }

    /// Words whose vector is in the delta (added or replaced since the base).
    pub fn delta_rows(&self) -> usize {
        self.delta.words()
    }

    /// Base rows hidden by a delete or a replacement.
    pub fn tombstones(&self) -> usize {
        self.delta.tombstones()
    }

    /// Words in the view.
    pub fn len(&self) -> usize {
        // Every hidden base row is replaced (a word of the delta) or deleted; every word of the
        // delta replaces one or is new.
        self.base_rows() - self.tombstones() + self.delta_rows()
    }

    /// True when the view holds no word.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Dimensions per vector.
    pub fn dims(&self) -> usize {
        self.base.embeddings.dims()
    }

    /// Whether `word` is in the view's vocabulary: a word of the delta, or a base word neither
    /// deleted nor replaced. Answered from the delta and the base's vocabulary, without the
    /// merged vocabulary (a writer that skips words already there asks this after every write).
    pub fn contains(&self, word: &str) -> bool {
        self.delta.get(word).is_some()
            || self
                .base
                .embeddings
                .index(word)
                .is_some_and(|i| !self.delta.is_tomb(i))
    }

    /// The raw vector of `word` (as written, for a word of the delta).
    pub fn vector(&self, word: &str) -> Result<Vec<f32>> {
        self.embeddings().vector(word)
    }

    /// The unit vector of `word`.
    pub fn unit_vector(&self, word: &str) -> Result<Vec<f32>> {
        self.embeddings().unit_vector(word)
    }

    /// Cosine similarity of two words.
    pub fn similarity(&self, a: &str, b: &str) -> Result<f32> {
        self.embeddings().similarity(a, b)
    }

    /// The word that fits least with the others ([`Embeddings::doesnt_match`]).
    pub fn doesnt_match<S: AsRef<str>>(&self, words: &[S]) -> Result<DoesntMatch> {
        self.embeddings().doesnt_match(words)
    }

    /// A filter over this view's rows ([`Filter::from_words`]); use it with this view's queries.
    pub fn filter<A: AsRef<str>, D: AsRef<str>>(
        &self,
        allow: Option<&[A]>,
        deny: &[D],
    ) -> Result<Filter> {
        Filter::from_words(self.embeddings(), allow, deny)
    }

    /// The merged rows in merged order (the compacted file's): each word and its raw vector.
    pub fn merged_rows(&self) -> impl Iterator<Item = (&str, Vec<f32>)> + '_ {
        let e = self.embeddings();
        (0..e.len()).map(move |i| (e.word(i), e.raw_row(i)))
    }

    #[cfg(feature = "index")]
    fn choose(&self, q: &Query) -> Result<Option<&crate::index::HnswIndex>> {
        let base_len = self.base_rows();
        let covers = |i: &crate::index::HnswIndex, _| i.info().indexed >= base_len;
        crate::search::pick_index(q, self.base.index.as_ref(), self.len(), self.dims(), covers)
    }

    #[cfg(not(feature = "index"))]
    fn choose(&self, q: &Query) -> Result<Option<std::convert::Infallible>> {
        crate::search::pick_index(q, None, self.len(), self.dims(), |_, _| false)
    }

    /// Whether `q` would go through the index.
    pub fn uses_index(&self, q: &Query) -> bool {
        matches!(self.choose(q), Ok(Some(_)))
    }

    /// Answers `q` over the merged rows, by the exact scan or the index as its mode and the
    /// data say (see the module documentation). A filter in `q` must come from
    /// [`View::filter`] of this view.
    pub fn search(&self, q: &Query) -> Result<Vec<Neighbor>> {
        if self.delta.is_empty() {
            return self.base.search(q);
        }
        q.check()?;
        match self.choose(q)? {
            #[cfg(feature = "index")]
            Some(index) => super::graph::search(self, index, q),
            #[cfg(not(feature = "index"))]
            Some(never) => match never {},
            None => self.embeddings().search_exact(q),
        }
    }

    /// The merged row of base row `i`, or `None` when it was deleted or replaced.
    #[cfg(feature = "index")]
    #[inline]
    pub(crate) fn merged_of_base(&self, i: usize) -> Option<usize> {
        if self.delta.is_empty() {
            return Some(i);
        }
        if self.delta.is_tomb(i) {
            return None;
        }
        Some(self.order().of_base(i))
    }

    /// The merged row of delta row `d`, or `None` when it is not its word's current row in
    /// this view (replaced or deleted since, or written after the view).
    #[cfg(feature = "index")]
    #[inline]
    pub(crate) fn merged_of_delta(&self, d: usize) -> Option<usize> {
        let map = self.delta_merged.get_or_init(|| {
            let mut map = vec![u32::MAX; self.delta.rows()];
            let order = self.order();
            for (_, e) in self.delta.entries() {
                map[e.row as usize] = order.of_slot(e.slot) as u32;
            }
            map
        });
        map.get(d).filter(|&&m| m != u32::MAX).map(|&m| m as usize)
    }

    #[cfg(feature = "index")]
    fn order(&self) -> &Order {
        self.embeddings();
        &self.merged.get().expect("built by embeddings()").0.order
    }
}
