//! The HNSW search loop over a [`Graph`], written here rather than taken from a crate because it
//! is where the daemon spends its time: no locks, no `Arc`, no allocation per query.
//!
//! As hnswlib does it: a greedy descent (one candidate) through the upper layers, then a beam of
//! `ef` candidates on layer 0, stopping when the nearest unexplored candidate is farther than the
//! worst of a full result set. Per thread, a visited list of `u16` tags with a current tag (a new
//! query takes the next tag instead of clearing `n` entries) and two heaps are kept across
//! queries. The next neighbour's row is prefetched while the current one is scored.
//!
//! Distances are `1 - cos` computed from the stored rows (unit rows are read directly, other rows
//! divided by their stored length), with the SIMD kernel of [`crate::simd`]; or, when the
//! embeddings carry their int8 copy ([`crate::quant`]), approximated from the codes with integer
//! multiply-adds. The codes are a quarter of the bytes, so a query touches four times less
//! memory (on 94k x 100 the whole copy fits in the last-level cache where the f32 rows do not),
//! which is the margin over hnswlib's f32 traversal (BENCHMARKS.md); the caller re-scores what
//! traversal returns in f32, so scores and order are exact and only recall can move (by less than
//! 0.01 at a beam of a few times k).

use std::cell::RefCell;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use super::graph::Graph;
use crate::embeddings::Embeddings;
use crate::quant::{CodeQuery, Int8Rows};
use crate::simd;
use crate::storage::Rows;

/// A node and its distance to the query; ordered by distance, then id.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Near {
    /// `1 - cos`.
    pub dist: f32,
    /// The row.
    pub id: u32,
}

impl Eq for Near {}

impl Ord for Near {
    fn cmp(&self, other: &Self) -> Ordering {
        self.dist
            .total_cmp(&other.dist)
            .then(self.id.cmp(&other.id))
    }
}

impl PartialOrd for Near {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A per-thread visited list: `tags[i] == tag` means row `i` was seen by the current query.
#[derive(Default)]
pub(crate) struct Visited {
    tags: Vec<u16>,
    tag: u16,
}

impl Visited {
    /// Starts a query over `n` rows.
    pub(crate) fn start(&mut self, n: usize) {
        if self.tags.len() < n {
            self.tags.resize(n, 0);
        }
        self.tag = self.tag.wrapping_add(1);
        if self.tag == 0 {
            // Every 65,535 queries the tags wrap: clear once.
            self.tags.fill(0);
            self.tag = 1;
        }
    }

    /// Marks `i`; true when it was not marked before.
    #[inline]
    pub(crate) fn insert(&mut self, i: u32) -> bool {
        match self.tags.get_mut(i as usize) {
            Some(t) if *t != self.tag => {
                *t = self.tag;
                true
            }
            _ => false,
        }
    }
}

#[derive(Default)]
struct Scratch {
    visited: Visited,
    candidates: BinaryHeap<Reverse<Near>>,
    results: BinaryHeap<Near>,
    fresh: Vec<u32>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// What a distance needs, fetched once per query: the rows without a virtual call, the kernel,
/// and each row's length (unless rows are unit length already).
#[derive(Clone, Copy)]
pub(crate) struct Scorer<'a> {
    rows: Rows<'a>,
    norms: Option<&'a [f32]>,
    dot: simd::DotFn,
}

impl<'a> Scorer<'a> {
    pub(crate) fn new(emb: &'a Embeddings) -> Self {
        Scorer {
            rows: Rows::of(emb.storage()),
            norms: (!emb.unit_rows()).then(|| emb.norms()),
            dot: simd::dot_fn(),
        }
    }

    /// `1 - cos(query, row)`; `query` is unit length.
    #[inline(always)]
    pub(crate) fn distance(&self, query: &[f32], row: u32) -> f32 {
        let d = (self.dot)(query, self.rows.row(row as usize));
        let cos = match self.norms {
            None => d,
            Some(n) => {
                let n = n[row as usize];
                if n > 0.0 {
                    d / n
                } else {
                    0.0
                }
            }
        };
        1.0 - cos
    }

    #[inline(always)]
    pub(crate) fn prefetch(&self, row: u32) {
        simd::prefetch(self.rows.row(row as usize));
    }
}

/// How traversal measures a row's distance to the query.
pub(crate) trait Metric {
    /// Whether [`distance`](Self::distance) is exact (else what it finds must be re-scored).
    const EXACT: bool;
    /// `1 - cos(query, row)`, exact or approximate.
    fn distance(&self, row: u32) -> f32;
    /// Starts loading what [`distance`](Self::distance) of `row` reads.
    fn prefetch(&self, row: u32);
}

/// Exact distances from the f32 rows.
pub(crate) struct Exact<'a> {
    pub(crate) sc: Scorer<'a>,
    pub(crate) query: &'a [f32],
}

impl Metric for Exact<'_> {
    const EXACT: bool = true;

    #[inline(always)]
    fn distance(&self, row: u32) -> f32 {
        self.sc.distance(self.query, row)
    }

    #[inline(always)]
    fn prefetch(&self, row: u32) {
        self.sc.prefetch(row)
    }
}

