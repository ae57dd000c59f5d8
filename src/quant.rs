//! An int8 copy of the unit rows, scanned first by exact queries: a quarter of the bytes of the
//! f32 matrix, with answers identical to the f32 scan.
//!
//! Quantisation is per dimension: `x_j ~ lo_j + step_j * c_j` with `c_j`
//! in `0..=255`, so each component is off by at most `step_j / 2`. For a unit query `y`, the
//! score `A_i = sum_j (lo_j + step_j c_ij) y_j` differs from the row's true cosine by at most
//! `Q = sum_j (step_j / 2) |y_j|` (with the slack `verify` allows).
//!
//! The scan computes `A_i` in integers: the weights `w_j = step_j y_j` become
//! `q_j = round(s w_j)`, small enough (`|q_j| <= 32_639`, `255 sum_j |q_j| < 2^31`) that
//! `S_i = sum_j c_ij q_j` is an exact `i32` on every SIMD variant, and the row's score is
//! `a_i = base + S_i / s` with `base = sum_j lo_j y_j` (each step in f32). Two errors separate
//! `a_i` from `A_i`:
//! - the rounding of the weights: with `e_j = w_j - q_j / s`,
//!   `sum_j c_ij w_j = S_i / s + sum_j c_ij e_j`, and since `0 <= c_ij <= 255` the last sum lies
//!   between `255` times the sum of the negative `e_j` and `255` times the sum of the positive
//!   ones, so its magnitude is at most `E = 255 max(sum_{e_j > 0} e_j, -sum_{e_j < 0} e_j)`.
//!   `E` is computed from the actual `q_j` (in f64, where `w_j`, a product of two f32, is
//!   exact);
//! - rounding in f32, of `base` (at most `(d - 1) u sum_j |lo_j y_j|`, u = 2^-24), of `S_i`
//!   to f32, of `1 / s` and of the product (`3 u |S_i / s|` together), and of the final sum
//!   (`u |a_i|`); `|S_i / s| <= 255 sum_j (|w_j| + |e_j|)`. The f32 scan's own score is off
//!   the true cosine by at most `(d + 4) u` (the row and the query are unit vectors).
//!
//! So every row's integer score is within
//! `M = Q + E + (d + 4) u (1 + sum_j |lo_j y_j| + 255 sum_j (|w_j| + |e_j|))` of its f32 scan
//! score; `M` is evaluated in f64 and enlarged by a relative `10^-4` and `10^-7` for the
//! evaluation's own rounding. `E` is small beside `Q`: the weights keep 15 bits, the codes 8.
//!
//! Exactness: let `A` be the k-th largest `a_i`. A row in the f32 scan's top k has a score of at
//! least the k-th score, which is at least `A - M`, so its `a_i` is at least `A - 2M`. Every row
//! with `a_i >= A - 2M` is re-scored with the very function the f32 scan uses, and the top k of
//! those, ties broken the same way (lower row first), is the f32 scan's answer: the same words,
//! scores and order, by construction (and tested on thousands of queries, and on rows built to
//! strain the bound: ties, components of 1e3 beside 1e-6, constant dimensions, every
//! dimension count off the SIMD widths).
//!
//! The copy is a sidecar file `VECTORS.i8` tied to its vectors by their fingerprint:
//!
//! | offset | field |
//! |---|---|
//! | 0 | magic `WVINT8Q1` |
//! | 8 | version (1), u32; reserved u32 |
//! | 16, 24 | rows `n`, dimensions `d` (u64) |
//! | 32 | fingerprint of the vectors (16 ASCII hex digits) |
//! | 48, 56, 64 | offsets of `lo` (`d` f32), `step` (`d` f32), codes (`n * d` u8) |
//! | 72 | file length (u64); 80..128 reserved |
//!
//! Opening maps the file, checks the header, and then checks every code against its row (one
//! pass, as long as one f32 scan): a copy that disagrees with its rows is an error, never a
//! wrong answer. That check is the price of the guarantee. Copies beside a vectors file
//! ([`crate::open`]) pay it once: a passing check is recorded beside the copy (`VECTORS.i8.ok`,
//! bound to both files' identity, see [`record`]), and later opens of the same files skip it; `WORDVEC_INT8_VERIFY=always` forces it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use crate::bytes::{Backing, Slice};
use crate::error::{Error, Result};
use crate::topk::{Scored, TopK};

pub mod record;

