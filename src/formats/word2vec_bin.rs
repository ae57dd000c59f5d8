//! word2vec binary files (the C tool's `-binary 1`, gensim's `binary=True`, GoogleNews).
//!
//! Layout: an ASCII line `"<count> <dims>\n"`, then per record the word's bytes, one space, and
//! `dims` little-endian `f32`s, optionally followed by `\n` (the C tool writes it; gensim and
//! GoogleNews do not). The reader accepts both by skipping `\n` bytes before each word.
//!
//! Reading makes one pass over the mapping that records where each vector starts and builds the
//! vocabulary; the vectors stay in the mapping (see [`crate::storage::OffsetRows`]). A second,
//! parallel pass computes the norms and rejects NaN or infinite values.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use crate::progress::Progress;
use rayon::prelude::*;

use crate::bytes::Backing;
use crate::embeddings::{compute_norms, Embeddings, Metadata};
use crate::error::{Error, Result};
use crate::formats::{check_dims, parse_header_line, LoadOptions};
use crate::storage::{OffsetRows, Storage};
use crate::vocab::{decode_word, fnv1a, VocabBuilder};

/// Reads a word2vec binary file held in `backing`.
pub(crate) fn read(backing: Arc<Backing>, path: &Path, opts: &LoadOptions) -> Result<Embeddings> {
    let data: &[u8] = (*backing).as_ref();
    if data.is_empty() {
        return Err(Error::format(path, None, 0, "the file is empty"));
    }
    let (count, dims, header_len) = parse_header_line(data).ok_or_else(|| {
        Error::format(
            path,
            None,
            0,
            "no word2vec header: the first line must be \"<word count> <dimensions>\"",
        )
    })?;
    let dims = check_dims(path, dims)?;
    let vec_bytes = dims * 4;
    // Every record needs at least a one-byte word, a space and the vector.
    let min_record = vec_bytes as u64 + 2;
    let body = (data.len() - header_len) as u64;
    if count.checked_mul(min_record).is_none_or(|need| need > body) {
        return Err(Error::format(
            path,
            None,
            0,
            format!(
                "header says {count} words of {dims} dimensions, which need at least {} bytes, but only {body} follow the header: truncated file or wrong header",
                u128::from(count) * u128::from(min_record)
            ),
        ));
    }
    let wanted = opts.limit.map_or(count, |l| count.min(l as u64)) as usize;

    let progress = opts.reporter();
    progress.start("", wanted as u64);
    // Pass 1, sequential: where each record's vector is, and its word (decoded) copied into one
    // compact buffer, so the later passes do not touch the scattered pages of the file again.
    let mut vec_offsets: Vec<usize> = Vec::with_capacity(wanted);
    let mut words: Vec<u8> = Vec::with_capacity(wanted.saturating_mul(12));
    let mut word_ends: Vec<usize> = Vec::with_capacity(wanted);
    let newline_after_vector = wanted > 0 && newline_seen(data, header_len, vec_bytes);
    let mut pos = header_len;
    for record in 0..wanted {
        while pos < data.len() && data[pos] == b'\n' {
            pos += 1;
        }
        let start = pos;
        let space = memchr_space(&data[pos..]).ok_or_else(|| {
            Error::format(
                path,
                Some(record as u64),
                start as u64,
                format!(
                    "no space ends the word in the remaining {} bytes: the file is truncated or not word2vec binary",
                    data.len() - pos
                ),
            )
        })?;
        let word_bytes = &data[pos..pos + space];
        if word_bytes.is_empty() {
            return Err(Error::format(
                path,
                Some(record as u64),
                start as u64,
                "empty word",
            ));
        }
        let vec_start = pos + space + 1;
        if data.len() - vec_start < vec_bytes {
            return Err(Error::format(
                path,
                Some(record as u64),
                start as u64,
                format!(
                    "the vector of {:?} needs {vec_bytes} bytes but only {} remain: truncated file",
                    String::from_utf8_lossy(word_bytes),
                    data.len() - vec_start
                ),
            ));
        }
        match decode_word(word_bytes, opts.unicode_errors) {
            Ok(w) => words.extend_from_slice(w.as_bytes()),
            Err(bad) => return Err(Error::not_utf8(path, record as u64, start, word_bytes, bad)),
        }
        word_ends.push(words.len());
        vec_offsets.push(vec_start);
        pos = vec_start + vec_bytes;
        if record % 65536 == 0 {
            progress.set_position(record as u64 / 2);
        }
    }
    // Every word was decoded to UTF-8 above, so the buffer is UTF-8 and `word_ends` are
    // character boundaries.
    let words = String::from_utf8(words).expect("decoded words are UTF-8");
    let word = |r: usize| &words[if r == 0 { 0 } else { word_ends[r - 1] }..word_ends[r]];
    // Pass 2, parallel: hashes. Pass 3, sequential: the vocabulary, fetching table slots a few
    // words ahead so that cache misses overlap.
    let hashes: Vec<u64> = (0..vec_offsets.len())
        .into_par_iter()
        .map(|r| fnv1a(word(r).as_bytes()))
        .collect();
    const AHEAD: usize = 16;
    let mut vocab = VocabBuilder::with_capacity(wanted);
    let mut offsets = Vec::with_capacity(wanted);
    let mut duplicates = 0usize;
    for (r, &vec_start) in vec_offsets.iter().enumerate() {
        if let Some(&h) = hashes.get(r + AHEAD) {
            vocab.prefetch(h);
        }
        if vocab.push_hashed(word(r), hashes[r]) {
            offsets.push(vec_start);
        } else {
            duplicates += 1;
        }
    }
    if opts.limit.is_none_or(|l| l as u64 >= count) {
        let rest = &data[pos.min(data.len())..];
        let trailing = rest.iter().position(|&b| b != b'\n');
        if let Some(extra) = trailing {
            return Err(Error::format(
                path,
                None,
                (pos + extra) as u64,
                format!(
                    "header says {count} words, but {} more bytes follow the last of them: wrong header or concatenated files",
                    rest.len() - extra
                ),
            ));
        }
    }
    progress.finish();

    let storage =
        OffsetRows::new(backing.clone(), offsets, dims).expect("offsets were bounds-checked");
    let norms = compute_norms(&storage);
    if let Some(bad) = norms.iter().position(|n| !n.is_finite()) {
        let vocab = vocab.build();
        return Err(non_finite(path, &vocab, &storage, bad, data));
    }
    let meta = Metadata {
        newline_after_vector,
        duplicates_skipped: duplicates,
        ..Metadata::default()
    };
    Embeddings::from_parts(
        Box::new(vocab.build()),
        Box::new(storage),
        norms.into(),
        false,
        meta,
    )
}

