//! Structural validation of hnsw_rs's dump files, before hnsw_rs reads them.
//!
//! hnsw_rs trusts its files: a count read from them sizes an allocation (`Vec::with_capacity`,
//! `vec![0; len]`, aborting the process when huge), a short vector is read past its end, a bad
//! magic or an unknown id is an `assert!` or a `process::exit`. The xxh3 hashes in the metadata
//! catch accidents, not a crafted file with recomputed hashes, so both files are walked here,
//! record by record, with every count bounded by the metadata and by the bytes left, and every
//! reference resolved, before hnsw_rs sees them. A file that passes loads without a panic.
//!
//! The layout (native-endian, `usize` = 8 bytes; see hnsw_rs's `hnswio.rs`, dump format 4, full
//! mode):
//!
//! - graph: description (magic, dump mode, M, level scale, layer count 16, ef, points,
//!   dimension, distance name, type name), then the number of non-empty layers, then per layer
//!   a magic, a point count and per point a magic, its id, its (layer, rank), and per layer of
//!   the description a neighbour count and that many (id, layer, rank, distance); last the entry
//!   point (id, layer, rank).
//! - data: magic, dimension, then per point (in the graph's order) magic, id, byte length, the
//!   vector.
//!
//! Both files are memory-mapped and walked with the crate's byte cursor (little-endian, which is
//! native on every platform wordvec is built for), so a truncation names the file, the field and
//! its byte offset like every other reader's.

use std::path::Path;

use crate::bytes::Cursor;
use crate::error::Result;

const MAGICDESCR_4: u32 = 0x002a_6779;
const MAGICLAYER: u32 = 0x000a_676f;
const MAGICPOINT: u32 = 0x000a_678f;
const MAGICDATAP: u32 = 0xa67f_0000;
/// hnsw_rs's `NB_LAYER_MAX`.
const LAYERS: u8 = 16;
/// Bytes of a point record without its links: magic, id, layer, rank, 16 counts.
const POINT_BYTES: u64 = 4 + 8 + 1 + 4 + 8 * LAYERS as u64;
/// Bytes of a link: id, layer, rank, distance.
const LINK_BYTES: u64 = 8 + 1 + 4 + 4;

/// What the metadata says the files must hold.
#[derive(Debug, Clone, Copy)]
pub(super) struct Expect {
    /// Points in the graph (and rows they may name: ids are below it).
    pub points: usize,
    /// Dimensions of every vector.
    pub dims: usize,
    /// Links per node.
    pub m: usize,
}

/// Reads one of hnsw_rs's `u32` magics.
fn magic(c: &mut Cursor, want: u32, what: &str, record: Option<u64>) -> Result<()> {
    let at = c.pos();
    let got = c.u32(what)?;
    if got != want {
        return Err(c.err(
            record,
            at,
            format!("{what}: magic {got:#010x}, expected {want:#010x}"),
        ));
    }
    Ok(())
}

/// Reads a name: a `u64` length (at most 256), then that many UTF-8 bytes.
fn name(c: &mut Cursor, what: &str) -> Result<String> {
    let n = c.count(what, 256)?;
    let b = c.take(n, what)?;
    String::from_utf8(b.to_vec()).map_err(|_| c.bad(None, format!("{what} is not UTF-8")))
}

/// The graph a dump holds, by row: what [`super::import`] turns into a [`super::graph::Graph`].
#[derive(Debug, Clone, Default)]
pub(super) struct DumpGraph {
    /// Each row's top level (rows are the points' ids).
    pub levels: Vec<u8>,
    /// Each row's links, per level 0..=its level.
    pub links: Vec<Vec<Vec<u32>>>,
    /// The entry point's row.
    pub entry: u32,
}