/// Magic bytes of an int8 sidecar.
pub const MAGIC: &[u8; 8] = b"WVINT8Q1";
/// The header: magic, version 1, the fields of the table, zeros to 128 bytes.
const HEADER: crate::bytes::Header = crate::bytes::Header {
    name: "int8",
    magic: MAGIC,
    version: Some((1, "int8 file version")),
    len: 128,
};

/// The int8 copy of a set of unit rows.
#[derive(Debug, Clone)]
pub struct Int8Rows {
    n: usize,
    dims: usize,
    fingerprint: String,
    lo: Slice<f32>,
    step: Slice<f32>,
    codes: Slice<u8>,
}

/// The sidecar path of a vectors file: `PATH.i8`.
pub fn sidecar_path(vectors: &Path) -> PathBuf {
    let mut s = vectors.as_os_str().to_owned();
    s.push(".i8");
    PathBuf::from(s)
}

/// The vectors an int8 copy is made of and checked against: what this module needs of them.
/// [`crate::Embeddings`] implements it (and holds the copy), so this module does not depend on
/// the embeddings.
pub trait UnitRows: Sync {
    /// Number of rows.
    fn len(&self) -> usize;
    /// Whether there are no rows.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Dimensions of a row.
    fn dims(&self) -> usize;
    /// A digest of the rows, written into the copy's header to tie it to them.
    fn fingerprint(&self) -> String;
    /// Row `i` at unit length.
    fn unit_row(&self, i: usize) -> Vec<f32>;
    /// Row `i` at unit length, into `out` (cleared first): for passes over every row.
    fn unit_row_into(&self, i: usize, out: &mut Vec<f32>) {
        *out = self.unit_row(i);
    }
    /// The word of row `i` (for error messages).
    fn word(&self, i: usize) -> &str;
}

fn unit_row<R: UnitRows + ?Sized>(emb: &R, i: usize) -> Vec<f32> {
    emb.unit_row(i)
}

fn align64(x: usize) -> usize {
    x.div_ceil(64) * 64
}

impl Int8Rows {
    /// Quantises the unit rows of `emb`; an error when a row holds a non-finite value (the
    /// lowest such row), which no code can stand for, or when the current
    /// [`crate::cancel::Cancel`] is raised (looked at every 4,096 rows).
    pub fn build<R: UnitRows + ?Sized>(emb: &R) -> Result<Int8Rows> {
        let (n, d) = (emb.len(), emb.dims());
        let cancel = crate::cancel::current();
        let stopped =
            |i: usize| i.is_multiple_of(4096) && cancel.as_ref().is_some_and(|c| c.is_cancelled());
        let codes_len = crate::limits::product("the int8 copy", &[n, d])?;
        let (mut lo, mut hi) = (vec![f32::INFINITY; d], vec![f32::NEG_INFINITY; d]);
        let ranges = (0..n)
            .into_par_iter()
            .try_fold(
                || (vec![f32::INFINITY; d], vec![f32::NEG_INFINITY; d], Vec::new()),
                |(mut l, mut h, mut row), i| {
                    if stopped(i) {
                        return Err(None);
                    }
                    emb.unit_row_into(i, &mut row);
                    if row.iter().any(|x| !x.is_finite()) {
                        return Err(Some(i));
                    }
                    for (j, &x) in row.iter().enumerate() {
                        l[j] = l[j].min(x);
                        h[j] = h[j].max(x);
                    }
                    Ok((l, h, row))
                },
            )
            .map(|r| r.map(|(l, h, _)| (l, h)))
            .collect::<std::result::Result<Vec<_>, Option<usize>>>()
            .map_err(|e| {
                if e.is_none() {
                    return crate::cancel::cancelled();
                }
                // The lowest such row, for the message (the parallel pass stops at any).
                let i = (0..n)
                    .find(|&i| unit_row(emb, i).iter().any(|x| !x.is_finite()))
                    .unwrap_or(0);
                Error::invalid(format!(
                    "the vector of {:?} (row {i}) holds a non-finite value: no int8 copy can stand for it",
                    emb.word(i)
                ))
            })?;
        for (l, h) in ranges {
            for j in 0..d {
                lo[j] = lo[j].min(l[j]);
                hi[j] = hi[j].max(h[j]);
            }
        }
        let step: Vec<f32> = lo
            .iter()
            .zip(&hi)
            .map(|(&l, &h)| if h > l { (h - l) / 255.0 } else { 0.0 })
            .collect();
        for l in lo.iter_mut() {
            if !l.is_finite() {
                *l = 0.0;
            }
        }
        let mut codes = crate::limits::zeroed::<u8>("the int8 copy", codes_len)?;
        codes
            .par_chunks_mut(d.max(1))
            .enumerate()
            .try_for_each_init(Vec::new, |row, (i, c)| {
                if stopped(i) {
                    return Err(crate::cancel::cancelled());
                }
                emb.unit_row_into(i, row);
                for (j, &x) in row.iter().enumerate() {
                    c[j] = if step[j] > 0.0 {
                        ((x - lo[j]) / step[j]).round().clamp(0.0, 255.0) as u8
                    } else {
                        0
                    };
                }
                Ok(())
            })?;
        Ok(Int8Rows {
            n,
            dims: d,
            fingerprint: emb.fingerprint(),
            lo: lo.into(),
            step: step.into(),
            codes: codes.into(),
        })
    }

