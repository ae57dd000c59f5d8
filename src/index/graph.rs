//! wordvec's own HNSW graph file: the layers as flat arrays of `u32` row ids, memory-mapped and
//! searched in place. The vectors are not copied: a search reads the rows of the mapped vectors
//! file the graph was built from (tied by the vectors' fingerprint).
//!
//! All integers are little-endian. A 256-byte header is followed by four sections, each starting
//! at a multiple of 64 bytes:
//!
//! | offset | field | type |
//! |---|---|---|
//! | 0 | magic `WVGRAPH1` | 8 bytes |
//! | 8 | version (1) | u32 |
//! | 12 | reserved, zero | u32 |
//! | 16 | indexed rows `n` (the first `n` words) | u64 |
//! | 24 | words in the vectors file | u64 |
//! | 32 | dimensions | u64 |
//! | 40 | `m`: link slots per node on layers >= 1 | u32 |
//! | 44 | `m0`: link slots per node on layer 0 | u32 |
//! | 48 | M the graph was built with | u32 |
//! | 52 | ef_construction | u32 |
//! | 56 | default ef_search | u32 |
//! | 60 | entry point (row) | u32 |
//! | 64 | top level | u32 |
//! | 68 | reserved, zero | u32 |
//! | 72 | fingerprint of the vectors (16 ASCII hex digits) | 16 bytes |
//! | 88 | build time, seconds | f64 |
//! | 96 | levels: offset (`n` u8, each node's top level) | u64 |
//! | 104 | layer 0: offset (`n` records of `1 + m0` u32: count, then slots) | u64 |
//! | 112 | upper start: offset (`n` u32: index of the node's level-1 record, `u32::MAX` if none) | u64 |
//! | 120 | upper layers: offset, record count (records of `1 + m` u32; a node of level `L` owns `L` consecutive records, levels 1..=L) | u64, u64 |
//! | 136 | file length | u64 |
//! | 144..256 | reserved, zero | |
//!
//! Opening checks the header, the section bounds and the entry point and builds nothing: a
//! 3-million-row graph is ready as soon as it is mapped. The search never trusts a link: ids at
//! or past `n`, counts past the slots and upper records past the end are skipped, so a damaged
//! file gives worse answers, never a crash; [`Graph::verify`] checks every link for a user who
//! wants to know.
//!
//! Why flat arrays: hnsw_rs keeps each node behind an `Arc` with a lock around its edge lists,
//! and spent most of a query in that bookkeeping. A fixed-size record per node puts the count and
//! the links of layer 0 (where a search spends nearly all its time) in one or two cache lines,
//! found by multiplication.

use std::path::Path;
use std::sync::Arc;

use crate::bytes::{Backing, Slice};
use crate::error::{Error, Result};

/// Magic bytes of a graph file.
pub const MAGIC: &[u8; 8] = b"WVGRAPH1";
/// The header: magic, version 1, the fields of the table, zeros to 256 bytes.
const HEADER: crate::bytes::Header = crate::bytes::Header {
    name: "graph",
    magic: MAGIC,
    version: Some((1, "graph version")),
    len: 256,
};
/// Most link slots per node a file may declare (M up to 255 gives 510 on layer 0).
const MAX_SLOTS: usize = 1024;
/// Highest level a file may declare.
const MAX_LEVEL: usize = 64;

/// Marks a node with no upper-layer records.
pub const NO_UPPER: u32 = u32::MAX;

/// The parameters and identity stored in a graph's header.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GraphInfo {
    /// Indexed rows (the first `indexed` words).
    pub indexed: usize,
    /// Words in the vectors file the graph belongs to.
    pub vocab_len: usize,
    /// Dimensions of those vectors.
    pub dims: usize,
    /// The M the graph was built with.
    pub m: usize,
    /// Link slots per node on layers >= 1.
    pub slots: usize,
    /// Link slots per node on layer 0.
    pub slots0: usize,
    /// Candidate list size while building.
    pub ef_construction: usize,
    /// Default candidate list size while searching.
    pub ef_search: usize,
    /// Fingerprint of the vectors (16 hex digits).
    pub fingerprint: String,
    /// Seconds the build took.
    pub build_seconds: f64,
}

