//! wordvec's native format: everything a query needs, laid out to be memory-mapped and used in
//! place.
//!
//! All integers and floats are little-endian. A 128-byte header is followed by five sections,
//! each starting at a multiple of 64 bytes (zero padding between them):
//!
//! | offset | field | type |
//! |---|---|---|
//! | 0 | magic `WORDVECN` | 8 bytes |
//! | 8 | version (1) | u32 |
//! | 12 | flags (bit 0: vectors were followed by `\n` in the source binary file) | u32 |
//! | 16 | words `n` | u64 |
//! | 24 | dimensions `d` | u64 |
//! | 32, 40 | word list: offset, length in bytes (UTF-8, words back to back) | u64, u64 |
//! | 48 | word ends: offset (`n` u64, end of word `i` in the word list) | u64 |
//! | 56, 64 | hash table: offset, slot count (power of two; u32 row or `u32::MAX`) | u64, u64 |
//! | 72 | norms: offset (`n` f32, each vector's original length) | u64 |
//! | 80 | matrix: offset (`n * d` f32, unit-normalised rows) | u64 |
//! | 88 | file length | u64 |
//! | 96, 104 | n-gram section (fastText models; flag bit 1): offset, length in bytes; else zero | u64, u64 |
//! | 112..128 | reserved, zero | |
//!
//! The n-gram section keeps a fastText model's subword table ([`crate::subword`]), so that the
//! mapped file answers words outside its vocabulary too: u32 minn, maxn, bucket, pruning (0 every
//! bucket has a row, 1 no n-gram rows, 2 a map), u64 rows `r`, u64 map entries `p`; at the next
//! multiple of 64, `p` pairs of u32 (bucket, row) sorted by bucket; at the next multiple of 64,
//! `r * d` f32, the n-gram rows as the model holds them (not normalised: they are averaged).
//! `minn`, `maxn` and `bucket` are range-checked when the file is opened, as the fastText reader
//! checks them ([`crate::subword::check_params`]): an error names the field's byte offset.
//!
//! The hash table is [`crate::vocab::HashVocab`]'s (FNV-1a, linear probing), so opening a file
//! builds nothing: a 3-million-word file is ready after the header, the word ends and the norms
//! have been checked (milliseconds). The matrix is not read at open; its rows are unit length so a
//! query is one dot product per row, and `norms` gives back the original vectors.
//!
//! Trade-off: storing unit rows makes re-exporting to word2vec formats reproduce each value only
//! to within float rounding (`unit * norm`), not bit for bit. Convert word2vec files to native for
//! serving, and keep the original if you need its exact bytes.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use crate::progress::Progress;

use crate::bytes::{Backing, Cursor, Slice, Writer};
use crate::embeddings::{Embeddings, Metadata};
use crate::error::{Error, Result};
use crate::storage::DenseRows;
use crate::subword::{Pruning, Subwords};
use crate::vocab::{HashVocab, Vocab, VocabBuilder};

/// The first eight bytes of a native file.
pub const MAGIC: &[u8; 8] = b"WORDVECN";
/// The version this code writes and reads.
pub const VERSION: u32 = 1;
/// Header size in bytes.
pub const HEADER_LEN: usize = 128;
/// Section alignment in bytes (a cache line; also enough for AVX-512 loads).
pub const ALIGN: usize = 64;

const FLAG_NEWLINE: u32 = 1;
const FLAG_SUBWORDS: u32 = 2;

struct Header {
    flags: u32,
    n: u64,
    dims: u64,
    strings: (u64, u64),
    ends: u64,
    slots: (u64, u64),
    norms: u64,
    matrix: u64,
    file_len: u64,
    subwords: (u64, u64),
}

/// The header's magic, version and length (the fields follow the version, in the table's order).
const HEADER: crate::bytes::Header = crate::bytes::Header {
    name: "native",
    magic: MAGIC,
    version: Some((VERSION, "native format version")),
    len: HEADER_LEN,
};