    /// [`Int8Rows::build`] on one thread, in a pool of its own rather than the global one: for
    /// a copy made in the background while the global pool's threads answer queries (a query's
    /// scan would otherwise wait behind the build's tasks). The caller's current
    /// [`crate::cancel::Cancel`] goes with it, so a writer that wants the rows can stop it.
    pub fn build_in_background<R: UnitRows + ?Sized>(emb: &R) -> Result<Int8Rows> {
        let cancel = crate::cancel::current();
        match rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .thread_name(|_| "wordvec-int8".into())
            .build()
        {
            Ok(pool) => pool.install(|| match &cancel {
                Some(c) => c.scope(|| Self::build(emb)),
                None => Self::build(emb),
            }),
            Err(e) => Err(Error::invalid(format!("no thread for the int8 copy: {e}"))),
        }
    }

    /// Rows.
    pub fn len(&self) -> usize {
        self.n
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let d = self.dims;
        let lo_off = HEADER.len;
        let step_off = align64(lo_off + 4 * d);
        let codes_off = align64(step_off + 4 * d);
        let len = align64(codes_off + self.codes.len());
        let mut h = HEADER.writer();
        h.zeros(4)
            .u64(self.n as u64)
            .u64(d as u64)
            .fingerprint(&self.fingerprint);
        for v in [lo_off, step_off, codes_off, len] {
            h.u64(v as u64);
        }
        let mut b = h.finish();
        b.resize(len, 0);
        b[lo_off..lo_off + 4 * d].copy_from_slice(bytemuck::cast_slice(&self.lo));
        b[step_off..step_off + 4 * d].copy_from_slice(bytemuck::cast_slice(&self.step));
        b[codes_off..codes_off + self.codes.len()].copy_from_slice(&self.codes);
        b
    }

