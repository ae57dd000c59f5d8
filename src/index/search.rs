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

/// `1 - cos(query, row)`; `query` is unit length.
#[inline]
fn distance(emb: &Embeddings, dot: simd::DotFn, query: &[f32], row: u32) -> f32 {
    1.0 - emb.cosine_with(dot, row as usize, query)
}

#[inline]
fn prefetch_row(emb: &Embeddings, row: u32) {
    simd::prefetch(emb.storage().row_bytes(row as usize));
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
    let dot = simd::dot_fn();
    let (mut ep, top) = graph.entry();
    let mut d_ep = distance(emb, dot, query, ep);
    // Greedy descent through the upper layers.
    for level in (1..=top).rev() {
        loop {
            let mut moved = false;
            for &x in graph.links(ep, level) {
                if x >= n {
                    continue;
                }
                let d = distance(emb, dot, query, x);
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
        layer0(
            graph,
            emb,
            dot,
            query,
            ef,
            admit,
            Near { dist: d_ep, id: ep },
            s,
        );
        let mut out: Vec<Near> = s.results.drain().collect();
        out.sort();
        out
    })
}

#[allow(clippy::too_many_arguments)]
fn layer0(
    graph: &Graph,
    emb: &Embeddings,
    dot: simd::DotFn,
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
    while let Some(Reverse(c)) = s.candidates.pop() {
        if s.results.len() >= ef && s.results.peek().is_some_and(|w| c.dist > w.dist) {
            break;
        }
        let links = graph.links(c.id, 0);
        for (j, &x) in links.iter().enumerate() {
            if let Some(&next) = links.get(j + 1) {
                if next < n {
                    prefetch_row(emb, next);
                }
            }
            if x >= n || !s.visited.insert(x) {
                continue;
            }
            let d = distance(emb, dot, query, x);
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