fn parse_header(data: &[u8], path: &Path) -> Result<Header> {
    let bad = |offset: u64, msg: String| Error::format(path, None, offset, msg);
    let mut c = HEADER.open(data, path)?;
    let flags = c.u32("the flags")?;
    let mut f = [0u64; 12];
    for v in f.iter_mut() {
        *v = c.u64("the header's sizes and offsets")?;
    }
    let h = Header {
        flags,
        n: f[0],
        dims: f[1],
        strings: (f[2], f[3]),
        ends: f[4],
        slots: (f[5], f[6]),
        norms: f[7],
        matrix: f[8],
        file_len: f[9],
        subwords: (f[10], f[11]),
    };
    if h.file_len != data.len() as u64 {
        return Err(bad(
            88,
            format!(
                "header says the file has {} bytes, it has {}: truncated or appended to",
                h.file_len,
                data.len()
            ),
        ));
    }
    crate::formats::check_dims(path, h.dims)?;
    // Sections in file order, with their byte lengths; each must be aligned, inside the file,
    // and after the previous one.
    let n = u128::from(h.n);
    let sections = [
        ("word list", h.strings.0, u128::from(h.strings.1), 32u64),
        ("word ends", h.ends, n * 8, 48),
        ("hash table", h.slots.0, u128::from(h.slots.1) * 4, 56),
        ("norms", h.norms, n * 4, 72),
        ("matrix", h.matrix, n * u128::from(h.dims) * 4, 80),
        ("n-gram", h.subwords.0, u128::from(h.subwords.1), 96),
    ];
    if (h.flags & FLAG_SUBWORDS != 0) != (h.subwords.0 != 0) {
        return Err(bad(
            12,
            "the n-gram flag and the n-gram section disagree".into(),
        ));
    }
    let mut prev_end = HEADER_LEN as u128;
    for (name, off, len, field) in sections {
        if name == "n-gram" && off == 0 {
            continue;
        }
        let end = u128::from(off) + len;
        if !(off as usize).is_multiple_of(ALIGN)
            || u128::from(off) < prev_end
            || end > u128::from(h.file_len)
        {
            return Err(bad(
                field,
                format!(
                    "{name} section at {off} with {len} bytes does not fit the file of {} bytes",
                    h.file_len
                ),
            ));
        }
        prev_end = end;
    }
    Ok(h)
}

/// Opens a native file held in `backing` (normally a memory map).
pub(crate) fn read(backing: Arc<Backing>, path: &Path) -> Result<Embeddings> {
    let data: &[u8] = (*backing).as_ref();
    let h = parse_header(data, path)?;
    let (n, dims) = (h.n as usize, h.dims as usize);
    let misaligned = |what: &str, off: u64| {
        Error::format(path, None, off, format!("{what} section is not aligned in memory (is the file gzipped? decompress it first)"))
    };
    let strings = Slice::<u8>::shared(backing.clone(), h.strings.0 as usize, h.strings.1 as usize)
        .ok_or_else(|| misaligned("word list", h.strings.0))?;
    let ends = Slice::<u64>::shared(backing.clone(), h.ends as usize, n)
        .ok_or_else(|| misaligned("word ends", h.ends))?;
    let slots = Slice::<u32>::shared(backing.clone(), h.slots.0 as usize, h.slots.1 as usize)
        .ok_or_else(|| misaligned("hash table", h.slots.0))?;
    let norms = Slice::<f32>::shared(backing.clone(), h.norms as usize, n)
        .ok_or_else(|| misaligned("norms", h.norms))?;
    let matrix = Slice::<u8>::shared(backing.clone(), h.matrix as usize, n * dims * 4)
        .ok_or_else(|| misaligned("matrix", h.matrix))?;

    let vocab = HashVocab::from_parts(strings, ends, slots)
        .map_err(|m| Error::format(path, None, h.strings.0, m))?;
    if let Some(bad) = norms.iter().position(|v| !v.is_finite() || *v < 0.0) {
        return Err(Error::NonFinite {
            path: path.to_owned(),
            record: bad as u64,
            word: vocab.word(bad).to_owned(),
            offset: h.norms + 4 * bad as u64,
            value: norms[bad],
        });
    }
    let storage =
        DenseRows::new(matrix, dims, n).expect("matrix length checked against the header");
    let meta = Metadata {
        newline_after_vector: h.flags & FLAG_NEWLINE != 0,
        ..Metadata::default()
    };
    let mut emb = Embeddings::from_parts(Box::new(vocab), Box::new(storage), norms, true, meta)?;
    if h.subwords.0 != 0 {
        let sw = read_subwords(&backing, path, h.subwords, dims)?;
        emb.attach_subwords(sw)?;
    }
    Ok(emb)
}

/// Length of the n-gram section's own header.
const SUBWORD_HEADER: usize = 32;