    /// Writes the sidecar atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let bytes = self.to_bytes();
        crate::io::write_atomically(path, |w| std::io::Write::write_all(w, &bytes))
    }

    /// Maps the sidecar `path` of `emb`, checks its header against the vectors (fingerprint,
    /// sizes) and every code against its row. [`Int8Rows::open_recorded`] does this once per
    /// pair of files.
    pub fn open<R: UnitRows + ?Sized>(path: &Path, emb: &R) -> Result<Int8Rows> {
        let rows = Self::map(path)?;
        rows.check(emb, path)?;
        Ok(rows)
    }

    /// Maps the sidecar `path` and checks its header.
    fn map(path: &Path) -> Result<Int8Rows> {
        Self::from_backing(crate::io::map_file(path)?, path)
    }

    /// Checks the copy (read from `path`) against `emb`: sizes, fingerprint, every code.
    fn check<R: UnitRows + ?Sized>(&self, emb: &R, path: &Path) -> Result<()> {
        let fp = emb.fingerprint();
        if self.fingerprint != fp || self.n != emb.len() || self.dims != emb.dims() {
            return Err(Error::format(
                path,
                None,
                16,
                format!(
                    "the int8 copy belongs to other vectors ({} x {}, fingerprint {}) than these ({} x {}, fingerprint {fp}); write it again with `wordvec convert --int8`",
                    self.n,
                    self.dims,
                    self.fingerprint,
                    emb.len(),
                    emb.dims()
                ),
            ));
        }
        self.verify(emb, path)
    }

    fn from_backing(backing: Arc<Backing>, path: &Path) -> Result<Int8Rows> {
        let data: &[u8] = (*backing).as_ref();
        let bad = |at: usize, m: String| Error::format(path, None, at as u64, m);
        let mut c = HEADER.open(data, path)?;
        c.u32("the reserved field")?;
        let (rows, dims) = (c.u64("the row count")?, c.u64("the dimension")?);
        let fingerprint = c.fingerprint();
        let mut offsets = [0u64; 4];
        for v in offsets.iter_mut() {
            *v = c.u64("the section offsets")?;
        }
        let file_len = offsets[3];
        if file_len != data.len() as u64 {
            return Err(bad(
                72,
                format!(
                    "header gives {file_len} bytes, the file has {}: truncated or extended",
                    data.len()
                ),
            ));
        }
        let n = usize::try_from(rows).map_err(|_| bad(16, "row count".into()))?;
        let d = usize::try_from(dims).map_err(|_| bad(24, "dimension".into()))?;
        if d == 0 || d > crate::limits::MAX_DIMS {
            return Err(bad(24, format!("dimension {d} out of range")));
        }
        let fingerprint = fingerprint?;
        let codes_len = n
            .checked_mul(d)
            .filter(|&c| c <= data.len())
            .ok_or_else(|| {
                bad(
                    16,
                    format!("{n} x {d} codes cannot fit in {} bytes", data.len()),
                )
            })?;
        // The offset in `offsets[i]` (the field at byte 48 + 8 i), of a section of `len` bytes.
        let at = |i: usize, len: usize, what: &str| -> Result<usize> {
            let field = 48 + 8 * i;
            let off = usize::try_from(offsets[i]).unwrap_or(usize::MAX);
            if off < HEADER.len
                || off % 64 != 0
                || off.checked_add(len).is_none_or(|e| e > data.len())
            {
                return Err(bad(field, format!("{what} section out of bounds")));
            }
            Ok(off)
        };
        let (lo_off, step_off, codes_off) = (
            at(0, 4 * d, "lo")?,
            at(1, 4 * d, "step")?,
            at(2, codes_len, "codes")?,
        );
        let mis =
            |what: &str, off: usize| bad(off, format!("{what} section is not aligned in memory"));
        let lo =
            Slice::<f32>::shared(backing.clone(), lo_off, d).ok_or_else(|| mis("lo", lo_off))?;
        let step = Slice::<f32>::shared(backing.clone(), step_off, d)
            .ok_or_else(|| mis("step", step_off))?;
        let codes = Slice::<u8>::shared(backing.clone(), codes_off, codes_len)
            .ok_or_else(|| mis("codes", codes_off))?;
        if let Some(j) =
            (0..d).find(|&j| !(lo[j].is_finite() && step[j].is_finite() && step[j] >= 0.0))
        {
            return Err(bad(
                lo_off + 4 * j,
                format!("dimension {j}: lo {} step {}", lo[j], step[j]),
            ));
        }
        Ok(Int8Rows {
            n,
            dims: d,
            fingerprint,
            lo,
            step,
            codes,
        })
    }

    /// Checks that every code is its row's value to within half a step (and rounding). Rows
    /// are checked in blocks, each into one buffer, with a comparison that does not branch per
    /// component (so it vectorises): the pass runs at about the speed of reading the rows.
    pub fn verify<R: UnitRows + ?Sized>(&self, emb: &R, path: &Path) -> Result<()> {
        let d = self.dims;
        let (lo, step, codes): (&[f32], &[f32], &[u8]) = (&self.lo, &self.step, &self.codes);
        let tol: Vec<f32> = step.iter().map(|s| s * 0.5 * 1.001 + 1e-6).collect();
        let row_ok = |x: &[f32], c: &[u8]| {
            let mut ok = true;
            for j in 0..d {
                let back = lo[j] + step[j] * f32::from(c[j]);
                // NaN fails both comparisons, so a non-finite value is caught too.
                ok &= x[j].is_finite() & ((back - x[j]).abs() <= tol[j]);
            }
            ok
        };
        const BLOCK: usize = 1024;
        let bad = (0..self.n.div_ceil(BLOCK))
            .into_par_iter()
            .find_map_first(|b| {
                let mut x = Vec::with_capacity(d);
                (b * BLOCK..((b + 1) * BLOCK).min(self.n)).find(|&i| {
                    emb.unit_row_into(i, &mut x);
                    !row_ok(&x, &codes[i * d..(i + 1) * d])
                })
            });
        match bad {
            Some(i) => Err(Error::format(
                path,
                Some(i as u64),
                0,
                format!("the int8 copy of {:?} disagrees with its row: the file is corrupt or from other vectors", emb.word(i)),
            )),
            None => Ok(()),
        }
    }

    /// The rows of `0..rows` that `keep` accepts and whose approximate score for the unit
    /// `query` can still put them in the top `k` of the f32 scan: at least the `k`-th largest
    /// approximate score less twice the bound `M` of the distance between approximate and f32
    /// scores (all kept rows when fewer than `k` are kept). One pass over the codes: each
    /// thread keeps its own top k as it goes and sets rows aside against its running bar, which
    /// only rises and never passes the final one; the final bar then sorts the rows set aside.
    pub fn candidates(
        &self,
        query: &[f32],
        rows: usize,
        k: usize,
        keep: &(dyn Fn(usize) -> bool + Sync),
    ) -> Vec<u32> {
        let q = self.int_query(query);
        let m = self.bound(query, &q);
        let (base, inv, weights) = (q.base, q.inv, &q.weights);
        let kernel = crate::simd::code_dot_fn();
        let d = self.dims;
        let rows = rows.min(self.n);
        // The slices once, not through `Slice`'s deref per row.
        let codes: &[u8] = &self.codes;
        const CHUNK: usize = 4096;
        let two_m = 2.0 * m;
        let ahead = (1024 / d.max(1)).max(1);
        let (top, mut set_aside) = (0..rows.div_ceil(CHUNK))
            .into_par_iter()
            .fold(
                || (TopK::new(k), Vec::new()),
                |(mut top, mut aside), b| {
                    let first = b * CHUNK;
                    let last = (first + CHUNK).min(rows);
                    let block = &codes[first * d..last * d];
                    let mut bar = top.bar().map_or(f32::NEG_INFINITY, |x| x - two_m);
                    for (j, c) in block.chunks_exact(d).enumerate() {
                        let i = first + j;
                        // The row about 1 KiB ahead: the hardware prefetcher alone leaves the
                        // one-core scan at ~80% of the read bound (measured in
                        // benches/exact_query.rs).
                        if let Some(next) = block.get((j + ahead) * d..(j + ahead + 1) * d) {
                            crate::simd::prefetch(next);
                        }
                        let a = base + inv * kernel(c, weights) as f32;
                        if a >= bar && keep(i) {
                            aside.push((i as u32, a));
                            top.push(Scored { index: i, score: a });
                            bar = top.bar().map_or(f32::NEG_INFINITY, |x| x - two_m);
                        }
                    }
                    (top, aside)
                },
            )
            .reduce(
                || (TopK::new(k), Vec::new()),
                |(t1, mut a1), (t2, a2)| {
                    a1.extend(a2);
                    (t1.merge(t2), a1)
                },
            );
        let floor = top.bar().map_or(f32::NEG_INFINITY, |x| x - two_m);
        set_aside.retain(|&(_, a)| a >= floor);
        let mut rows: Vec<u32> = set_aside.into_iter().map(|(i, _)| i).collect();
        rows.sort_unstable();
        rows
    }
}