/// A graph in memory or mapped from a file.
#[derive(Debug, Clone)]
pub struct Graph {
    info: GraphInfo,
    entry: u32,
    top: usize,
    levels: Slice<u8>,
    layer0: Slice<u32>,
    upper_start: Slice<u32>,
    upper: Slice<u32>,
}

/// The parts of a graph, as a builder or an importer produces them.
#[derive(Debug, Clone, Default)]
pub struct GraphParts {
    /// Each node's top level.
    pub levels: Vec<u8>,
    /// Layer 0: `n` records of `1 + m0` u32.
    pub layer0: Vec<u32>,
    /// Each node's first upper record, or [`NO_UPPER`].
    pub upper_start: Vec<u32>,
    /// Upper records of `1 + m` u32.
    pub upper: Vec<u32>,
    /// The entry point.
    pub entry: u32,
}

impl GraphParts {
    /// Appends `node`'s lists for levels 1.. (`upper[0]` is level 1) as records of `slots`
    /// slots, and points its upper start at them; `records` counts the records so far.
    pub fn push_upper(&mut self, node: usize, upper: &[Vec<u32>], slots: usize, records: &mut u32) {
        if upper.is_empty() {
            return;
        }
        self.upper_start[node] = *records;
        for list in upper {
            self.upper.push(list.len() as u32);
            self.upper.extend_from_slice(list);
            self.upper
                .extend(std::iter::repeat_n(0, slots - list.len()));
            *records += 1;
        }
    }
}

fn align64(x: usize) -> usize {
    x.div_ceil(64) * 64
}

impl Graph {
    /// A graph from its parts (checked like a file).
    pub fn from_parts(info: GraphInfo, parts: GraphParts) -> Result<Graph> {
        let top = parts.levels.iter().copied().max().unwrap_or(0) as usize;
        let g = Graph {
            entry: parts.entry,
            top,
            levels: parts.levels.into(),
            layer0: parts.layer0.into(),
            upper_start: parts.upper_start.into(),
            upper: parts.upper.into(),
            info,
        };
        g.check_shape(Path::new("<graph>"))?;
        Ok(g)
    }

    /// Records how long the build took.
    pub fn set_build_seconds(&mut self, s: f64) {
        self.info.build_seconds = s;
    }

    /// The header's parameters.
    pub fn info(&self) -> &GraphInfo {
        &self.info
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.info.indexed
    }

    /// True for a graph of no nodes.
    pub fn is_empty(&self) -> bool {
        self.info.indexed == 0
    }

    /// The entry point and the top level.
    pub fn entry(&self) -> (u32, usize) {
        (self.entry, self.top)
    }

    /// The links of `node` on `level`, as stored (ids not yet checked against `n`).
    #[inline]
    pub fn links(&self, node: u32, level: usize) -> &[u32] {
        let node = node as usize;
        if level == 0 {
            let w = 1 + self.info.slots0;
            let Some(rec) = self.layer0.get(node * w..(node + 1) * w) else {
                return &[];
            };
            let count = (rec[0] as usize).min(self.info.slots0);
            &rec[1..1 + count]
        } else {
            let Some(&start) = self.upper_start.get(node) else {
                return &[];
            };
            if start == NO_UPPER {
                return &[];
            }
            let w = 1 + self.info.slots;
            let r = start as usize + level - 1;
            let Some(rec) = self.upper.get(r * w..(r + 1) * w) else {
                return &[];
            };
            let count = (rec[0] as usize).min(self.info.slots);
            &rec[1..1 + count]
        }
    }

