//! fastText's subword vectors: a vector for any word, from the rows of its character n-grams.
//!
//! As fastText 0.9 computes them (`Dictionary::computeSubwords`,
//! `Dictionary::hash`, `FastText::getWordVector`):
//! - the word is wrapped as `<word>`; n-grams start at every byte that is not a UTF-8
//!   continuation byte and grow one code point at a time (a code point is a lead byte and the
//!   continuation bytes after it, so invalid UTF-8 is cut the way fastText cuts it), from `minn`
//!   to `maxn` code points; a one-code-point n-gram at the very start or end (the brackets
//!   themselves) is skipped;
//! - an n-gram's row is `hash % bucket`, remapped through the pruning table of a pruned model
//!   (n-grams the pruning dropped have no row), where `hash` is 32-bit FNV-1a over the bytes
//!   *sign-extended as C `char`*: bytes of 0x80 and above hash differently from plain FNV-1a;
//! - a word of the vocabulary gets the mean of its own row and its n-grams' rows (the special
//!   `</s>` has no n-grams); any other word the mean of its n-grams' rows, and no vector at all
//!   when it has none (as in gensim).
//!
//! The sums run in f32 in fastText's order (own row first, then the n-grams left to right), and
//! the mean multiplies by `1 / count` as fastText does, so vectors match its `get_word_vector`
//! to rounding.
//!
//! The work of a word is streamed: each n-gram's row is added as its hash is produced (with a
//! ring of a few rows prefetched ahead), so a word of any length takes one vector of memory and
//! at most `length x (maxn - minn + 1)` row additions; no list of n-grams or rows is built (one
//! was 8 bytes an n-gram: 146 MB for a 4 MB word). The parameters that bound that work are
//! checked by every reader with [`check_params`]: `maxn` at most
//! [`crate::limits::MAX_NGRAM_CHARS`], `minn <= maxn`, `bucket` within `i32`.

use std::collections::HashMap;
use std::ops::ControlFlow;

use crate::error::{Error, Result};
use crate::limits;
use crate::storage::Storage;

/// fastText's end-of-sentence token: a vocabulary word without n-grams.
pub const EOS: &str = "</s>";

/// fastText's string hash: FNV-1a over the bytes, each sign-extended as a C `char` first.
pub fn hash(bytes: &[u8]) -> u32 {
    let mut h: u32 = 2_166_136_261;
    for &b in bytes {
        h ^= b as i8 as i32 as u32;
        h = h.wrapping_mul(16_777_619);
    }
    h
}

/// Calls `f` with every n-gram of `<word>` whose length in code points is in `minn..=maxn`,
/// in fastText's order.
pub fn for_each_ngram(word: &[u8], minn: usize, maxn: usize, mut f: impl FnMut(&[u8])) {
    let mut w = Vec::with_capacity(word.len() + 2);
    w.push(b'<');
    w.extend_from_slice(word);
    w.push(b'>');
    for i in 0..w.len() {
        if w[i] & 0xC0 == 0x80 {
            continue;
        }
        let (mut j, mut n) = (i, 1);
        while j < w.len() && n <= maxn {
            j += 1;
            while j < w.len() && w[j] & 0xC0 == 0x80 {
                j += 1;
            }
            if n >= minn && !(n == 1 && (i == 0 || j == w.len())) {
                f(&w[i..j]);
            }
            n += 1;
        }
    }
}

/// Calls `f` with the [`hash`] of every n-gram [`for_each_ngram`] yields, in the same order,
/// without building the n-grams: FNV-1a runs forward, so each n-gram's hash continues the
/// hash of the shorter one it extends.
pub fn for_each_ngram_hash(word: &[u8], minn: usize, maxn: usize, mut f: impl FnMut(u32)) {
    let _ = try_for_each_ngram_hash(word, minn, maxn, |h| {
        f(h);
        ControlFlow::<()>::Continue(())
    });
}

