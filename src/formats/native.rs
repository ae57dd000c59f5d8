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
//! | 96..128 | reserved, zero | |
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

use indicatif::ProgressBar;

use crate::bytes::{Backing, Slice};
use crate::embeddings::{Embeddings, Metadata};
use crate::error::{Error, Result};
use crate::storage::DenseRows;
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
}

fn u64_at(data: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(data[at..at + 8].try_into().expect("8 bytes"))
}

fn parse_header(data: &[u8], path: &Path) -> Result<Header> {
    let bad = |offset: u64, msg: String| Error::format(path, None, offset, msg);
    if data.len() < HEADER_LEN {
        return Err(bad(
            0,
            format!(
                "native header needs {HEADER_LEN} bytes, the file has {}",
                data.len()
            ),
        ));
    }
    if &data[..8] != MAGIC {
        return Err(bad(0, "not a wordvec native file (bad magic)".into()));
    }
    let version = u32::from_le_bytes(data[8..12].try_into().expect("4 bytes"));
    if version != VERSION {
        return Err(bad(
            8,
            format!("native format version {version}; this wordvec reads version {VERSION}"),
        ));
    }
    let h = Header {
        flags: u32::from_le_bytes(data[12..16].try_into().expect("4 bytes")),
        n: u64_at(data, 16),
        dims: u64_at(data, 24),
        strings: (u64_at(data, 32), u64_at(data, 40)),
        ends: u64_at(data, 48),
        slots: (u64_at(data, 56), u64_at(data, 64)),
        norms: u64_at(data, 72),
        matrix: u64_at(data, 80),
        file_len: u64_at(data, 88),
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
    ];
    let mut prev_end = HEADER_LEN as u128;
    for (name, off, len, field) in sections {
        let end = u128::from(off) + len;
        if off as usize % ALIGN != 0 || u128::from(off) < prev_end || end > u128::from(h.file_len) {
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
pub fn read(backing: Arc<Backing>, path: &Path) -> Result<Embeddings> {
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
    Embeddings::from_parts(Box::new(vocab), Box::new(storage), norms, true, meta)
}

fn pad(w: &mut impl Write, pos: &mut u64) -> std::io::Result<()> {
    let target = pos.div_ceil(ALIGN as u64) * ALIGN as u64;
    w.write_all(&vec![0u8; (target - *pos) as usize])?;
    *pos = target;
    Ok(())
}

/// Writes `emb` in the native format.
pub fn write(emb: &Embeddings, w: &mut impl Write, progress: &ProgressBar) -> std::io::Result<()> {
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
    let file_len = matrix_off + 4 * n * dims;

    let mut header = Vec::with_capacity(HEADER_LEN);
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&VERSION.to_le_bytes());
    let flags = if emb.metadata().newline_after_vector {
        FLAG_NEWLINE
    } else {
        0
    };
    header.extend_from_slice(&flags.to_le_bytes());
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
    ] {
        header.extend_from_slice(&v.to_le_bytes());
    }
    header.resize(HEADER_LEN, 0);
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
    Ok(())
}