/// A unit query's weights `w_j = step_j y_j` as integers `q_j = round(s w_j)`, for the integer
/// code kernel ([`crate::simd::code_dot_fn`]), with what the bound `M` needs of them.
///
/// The scale `s` is the largest with `|q_j| <= 32_639` (the kernel's split form, see
/// `simd::code`) and `255 * sum_j |q_j| <= 2^31 - 1`, so every sum of codes times weights is an
/// exact `i32`: with rounding to nearest `sum_j |q_j| <= s sum_j |w_j| + d / 2`, so
/// `s = min(32_639 / max_j |w_j|, ((2^31 - 1) / 255 - d / 2) / sum_j |w_j|)` suffices
/// (`d <= 2^16` keeps the second term positive).
#[derive(Debug, Clone)]
struct IntQuery {
    weights: crate::simd::CodeWeights,
    /// `sum_j lo_j y_j`, summed in f32.
    base: f32,
    /// `1 / s` in f32.
    inv: f32,
    /// `sum_j |w_j|`.
    abs_w: f64,
    /// `sum_j |e_j|` and `max(sum of the positive e_j, -(sum of the negative e_j))`, where
    /// `e_j = w_j - q_j / s` is the rounding of weight `j`.
    abs_e: f64,
    one_sided_e: f64,
}