fn read_subwords(
    backing: &Arc<Backing>,
    path: &Path,
    (off, len): (u64, u64),
    dims: usize,
) -> Result<Subwords> {
    let data: &[u8] = (**backing).as_ref();
    let (off, len) = (off as usize, len as usize);
    let mut c = Cursor::new(&data[..off + len], path);
    c.seek(off);
    if len < SUBWORD_HEADER {
        return Err(c.err(None, off, "n-gram section shorter than its header"));
    }
    let minn = c.u32("the n-gram section's minn")?;
    let maxn = c.u32("the n-gram section's maxn")?;
    let bucket = c.u32("the n-gram section's bucket count")?;
    let kind = c.u32("the n-gram section's pruning")?;
    crate::subword::check_params(minn.into(), maxn.into(), bucket.into()).map_err(|b| {
        let at = match b.field {
            "minn" => 0,
            "maxn" => 4,
            _ => 8,
        };
        c.err(None, off + at, format!("n-gram section: {}", b.message))
    })?;
    let rows = c.u64("the n-gram section's row count")?;
    let entries = c.u64("the n-gram section's map size")?;
    let align = |x: u128| x.div_ceil(ALIGN as u128) * ALIGN as u128;
    let map_at = align(SUBWORD_HEADER as u128);
    let rows_at = align(map_at + u128::from(entries) * 8);
    let need = rows_at + u128::from(rows) * dims as u128 * 4;
    if need != len as u128 {
        return Err(c.err(
            None,
            off + 16,
            format!("n-gram section of {len} bytes for {rows} rows and {entries} map entries (needs {need})"),
        ));
    }
    let (map_at, rows_at) = (map_at as usize, rows_at as usize);
    let pruning = match kind {
        0 if entries == 0 && rows == u64::from(bucket) => Pruning::All,
        1 if entries == 0 && rows == 0 => Pruning::NoNgrams,
        2 => {
            c.seek(off + map_at);
            Pruning::Map(read_ngram_map(&mut c, entries, bucket, rows)?)
        }
        _ => {
            return Err(c.err(
                None,
                off + 12,
                format!("n-gram pruning {kind} with {rows} rows, {entries} map entries and {bucket} buckets"),
            ))
        }
    };
    let slice = Slice::<u8>::shared(backing.clone(), off + rows_at, rows as usize * dims * 4)
        .expect("bounds checked with the section");
    let storage = DenseRows::new(slice, dims, rows as usize).expect("length checked");
    Subwords::new(
        minn as usize,
        maxn as usize,
        bucket,
        pruning,
        Box::new(storage),
    )
    .map(|sw| sw.with_origin(path, (off + rows_at) as u64))
    .map_err(|e| c.err(None, off, e.to_string()))
}

/// Reads the n-gram map's `entries` (bucket, row) pairs: buckets ascending and below `bucket`,
/// rows below `rows`.
fn read_ngram_map(
    c: &mut Cursor,
    entries: u64,
    bucket: u32,
    rows: u64,
) -> Result<std::collections::HashMap<u32, u32>> {
    let mut m = std::collections::HashMap::with_capacity(entries as usize);
    let mut last = None;
    for e in 0..entries as usize {
        let at = c.pos();
        let (b, r) = (c.u32("an n-gram map entry")?, c.u32("an n-gram map entry")?);
        if b >= bucket || u64::from(r) >= rows || last.is_some_and(|l| l >= b) {
            return Err(c.err(
                None,
                at,
                format!("n-gram map entry {e} (bucket {b}, row {r}) is out of order or range"),
            ));
        }
        last = Some(b);
        m.insert(b, r);
    }
    Ok(m)
}

/// The n-gram section's header and map for `sw` (the rows follow), and the section's length.
fn subword_section(sw: &Subwords, dims: usize) -> (Vec<u8>, u64) {
    let (kind, mut pairs): (u32, Vec<(u32, u32)>) = match sw.pruning() {
        Pruning::All => (0, Vec::new()),
        Pruning::NoNgrams => (1, Vec::new()),
        Pruning::Map(m) => (2, m.iter().map(|(&b, &r)| (b, r)).collect()),
    };
    pairs.sort_unstable();
    let rows = sw.rows().len();
    let mut w = Writer::new();
    w.u32(sw.minn() as u32)
        .u32(sw.maxn() as u32)
        .u32(sw.bucket())
        .u32(kind)
        .u64(rows as u64)
        .u64(pairs.len() as u64)
        .align(ALIGN);
    for (bk, r) in pairs {
        w.u32(bk).u32(r);
    }
    w.align(ALIGN);
    let b = w.finish();
    let len = b.len() as u64 + (rows * dims * 4) as u64;
    (b, len)
}

fn pad(w: &mut impl Write, pos: &mut u64) -> std::io::Result<()> {
    let target = pos.div_ceil(ALIGN as u64) * ALIGN as u64;
    w.write_all(&vec![0u8; (target - *pos) as usize])?;
    *pos = target;
    Ok(())
}