    /// A node's top level (0 for an id out of range).
    pub fn level(&self, node: u32) -> usize {
        self.levels.get(node as usize).map_or(0, |&l| l as usize)
    }

    fn check_shape(&self, path: &Path) -> Result<()> {
        let i = &self.info;
        let bad = |m: String| Error::format(path, None, 0, m);
        if i.slots == 0 || i.slots > MAX_SLOTS || i.slots0 == 0 || i.slots0 > MAX_SLOTS {
            return Err(bad(format!(
                "link slots {} / {} out of range",
                i.slots, i.slots0
            )));
        }
        if i.indexed > i.vocab_len || i.indexed >= NO_UPPER as usize {
            return Err(bad(format!(
                "{} nodes for {} words",
                i.indexed, i.vocab_len
            )));
        }
        if self.top > MAX_LEVEL {
            return Err(bad(format!("top level {} is over {MAX_LEVEL}", self.top)));
        }
        let want0 = i.indexed.checked_mul(1 + i.slots0);
        if self.levels.len() != i.indexed
            || self.upper_start.len() != i.indexed
            || Some(self.layer0.len()) != want0
            || !self.upper.len().is_multiple_of(1 + i.slots)
        {
            return Err(bad("section sizes disagree with the header".into()));
        }
        if i.indexed > 0 && self.entry as usize >= i.indexed {
            return Err(bad(format!(
                "entry point {} is not below {}",
                self.entry, i.indexed
            )));
        }
        Ok(())
    }

    /// Every check a file can take: every link id below `n` and not the node itself, counts
    /// within their slots, upper records in range for each node's level, the entry point at the
    /// top level.
    pub fn verify(&self) -> Result<()> {
        let bad = |node: usize, m: String| Error::format("<graph>", Some(node as u64), 0, m);
        let n = self.info.indexed;
        let upper_records = self.upper.len() / (1 + self.info.slots);
        for node in 0..n {
            let level = self.levels[node] as usize;
            let rec0 = &self.layer0[node * (1 + self.info.slots0)..];
            if rec0[0] as usize > self.info.slots0 {
                return Err(bad(
                    node,
                    format!("{} links in {} slots", rec0[0], self.info.slots0),
                ));
            }
            let start = self.upper_start[node];
            if level > 0 {
                if start == NO_UPPER || start as usize + level > upper_records {
                    return Err(bad(node, format!("level {level} but no upper records")));
                }
                for l in 1..=level {
                    let r = (start as usize + l - 1) * (1 + self.info.slots);
                    if self.upper[r] as usize > self.info.slots {
                        return Err(bad(
                            node,
                            format!("{} links in {} slots", self.upper[r], self.info.slots),
                        ));
                    }
                }
            }
            for l in 0..=level {
                for &x in self.links(node as u32, l) {
                    if x as usize >= n || x as usize == node {
                        return Err(bad(node, format!("link to {x} on level {l}")));
                    }
                }
            }
        }
        if n > 0 && self.level(self.entry) != self.top {
            return Err(bad(
                self.entry as usize,
                "the entry point is not at the top level".into(),
            ));
        }
        let unreachable = self.unreachable();
        if let Some(&first) = unreachable.first() {
            return Err(bad(
                first as usize,
                format!(
                    "{} rows (this one first) cannot be reached from the entry point on layer 0: no search can return them",
                    unreachable.len()
                ),
            ));
        }
        Ok(())
    }