impl Int8Rows {
    /// The integer weights of a unit `query`.
    fn int_query(&self, query: &[f32]) -> IntQuery {
        // A product of two f32 is exact in f64.
        let w: Vec<f64> = self
            .step
            .iter()
            .zip(query)
            .map(|(&s, &y)| f64::from(s) * f64::from(y))
            .collect();
        let base: f32 = self.lo.iter().zip(query).map(|(l, y)| l * y).sum();
        let max = w.iter().fold(0f64, |m, x| m.max(x.abs()));
        let abs_w: f64 = w.iter().map(|x| x.abs()).sum();
        let limit = f64::from(i32::MAX) / 255.0 - w.len() as f64 / 2.0;
        let s = if max > 0.0 && max.is_finite() {
            (32_639.0 / max).min(limit / abs_w)
        } else {
            1.0
        };
        let weights =
            crate::simd::CodeWeights::new(w.iter().map(|x| (x * s).round() as i16).collect());
        let (mut pos, mut neg, mut abs_e) = (0f64, 0f64, 0f64);
        for (&wj, &qj) in w.iter().zip(weights.weights()) {
            let e = wj - f64::from(qj) / s;
            abs_e += e.abs();
            if e > 0.0 {
                pos += e;
            } else {
                neg -= e;
            }
        }
        IntQuery {
            weights,
            base,
            inv: (1.0 / s) as f32,
            abs_w,
            abs_e,
            one_sided_e: pos.max(neg),
        }
    }

    /// The bound `M` on the distance between a row's integer score and its f32 scan score (the
    /// derivation is in the module docs).
    fn bound(&self, query: &[f32], q: &IntQuery) -> f32 {
        // Half a step per component, with the slack `verify` allows.
        let quant: f64 = self
            .step
            .iter()
            .zip(query)
            .map(|(&s, &y)| (f64::from(s) * 0.5 * 1.001 + 1e-6) * f64::from(y.abs()))
            .sum();
        let weights = 255.0 * q.one_sided_e;
        let lo_y: f64 = self
            .lo
            .iter()
            .zip(query)
            .map(|(&l, &y)| f64::from((l * y).abs()))
            .sum();
        let mass = 1.0 + lo_y + 255.0 * (q.abs_w + q.abs_e);
        let rounding = (self.dims as f64 + 4.0) * f64::from(f32::EPSILON) * mass;
        (quant + weights + rounding) as f32 * 1.0001 + 1e-7
    }
}

/// A unit query prepared for ranking rows by their codes with integer arithmetic, as graph
/// traversal does: `cos(query, row) ~ base + sum_j q_j c_j / s`, the integer weights of
/// `IntQuery` (exact integer sums; besides the codes' own error, only the rounding of the
/// weights, relative `2^-15` of the largest). Traversal only ranks; what it returns is re-scored
/// in f32.
#[cfg(feature = "index")]
#[derive(Debug, Clone)]
pub(crate) struct CodeQuery {
    w: crate::simd::CodeWeights,
    base: f32,
    scale: f32,
    dot: crate::simd::CodeDotFn,
}

#[cfg(feature = "index")]
impl CodeQuery {
    /// The approximate cosine of `codes` (one row's codes) with the query.
    #[inline(always)]
    pub(crate) fn cosine(&self, codes: &[u8]) -> f32 {
        self.base + self.scale * (self.dot)(codes, &self.w) as f32
    }
}

impl Int8Rows {
    /// Dimensions.
    pub(crate) fn dims(&self) -> usize {
        self.dims
    }

    /// All codes, row after row.
    #[cfg(feature = "index")]
    pub(crate) fn codes(&self) -> &[u8] {
        &self.codes
    }

    /// Prepares a unit `query` for [`CodeQuery::cosine`].
    #[cfg(feature = "index")]
    pub(crate) fn code_query(&self, query: &[f32]) -> CodeQuery {
        let q = self.int_query(query);
        CodeQuery {
            w: q.weights,
            base: q.base,
            scale: q.inv,
            dot: crate::simd::code_dot_fn(),
        }
    }
}

#[cfg(all(test, feature = "index"))]
mod tests {
    use super::*;
    use crate::embeddings::Embeddings;