/// Approximate distances from the int8 codes ([`crate::quant`]): a quarter of the bytes per
/// row read and integer multiply-adds, so traversal touches four times less memory; what it
/// returns is re-scored in f32 by the caller.
pub(crate) struct Coded<'a> {
    codes: &'a [u8],
    d: usize,
    q: CodeQuery,
}

impl<'a> Coded<'a> {
    /// Distances from `rows`' codes to the unit `query`.
    pub(crate) fn new(rows: &'a Int8Rows, query: &[f32]) -> Self {
        Coded {
            codes: rows.codes(),
            d: rows.dims(),
            q: rows.code_query(query),
        }
    }

    #[inline(always)]
    fn row(&self, row: u32) -> &[u8] {
        let at = row as usize * self.d;
        &self.codes[at..at + self.d]
    }
}

impl Metric for Coded<'_> {
    const EXACT: bool = false;

    #[inline(always)]
    fn distance(&self, row: u32) -> f32 {
        1.0 - self.q.cosine(self.row(row))
    }

    #[inline(always)]
    fn prefetch(&self, row: u32) {
        simd::prefetch(self.row(row))
    }
}

/// How a search measured the distances it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Traversal {
    /// From the f32 rows: the distances are exact.
    F32,
    /// From the int8 copy attached to the embeddings: the distances are approximate and the
    /// caller re-scores.
    Int8,
}

/// The `ef` nearest nodes to `query` found on layer 0 (nearest first), of which only those
/// `admit` accepts are returned; the rest are traversed but not kept (a filter in the graph).
///
/// When the embeddings carry their int8 copy ([`Embeddings::int8`]), traversal scores the codes
/// instead of the f32 rows and says so ([`Traversal::Int8`]): the distances returned are then
/// approximate.
pub(crate) fn search(
    graph: &Graph,
    emb: &Embeddings,
    query: &[f32],
    ef: usize,
    admit: impl Fn(u32) -> bool,
) -> (Vec<Near>, Traversal) {
    if graph.is_empty() || ef == 0 {
        return (Vec::new(), Traversal::F32);
    }
    match emb.int8() {
        Some(q8) => {
            let m = Coded::new(q8, query);
            (run(graph, &m, ef, admit), Traversal::Int8)
        }
        None => {
            let m = Exact {
                sc: Scorer::new(emb),
                query,
            };
            (run(graph, &m, ef, admit), Traversal::F32)
        }
    }
}

fn run<M: Metric>(graph: &Graph, m: &M, ef: usize, admit: impl Fn(u32) -> bool) -> Vec<Near> {
    let n = graph.len() as u32;
    let (mut ep, top) = graph.entry();
    let mut d_ep = m.distance(ep);
    // Greedy descent through the upper layers.
    for level in (1..=top).rev() {
        loop {
            let mut moved = false;
            for &x in graph.links(ep, level) {
                if x >= n {
                    continue;
                }
                let d = m.distance(x);
                if d < d_ep {
                    (ep, d_ep) = (x, d);
                    moved = true;
                }
            }
            if !moved {
                break;
            }
        }
    }
    SCRATCH.with(|s| {
        let s = &mut *s.borrow_mut();
        s.visited.start(graph.len());
        s.candidates.clear();
        s.results.clear();
        layer0(graph, m, ef, &admit, Near { dist: d_ep, id: ep }, s);
        let mut out: Vec<Near> = s.results.drain().collect();
        out.sort();
        out
    })
}

fn layer0<M: Metric>(
    graph: &Graph,
    m: &M,
    ef: usize,
    admit: &impl Fn(u32) -> bool,
    start: Near,
    s: &mut Scratch,
) {
    let n = graph.len() as u32;
    s.visited.insert(start.id);
    s.candidates.push(Reverse(start));
    // The bound the beam must beat: the worst kept result once `ef` are kept. Rows the filter
    // refuses are explored but never kept, so they do not tighten it.
    if admit(start.id) {
        s.results.push(start);
    }
    let fresh = &mut s.fresh;
    while let Some(Reverse(c)) = s.candidates.pop() {
        if s.results.len() >= ef && s.results.peek().is_some_and(|w| c.dist > w.dist) {
            break;
        }
        // First the unvisited neighbours, each row prefetched, so that the loads overlap the
        // dot products of the ones before.
        fresh.clear();
        for &x in graph.links(c.id, 0) {
            if x < n && s.visited.insert(x) {
                m.prefetch(x);
                fresh.push(x);
            }
        }
        for &x in fresh.iter() {
            let d = m.distance(x);
            let full = s.results.len() >= ef;
            if !full || s.results.peek().is_some_and(|w| d < w.dist) {
                s.candidates.push(Reverse(Near { dist: d, id: x }));
                if admit(x) {
                    s.results.push(Near { dist: d, id: x });
                    if s.results.len() > ef {
                        s.results.pop();
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visited_tags_wrap() {
        let mut v = Visited::default();
        for _ in 0..70_000 {
            v.start(4);
            assert!(v.insert(3));
            assert!(!v.insert(3));
            assert!(!v.insert(9), "out of range ids are never new");
        }
    }
}