/// [`for_each_ngram_hash`], stopping at the first `Break` that `f` returns (and returning it).
///
/// The work is bounded by the word: one hash step for each of its bytes times `maxn`, and at
/// most `len x (maxn - minn + 1)` calls of `f`; nothing is allocated.
pub fn try_for_each_ngram_hash<B>(
    word: &[u8],
    minn: usize,
    maxn: usize,
    mut f: impl FnMut(u32) -> ControlFlow<B>,
) -> ControlFlow<B> {
    let len = word.len() + 2;
    let at = |k: usize| -> u8 {
        if k == 0 {
            b'<'
        } else if k == len - 1 {
            b'>'
        } else {
            word[k - 1]
        }
    };
    let step = |h: u32, b: u8| (h ^ b as i8 as i32 as u32).wrapping_mul(16_777_619);
    for i in 0..len {
        if at(i) & 0xC0 == 0x80 {
            continue;
        }
        let (mut j, mut n, mut h) = (i, 1, 2_166_136_261u32);
        while j < len && n <= maxn {
            h = step(h, at(j));
            j += 1;
            while j < len && at(j) & 0xC0 == 0x80 {
                h = step(h, at(j));
                j += 1;
            }
            if n >= minn && !(n == 1 && (i == 0 || j == len)) {
                if let ControlFlow::Break(b) = f(h) {
                    return ControlFlow::Break(b);
                }
            }
            n += 1;
        }
    }
    ControlFlow::Continue(())
}

/// An n-gram parameter of a model out of range: which field, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadParam {
    /// `"minn"`, `"maxn"` or `"bucket"`.
    pub field: &'static str,
    /// What is wrong with it.
    pub message: String,
}

/// Checks a model's n-gram parameters as a reader finds them (fastText's header, the native
/// n-gram section), before anything is built from them:
/// - `bucket` in `0..=i32::MAX` (fastText stores it as an `i32`; 0 means no n-gram rows);
/// - `maxn` in `0..=`[`limits::MAX_NGRAM_CHARS`]; 0 means no n-grams at all, as in fastText,
///   whose supervised models store `minn = maxn = 0`;
/// - `minn` in `0..=maxn` when there are n-grams (fastText grows n-grams from one code point
///   and keeps those of `minn` or more, so `minn = 0` acts as 1, as it does in fastText), and
///   in `0..=`[`limits::MAX_NGRAM_CHARS`] otherwise.
///
/// With these, the n-gram work of a word is at most its length times `maxn - minn + 1` rows.
pub fn check_params(minn: i64, maxn: i64, bucket: i64) -> std::result::Result<(), BadParam> {
    let max = limits::MAX_NGRAM_CHARS as i64;
    let bad = |field, message| Err(BadParam { field, message });
    if !(0..=i64::from(i32::MAX)).contains(&bucket) {
        return bad(
            "bucket",
            format!("bucket {bucket} is outside 0..={}", i32::MAX),
        );
    }
    if !(0..=max).contains(&maxn) {
        return bad(
            "maxn",
            format!(
                "maxn {maxn} is outside 0..={max} (the longest n-gram accepted, in code points)"
            ),
        );
    }
    let top = if maxn == 0 { max } else { maxn };
    if !(0..=top).contains(&minn) {
        return bad(
            "minn",
            format!("minn {minn} is outside 0..={top} (maxn is {maxn})"),
        );
    }
    Ok(())
}

/// Which n-gram buckets have rows.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Pruning {
    /// Every bucket has its row (`bucket` rows).
    All,
    /// The model has no n-gram rows at all (fastText's `pruneidx_size == 0`).
    NoNgrams,
    /// Only the listed buckets, each mapped to its compacted row (a quantised-then-pruned
    /// model's `pruneidx`).
    Map(HashMap<u32, u32>),
}

/// The n-gram part of a fastText model: its parameters and the rows of its buckets.
pub struct Subwords {
    minn: usize,
    maxn: usize,
    bucket: u32,
    pruning: Pruning,
    rows: Box<dyn Storage>,
    /// The file the rows were read from and the byte offset of row 0 there, for errors.
    origin: Option<(std::path::PathBuf, u64)>,
}

impl std::fmt::Debug for Subwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subwords")
            .field("minn", &self.minn)
            .field("maxn", &self.maxn)
            .field("bucket", &self.bucket)
            .field("rows", &self.rows.len())
            .finish()
    }
}

/// Rows prefetched ahead of the one being added (a power of two).
const AHEAD: usize = 4;

/// A sum of n-gram rows in the order they come. The rows are scattered over a table of
/// gigabytes: each is prefetched [`AHEAD`] rows before it is added, so that its cache misses
/// overlap the additions before it, with a ring of [`AHEAD`] row numbers in place of a list.
struct RowSum<'a> {
    rows: &'a dyn Storage,
    out: &'a mut [f32],
    pending: [usize; AHEAD],
    head: usize,
    waiting: usize,
    count: usize,
}