    #[test]
    fn the_file_is_its_table_and_reads_back_to_the_same_bytes() {
        let words = ["a", "b", "c"];
        let values = vec![1.0, 0.0, 0.6, 0.8, -0.3, 0.1];
        let emb = Embeddings::from_vectors(&words, values, 2).unwrap();
        let q8 = Int8Rows::build(&emb).unwrap();
        let b = q8.to_bytes();
        let u32_at = |at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
        let u64_at = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap());
        assert_eq!(&b[..8], b"WVINT8Q1");
        assert_eq!((u32_at(8), u32_at(12)), (1, 0));
        assert_eq!((u64_at(16), u64_at(24)), (3, 2));
        assert_eq!(&b[32..48], emb.fingerprint().as_bytes());
        // lo after the 128-byte header, step and the codes each at the next multiple of 64.
        let offsets = [u64_at(48), u64_at(56), u64_at(64), u64_at(72)];
        assert_eq!(offsets, [128, 192, 256, 320]);
        assert_eq!(b.len(), 320);
        assert!(b[80..128].iter().all(|&x| x == 0));
        assert_eq!(&b[128..136], bytemuck::cast_slice::<f32, u8>(&q8.lo));
        assert_eq!(&b[192..200], bytemuck::cast_slice::<f32, u8>(&q8.step));
        assert_eq!(&b[256..262], q8.codes());
        // Floats: a backing aligned for the f32 sections.
        let backing = Arc::new(Backing::Floats(bytemuck::pod_collect_to_vec(&b)));
        let back = Int8Rows::from_backing(backing, Path::new("t.i8")).unwrap();
        assert_eq!(back.to_bytes(), b);
    }

    #[test]
    fn code_query_ranks_like_the_rows() {
        let (n, d) = (200, 37);
        let mut state = 7u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) as f32 / (1u64 << 31) as f32) - 0.5
        };
        let words: Vec<String> = (0..n).map(|i| format!("w{i}")).collect();
        let values: Vec<f32> = (0..n * d).map(|_| next()).collect();
        let emb = Embeddings::from_vectors(&words, values, d).unwrap();
        let q8 = Int8Rows::build(&emb).unwrap();
        let query = emb.unit_row(3);
        let cq = q8.code_query(&query);
        for i in 0..n {
            let exact: f32 = emb.unit_row(i).iter().zip(&query).map(|(a, b)| a * b).sum();
            let approx = cq.cosine(&q8.codes()[i * d..(i + 1) * d]);
            assert!(
                (exact - approx).abs() < 0.02,
                "row {i}: {exact} against {approx}"
            );
        }
        // A zero query scores every row at its base.
        let cz = q8.code_query(&vec![0.0; d]);
        assert_eq!(cz.cosine(&q8.codes()[..d]), 0.0);
    }
}

#[cfg(test)]
mod scan_tests {
    use super::*;
    use crate::embeddings::Embeddings;
    use crate::query::Query;

