//! fastText `.bin` models (fastText 0.9, versions 11 and 12; what gensim's
//! `load_facebook_vectors` reads too): the vocabulary, and the input matrix of word rows and n-gram bucket rows, from which every word
//! of the vocabulary gets fastText's vector (its own row averaged with its n-grams' rows) and
//! any other word a vector from its n-grams ([`crate::subword`]).
//!
//! Layout (native-endian; files written on x86 and ARM are little-endian, which is what this
//! reader reads):
//!
//! | part | contents |
//! |---|---|
//! | header | i32 magic 793712314, i32 version |
//! | args | i32 dim, ws, epoch, minCount, neg, wordNgrams, loss, model, bucket, minn, maxn, lrUpdateRate; f64 t |
//! | dictionary | i32 size, nwords, nlabels; i64 ntokens, pruneidx_size; `size` entries (NUL-terminated word, i64 count, i8 type: 0 word, 1 label); `pruneidx_size` pairs of i32 (bucket, row) |
//! | input | u8 quant_input; i64 rows, i64 cols; `rows * cols` f32 (rows = nwords + bucket, fewer when pruned) |
//! | output | u8 quant_output; the output matrix (not read) |
//!
//! `pruneidx_size` is -1 for a model that was not pruned, 0 for one without n-grams, else the
//! number of (bucket, row) pairs that remap the n-gram rows kept by pruning. An n-gram's row is
//! `nwords + hash % bucket`, through that remap when there is one ([`crate::subword`] has the
//! hash and the n-gram rules).
//!
//! The bucket rows stay in the mapping (they are used only for words outside the vocabulary);
//! the vocabulary's vectors are computed once, on all cores, as they must be averaged with their
//! n-grams. Quantised models (`.ftz`) are refused with a clear error. Every count read from the
//! file is checked against the bytes that remain before anything is allocated for it, and the
//! n-gram arguments against their ranges ([`crate::subword::check_params`]: `maxn` at most
//! [`crate::limits::MAX_NGRAM_CHARS`], `minn <= maxn`, `bucket` not negative).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use rayon::prelude::*;

use super::LoadOptions;
use crate::bytes::{Backing, Slice};
use crate::embeddings::Embeddings;
use crate::error::{Error, Result};
use crate::storage::{DenseRows, Storage};
use crate::subword::{Pruning, Subwords};
use crate::vocab::decode_word;

/// fastText's magic number (the first four bytes, little-endian).
pub const MAGIC: i32 = 793_712_314;

/// Whether `data` starts like a fastText model.
pub fn is_fasttext(data: &[u8]) -> bool {
    data.len() >= 8
        && i32::from_le_bytes([data[0], data[1], data[2], data[3]]) == MAGIC
        && matches!(
            i32::from_le_bytes([data[4], data[5], data[6], data[7]]),
            11 | 12
        )
}

/// The training arguments stored in a model.
#[derive(Debug, Clone, PartialEq)]
pub struct Args {
    /// Vector dimension.
    pub dim: i32,
    /// Context window.
    pub ws: i32,
    /// Epochs.
    pub epoch: i32,
    /// Minimum word count.
    pub min_count: i32,
    /// Negatives sampled.
    pub neg: i32,
    /// Word n-grams (supervised models).
    pub word_ngrams: i32,
    /// Loss (1 hierarchical softmax, 2 negative sampling, 3 softmax, 4 one-vs-all).
    pub loss: i32,
    /// Model (1 CBOW, 2 skip-gram, 3 supervised).
    pub model: i32,
    /// Hash buckets for n-grams.
    pub bucket: i32,
    /// Shortest character n-gram.
    pub minn: i32,
    /// Longest character n-gram (0: none).
    pub maxn: i32,
    /// Learning-rate update rate.
    pub lr_update_rate: i32,
    /// Sampling threshold.
    pub t: f64,
}

struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
    path: &'a Path,
}