impl<'a> RowSum<'a> {
    fn new(rows: &'a dyn Storage, out: &'a mut [f32]) -> Self {
        RowSum {
            rows,
            out,
            pending: [0; AHEAD],
            head: 0,
            waiting: 0,
            count: 0,
        }
    }

    #[inline]
    fn push(&mut self, r: usize) {
        crate::simd::prefetch(self.rows.row_bytes(r));
        if self.waiting == AHEAD {
            add_row(self.out, self.rows.row_bytes(self.pending[self.head]));
            self.pending[self.head] = r;
            self.head = (self.head + 1) % AHEAD;
        } else {
            self.pending[(self.head + self.waiting) % AHEAD] = r;
            self.waiting += 1;
        }
        self.count += 1;
    }

    /// Adds the rows still waiting; returns how many rows were summed.
    fn finish(self) -> usize {
        for k in 0..self.waiting {
            add_row(
                self.out,
                self.rows.row_bytes(self.pending[(self.head + k) % AHEAD]),
            );
        }
        self.count
    }
}

impl Subwords {
    /// The n-gram table of a model. `rows` holds the buckets' rows: `bucket` of them, or one per
    /// entry of the pruning map. Every mapped row must exist, and the parameters must pass
    /// [`check_params`].
    pub fn new(
        minn: usize,
        maxn: usize,
        bucket: u32,
        pruning: Pruning,
        rows: Box<dyn Storage>,
    ) -> Result<Self> {
        let wide = |x: usize| i64::try_from(x).unwrap_or(i64::MAX);
        check_params(wide(minn), wide(maxn), i64::from(bucket))
            .map_err(|b| Error::invalid(format!("n-gram {}: {}", b.field, b.message)))?;
        let want = match &pruning {
            Pruning::All => bucket as usize,
            Pruning::NoNgrams => 0,
            Pruning::Map(m) => {
                if let Some((b, r)) = m.iter().find(|(_, &r)| r as usize >= rows.len()) {
                    return Err(Error::invalid(format!(
                        "the pruning table maps bucket {b} to row {r} of {}",
                        rows.len()
                    )));
                }
                rows.len()
            }
        };
        if rows.len() != want {
            return Err(Error::invalid(format!(
                "{} n-gram rows for {bucket} buckets",
                rows.len()
            )));
        }
        Ok(Subwords {
            minn,
            maxn,
            bucket,
            pruning,
            rows,
            origin: None,
        })
    }

    /// Records where the n-gram rows lie in their file (`path`, byte offset of row 0), so that
    /// a damaged row is named in errors.
    pub fn with_origin(mut self, path: &std::path::Path, offset: u64) -> Self {
        self.origin = Some((path.to_owned(), offset));
        self
    }

    /// Shortest n-gram, in code points.
    pub fn minn(&self) -> usize {
        self.minn
    }

    /// Longest n-gram, in code points (0: no n-grams).
    pub fn maxn(&self) -> usize {
        self.maxn
    }

    /// Number of hash buckets.
    pub fn bucket(&self) -> u32 {
        self.bucket
    }

    /// Which buckets have rows.
    pub fn pruning(&self) -> &Pruning {
        &self.pruning
    }

    /// The buckets' rows.
    pub fn rows(&self) -> &dyn Storage {
        &*self.rows
    }

    /// Whether any n-gram can have a row.
    fn has_ngrams(&self) -> bool {
        self.maxn > 0 && self.bucket > 0 && self.pruning != Pruning::NoNgrams
    }

    /// The row of the n-gram of hash `h`, if the model kept one.
    #[inline]
    fn row_of(&self, h: u32) -> Option<usize> {
        let b = h % self.bucket;
        match &self.pruning {
            Pruning::All => Some(b as usize),
            Pruning::Map(m) => m.get(&b).map(|&r| r as usize),
            Pruning::NoNgrams => None,
        }
    }