/// Checks the graph and data files of an index against `expect` and returns the graph they
/// hold. `distance` is the type name hnsw_rs will compare with the one in the file.
pub(super) fn check(
    graph: &Path,
    data: &Path,
    expect: Expect,
    distance: &str,
) -> Result<DumpGraph> {
    let graph_map = crate::io::map_file(graph)?;
    let mut g = Cursor::new((*graph_map).as_ref(), graph);
    check_description(&mut g, expect, distance)?;
    let data_map = crate::io::map_file(data)?;
    let mut d = Cursor::new((*data_map).as_ref(), data);
    magic(&mut d, MAGICDATAP, "data header", None)?;
    let ddims = d.count("data dimension", expect.dims as u64)?;
    if ddims != expect.dims {
        return Err(d.bad(
            None,
            format!("dimension {ddims}, the graph says {}", expect.dims),
        ));
    }
    let mut walk = Walk {
        g,
        d,
        expect,
        out: DumpGraph {
            levels: vec![0; expect.points],
            links: vec![Vec::new(); expect.points],
            entry: 0,
        },
        seen_ids: vec![false; expect.points],
        sizes: Vec::with_capacity(LAYERS as usize),
        refs: Vec::new(),
        seen: 0,
    };
    walk.layers()?;
    walk.entry_point()?;
    walk.g.end()?;
    walk.d.end()?;
    Ok(walk.out)
}

/// Checks the graph's description against `expect`: it must describe the points, dimension and
/// M of the metadata, a full dump of f32 vectors under `distance`.
fn check_description(g: &mut Cursor, expect: Expect, distance: &str) -> Result<()> {
    magic(g, MAGICDESCR_4, "description", None)?;
    let mode = g.u8("dump mode")?;
    if mode != 1 {
        return Err(g.bad(
            None,
            format!("dump mode {mode}, wordvec writes full dumps (1)"),
        ));
    }
    let m = g.u8("max connections")? as usize;
    if m != expect.m {
        return Err(g.bad(None, format!("M is {m}, the metadata says {}", expect.m)));
    }
    let scale = g.f64("level scale")?;
    if !(scale.is_finite() && scale > 0.0) {
        return Err(g.bad(
            None,
            format!("level scale {scale} is not a positive number"),
        ));
    }
    let layers = g.u8("layer count")?;
    if layers != LAYERS {
        return Err(g.bad(None, format!("{layers} layers, hnsw_rs dumps {LAYERS}")));
    }
    g.count("ef", crate::limits::MAX_EF as u64)?;
    let points = g.count("point count", expect.points as u64)?;
    if points != expect.points {
        return Err(g.bad(
            None,
            format!("{points} points, the metadata says {}", expect.points),
        ));
    }
    let dims = g.count("dimension", expect.dims as u64)?;
    if dims != expect.dims {
        return Err(g.bad(
            None,
            format!("dimension {dims}, the metadata says {}", expect.dims),
        ));
    }
    let dist = name(g, "distance name")?;
    if dist != distance {
        return Err(g.bad(None, format!("distance {dist:?}, expected {distance:?}")));
    }
    let t = name(g, "type name")?;
    if t != "f32" {
        return Err(g.bad(None, format!("value type {t:?}, expected \"f32\"")));
    }
    Ok(())
}

/// The walk of the layers: both files' cursors, and what has been seen so far.
struct Walk<'a> {
    g: Cursor<'a>,
    d: Cursor<'a>,
    expect: Expect,
    out: DumpGraph,
    seen_ids: Vec<bool>,
    /// Points in each layer read so far.
    sizes: Vec<usize>,
    /// Each neighbour's (layer, rank), and the graph offset after it.
    refs: Vec<(u8, i32, u64)>,
    /// Points read so far.
    seen: usize,
}