impl<'a> Cursor<'a> {
    fn err(&self, record: Option<u64>, at: usize, msg: impl Into<String>) -> Error {
        Error::format(self.path, record, at as u64, msg)
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        let rest = self.data.len() - self.pos;
        if rest < n {
            return Err(self.err(
                None,
                self.pos,
                format!("{what} needs {n} bytes but only {rest} remain: truncated file"),
            ));
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn i32(&mut self, what: &str) -> Result<i32> {
        let b = self.take(4, what)?;
        Ok(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn i64(&mut self, what: &str) -> Result<i64> {
        let b = self.take(8, what)?;
        Ok(i64::from_le_bytes(b.try_into().expect("8 bytes")))
    }

    fn f64(&mut self, what: &str) -> Result<f64> {
        let b = self.take(8, what)?;
        Ok(f64::from_le_bytes(b.try_into().expect("8 bytes")))
    }

    fn u8(&mut self, what: &str) -> Result<u8> {
        Ok(self.take(1, what)?[0])
    }

    fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }
}

/// Reads the header and arguments; returns them with the version.
fn read_args(c: &mut Cursor) -> Result<(i32, Args)> {
    let magic = c.i32("the magic number")?;
    if magic != MAGIC {
        return Err(c.err(None, 0, "not a fastText model (wrong magic number)"));
    }
    let version = c.i32("the version")?;
    if !(11..=12).contains(&version) {
        return Err(c.err(
            None,
            4,
            format!("fastText model version {version}; versions 11 and 12 are supported"),
        ));
    }
    let at = c.pos;
    let mut v = [0i32; 12];
    for x in v.iter_mut() {
        *x = c.i32("the model's arguments")?;
    }
    let t = c.f64("the model's arguments")?;
    let mut a = Args {
        dim: v[0],
        ws: v[1],
        epoch: v[2],
        min_count: v[3],
        neg: v[4],
        word_ngrams: v[5],
        loss: v[6],
        model: v[7],
        bucket: v[8],
        minn: v[9],
        maxn: v[10],
        lr_update_rate: v[11],
        t,
    };
    // As fastText: supervised models of version 11 had no character n-grams.
    if version == 11 && a.model == 3 {
        a.maxn = 0;
    }
    if a.dim <= 0 || a.dim as usize > crate::limits::MAX_DIMS {
        return Err(c.err(
            None,
            at,
            format!(
                "dimension {} is outside 1..={}: corrupt header?",
                a.dim,
                crate::limits::MAX_DIMS
            ),
        ));
    }
    // bucket, minn and maxn are the 9th, 10th and 11th i32 of the arguments.
    crate::subword::check_params(a.minn.into(), a.maxn.into(), a.bucket.into()).map_err(|b| {
        let field = match b.field {
            "bucket" => 8,
            "minn" => 9,
            _ => 10,
        };
        c.err(
            None,
            at + 4 * field,
            format!("n-gram argument {}: corrupt header?", b.message),
        )
    })?;
    Ok((version, a))
}

/// Reads a fastText model: the vocabulary's words (labels left out) with fastText's vectors,
/// and the n-gram table attached for words outside it.
pub fn read(backing: Arc<Backing>, path: &Path, opts: &LoadOptions) -> Result<Embeddings> {
    let data: &[u8] = (*backing).as_ref();
    let mut c = Cursor { data, pos: 0, path };
    let (_, args) = read_args(&mut c)?;
    let dims = args.dim as usize;

    // Dictionary.
    let dict_at = c.pos;
    let size = c.i32("the dictionary size")?;
    let nwords = c.i32("the dictionary's word count")?;
    let nlabels = c.i32("the dictionary's label count")?;
    let _ntokens = c.i64("the dictionary's token count")?;
    let prune_size = c.i64("the pruning table size")?;
    if size < 0
        || nwords < 0
        || nlabels < 0
        || i64::from(nwords) + i64::from(nlabels) != i64::from(size)
    {
        return Err(c.err(
            None,
            dict_at,
            format!("dictionary of {size} entries with {nwords} words and {nlabels} labels: corrupt file?"),
        ));
    }
    // Each entry takes at least 10 bytes (a NUL, a count and a type): a size the rest of the
    // file cannot hold is refused before anything is allocated for it.
    if size as usize > c.remaining() / 10 {
        return Err(c.err(
            None,
            dict_at,
            format!(
                "a dictionary of {size} entries cannot fit in the {} bytes that remain: truncated or corrupt file",
                c.remaining()
            ),
        ));
    }
    let wanted = opts
        .limit
        .map_or(nwords as usize, |l| l.min(nwords as usize));
    let mut words: Vec<String> = Vec::with_capacity(wanted);
    let mut word_bytes: Vec<Vec<u8>> = Vec::with_capacity(wanted);
    for record in 0..size as u64 {
        let start = c.pos;
        let rest = &data[c.pos..];
        let nul = rest.iter().position(|&b| b == 0).ok_or_else(|| {
            c.err(
                Some(record),
                start,
                "no NUL byte ends the word: truncated file",
            )
        })?;
        let raw = &rest[..nul];
        c.pos += nul + 1;
        let _count = c.i64("a word's count")?;
        let kind = c.u8("a word's type")?;
        let is_word = record < nwords as u64;
        if kind != u8::from(!is_word) {
            return Err(c.err(
                Some(record),
                start,
                format!(
                    "entry of type {kind} where the dictionary's counts put a {}",
                    if is_word { "word (0)" } else { "label (1)" }
                ),
            ));
        }
        if (record as usize) < wanted {
            let w = decode_word(raw, opts.unicode_errors).map_err(|bad| {
                c.err(
                    Some(record),
                    start + bad,
                    "word is not valid UTF-8 (use --unicode-errors replace or ignore)",
                )
            })?;
            words.push(w.into_owned());
            word_bytes.push(raw.to_vec());
        }
    }
    let prune_at = c.pos;
    if prune_size < -1 || (prune_size > 0 && prune_size as u64 > c.remaining() as u64 / 8) {
        return Err(c.err(
            None,
            prune_at,
            format!("pruning table of {prune_size} entries: truncated or corrupt file"),
        ));
    }
    let mut prune_map = HashMap::new();
    for _ in 0..prune_size.max(0) {
        let at = c.pos;
        let (b, r) = (c.i32("a pruning entry")?, c.i32("a pruning entry")?);
        if b < 0 || b >= args.bucket.max(1) || r < 0 || i64::from(r) >= prune_size {
            return Err(c.err(
                None,
                at,
                format!("pruning entry maps bucket {b} to row {r}: corrupt file?"),
            ));
        }
        prune_map.insert(b as u32, r as u32);
    }

    // Input matrix.
    let quant_at = c.pos;
    if c.u8("the input matrix's quantisation flag")? != 0 {
        return Err(c.err(
            None,
            quant_at,
            "quantised fastText models (.ftz) are not supported: use the .bin model",
        ));
    }
    let shape_at = c.pos;
    let (rows, cols) = (
        c.i64("the input matrix's shape")?,
        c.i64("the input matrix's shape")?,
    );
    let ngram_rows = if prune_size >= 0 {
        prune_size
    } else {
        i64::from(args.bucket)
    };
    if cols != i64::from(args.dim) || rows != i64::from(nwords) + ngram_rows {
        return Err(c.err(
            None,
            shape_at,
            format!(
                "input matrix of {rows} x {cols}; the header asks for {} x {} ({nwords} words and {ngram_rows} n-gram rows)",
                i64::from(nwords) + ngram_rows,
                args.dim
            ),
        ));
    }
    let matrix_at = c.pos;
    let bytes = crate::limits::product("the input matrix", &[rows as usize, dims, 4])?;
    c.take(bytes, "the input matrix")?;
    let row_bytes = dims * 4;
    let word_row = |i: usize| &data[matrix_at + i * row_bytes..matrix_at + (i + 1) * row_bytes];
    let ngrams_at = matrix_at + nwords as usize * row_bytes;
    let ngram_storage =
        Slice::<u8>::shared(backing.clone(), ngrams_at, ngram_rows as usize * row_bytes)
            .and_then(|s| DenseRows::new(s, dims, ngram_rows as usize))
            .expect("bounds checked above");
    // Values are checked where they are used: every n-gram row (a NaN there would spread into
    // every word that uses it) and every word row.
    if let Some(bad) = (0..ngram_rows as usize)
        .into_par_iter()
        .find_first(|&r| !finite(ngram_storage.row_bytes(r)))
    {
        return Err(c.err(
            None,
            ngrams_at + bad * row_bytes,
            format!("n-gram row {bad} holds a value that is not finite"),
        ));
    }
    let pruning = match prune_size {
        -1 => Pruning::All,
        0 => Pruning::NoNgrams,
        _ => Pruning::Map(prune_map),
    };
    let subwords = Subwords::new(
        args.minn as usize,
        args.maxn as usize,
        args.bucket as u32,
        pruning,
        Box::new(ngram_storage),
    )
    .map_err(|e| c.err(None, shape_at, e.to_string()))?
    .with_origin(path, ngrams_at as u64);
    if let Some(bad) = (0..wanted)
        .into_par_iter()
        .find_first(|&i| !finite(word_row(i)))
    {
        return Err(Error::format(
            path,
            Some(bad as u64),
            (matrix_at + bad * row_bytes) as u64,
            format!(
                "the row of {:?} holds a value that is not finite",
                words[bad]
            ),
        ));
    }
    let progress = opts.reporter();
    progress.start("", wanted as u64);
    // Reserved (a refusal is an error, not an abort), then zeroed on all cores: the first touch
    // of 2.4 GB of fresh pages is itself a second of page faults on one core.
    let n_values = crate::limits::product("the word vectors", &[wanted, dims])?;
    let mut values: Vec<f32> = Vec::new();
    values.try_reserve_exact(n_values).map_err(|_| {
        Error::invalid(format!(
            "the word vectors: cannot allocate {n_values} floats"
        ))
    })?;
    values.par_extend(rayon::iter::repeat_n(0f32, n_values));
    // Words are averaged in byte order, not in the vocabulary's: neighbours then share their
    // leading n-grams, whose rows are still in cache (on 2M x 300 with 2M buckets the averaging
    // takes 3.4 s instead of 5.5 s; it is bound by scattered reads of the n-gram table). Each
    // word's output row is handed to its task as a `&mut`, permuted, so writes stay disjoint
    // without `unsafe`.
    let mut order: Vec<usize> = (0..wanted).collect();
    order.par_sort_unstable_by(|&a, &b| word_bytes[a].cmp(&word_bytes[b]));
    let mut slots: Vec<Option<&mut [f32]>> = values.chunks_mut(dims).map(Some).collect();
    let rows: Vec<(usize, &mut [f32])> = order
        .iter()
        .map(|&i| (i, slots[i].take().expect("the order is a permutation")))
        .collect();
    drop(slots);
    rows.into_par_iter().enumerate().for_each(|(k, (i, out))| {
        subwords.word_vector_into(&word_bytes[i], word_row(i), out);
        if k % 65_536 == 0 {
            progress.inc(65_536);
        }
    });
    progress.finish();
    let mut emb = Embeddings::from_vectors(&words, values, dims)
        .map_err(|e| Error::format(path, None, dict_at as u64, e.to_string()))?;
    emb.attach_subwords(subwords)?;
    Ok(emb)
}

fn finite(row: &[u8]) -> bool {
    row.chunks_exact(4)
        .all(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]).is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny model: 2 words, 1 label, dim 2, bucket 3, minn 2, maxn 3, no pruning.
    pub(crate) fn tiny() -> Vec<u8> {
        let mut b = Vec::new();
        b.extend(MAGIC.to_le_bytes());
        b.extend(12i32.to_le_bytes());
        for v in [2i32, 5, 5, 1, 5, 1, 2, 2, 3, 2, 3, 100] {
            b.extend(v.to_le_bytes());
        }
        b.extend(1e-4f64.to_le_bytes());
        for v in [3i32, 2, 1] {
            b.extend(v.to_le_bytes());
        }
        b.extend(10i64.to_le_bytes());
        b.extend((-1i64).to_le_bytes());
        for (w, t) in [("ab", 0u8), ("</s>", 0), ("__label__x", 1)] {
            b.extend(w.as_bytes());
            b.push(0);
            b.extend(4i64.to_le_bytes());
            b.push(t);
        }
        b.push(0);
        b.extend(5i64.to_le_bytes());
        b.extend(2i64.to_le_bytes());
        for r in 0..5 {
            b.extend((r as f32).to_le_bytes());
            b.extend((10.0 * r as f32).to_le_bytes());
        }
        b.push(0);
        b
    }

    #[test]
    fn reads_a_tiny_model() {
        let data = tiny();
        assert!(is_fasttext(&data));
        let emb = read(
            Arc::new(Backing::Owned(data)),
            Path::new("t.bin"),
            &LoadOptions::default(),
        )
        .unwrap();
        assert_eq!(emb.len(), 2);
        assert_eq!(emb.word(0), "ab");
        let sw = emb.subwords().unwrap();
        // "ab": own row 0 and the n-grams of "<ab>" of 2..3 code points.
        let mut ids = Vec::new();
        sw.for_each_ngram_row(b"ab", |r| ids.push(r));
        assert_eq!(ids.len(), 5, "<a <ab ab ab> b>");
        let mut want = [0f32, 0.0];
        for &r in &ids {
            want[0] += 2.0 + r as f32;
            want[1] += 10.0 * (2.0 + r as f32);
        }
        let f = (1.0 / 6.0f64) as f32;
        assert_eq!(emb.raw_row(0), [want[0] * f, want[1] * f]);
        // "</s>" has no n-grams: its own row.
        assert_eq!(emb.raw_row(1), [1.0, 10.0]);
    }

    #[test]
    fn quantised_models_and_bad_shapes_are_refused() {
        let data = tiny();
        // The input matrix's flag sits before its shape (16 bytes) and its 5 x 2 floats, and
        // the output's flag ends the file.
        let flag = data.len() - 1 - 40 - 16 - 1;
        let open = |b: Vec<u8>| {
            read(
                Arc::new(Backing::Owned(b)),
                Path::new("t.bin"),
                &LoadOptions::default(),
            )
            .unwrap_err()
            .to_string()
        };
        let mut b = data.clone();
        b[flag] = 1;
        let e = open(b);
        assert!(
            e.contains(".ftz") && e.contains(&format!("byte offset {flag}")),
            "{e}"
        );
        let mut b = data.clone();
        b[flag + 1] = 9; // 9 rows where the header asks for 5
        assert!(open(b).contains("input matrix of 9 x 2"));
        let mut b = data.clone();
        b[16] = 0; // version 12 -> 0 in the little-endian bytes of `ws`: harmless
        b[4] = 13; // version 13
        assert!(open(b).contains("version 13"));
        let mut b = data;
        b[8..12].copy_from_slice(&(-3i32).to_le_bytes());
        assert!(open(b).contains("dimension -3"));
    }

    #[test]
    fn every_truncation_is_an_error() {
        let data = tiny();
        // The output matrix is not read: cutting into it is not an error.
        for cut in 0..data.len() - 1 {
            let r = read(
                Arc::new(Backing::Owned(data[..cut].to_vec())),
                Path::new("t.bin"),
                &LoadOptions::default(),
            );
            assert!(r.is_err(), "cut at {cut}");
        }
    }
}