    /// Calls `f` with the row of every n-gram of `word` that has one, in fastText's order
    /// (repeats included), stopping at the first `Break`. Nothing is allocated: the rows are
    /// produced as the hashes are ([`try_for_each_ngram_hash`]).
    pub fn try_for_each_ngram_row<B>(
        &self,
        word: &[u8],
        mut f: impl FnMut(usize) -> ControlFlow<B>,
    ) -> ControlFlow<B> {
        if !self.has_ngrams() {
            return ControlFlow::Continue(());
        }
        try_for_each_ngram_hash(word, self.minn, self.maxn, |h| match self.row_of(h) {
            Some(r) => f(r),
            None => ControlFlow::Continue(()),
        })
    }

    /// [`try_for_each_ngram_row`](Self::try_for_each_ngram_row) over every row.
    pub fn for_each_ngram_row(&self, word: &[u8], mut f: impl FnMut(usize)) {
        let _ = self.try_for_each_ngram_row(word, |r| {
            f(r);
            ControlFlow::<()>::Continue(())
        });
    }

    /// Whether `word` has at least one n-gram row (stops at the first).
    pub fn has_ngram_rows(&self, word: &[u8]) -> bool {
        self.try_for_each_ngram_row(word, |_| ControlFlow::Break(()))
            .is_break()
    }

    /// The vector of a word outside the vocabulary: the mean of its n-grams' rows, or `None`
    /// when it has none. The rows are summed as their hashes are produced, so a word of any
    /// length takes one vector of memory.
    ///
    /// Errors: an n-gram row holding a value that is not finite (the rows are mapped, not read,
    /// when a file is opened), named with its file and byte offset; and cancellation
    /// ([`crate::cancel`]) of the request it serves, checked every 4,096 n-grams, since a word
    /// of a few megabytes has millions of them.
    pub fn oov_vector(&self, word: &str) -> Result<Option<Vec<f32>>> {
        if !self.has_ngrams() {
            return Ok(None);
        }
        let mut v = vec![0f32; self.rows.dims()];
        let mut sum = RowSum::new(&*self.rows, &mut v);
        // Counted per n-gram, not per row: in a pruned model most n-grams may have no row.
        let mut seen = 0usize;
        let flow = try_for_each_ngram_hash(word.as_bytes(), self.minn, self.maxn, |h| {
            if let Some(r) = self.row_of(h) {
                sum.push(r);
            }
            seen += 1;
            if seen.is_multiple_of(4096) {
                if let Err(e) = crate::cancel::check() {
                    return ControlFlow::Break(e);
                }
            }
            ControlFlow::Continue(())
        });
        if let ControlFlow::Break(e) = flow {
            return Err(e);
        }
        let count = sum.finish();
        if count == 0 {
            return Ok(None);
        }
        if v.iter().any(|x| !x.is_finite()) {
            return Err(self.bad_row(word));
        }
        scale(&mut v, count);
        Ok(Some(v))
    }

    /// The error for a word whose n-gram sum is not finite: the first of its rows that holds a
    /// non-finite value (or, when every row is finite and only their sum overflowed, the word).
    fn bad_row(&self, word: &str) -> Error {
        let row_len = self.rows.dims() as u64 * 4;
        let (path, base) = self.origin.clone().unwrap_or_default();
        let bad = self.try_for_each_ngram_row(word.as_bytes(), |r| {
            if finite(self.rows.row_bytes(r)) {
                ControlFlow::Continue(())
            } else {
                ControlFlow::Break(r)
            }
        });
        match bad {
            ControlFlow::Break(r) => Error::format(
                path,
                None,
                base + r as u64 * row_len,
                format!(
                    "n-gram row {r} (used by {:?}) holds a value that is not finite",
                    limits::echo(word)
                ),
            ),
            ControlFlow::Continue(()) => Error::invalid(format!(
                "the n-gram rows of {:?} sum past the range of f32",
                limits::echo(word)
            )),
        }
    }

    /// The vector of a vocabulary word (its bytes as the model stores them) whose own
    /// (input-matrix) row is `own`: the mean of that row and its n-grams' rows.
    pub fn word_vector(&self, word: &[u8], own: &[u8]) -> Vec<f32> {
        let mut v = vec![0f32; self.rows.dims()];
        self.word_vector_into(word, own, &mut v);
        v
    }

    /// [`word_vector`](Self::word_vector) into `out` (zeroed or not).
    pub fn word_vector_into(&self, word: &[u8], own: &[u8], out: &mut [f32]) {
        out.fill(0.0);
        add_row(out, own);
        let mut sum = RowSum::new(&*self.rows, out);
        if word != EOS.as_bytes() {
            self.for_each_ngram_row(word, |r| sum.push(r));
        }
        let count = sum.finish();
        scale(out, count + 1);
    }
}

