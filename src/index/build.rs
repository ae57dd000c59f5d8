//! Building an HNSW graph on all cores, as hnswlib builds it (Malkov & Yashunin, "Efficient and
//! robust approximate nearest neighbor search using Hierarchical Navigable Small World graphs",
//! TPAMI 2018; hnswlib's `hnswalg.h`): each node draws a level `floor(-ln(U) * mL)` with `U`
//! uniform in (0, 1] and `mL = 1 / ln(M)`, descends greedily (ef = 1) from the entry point to
//! it, then on each layer from there down to 0 runs a beam search of `ef_construction`
//! candidates, keeps up to M neighbours (2M on layer 0) chosen by the heuristic of the HNSW paper
//! (candidates nearest first; one is kept only if it is closer to the new node than to every
//! neighbour already kept), and links both ways; a neighbour whose list is full is pruned with
//! the same heuristic. The entry point moves when a node draws a new top level.
//!
//! Concurrency is hnswlib's: one mutex per node, held only to copy or change that node's links
//! (never two at once, so no lock order to keep), and one for the entry point. Nodes are inserted
//! in parallel by rayon, so graphs built on several threads differ from run to run in their
//! details, not in their quality; levels are drawn from the seed and the row alone.
//!
//! Written here rather than taken from hnsw_rs: its build runs 4-5x slower than hnswlib's on
//! word vectors (BENCHMARKS.md), and its graph lives behind `Arc`s and locks that the flat
//! [`Graph`] replaces.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Mutex;

use rayon::prelude::*;

use super::graph::{Graph, GraphInfo, GraphParts, NO_UPPER};
use super::search::{Coded, Exact, Metric, Near, Scorer, Visited};
use crate::embeddings::Embeddings;
use crate::error::{Error, Result};
use crate::quant::Int8Rows;

/// Highest level a node may draw (a level above ln(n)/ln(M) is already rare).
const MAX_LEVEL: usize = 16;

/// What to build.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BuildParams {
    /// Links per node on layers >= 1 (twice as many on layer 0).
    pub m: usize,
    /// Beam width while building.
    pub ef_construction: usize,
    /// Nodes: the first `n` rows.
    pub n: usize,
    /// Seed of the level draws.
    pub seed: u64,
}

/// Row `i` at unit length, in f32: borrowed from a native file's aligned unit rows, else
/// decoded and normalised.
fn unit(emb: &Embeddings, i: u32) -> std::borrow::Cow<'_, [f32]> {
    let bytes = emb.storage().row_bytes(i as usize);
    if emb.unit_rows() {
        if let Ok(v) = bytemuck::try_cast_slice::<u8, f32>(bytes) {
            return std::borrow::Cow::Borrowed(v);
        }
    }
    let mut v = crate::storage::decode_row(bytes);
    crate::embeddings::normalize(&mut v);
    std::borrow::Cow::Owned(v)
}

