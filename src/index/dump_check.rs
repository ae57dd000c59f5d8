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

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use crate::error::{Error, Result};

const MAGICDESCR_4: u32 = 0x002a_6779;
const MAGICLAYER: u32 = 0x000a_676f;
const MAGICPOINT: u32 = 0x000a_678f;
const MAGICDATAP: u32 = 0xa67f_0000;
/// hnsw_rs's `NB_LAYER_MAX`.
const LAYERS: u8 = 16;

/// What the metadata says the files must hold.
#[derive(Debug, Clone, Copy)]
pub struct Expect {
    /// Points in the graph (and rows they may name: ids are below it).
    pub points: usize,
    /// Dimensions of every vector.
    pub dims: usize,
    /// Links per node.
    pub m: usize,
}

/// A reader that knows its offset and how many bytes are left.
struct Cursor<'p> {
    path: &'p Path,
    inner: BufReader<File>,
    offset: u64,
    len: u64,
}

impl<'p> Cursor<'p> {
    fn open(path: &'p Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::io("cannot open", path, e))?;
        let len = file
            .metadata()
            .map_err(|e| Error::io("cannot stat", path, e))?
            .len();
        Ok(Cursor {
            path,
            inner: BufReader::with_capacity(1 << 20, file),
            offset: 0,
            len,
        })
    }

    fn bad(&self, record: Option<u64>, message: impl Into<String>) -> Error {
        Error::format(self.path, record, self.offset, message)
    }

    fn left(&self) -> u64 {
        self.len.saturating_sub(self.offset)
    }

    fn bytes<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        let mut b = [0u8; N];
        self.inner.read_exact(&mut b).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                self.bad(None, format!("file ends inside {what}"))
            } else {
                Error::io("cannot read", self.path, e)
            }
        })?;
        self.offset += N as u64;
        Ok(b)
    }

    fn u8(&mut self, what: &str) -> Result<u8> {
        Ok(self.bytes::<1>(what)?[0])
    }
    fn u32(&mut self, what: &str) -> Result<u32> {
        Ok(u32::from_ne_bytes(self.bytes(what)?))
    }
    fn i32(&mut self, what: &str) -> Result<i32> {
        Ok(i32::from_ne_bytes(self.bytes(what)?))
    }
    fn u64(&mut self, what: &str) -> Result<u64> {
        Ok(u64::from_ne_bytes(self.bytes(what)?))
    }
    fn f32(&mut self, what: &str) -> Result<f32> {
        Ok(f32::from_ne_bytes(self.bytes(what)?))
    }

    /// A count that must be at most `max`.
    fn count(&mut self, what: &str, max: u64) -> Result<usize> {
        let at = self.offset;
        let n = self.u64(what)?;
        if n > max {
            return Err(Error::format(
                self.path,
                None,
                at,
                format!("{what} is {n}, at most {max} is possible here"),
            ));
        }
        Ok(n as usize)
    }

    fn magic(&mut self, want: u32, what: &str, record: Option<u64>) -> Result<()> {
        let at = self.offset;
        let got = self.u32(what)?;
        if got != want {
            return Err(Error::format(
                self.path,
                record,
                at,
                format!("{what}: magic {got:#010x}, expected {want:#010x}"),
            ));
        }
        Ok(())
    }

    fn name(&mut self, what: &str) -> Result<String> {
        let n = self.count(what, 256)?;
        let mut b = vec![0u8; n];
        self.inner
            .read_exact(&mut b)
            .map_err(|_| self.bad(None, format!("file ends inside {what}")))?;
        self.offset += n as u64;
        String::from_utf8(b).map_err(|_| self.bad(None, format!("{what} is not UTF-8")))
    }

    fn end(&self) -> Result<()> {
        if self.left() != 0 {
            return Err(self.bad(None, format!("{} bytes after the last record", self.left())));
        }
        Ok(())
    }
}

/// The graph a dump holds, by row: what [`super::import`] turns into a [`super::graph::Graph`].
#[derive(Debug, Clone, Default)]
pub struct DumpGraph {
    /// Each row's top level (rows are the points' ids).
    pub levels: Vec<u8>,
    /// Each row's links, per level 0..=its level.
    pub links: Vec<Vec<Vec<u32>>>,
    /// The entry point's row.
    pub entry: u32,
}