fn finite(row: &[u8]) -> bool {
    row.chunks_exact(4)
        .all(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]).is_finite())
}

fn add_row(v: &mut [f32], row: &[u8]) {
    for (x, c) in v.iter_mut().zip(row.chunks_exact(4)) {
        *x += f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
    }
}

fn scale(v: &mut [f32], count: usize) {
    // As fastText: `1.0 / count` in double, multiplied in as a float.
    let f = (1.0 / count as f64) as f32;
    for x in v.iter_mut() {
        *x *= f;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ngrams(word: &str, minn: usize, maxn: usize) -> Vec<String> {
        let mut out = Vec::new();
        for_each_ngram(word.as_bytes(), minn, maxn, |g| {
            out.push(String::from_utf8_lossy(g).into_owned())
        });
        out
    }

    #[test]
    fn ngrams_as_fasttext_cuts_them() {
        assert_eq!(
            ngrams("ab", 1, 3),
            ["<a", "<ab", "a", "ab", "ab>", "b", "b>"]
        );
        assert_eq!(ngrams("où", 3, 3), ["<où", "où>"]);
        assert_eq!(ngrams("a", 3, 6), ["<a>"]);
        assert!(ngrams("", 3, 6).is_empty());
        // Code points, not bytes: "ü" is two bytes and one n-gram step.
        assert_eq!(ngrams("über", 5, 5), ["<über", "über>"]);
        assert!(ngrams("abc", 3, 0).is_empty());
    }

    #[test]
    fn incremental_hashes_equal_the_hashes_of_the_ngrams() {
        for word in [
            "",
            "a",
            "ab",
            "dictionary",
            "où",
            "über",
            "привет",
            "🙂🙂",
            "東京都",
        ] {
            for (minn, maxn) in [(1, 1), (1, 3), (2, 5), (3, 6), (5, 5), (3, 0)] {
                let mut want = Vec::new();
                for_each_ngram(word.as_bytes(), minn, maxn, |g| want.push(hash(g)));
                let mut got = Vec::new();
                for_each_ngram_hash(word.as_bytes(), minn, maxn, |h| got.push(h));
                assert_eq!(got, want, "{word} {minn}..{maxn}");
            }
        }
        // Invalid UTF-8 is cut the same way.
        let bytes = [0xff, b'a', 0x80, 0xc3];
        let mut want = Vec::new();
        for_each_ngram(&bytes, 1, 4, |g| want.push(hash(g)));
        let mut got = Vec::new();
        for_each_ngram_hash(&bytes, 1, 4, |h| got.push(h));
        assert_eq!(got, want);
    }

    #[test]
    fn parameters_are_range_checked() {
        let field = |minn, maxn, bucket| check_params(minn, maxn, bucket).err().map(|b| b.field);
        assert_eq!(field(3, 6, 2_000_000), None);
        assert_eq!(field(0, 0, 0), None, "a supervised model: no n-grams");
        assert_eq!(field(0, 4, 10), None, "minn 0 acts as 1, as in fastText");
        assert_eq!(field(32, 32, 10), None);
        assert_eq!(field(3, 33, 10), Some("maxn"));
        assert_eq!(field(3, u32::MAX.into(), 10), Some("maxn"));
        assert_eq!(field(7, 6, 10), Some("minn"));
        assert_eq!(field(-1, 6, 10), Some("minn"));
        assert_eq!(field(3, 6, -1), Some("bucket"));
        assert_eq!(field(3, 6, u32::MAX.into()), Some("bucket"));
    }

    #[test]
    fn hash_sign_extends_bytes() {
        // Plain FNV-1a of "a" is 0xe40c292c; ASCII is unaffected by the sign extension.
        assert_eq!(hash(b"a"), 0xe40c_292c);
        assert_eq!(hash(b""), 2_166_136_261);
        // A byte >= 0x80 is xored as 0xffffffXX.
        let plain = (2_166_136_261u32 ^ 0xc3).wrapping_mul(16_777_619);
        let signed = (2_166_136_261u32 ^ 0xffff_ffc3).wrapping_mul(16_777_619);
        assert_eq!(hash(&[0xc3]), signed);
        assert_ne!(hash(&[0xc3]), plain);
    }
}