fn level_of(seed: u64, i: usize, ml: f64) -> usize {
    // splitmix64 of (seed, row): a uniform in (0, 1].
    let mut z = seed ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    let u = ((z >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
    ((-u.ln() * ml) as usize).min(MAX_LEVEL)
}

/// A graph under construction, which can take more rows later (hnswlib's `addPoint`): the
/// links live in atomics and per-node mutexes until [`Growing::graph`] flattens a copy into the
/// file's layout. A live model's delta grows one this way as words are written.
pub(crate) struct Growing {
    m: usize,
    m0: usize,
    ef: usize,
    /// As asked (`ef` is at least `m`).
    ef_construction: usize,
    seed: u64,
    levels: Vec<u8>,
    /// Layer 0, as in the file: per node a count and `m0` slots. Read without a lock (every
    /// value ever stored is a valid row, so a racing reader sees an old or a new list, both
    /// usable, as in hnswlib's searches during a build); written only under the node's mutex.
    layer0: Vec<AtomicU32>,
    /// Per node: the writers' lock, and its link lists for levels 1..=level (index 0 unused).
    links: Vec<Mutex<Vec<Vec<u32>>>>,
    /// (entry point, top level)
    entry: Mutex<(u32, usize)>,
}

struct Builder<'a> {
    emb: &'a Embeddings,
    sc: Scorer<'a>,
    /// The int8 copy attached to the embeddings, if any: the beam searches then run over its
    /// codes (a quarter of the bytes) and their finds are re-scored in f32 before the heuristic
    /// chooses links, so links come from exact distances.
    codes: Option<&'a Int8Rows>,
    st: &'a Growing,
}

/// Per-thread state of the build's searches, kept across inserts.
#[derive(Default)]
struct Scratch {
    visited: Visited,
    cand: BinaryHeap<Reverse<Near>>,
    best: BinaryHeap<Near>,
    buf: Vec<u32>,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

impl Builder<'_> {
    #[inline]
    fn dist(&self, q: &[f32], row: u32) -> f32 {
        self.sc.distance(q, row)
    }

    fn links_of(&self, node: u32, level: usize, out: &mut Vec<u32>) {
        out.clear();
        if level == 0 {
            let base = node as usize * (1 + self.st.m0);
            let count = (self.st.layer0[base].load(Ordering::Acquire) as usize).min(self.st.m0);
            out.extend(
                self.st.layer0[base + 1..base + 1 + count]
                    .iter()
                    .map(|a| a.load(Ordering::Relaxed)),
            );
            return;
        }
        let l = self.st.links[node as usize]
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(v) = l.get(level) {
            out.extend_from_slice(v);
        }
    }

    /// Replaces `node`'s layer-0 list; the caller holds the node's mutex.
    fn store0(&self, node: u32, list: &[u32]) {
        let base = node as usize * (1 + self.st.m0);
        for (slot, &x) in self.st.layer0[base + 1..].iter().zip(list) {
            slot.store(x, Ordering::Relaxed);
        }
        self.st.layer0[base].store(list.len().min(self.st.m0) as u32, Ordering::Release);
    }

    /// `node`'s list on `level` under its mutex (`guard`), for a writer.
    fn current(&self, node: u32, level: usize, guard: &[Vec<u32>]) -> Vec<u32> {
        if level == 0 {
            let mut v = Vec::with_capacity(self.st.m0);
            self.links_of(node, 0, &mut v);
            v
        } else {
            guard.get(level).cloned().unwrap_or_default()
        }
    }

    /// Beam search on one layer from `ep` by `m`'s distances: the `ef` nearest found, nearest
    /// first.
    fn search_layer<M: Metric>(&self, m: &M, ep: u32, level: usize, ef: usize) -> Vec<Near> {
        let ep = Near {
            dist: m.distance(ep),
            id: ep,
        };
        SCRATCH.with(|s| {
            let s = &mut *s.borrow_mut();
            let Scratch {
                visited,
                cand,
                best,
                buf,
            } = s;
            visited.start(self.st.links.len());
            visited.insert(ep.id);
            cand.clear();
            best.clear();
            cand.push(Reverse(ep));
            best.push(ep);
            while let Some(Reverse(c)) = cand.pop() {
                if best.len() >= ef && best.peek().is_some_and(|w| c.dist > w.dist) {
                    break;
                }
                self.links_of(c.id, level, buf);
                buf.retain(|&x| visited.insert(x));
                for &x in buf.iter() {
                    m.prefetch(x);
                }
                for &x in buf.iter() {
                    let d = m.distance(x);
                    if best.len() < ef || best.peek().is_some_and(|w| d < w.dist) {
                        let n = Near { dist: d, id: x };
                        cand.push(Reverse(n));
                        best.push(n);
                        if best.len() > ef {
                            best.pop();
                        }
                    }
                }
            }
            let mut out: Vec<Near> = best.drain().collect();
            out.sort();
            out
        })
    }

    /// The HNSW heuristic: from `cands` (nearest first, distances to the base node), keep a
    /// candidate only if it is closer to the base than to every one already kept, up to `max`.
    fn select(&self, cands: &[Near], max: usize) -> Vec<u32> {
        let mut kept: Vec<(u32, std::borrow::Cow<'_, [f32]>)> = Vec::with_capacity(max);
        for c in cands {
            if kept.len() >= max {
                break;
            }
            let cv = unit(self.emb, c.id);
            let good = kept.iter().all(|(r, _)| self.dist(&cv, *r) >= c.dist);
            if good {
                kept.push((c.id, cv));
            }
        }
        kept.into_iter().map(|(id, _)| id).collect()
    }

    /// Adds `new` to `node`'s list on `level`, pruning with the heuristic when full.
    fn connect(&self, node: u32, new: u32, level: usize) {
        let max = if level == 0 { self.st.m0 } else { self.st.m };
        let mut guard = self.st.links[node as usize]
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if level > 0 && guard.get(level).is_none() {
            return;
        }
        let mut list = self.current(node, level, &guard);
        if list.contains(&new) {
            return;
        }
        if list.len() < max {
            list.push(new);
        } else {
            let base = unit(self.emb, node);
            let mut cands: Vec<Near> = list
                .iter()
                .chain(std::iter::once(&new))
                .map(|&x| Near {
                    dist: self.dist(&base, x),
                    id: x,
                })
                .collect();
            cands.sort();
            list = self.select(&cands, max);
        }
        if level == 0 {
            self.store0(node, &list);
        } else {
            guard[level] = list;
        }
    }

    fn insert(&self, i: u32) {
        let q = unit(self.emb, i);
        match self.codes {
            Some(rows) => self.insert_by(i, &q, &Coded::new(rows, &q)),
            None => self.insert_by(
                i,
                &q,
                &Exact {
                    sc: self.sc,
                    query: &q,
                },
            ),
        }
    }

    /// Inserts row `i` (unit vector `q`), searching by `metric`.
    fn insert_by<M: Metric>(&self, i: u32, q: &[f32], metric: &M) {
        let level = self.st.levels[i as usize] as usize;
        let (ep0, top) = *self.st.entry.lock().unwrap_or_else(|e| e.into_inner());
        let mut ep = Near {
            dist: metric.distance(ep0),
            id: ep0,
        };
        let mut buf = Vec::with_capacity(self.st.m0);
        for l in (level + 1..=top).rev() {
            loop {
                let mut moved = false;
                self.links_of(ep.id, l, &mut buf);
                for &x in &buf {
                    let d = metric.distance(x);
                    if d < ep.dist {
                        ep = Near { dist: d, id: x };
                        moved = true;
                    }
                }
                if !moved {
                    break;
                }
            }
        }
        for l in (0..=level.min(top)).rev() {
            let mut cands = self.search_layer(metric, ep.id, l, self.st.ef);
            if !M::EXACT {
                // The heuristic compares distances between rows, computed exactly; the
                // distances to the new row must be exact too.
                for c in cands.iter_mut() {
                    c.dist = self.dist(q, c.id);
                }
                cands.sort();
            }
            let chosen = self.select(&cands, self.st.m);
            {
                let mut guard = self.st.links[i as usize]
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                let existing = self.current(i, l, &guard);
                let list = if existing.is_empty() {
                    chosen.clone()
                } else {
                    // Another thread found this node through a higher layer and linked to it
                    // already: keep those links too, pruned by the same heuristic.
                    let max = if l == 0 { self.st.m0 } else { self.st.m };
                    let mut all: Vec<u32> = chosen.clone();
                    all.extend(existing.iter().filter(|x| !chosen.contains(x)));
                    let mut cands: Vec<Near> = all
                        .into_iter()
                        .map(|x| Near {
                            dist: self.dist(q, x),
                            id: x,
                        })
                        .collect();
                    cands.sort();
                    self.select(&cands, max)
                };
                if l == 0 {
                    self.store0(i, &list);
                } else {
                    guard[l] = list;
                }
            }
            for &x in &chosen {
                self.connect(x, i, l);
            }
            if let Some(&best) = cands.first() {
                ep = best;
            }
        }
        if level > top {
            let mut e = self.st.entry.lock().unwrap_or_else(|e| e.into_inner());
            if level > e.1 {
                *e = (i, level);
            }
        }
    }
}

/// Builds the graph of the first `params.n` rows of `emb`, reporting progress (rows inserted)
/// to `progress`.
pub(crate) fn build(
    emb: &Embeddings,
    params: BuildParams,
    ef_search: usize,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Graph> {
    let start = std::time::Instant::now();
    let mut g = Growing::new(params.m, params.ef_construction, params.seed);
    g.grow(emb, params.n, progress)?;
    let mut graph = g.graph(emb, ef_search)?;
    graph.set_build_seconds(start.elapsed().as_secs_f64());
    Ok(graph)
}

impl Growing {
    /// An empty graph of `m` links per node on the upper layers (`2 m` on layer 0), built with
    /// a beam of `ef_construction`, its levels drawn from `seed` and the row alone.
    pub(crate) fn new(m: usize, ef_construction: usize, seed: u64) -> Growing {
        Growing {
            m,
            m0: 2 * m,
            ef: ef_construction.max(m),
            ef_construction,
            seed,
            levels: Vec::new(),
            layer0: Vec::new(),
            links: Vec::new(),
            entry: Mutex::new((0, 0)),
        }
    }

    /// A copy of `graph` that can take more rows (its settings, links and entry point; new
    /// rows draw their levels from `seed`).
    pub(crate) fn from_graph(graph: &Graph, seed: u64) -> Growing {
        let info = graph.info();
        let mut g = Growing::new(info.m, info.ef_construction, seed);
        let n = graph.len();
        let m0 = g.m0;
        g.levels = (0..n as u32).map(|i| graph.level(i) as u8).collect();
        g.layer0 = Vec::with_capacity(n * (1 + m0));
        for i in 0..n as u32 {
            let links = graph.links(i, 0);
            let links = &links[..links.len().min(m0)];
            g.layer0.push(AtomicU32::new(links.len() as u32));
            g.layer0.extend(links.iter().map(|&x| AtomicU32::new(x)));
            g.layer0
                .extend((links.len()..m0).map(|_| AtomicU32::new(0)));
        }
        g.links = (0..n as u32)
            .map(|i| {
                let upper = (0..=graph.level(i))
                    .map(|l| match l {
                        0 => Vec::new(),
                        _ => graph.links(i, l).iter().take(info.m).copied().collect(),
                    })
                    .collect();
                Mutex::new(upper)
            })
            .collect();
        *g.entry.get_mut().unwrap_or_else(|e| e.into_inner()) = graph.entry();
        g
    }

    /// Rows in the graph.
    pub(crate) fn len(&self) -> usize {
        self.levels.len()
    }

    /// Inserts rows `len()..n` of `emb` on all cores (rows `0..len()` of `emb` must be the rows
    /// already in the graph), reporting the rows in the graph to `progress`.
    pub(crate) fn grow(
        &mut self,
        emb: &Embeddings,
        n: usize,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<()> {
        let n = n.min(emb.len());
        let old = self.len();
        if n <= old {
            return Ok(());
        }
        if n >= NO_UPPER as usize {
            return Err(Error::invalid(format!(
                "{n} rows are too many for one graph"
            )));
        }
        let ml = 1.0 / (self.m.max(2) as f64).ln();
        for i in old..n {
            let level = level_of(self.seed, i, ml);
            self.levels.push(level as u8);
            self.links.push(Mutex::new(vec![Vec::new(); level + 1]));
        }
        self.layer0
            .resize_with(n * (1 + self.m0), || AtomicU32::new(0));
        let first = if old == 0 {
            let e = self.entry.get_mut().unwrap_or_else(|e| e.into_inner());
            *e = (0, self.levels[0] as usize);
            1
        } else {
            old
        };
        let b = Builder {
            emb,
            sc: Scorer::new(emb),
            codes: emb.int8(),
            st: self,
        };
        let done = AtomicUsize::new(first);
        (first as u32..n as u32).into_par_iter().for_each(|i| {
            b.insert(i);
            let d = done.fetch_add(1, Ordering::Relaxed) + 1;
            if d.is_multiple_of(4096) {
                progress(d);
            }
        });
        progress(n);
        Ok(())
    }

    /// A copy of the graph so far in the file's layout, with rows no search could reach linked
    /// in (the copy only: the graph grows on unchanged). `emb` holds its rows, as for
    /// [`grow`](Self::grow).
    pub(crate) fn graph(&self, emb: &Embeddings, ef_search: usize) -> Result<Graph> {
        let n = self.len();
        let (entry, _) = *self.entry.lock().unwrap_or_else(|e| e.into_inner());
        let (m, m0) = (self.m, self.m0);
        let mut parts = GraphParts {
            levels: self.levels.clone(),
            layer0: self
                .layer0
                .iter()
                .map(|a| a.load(Ordering::Relaxed))
                .collect(),
            upper_start: vec![NO_UPPER; n],
            upper: Vec::new(),
            entry,
        };
        link_unreachable(emb, &mut parts, m0, self.ef);
        let mut records = 0u32;
        for (i, l) in self.links.iter().enumerate() {
            let l = l.lock().unwrap_or_else(|e| e.into_inner());
            parts.push_upper(i, l.get(1..).unwrap_or_default(), m, &mut records);
        }
        let info = GraphInfo {
            indexed: n,
            vocab_len: emb.len(),
            dims: emb.dims(),
            m,
            slots: m,
            slots0: m0,
            ef_construction: self.ef_construction,
            ef_search,
            fingerprint: emb.fingerprint(),
            build_seconds: 0.0,
        };
        Graph::from_parts(info, parts)
    }
}

/// The rows of a layer 0 (records of `1 + slots0` u32) reached from `start`, marked in
/// `reached` (rows already marked are not walked again).
fn mark_reached(layer0: &[u32], slots0: usize, start: u32, reached: &mut [bool]) {
    let n = reached.len();
    if reached[start as usize] {
        return;
    }
    reached[start as usize] = true;
    let mut stack = vec![start];
    while let Some(node) = stack.pop() {
        let rec = &layer0[node as usize * (1 + slots0)..][..1 + slots0];
        for &x in &rec[1..1 + (rec[0] as usize).min(slots0)] {
            if (x as usize) < n && !reached[x as usize] {
                reached[x as usize] = true;
                stack.push(x);
            }
        }
    }
}

/// The `ef` rows nearest `q` among those reachable from `entry` on layer 0, nearest first: a
/// beam search over the flat records.
fn nearest_reachable(
    sc: &Scorer<'_>,
    layer0: &[u32],
    slots0: usize,
    entry: u32,
    q: &[f32],
    ef: usize,
) -> Vec<Near> {
    let mut visited = std::collections::HashSet::new();
    let ep = Near {
        dist: sc.distance(q, entry),
        id: entry,
    };
    visited.insert(entry);
    let mut cand = BinaryHeap::from([Reverse(ep)]);
    let mut best = BinaryHeap::from([ep]);
    while let Some(Reverse(c)) = cand.pop() {
        if best.len() >= ef && best.peek().is_some_and(|w| c.dist > w.dist) {
            break;
        }
        let rec = &layer0[c.id as usize * (1 + slots0)..][..1 + slots0];
        for &x in &rec[1..1 + (rec[0] as usize).min(slots0)] {
            if !visited.insert(x) {
                continue;
            }
            let d = sc.distance(q, x);
            if best.len() < ef || best.peek().is_some_and(|w| d < w.dist) {
                cand.push(Reverse(Near { dist: d, id: x }));
                best.push(Near { dist: d, id: x });
                if best.len() > ef {
                    best.pop();
                }
            }
        }
    }
    best.into_sorted_vec()
}

/// The repair pass after a build or an import: a row that no layer-0 link leads to from the
/// entry point can never be returned by a search, whatever its `ef` (a parallel build leaves a
/// few when every node that linked to a row later pruned it). Each such row gets an in-link
/// from its nearest reachable row that has a free slot (of the `ef` nearest found by a beam
/// search from the entry point), else from the nearest, whose farthest link it replaces; what
/// the new row reaches is then reachable too. A replaced link can strand the row it pointed
/// to, so the pass runs again until everything is reached (a few rounds at most). Returns the
/// links added.
pub(crate) fn link_unreachable(
    emb: &Embeddings,
    parts: &mut GraphParts,
    slots0: usize,
    ef: usize,
) -> usize {
    let n = parts.levels.len();
    if n == 0 || slots0 == 0 {
        return 0;
    }
    let sc = Scorer::new(emb);
    let mut added = 0;
    for _round in 0..8 {
        let mut reached = vec![false; n];
        mark_reached(&parts.layer0, slots0, parts.entry, &mut reached);
        let stranded: Vec<u32> = (0..n as u32).filter(|&u| !reached[u as usize]).collect();
        if stranded.is_empty() {
            break;
        }
        for u in stranded {
            if reached[u as usize] {
                continue;
            }
            let q = unit(emb, u);
            let near = nearest_reachable(&sc, &parts.layer0, slots0, parts.entry, &q, ef);
            let count = |id: u32| parts.layer0[id as usize * (1 + slots0)] as usize;
            let Some(from) = near
                .iter()
                .find(|c| count(c.id) < slots0)
                .or(near.first())
                .map(|c| c.id)
            else {
                continue;
            };
            add_link(&sc, emb, &mut parts.layer0, slots0, from, u);
            added += 1;
            mark_reached(&parts.layer0, slots0, u, &mut reached);
        }
    }
    if added > 0 {
        tracing::debug!(added, "linked rows no search could reach");
    }
    added
}

/// Adds the layer-0 link `from -> to`, replacing `from`'s farthest link when its slots are full.
fn add_link(
    sc: &Scorer<'_>,
    emb: &Embeddings,
    layer0: &mut [u32],
    slots0: usize,
    from: u32,
    to: u32,
) {
    let rec = &mut layer0[from as usize * (1 + slots0)..][..1 + slots0];
    let count = (rec[0] as usize).min(slots0);
    if count < slots0 {
        rec[1 + count] = to;
        rec[0] = count as u32 + 1;
        return;
    }
    let base = unit(emb, from);
    let farthest = (1..=slots0)
        .max_by(|&a, &b| {
            sc.distance(&base, rec[a])
                .total_cmp(&sc.distance(&base, rec[b]))
        })
        .expect("a full record has links");
    rec[farthest] = to;
}

/// `graph` with its nodes renumbered by `new_id` (`None`: the node is dropped, and every link to
/// it), as the graph of `emb`, whose row `new_id(i)` is node `i`'s row and whose every row some
/// node maps to. Links keep their order; rows no search could reach after the drops are linked
/// in ([`link_unreachable`]). What a compaction writes instead of building the merged rows'
/// graph again: the links were chosen over the same rows.
pub(crate) fn renumber(
    graph: &Graph,
    new_id: &dyn Fn(u32) -> Option<u32>,
    emb: &Embeddings,
    ef_search: usize,
) -> Result<Graph> {
    let info = graph.info();
    let (m, m0, n) = (info.slots, info.slots0, emb.len());
    let mut old_of = vec![u32::MAX; n];
    for old in 0..graph.len() as u32 {
        if let Some(new) = new_id(old) {
            let slot = old_of.get_mut(new as usize).ok_or_else(|| {
                Error::internal(format!("node {old} renumbered to {new}, past {n} rows"))
            })?;
            *slot = old;
        }
    }
    if let Some(row) = old_of.iter().position(|&o| o == u32::MAX) {
        return Err(Error::internal(format!("no node renumbered to row {row}")));
    }
    let mapped = |old: u32, level: usize| -> Vec<u32> {
        graph
            .links(old, level)
            .iter()
            .filter_map(|&x| new_id(x))
            .collect()
    };
    let mut parts = GraphParts {
        levels: old_of.iter().map(|&o| graph.level(o) as u8).collect(),
        layer0: vec![0u32; n * (1 + m0)],
        upper_start: vec![NO_UPPER; n],
        upper: Vec::new(),
        entry: 0,
    };
    for (new, &old) in old_of.iter().enumerate() {
        let links = mapped(old, 0);
        let rec = &mut parts.layer0[new * (1 + m0)..][..1 + m0];
        rec[0] = links.len() as u32;
        rec[1..1 + links.len()].copy_from_slice(&links);
    }
    // The entry point stays where it was unless dropped; then the highest node left.
    let (entry, _) = graph.entry();
    parts.entry = match new_id(entry) {
        Some(e) => e,
        None => (0..n as u32)
            .max_by_key(|&i| (parts.levels[i as usize], std::cmp::Reverse(i)))
            .unwrap_or(0),
    };
    link_unreachable(emb, &mut parts, m0, info.ef_construction.max(m));
    let mut records = 0u32;
    for (new, &old) in old_of.iter().enumerate() {
        let upper: Vec<Vec<u32>> = (1..=graph.level(old)).map(|l| mapped(old, l)).collect();
        parts.push_upper(new, &upper, m, &mut records);
    }
    let info = GraphInfo {
        indexed: n,
        vocab_len: n,
        dims: emb.dims(),
        m: info.m,
        slots: m,
        slots0: m0,
        ef_construction: info.ef_construction,
        ef_search,
        fingerprint: emb.fingerprint(),
        build_seconds: 0.0,
    };
    Graph::from_parts(info, parts)
}