/// Writes `emb` in the native format.
pub fn write(emb: &Embeddings, w: &mut impl Write, progress: &dyn Progress) -> std::io::Result<()> {
    let (n, dims) = (emb.len() as u64, emb.dims() as u64);
    // The vocabulary arrays: rebuilt here so that any `Vocab` implementation can be written.
    let mut vb = VocabBuilder::with_capacity(emb.len());
    for i in 0..emb.len() {
        vb.push(emb.word(i));
    }
    let vocab = vb.build();
    let (strings, ends, slots) = vocab.parts();

    let align = |x: u64| x.div_ceil(ALIGN as u64) * ALIGN as u64;
    let strings_off = HEADER_LEN as u64;
    let ends_off = align(strings_off + strings.len() as u64);
    let slots_off = align(ends_off + 8 * n);
    let norms_off = align(slots_off + 4 * slots.len() as u64);
    let matrix_off = align(norms_off + 4 * n);
    let subwords = emb.subwords().map(|sw| subword_section(sw, emb.dims()));
    let subwords_off = align(matrix_off + 4 * n * dims);
    let file_len = match &subwords {
        Some((_, len)) => subwords_off + len,
        None => matrix_off + 4 * n * dims,
    };

    let mut flags = if emb.metadata().newline_after_vector {
        FLAG_NEWLINE
    } else {
        0
    };
    if subwords.is_some() {
        flags |= FLAG_SUBWORDS;
    }
    let mut header = HEADER.writer();
    header.u32(flags);
    for v in [
        n,
        dims,
        strings_off,
        strings.len() as u64,
        ends_off,
        slots_off,
        slots.len() as u64,
        norms_off,
        matrix_off,
        file_len,
        subwords.as_ref().map_or(0, |_| subwords_off),
        subwords.as_ref().map_or(0, |(_, len)| *len),
    ] {
        header.u64(v);
    }
    let header = header.finish();
    w.write_all(&header)?;
    let mut pos = HEADER_LEN as u64;

    w.write_all(strings)?;
    pos += strings.len() as u64;
    pad(w, &mut pos)?;
    w.write_all(bytemuck::cast_slice(ends))?;
    pos += 8 * n;
    pad(w, &mut pos)?;
    w.write_all(bytemuck::cast_slice(slots))?;
    pos += 4 * slots.len() as u64;
    pad(w, &mut pos)?;
    w.write_all(bytemuck::cast_slice(emb.norms()))?;
    pos += 4 * n;
    pad(w, &mut pos)?;
    debug_assert_eq!(pos, matrix_off);
    let mut row_buf = Vec::with_capacity(emb.dims() * 4);
    for i in 0..emb.len() {
        row_buf.clear();
        for v in emb.unit_row(i) {
            row_buf.extend_from_slice(&v.to_le_bytes());
        }
        w.write_all(&row_buf)?;
        if i % 65536 == 0 {
            progress.set_position(i as u64);
        }
    }
    pos += 4 * n * dims;
    if let (Some((head, _)), Some(sw)) = (subwords, emb.subwords()) {
        pad(w, &mut pos)?;
        debug_assert_eq!(pos, subwords_off);
        w.write_all(&head)?;
        for i in 0..sw.rows().len() {
            w.write_all(sw.rows().row_bytes(i))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_is_its_table_and_reads_back_to_the_same_bytes() {
        let words = ["x", "yz", "w"];
        let emb = Embeddings::from_vectors(&words, vec![3.0, 4.0, 0.0, 2.0, 1.0, 0.0], 2).unwrap();
        let mut b = Vec::new();
        write(&emb, &mut b, &crate::progress::Silent).unwrap();
        let u32_at = |at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
        let u64_at = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap());
        assert_eq!(&b[..8], b"WORDVECN");
        assert_eq!((u32_at(8), u32_at(12)), (1, 0));
        assert_eq!((u64_at(16), u64_at(24)), (3, 2));
        // Word list right after the header (4 bytes of UTF-8), then each section at the next
        // multiple of 64: ends (3 u64), hash table, norms (3 f32), matrix (6 f32).
        assert_eq!((u64_at(32), u64_at(40)), (128, 4));
        assert_eq!(u64_at(48), 192);
        let (slots_at, slots) = (u64_at(56), u64_at(64));
        assert_eq!(slots_at, 256);
        let norms_at = (slots_at + 4 * slots).div_ceil(64) * 64;
        assert_eq!((u64_at(72), u64_at(80)), (norms_at, norms_at + 64));
        assert_eq!(u64_at(88), b.len() as u64);
        assert_eq!(b.len() as u64, norms_at + 64 + 24);
        assert!(b[96..128].iter().all(|&x| x == 0), "no n-gram section");
        assert_eq!(&b[128..132], b"xyzw");
        let norms = &b[norms_at as usize..norms_at as usize + 12];
        assert_eq!(norms, bytemuck::cast_slice::<f32, u8>(&[5.0, 2.0, 1.0]));
        let backing = Arc::new(Backing::Floats(bytemuck::pod_collect_to_vec(&b)));
        let back = read(backing, Path::new("t.wvec")).unwrap();
        let mut again = Vec::new();
        write(&back, &mut again, &crate::progress::Silent).unwrap();
        assert_eq!(again, b);
    }
}