/// Checks the graph and data files of an index against `expect` and returns the graph they
/// hold. `distance` is the type name hnsw_rs will compare with the one in the file.
pub fn check(graph: &Path, data: &Path, expect: Expect, distance: &str) -> Result<DumpGraph> {
    let mut g = Cursor::open(graph)?;
    // Description.
    g.magic(MAGICDESCR_4, "description", None)?;
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
    let scale = f64::from_ne_bytes(g.bytes("level scale")?);
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
    let dist = g.name("distance name")?;
    if dist != distance {
        return Err(g.bad(None, format!("distance {dist:?}, expected {distance:?}")));
    }
    let t = g.name("type name")?;
    if t != "f32" {
        return Err(g.bad(None, format!("value type {t:?}, expected \"f32\"")));
    }

    let mut d = Cursor::open(data)?;
    d.magic(MAGICDATAP, "data header", None)?;
    let ddims = d.count("data dimension", expect.dims as u64)?;
    if ddims != dims {
        return Err(d.bad(None, format!("dimension {ddims}, the graph says {dims}")));
    }

    // Layers and points. Neighbours may point at layers not read yet: their (layer, rank) are
    // kept and resolved once every layer's size is known.
    let used = g.u8("number of layers")?;
    if used > LAYERS {
        return Err(g.bad(None, format!("{used} layers, at most {LAYERS}")));
    }
    let mut out = DumpGraph {
        levels: vec![0; expect.points],
        links: vec![Vec::new(); expect.points],
        entry: 0,
    };
    let mut seen_ids = vec![false; expect.points];
    let mut sizes: Vec<usize> = Vec::with_capacity(used as usize);
    let mut refs: Vec<(u8, i32, u64)> = Vec::new();
    let mut seen = 0usize;
    // Per point: magic, id, layer, rank, 16 counts; per neighbour id, layer, rank, distance.
    let point_bytes = 4 + 8 + 1 + 4 + 8 * LAYERS as u64;
    let link_bytes = 8 + 1 + 4 + 4;
    for l in 0..used {
        g.magic(MAGICLAYER, "layer", None)?;
        let left = (points - seen) as u64;
        let n = g.count("layer's point count", left.min(g.left() / point_bytes))?;
        for r in 0..n {
            let record = Some(seen as u64);
            g.magic(MAGICPOINT, "point", record)?;
            let id = g.u64("point id")?;
            if id >= expect.points as u64 {
                return Err(g.bad(
                    record,
                    format!("point id {id} is not below {}", expect.points),
                ));
            }
            let (pl, pr) = (g.u8("point layer")?, g.i32("point rank")?);
            if pl != l || pr as i64 != r as i64 {
                return Err(g.bad(
                    record,
                    format!("point says layer {pl} rank {pr}, it stands at layer {l} rank {r}"),
                ));
            }
            if std::mem::replace(&mut seen_ids[id as usize], true) {
                return Err(g.bad(record, format!("point id {id} appears twice")));
            }
            out.levels[id as usize] = l;
            let mut lists = vec![Vec::new(); l as usize + 1];
            for layer in 0..LAYERS as usize {
                let links = g.count(
                    "neighbour count",
                    (2 * expect.m as u64).min(g.left() / link_bytes),
                )?;
                for _ in 0..links {
                    let nid = g.u64("neighbour id")?;
                    if nid >= expect.points as u64 {
                        return Err(g.bad(
                            record,
                            format!("neighbour id {nid} is not below {}", expect.points),
                        ));
                    }
                    let (nl, nr) = (g.u8("neighbour layer")?, g.i32("neighbour rank")?);
                    let dist = g.f32("neighbour distance")?;
                    if !dist.is_finite() {
                        return Err(g.bad(record, format!("neighbour distance {dist}")));
                    }
                    refs.push((nl, nr, g.offset));
                    if let Some(list) = lists.get_mut(layer) {
                        list.push(nid as u32);
                    }
                }
            }
            out.links[id as usize] = lists;
            // The point's vector in the data file.
            d.magic(MAGICDATAP, "vector", record)?;
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
            seen += 1;
        }
        sizes.push(n);
    }
    if seen != points {
        return Err(g.bad(
            None,
            format!("{seen} points in the layers, the header says {points}"),
        ));
    }
    let resolves = |layer: u8, rank: i32| {
        rank >= 0
            && sizes
                .get(layer as usize)
                .is_some_and(|&n| (rank as usize) < n)
    };
    if let Some(&(l, r, at)) = refs.iter().find(|&&(l, r, _)| !resolves(l, r)) {
        return Err(Error::format(
            graph,
            None,
            at,
            format!("a neighbour names layer {l} rank {r}, which does not exist"),
        ));
    }
    let entry = g.u64("entry point id")?;
    if entry >= expect.points as u64 {
        return Err(g.bad(
            None,
            format!("entry point id {entry} is not below {}", expect.points),
        ));
    }
    out.entry = entry as u32;
    let (el, er) = (g.u8("entry point layer")?, g.i32("entry point rank")?);
    if !resolves(el, er) {
        return Err(g.bad(
            None,
            format!("entry point at layer {el} rank {er} does not exist"),
        ));
    }
    g.end()?;
    d.end()?;
    Ok(out)
}