    /// The rows no layer-0 path from the entry point leads to, in row order.
    pub fn unreachable(&self) -> Vec<u32> {
        let n = self.info.indexed;
        if n == 0 {
            return Vec::new();
        }
        let mut reached = vec![false; n];
        reached[self.entry as usize] = true;
        let mut stack = vec![self.entry];
        while let Some(node) = stack.pop() {
            for &x in self.links(node, 0) {
                if (x as usize) < n && !reached[x as usize] {
                    reached[x as usize] = true;
                    stack.push(x);
                }
            }
        }
        (0..n as u32).filter(|&i| !reached[i as usize]).collect()
    }

    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let i = &self.info;
        let levels_off = HEADER.len;
        let layer0_off = align64(levels_off + i.indexed);
        let start_off = align64(layer0_off + 4 * self.layer0.len());
        let upper_off = align64(start_off + 4 * self.upper_start.len());
        let len = align64(upper_off + 4 * self.upper.len());
        let mut h = HEADER.writer();
        h.zeros(4)
            .u64(i.indexed as u64)
            .u64(i.vocab_len as u64)
            .u64(i.dims as u64);
        for v in [i.slots, i.slots0, i.m, i.ef_construction, i.ef_search] {
            h.u32(v as u32);
        }
        h.u32(self.entry)
            .u32(self.top as u32)
            .zeros(4)
            .fingerprint(&i.fingerprint)
            .f64(i.build_seconds);
        for v in [
            levels_off,
            layer0_off,
            start_off,
            upper_off,
            self.upper.len() / (1 + i.slots),
            len,
        ] {
            h.u64(v as u64);
        }
        let mut b = h.finish();
        b.resize(len, 0);
        b[levels_off..levels_off + i.indexed].copy_from_slice(&self.levels);
        for (at, s) in [
            (layer0_off, &self.layer0),
            (start_off, &self.upper_start),
            (upper_off, &self.upper),
        ] {
            b[at..at + 4 * s.len()].copy_from_slice(bytemuck::cast_slice(s));
        }
        b
    }

    /// Opens a graph held in `backing` (normally a memory map of `path`): header, bounds and
    /// entry point are checked; nothing is built.
    pub(crate) fn open(backing: Arc<Backing>, path: &Path) -> Result<Graph> {
        let data: &[u8] = (*backing).as_ref();
        let h = RawHeader::read(data, path)?;
        let bad = |offset: usize, m: String| Error::format(path, None, offset as u64, m);
        let size = |v: u64, at: usize, what: &str| size_in(data.len(), path, v, at, what);
        let n = size(h.n, 16, "node count")?;
        let vocab_len = usize::try_from(h.vocab_len).map_err(|_| bad(24, "word count".into()))?;
        let dims = size(h.dims, 32, "dimension")?;
        let (m, m0) = (h.params[0] as usize, h.params[1] as usize);
        if m == 0 || m > MAX_SLOTS || m0 == 0 || m0 > MAX_SLOTS {
            return Err(bad(40, format!("link slots {m} / {m0} out of range")));
        }
        if dims == 0 || dims > crate::limits::MAX_DIMS {
            return Err(bad(32, format!("dimension {dims} out of range")));
        }
        if h.sections[5] != data.len() as u64 {
            return Err(bad(
                136,
                format!(
                    "header gives a length of {} bytes, the file has {}: truncated or extended",
                    h.sections[5],
                    data.len()
                ),
            ));
        }
        let fingerprint = h.fingerprint?;
        let records = size(h.sections[4], 128, "upper record count")?;
        let (levels, layer0, upper_start, upper) =
            sections(&backing, path, &h.sections, n, (m, m0), records)?;
        let g = Graph {
            info: GraphInfo {
                indexed: n,
                vocab_len,
                dims,
                m: h.params[2] as usize,
                slots: m,
                slots0: m0,
                ef_construction: h.params[3] as usize,
                ef_search: (h.params[4] as usize).clamp(1, crate::limits::MAX_EF),
                fingerprint,
                build_seconds: h.build_seconds,
            },
            entry: h.params[5],
            top: h.params[6] as usize,
            levels,
            layer0,
            upper_start,
            upper,
        };
        g.check_shape(path)?;
        Ok(g)
    }
}