impl Walk<'_> {
    /// Layers and points. Neighbours may point at layers not read yet: their (layer, rank) are
    /// kept and resolved once every layer's size is known.
    fn layers(&mut self) -> Result<()> {
        let points = self.expect.points;
        let used = self.g.u8("number of layers")?;
        if used > LAYERS {
            return Err(self.g.bad(None, format!("{used} layers, at most {LAYERS}")));
        }
        for l in 0..used {
            magic(&mut self.g, MAGICLAYER, "layer", None)?;
            let left = (points - self.seen) as u64;
            let n = self.g.count(
                "layer's point count",
                left.min(self.g.remaining() as u64 / POINT_BYTES),
            )?;
            for r in 0..n {
                let record = Some(self.seen as u64);
                let id = self.point(l, r, record)?;
                self.vector(id, record)?;
                self.seen += 1;
            }
            self.sizes.push(n);
        }
        if self.seen != points {
            return Err(self.g.bad(
                None,
                format!(
                    "{} points in the layers, the header says {points}",
                    self.seen
                ),
            ));
        }
        let resolves = |&(l, r, _): &(u8, i32, u64)| self.resolves(l, r);
        if let Some(&(l, r, at)) = self.refs.iter().find(|x| !resolves(x)) {
            return Err(self.g.err(
                None,
                at as usize,
                format!("a neighbour names layer {l} rank {r}, which does not exist"),
            ));
        }
        Ok(())
    }

    /// Whether (layer, rank) names a point read.
    fn resolves(&self, layer: u8, rank: i32) -> bool {
        rank >= 0
            && self
                .sizes
                .get(layer as usize)
                .is_some_and(|&n| (rank as usize) < n)
    }

    /// Reads the point at rank `r` of layer `l` and its neighbour lists; returns its id.
    fn point(&mut self, l: u8, r: usize, record: Option<u64>) -> Result<u64> {
        let (g, points) = (&mut self.g, self.expect.points);
        magic(g, MAGICPOINT, "point", record)?;
        let id = g.u64("point id")?;
        if id >= points as u64 {
            return Err(g.bad(record, format!("point id {id} is not below {points}")));
        }
        let (pl, pr) = (g.u8("point layer")?, g.i32("point rank")?);
        if pl != l || pr as i64 != r as i64 {
            return Err(g.bad(
                record,
                format!("point says layer {pl} rank {pr}, it stands at layer {l} rank {r}"),
            ));
        }
        if std::mem::replace(&mut self.seen_ids[id as usize], true) {
            return Err(g.bad(record, format!("point id {id} appears twice")));
        }
        self.out.levels[id as usize] = l;
        let mut lists = vec![Vec::new(); l as usize + 1];
        for layer in 0..LAYERS as usize {
            self.links(lists.get_mut(layer), record)?;
        }
        self.out.links[id as usize] = lists;
        Ok(id)
    }

    /// Reads one neighbour list, into `list` when the point has that layer.
    fn links(&mut self, mut list: Option<&mut Vec<u32>>, record: Option<u64>) -> Result<()> {
        let (g, points) = (&mut self.g, self.expect.points as u64);
        let max = (2 * self.expect.m as u64).min(g.remaining() as u64 / LINK_BYTES);
        for _ in 0..g.count("neighbour count", max)? {
            let nid = g.u64("neighbour id")?;
            if nid >= points {
                return Err(g.bad(record, format!("neighbour id {nid} is not below {points}")));
            }
            let (nl, nr) = (g.u8("neighbour layer")?, g.i32("neighbour rank")?);
            let dist = g.f32("neighbour distance")?;
            if !dist.is_finite() {
                return Err(g.bad(record, format!("neighbour distance {dist}")));
            }
            self.refs.push((nl, nr, g.pos() as u64));
            if let Some(list) = list.as_deref_mut() {
                list.push(nid as u32);
            }
        }
        Ok(())
    }

    /// Reads the vector of point `id` in the data file.
    fn vector(&mut self, id: u64, record: Option<u64>) -> Result<()> {
        let (d, dims) = (&mut self.d, self.expect.dims);
        magic(d, MAGICDATAP, "vector", record)?;
        let did = d.u64("vector id")?;
        if did != id {
            return Err(d.bad(record, format!("vector id {did}, the graph says {id}")));
        }
        let bytes = d.u64("vector length")?;
        if bytes != 4 * dims as u64 {
            return Err(d.bad(
                record,
                format!(
                    "vector of {bytes} bytes, {dims} dimensions need {}",
                    4 * dims
                ),
            ));
        }
        for _ in 0..dims {
            let v = d.f32("vector")?;
            if !v.is_finite() {
                return Err(d.bad(record, format!("vector holds {v}")));
            }
        }
        Ok(())
    }

    /// Reads the entry point (id, layer, rank), which must name a point read.
    fn entry_point(&mut self) -> Result<()> {
        let points = self.expect.points;
        let entry = self.g.u64("entry point id")?;
        if entry >= points as u64 {
            return Err(self.g.bad(
                None,
                format!("entry point id {entry} is not below {points}"),
            ));
        }
        self.out.entry = entry as u32;
        let (el, er) = (
            self.g.u8("entry point layer")?,
            self.g.i32("entry point rank")?,
        );
        if !self.resolves(el, er) {
            return Err(self.g.bad(
                None,
                format!("entry point at layer {el} rank {er} does not exist"),
            ));
        }
        Ok(())
    }
}
