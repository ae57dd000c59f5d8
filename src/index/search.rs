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
//! divided by their stored length), with the SIMD kernel of [`crate::simd`].

use std::cell::RefCell;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use super::graph::Graph;
use crate::embeddings::Embeddings;
use crate::simd;
use crate::storage::Rows;

/// A node and its distance to the query; ordered by distance, then id.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Near {
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

/// The `ef` nearest nodes to `query` found on layer 0 (nearest first), of which only those
/// `admit` accepts are returned; the rest are traversed but not kept (a filter in the graph).
pub fn search(
    graph: &Graph,
    emb: &Embeddings,
    query: &[f32],
    ef: usize,
    admit: &dyn Fn(u32) -> bool,
) -> Vec<Near> {
    if graph.is_empty() || ef == 0 {
        return Vec::new();
    }
    let n = graph.len() as u32;
    let sc = Scorer::new(emb);
    let (mut ep, top) = graph.entry();
    let mut d_ep = sc.distance(query, ep);
    // Greedy descent through the upper layers.
    for level in (1..=top).rev() {
        loop {
            let mut moved = false;
            for &x in graph.links(ep, level) {
                if x >= n {
                    continue;
                }
                let d = sc.distance(query, x);
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
        layer0(graph, &sc, query, ef, admit, Near { dist: d_ep, id: ep }, s);
        let mut out: Vec<Near> = s.results.drain().collect();
        out.sort();
        out
    })
}

fn layer0(
    graph: &Graph,
    sc: &Scorer,
    query: &[f32],
    ef: usize,
    admit: &dyn Fn(u32) -> bool,
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
    let mut fresh: Vec<u32> = Vec::with_capacity(graph.info().slots0);
    while let Some(Reverse(c)) = s.candidates.pop() {
        if s.results.len() >= ef && s.results.peek().is_some_and(|w| c.dist > w.dist) {
            break;
        }
        // First the unvisited neighbours, each row prefetched, so that the loads overlap the
        // dot products of the ones before.
        fresh.clear();
        for &x in graph.links(c.id, 0) {
            if x < n && s.visited.insert(x) {
                sc.prefetch(x);
                fresh.push(x);
            }
        }
        for &x in &fresh {
            let d = sc.distance(query, x);
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