/// A size or offset `v` from the header field at byte `at`, as a `usize` no larger than a file
/// of `len` bytes could need (8 times its bytes: the bits of a level array).
fn size_in(len: usize, path: &Path, v: u64, at: usize, what: &str) -> Result<usize> {
    usize::try_from(v)
        .ok()
        .filter(|&v| v as u64 <= len as u64 * 8)
        .ok_or_else(|| {
            Error::format(
                path,
                None,
                at as u64,
                format!("{what} {v} is impossible for a file of {len} bytes"),
            )
        })
}

/// The levels, layer 0, upper start and upper layers sections of a graph file.
type Sections = (Slice<u8>, Slice<u32>, Slice<u32>, Slice<u32>);

/// The levels, layer 0, upper start and upper layers sections at the header's `offsets`
/// (bytes 96..128), each checked to lie after the header, inside the file and aligned.
fn sections(
    backing: &Arc<Backing>,
    path: &Path,
    offsets: &[u64; 6],
    n: usize,
    (m, m0): (usize, usize),
    records: usize,
) -> Result<Sections> {
    let data: &[u8] = (**backing).as_ref();
    let bad = |offset: usize, m: String| Error::format(path, None, offset as u64, m);
    let section = |i: usize, count: Option<usize>, what: &str| -> Result<usize> {
        let at = 96 + 8 * i;
        let off = size_in(data.len(), path, offsets[i], at, what)?;
        let count = count.ok_or_else(|| bad(at, format!("{what} size overflows")))?;
        if off % 64 != 0
            || off < HEADER.len
            || off.checked_add(count).is_none_or(|e| e > data.len())
        {
            return Err(bad(
                at,
                format!("{what} section at {off} of {count} bytes is out of bounds"),
            ));
        }
        Ok(off)
    };
    let w0 = n.checked_mul(1 + m0).and_then(|x| x.checked_mul(4));
    let levels_off = section(0, Some(n), "levels")?;
    let layer0_off = section(1, w0, "layer 0")?;
    let start_off = section(2, n.checked_mul(4), "upper start")?;
    let upper_off = section(
        3,
        records.checked_mul(1 + m).and_then(|x| x.checked_mul(4)),
        "upper layers",
    )?;
    let mis = |what: &str, off: usize| bad(off, format!("{what} section is not aligned in memory"));
    Ok((
        Slice::<u8>::shared(backing.clone(), levels_off, n)
            .ok_or_else(|| mis("levels", levels_off))?,
        Slice::<u32>::shared(backing.clone(), layer0_off, n * (1 + m0))
            .ok_or_else(|| mis("layer 0", layer0_off))?,
        Slice::<u32>::shared(backing.clone(), start_off, n)
            .ok_or_else(|| mis("upper start", start_off))?,
        Slice::<u32>::shared(backing.clone(), upper_off, records * (1 + m))
            .ok_or_else(|| mis("upper layers", upper_off))?,
    ))
}

/// A graph header's fields as they stand in the file, before they are checked.
struct RawHeader {
    n: u64,
    vocab_len: u64,
    dims: u64,
    /// m, m0, M, ef_construction, ef_search, entry point, top level (bytes 40..68).
    params: [u32; 7],
    /// Checked after the sizes, as the fields before it are.
    fingerprint: Result<String>,
    build_seconds: f64,
    /// Offsets of levels, layer 0, upper start and upper layers; upper record count; file
    /// length (bytes 96..144).
    sections: [u64; 6],
}