/// Whether the first record's vector is followed by `\n`.
fn newline_seen(data: &[u8], header_len: usize, vec_bytes: usize) -> bool {
    let rest = &data[header_len..];
    let skip = rest.iter().take_while(|&&b| b == b'\n').count();
    match memchr_space(&rest[skip..]) {
        Some(space) => rest.get(skip + space + 1 + vec_bytes) == Some(&b'\n'),
        None => false,
    }
}

fn memchr_space(data: &[u8]) -> Option<usize> {
    memchr::memchr(b' ', data)
}

/// Builds the error for the first non-finite value of row `row`.
fn non_finite(
    path: &Path,
    vocab: &dyn crate::vocab::Vocab,
    storage: &OffsetRows,
    row: usize,
    data: &[u8],
) -> Error {
    let bytes = storage.row_bytes(row);
    let base = bytes.as_ptr() as usize - data.as_ptr() as usize;
    let Some((k, value)) = bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .enumerate()
        .find(|(_, v)| !v.is_finite())
    else {
        return Error::format(
            path,
            Some(row as u64),
            base as u64,
            format!(
                "the vector of {:?} is too long: its length overflows f32",
                vocab.word(row)
            ),
        );
    };
    Error::NonFinite {
        path: path.to_owned(),
        record: row as u64,
        word: vocab.word(row).to_owned(),
        offset: (base + 4 * k) as u64,
        value,
    }
}

/// Writes `emb` as word2vec binary.
pub fn write(
    emb: &Embeddings,
    w: &mut impl Write,
    newline_after_vector: bool,
    progress: &dyn Progress,
) -> std::io::Result<()> {
    writeln!(w, "{} {}", emb.len(), emb.dims())?;
    for i in 0..emb.len() {
        w.write_all(emb.word(i).as_bytes())?;
        w.write_all(b" ")?;
        if emb.unit_rows() {
            for v in emb.raw_row(i) {
                w.write_all(&v.to_le_bytes())?;
            }
        } else {
            w.write_all(emb.storage().row_bytes(i))?;
        }
        if newline_after_vector {
            w.write_all(b"\n")?;
        }
        if i % 65536 == 0 {
            progress.set_position(i as u64);
        }
    }
    Ok(())
}