    /// Values in `[-0.5, 0.5)`.
    fn stream(seed: u64) -> impl FnMut() -> f32 {
        let mut state = seed;
        move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        }
    }

    /// Rows meant to stress the bound: every `dup`-th row repeats the one before (ties); some
    /// rows put almost all their length in one component, some have components of 1e-6 beside
    /// ones of 1e3; dimension 0 is constant (a step of zero) and dimension 1 spans 1e-7.
    fn adversarial(n: usize, d: usize, seed: u64) -> Vec<f32> {
        let mut next = stream(seed);
        let mut v = Vec::with_capacity(n * d);
        for i in 0..n {
            if i % 7 == 6 {
                let prev = v[(i - 1) * d..i * d].to_vec();
                v.extend(prev);
                continue;
            }
            let row: Vec<f32> = (0..d)
                .map(|j| match (i % 5, j) {
                    (_, 0) => 0.25,
                    (_, 1) => 1e-7 * (i % 2) as f32,
                    (0, j) if j == i % d => 1e3,
                    (1, j) if j % 3 == 0 => next() * 1e3,
                    (1, _) => next() * 1e-6,
                    _ => next(),
                })
                .collect();
            v.extend(row);
        }
        v
    }

    /// Rows given as they are, non-finite values allowed (the readers refuse them).
    struct Given(Vec<Vec<f32>>);

    impl UnitRows for Given {
        fn len(&self) -> usize {
            self.0.len()
        }
        fn dims(&self) -> usize {
            self.0[0].len()
        }
        fn fingerprint(&self) -> String {
            "given".into()
        }
        fn unit_row(&self, i: usize) -> Vec<f32> {
            self.0[i].clone()
        }
        fn word(&self, i: usize) -> &str {
            ["zero", "one", "two", "three", "four", "five"][i]
        }
    }

    #[test]
    fn a_raised_cancel_stops_the_build() {
        let rows = Given(vec![vec![0.6, 0.8]; 6]);
        let cancel = crate::cancel::Cancel::new();
        cancel.cancel();
        let e = cancel
            .scope(|| Int8Rows::build_in_background(&rows))
            .unwrap_err();
        assert!(matches!(e, Error::Cancelled(_)), "{e}");
        assert!(Int8Rows::build_in_background(&rows).is_ok());
    }

    #[test]
    fn a_non_finite_value_is_an_error_naming_the_lowest_such_row() {
        let ok = vec![0.6, 0.8];
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            let rows = Given(vec![
                ok.clone(),
                ok.clone(),
                vec![0.0, bad],
                ok.clone(),
                vec![bad, 0.0],
                ok.clone(),
            ]);
            let e = Int8Rows::build(&rows).unwrap_err().to_string();
            assert!(
                e.contains("\"two\" (row 2)") && e.contains("non-finite"),
                "{e}"
            );
        }
        assert!(Int8Rows::build(&Given(vec![ok; 6])).is_ok());
    }

    /// The f32 scan and the scan of the int8 copy give the same answers, and every row's
    /// integer score is within the bound `M` of its f32 score.
    fn check(n: usize, d: usize, seed: u64) {
        let words: Vec<String> = (0..n).map(|i| format!("w{i}")).collect();
        let values = adversarial(n, d, seed);
        let plain = Embeddings::from_vectors(&words, values.clone(), d).unwrap();
        let mut fast = Embeddings::from_vectors(&words, values, d).unwrap();
        let rows = Int8Rows::build(&plain).unwrap();
        fast.attach_int8(rows.clone()).unwrap();
        let (dot, code_dot) = (crate::simd::dot_fn(), crate::simd::code_dot_fn());
        let mut next = stream(seed + 1);
        for t in 0..40 {
            let v: Vec<f32> = match t % 4 {
                0 => plain.unit_row(t * 13 % n),
                1 => (0..d).map(|j| if j == t % d { 1.0 } else { 0.0 }).collect(),
                2 => (0..d)
                    .map(|_| next() * 10f32.powi(t as i32 % 9 - 4))
                    .collect(),
                _ => (0..d).map(|_| next()).collect(),
            };
            for k in [1, 3, 10, 60] {
                let q = Query::vector(&v, k);
                let (a, b) = (plain.search_exact(&q), fast.search_exact(&q));
                assert_eq!(a.unwrap(), b.unwrap(), "n {n} d {d} query {t} k {k}");
            }
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            if norm == 0.0 {
                continue;
            }
            let y: Vec<f32> = v.iter().map(|x| x / norm).collect();
            let iq = rows.int_query(&y);
            let m = rows.bound(&y, &iq);
            for i in 0..n {
                let c = &rows.codes[i * d..(i + 1) * d];
                let a = iq.base + iq.inv * code_dot(c, &iq.weights) as f32;
                let s = plain.cosine_with(dot, i, &y);
                assert!((a - s).abs() <= m, "d {d} row {i}: {a} against {s}, M {m}");
            }
        }
    }

    #[test]
    fn integer_scan_answers_equal_the_f32_scan_on_adversarial_rows() {
        // Dimensions off every vector width, and one large enough that the limit on the sum of
        // the weights, not on the largest, sets the scale.
        for (d, seed) in [
            (1, 1),
            (3, 2),
            (33, 3),
            (65, 4),
            (100, 5),
            (129, 6),
            (300, 7),
        ] {
            check(700, d, seed);
        }
        check(120, 1500, 8);
    }

    #[test]
    fn weights_stay_within_the_kernels_range() {
        let (n, d) = (50, 1500);
        let words: Vec<String> = (0..n).map(|i| format!("w{i}")).collect();
        let mut next = stream(9);
        let values: Vec<f32> = (0..n * d).map(|_| next()).collect();
        let emb = Embeddings::from_vectors(&words, values, d).unwrap();
        let rows = Int8Rows::build(&emb).unwrap();
        // A query of equal components: the largest weight is small beside their sum, so the
        // sum's limit sets the scale.
        let y = vec![1.0 / (d as f32).sqrt(); d];
        let iq = rows.int_query(&y);
        let sum: i64 = iq
            .weights
            .weights()
            .iter()
            .map(|&q| i64::from(q).abs())
            .sum();
        assert!(255 * sum <= i64::from(i32::MAX), "{sum}");
        assert!(
            255 * sum > i64::from(i32::MAX) / 2,
            "the scale is not the largest: {sum}"
        );
        let max = iq.weights.weights().iter().map(|q| q.unsigned_abs()).max();
        assert!(max.unwrap() <= 32_639);
    }
}