impl RawHeader {
    /// Checks the magic and version and reads the fields (their offsets are in the module docs).
    fn read(data: &[u8], path: &Path) -> Result<RawHeader> {
        let mut c = HEADER.open(data, path)?;
        c.u32("the reserved field")?;
        let (n, vocab_len) = (c.u64("the node count")?, c.u64("the word count")?);
        let dims = c.u64("the dimension")?;
        let mut params = [0u32; 7];
        for v in params.iter_mut() {
            *v = c.u32("the graph's parameters")?;
        }
        c.u32("the reserved field")?;
        let fingerprint = c.fingerprint();
        let build_seconds = c.f64("the build time")?;
        let mut sections = [0u64; 6];
        for v in sections.iter_mut() {
            *v = c.u64("the section offsets")?;
        }
        Ok(RawHeader {
            n,
            vocab_len,
            dims,
            params,
            fingerprint,
            build_seconds,
            sections,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> Graph {
        // Three nodes: 0 at level 1 (entry), 1 and 2 at level 0; m = 2, m0 = 3.
        let info = GraphInfo {
            indexed: 3,
            vocab_len: 4,
            dims: 2,
            m: 2,
            slots: 2,
            slots0: 3,
            ef_construction: 10,
            ef_search: 5,
            fingerprint: "0123456789abcdef".into(),
            build_seconds: 0.5,
        };
        let parts = GraphParts {
            levels: vec![1, 0, 0],
            layer0: vec![2, 1, 2, 0, 1, 0, 0, 0, 2, 0, 1, 0],
            upper_start: vec![0, NO_UPPER, NO_UPPER],
            upper: vec![0, 0, 0],
            entry: 0,
        };
        Graph::from_parts(info, parts).unwrap()
    }

    #[test]
    fn verify_reports_rows_the_entry_point_cannot_reach() {
        let g = tiny();
        assert!(g.unreachable().is_empty());
        g.verify().unwrap();
        // Node 2 links to 0 and 1, but nothing links to it.
        let parts = GraphParts {
            levels: vec![1, 0, 0],
            layer0: vec![1, 1, 0, 0, 1, 0, 0, 0, 2, 0, 1, 0],
            upper_start: vec![0, NO_UPPER, NO_UPPER],
            upper: vec![0, 0, 0],
            entry: 0,
        };
        let g = Graph::from_parts(g.info().clone(), parts).unwrap();
        assert_eq!(g.unreachable(), [2]);
        let e = g.verify().unwrap_err().to_string();
        assert!(
            e.contains("1 rows") && e.contains("cannot be reached"),
            "{e}"
        );
    }

    #[test]
    fn round_trip_byte_for_byte() {
        let g = tiny();
        g.verify().unwrap();
        let bytes = g.to_bytes();
        let back = Graph::open(Arc::new(Backing::Owned(bytes.clone())), Path::new("g")).unwrap();
        assert_eq!(back.info(), g.info());
        assert_eq!(back.links(0, 0), &[1, 2]);
        assert_eq!(back.links(2, 0), &[0, 1]);
        assert_eq!(back.links(0, 1), &[] as &[u32]);
        assert_eq!(back.entry(), (0, 1));
        assert_eq!(back.to_bytes(), bytes);
        back.verify().unwrap();
    }

    #[test]
    fn damaged_headers_are_errors_and_damaged_links_are_skipped() {
        let bytes = tiny().to_bytes();
        let open = |b: Vec<u8>| Graph::open(Arc::new(Backing::Owned(b)), Path::new("g"));
        assert!(open(bytes[..100].to_vec()).is_err());
        assert!(open(bytes[..bytes.len() - 64].to_vec()).is_err());
        let mut b = bytes.clone();
        b[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(open(b).is_err());
        let mut b = bytes.clone();
        b[60..64].copy_from_slice(&7u32.to_le_bytes());
        assert!(open(b).unwrap_err().to_string().contains("entry point"));
        // A count past the slots and a link past n: open works, links stay in bounds, verify
        // names the node.
        let mut b = bytes.clone();
        let l0 = u64::from_le_bytes(b[104..112].try_into().unwrap()) as usize;
        b[l0..l0 + 4].copy_from_slice(&1000u32.to_le_bytes());
        b[l0 + 4..l0 + 8].copy_from_slice(&99u32.to_le_bytes());
        let g = open(b).unwrap();
        assert_eq!(g.links(0, 0).len(), 3);
        assert!(g.verify().is_err());
    }
}
