//! [`Embeddings`]: a vocabulary, its vectors, and their norms.

use std::path::PathBuf;

use rayon::prelude::*;

use crate::bytes::Slice;
use crate::error::{Error, Result};
use crate::format::Format;
use crate::simd;
use crate::storage::{DenseRows, Storage};
use crate::vocab::{Vocab, VocabBuilder};

/// Where a set of embeddings came from, and what a writer needs to reproduce its file.
#[derive(Debug, Clone, Default)]
pub struct Metadata {
    /// The format it was read from.
    pub format: Option<Format>,
    /// The file it was read from.
    pub source: Option<PathBuf>,
    /// For word2vec binary input: whether each vector was followed by `\n` (the C tool writes
    /// one; gensim and GoogleNews do not). Writers reproduce it by default.
    pub newline_after_vector: bool,
    /// Words skipped because they repeated an earlier word.
    pub duplicates_skipped: usize,
}

/// Word vectors: row `i` of the storage is the vector of word `i` of the vocabulary.
///
/// Rows are either the vectors as read (`unit_rows == false`, word2vec files used in place) or
/// unit-normalised (`unit_rows == true`, the native format); `norms` holds each vector's original
/// length either way, so both answer queries identically and both can give back raw vectors.
pub struct Embeddings {
    vocab: Box<dyn Vocab>,
    storage: Box<dyn Storage>,
    norms: Slice<f32>,
    unit_rows: bool,
    meta: Metadata,
    int8: Option<std::sync::Arc<crate::quant::Int8Rows>>,
    subwords: Option<std::sync::Arc<crate::subword::Subwords>>,
}

impl std::fmt::Debug for Embeddings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embeddings")
            .field("len", &self.len())
            .field("dims", &self.dims())
            .field("unit_rows", &self.unit_rows)
            .field("meta", &self.meta)
            .finish()
    }
}

impl Embeddings {
    /// Assembles embeddings from parts. `norms` must hold one entry per row.
    pub(crate) fn from_parts(
        vocab: Box<dyn Vocab>,
        storage: Box<dyn Storage>,
        norms: Slice<f32>,
        unit_rows: bool,
        meta: Metadata,
    ) -> Result<Self> {
        if vocab.len() != storage.len() || norms.len() != storage.len() {
            return Err(Error::invalid(format!(
                "{} words, {} vectors and {} norms do not match",
                vocab.len(),
                storage.len(),
                norms.len()
            )));
        }
        Ok(Embeddings {
            vocab,
            storage,
            norms,
            unit_rows,
            meta,
            int8: None,
            subwords: None,
        })
    }

    /// Attaches a fastText n-gram table ([`crate::subword`]): words outside the vocabulary then
    /// get a vector from their n-grams wherever a word is looked up.
    pub fn attach_subwords(&mut self, subwords: crate::subword::Subwords) -> Result<()> {
        if subwords.rows().dims() != self.dims() {
            return Err(Error::invalid(format!(
                "n-gram rows of {} dimensions for vectors of {}",
                subwords.rows().dims(),
                self.dims()
            )));
        }
        self.subwords = Some(std::sync::Arc::new(subwords));
        Ok(())
    }

    /// Shares `other`'s n-gram table (none when it has none): a live model's merged rows answer
    /// words outside their vocabulary as its base does.
    #[cfg(feature = "live")]
    pub(crate) fn share_subwords(&mut self, other: &Embeddings) {
        self.subwords = other.subwords.clone();
    }

    /// The n-gram table, for embeddings read from a fastText model.
    pub fn subwords(&self) -> Option<&crate::subword::Subwords> {
        self.subwords.as_deref()
    }

    /// The vector of a word outside the vocabulary, from its n-grams: `None` without an n-gram
    /// table or when the word has no n-grams in it (errors: [`crate::subword::Subwords::oov_vector`]).
    pub fn subword_vector(&self, word: &str) -> Result<Option<Vec<f32>>> {
        match self.subwords.as_ref() {
            Some(sw) => sw.oov_vector(word),
            None => Ok(None),
        }
    }

    /// [`subword_vector`](Self::subword_vector) at unit length, as queries use it.
    pub fn subword_unit_vector(&self, word: &str) -> Result<Option<Vec<f32>>> {
        Ok(self.subword_vector(word)?.map(|mut v| {
            normalize(&mut v);
            v
        }))
    }

    /// Attaches an int8 copy of these rows (see [`crate::quant`]): exact 3CosAdd scans read it
    /// first and re-score in f32 only the rows that can still be in the answer. It must have
    /// been opened (and so checked) for these very vectors: [`crate::quant::Int8Rows::open`].
    pub fn attach_int8(&mut self, rows: crate::quant::Int8Rows) -> Result<()> {
        if rows.len() != self.len() || rows.dims() != self.dims() {
            return Err(Error::invalid(format!(
                "an int8 copy of {} rows x {} dims for {} vectors x {} dims",
                rows.len(),
                rows.dims(),
                self.len(),
                self.dims()
            )));
        }
        self.int8 = Some(std::sync::Arc::new(rows));
        Ok(())
    }

    /// The attached int8 copy, if any.
    pub fn int8(&self) -> Option<&crate::quant::Int8Rows> {
        self.int8.as_deref()
    }

    /// Embeddings from words and their raw vectors (`values.len() == words.len() * dims`).
    /// Duplicate words are an error.
    pub fn from_vectors<S: AsRef<str>>(words: &[S], values: Vec<f32>, dims: usize) -> Result<Self> {
        if dims == 0 || values.len() != words.len() * dims {
            return Err(Error::invalid(format!(
                "{} values cannot be {} vectors of {dims} dimensions",
                values.len(),
                words.len()
            )));
        }
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(Error::invalid(format!(
                "vector of {:?} holds {} at dimension {}",
                words[i / dims].as_ref(),
                values[i],
                i % dims
            )));
        }
        let mut vb = VocabBuilder::with_capacity(words.len());
        for w in words {
            if !vb.push(w.as_ref()) {
                return Err(Error::invalid(format!("duplicate word {:?}", w.as_ref())));
            }
        }
        let storage = DenseRows::from_f32(values, dims).expect("length checked above");
        let norms = compute_norms(&storage);
        Embeddings::from_parts(
            Box::new(vb.build()),
            Box::new(storage),
            norms.into(),
            false,
            Metadata::default(),
        )
    }

    /// Number of words.
    pub fn len(&self) -> usize {
        self.storage.len()
    }

    /// True when there are no words.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Dimensions per vector.
    pub fn dims(&self) -> usize {
        self.storage.dims()
    }

    /// Identifies a set of vectors: word count, dimensions, every word, and every norm (so a file
    /// with the same words but other vectors is told apart), hashed with xxh3.
    pub fn fingerprint(&self) -> String {
        use std::io::Write as _;
        // The bytes hashed are, in order: the count, the dimensions, every word followed by a
        // NUL, every norm written as `{:.4e}`. They are produced in parallel chunks and fed to
        // the hasher in order, which gives the digest of the whole stream: a reload of a 3M-word
        // index spends 0.1 s here instead of 0.45 s.
        const CHUNK: usize = 1 << 16;
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        h.update(&(self.len() as u64).to_le_bytes());
        h.update(&(self.dims() as u64).to_le_bytes());
        let words: Vec<Vec<u8>> = (0..self.len().div_ceil(CHUNK))
            .into_par_iter()
            .map(|c| {
                let mut out = Vec::with_capacity(CHUNK * 8);
                for i in c * CHUNK..((c + 1) * CHUNK).min(self.len()) {
                    out.extend_from_slice(self.word(i).as_bytes());
                    out.push(0);
                }
                out
            })
            .collect();
        words.iter().for_each(|b| h.update(b));
        // Norms agree across formats to float rounding only (native stores them, word2vec files
        // have them computed), so hash them rounded to 5 significant digits.
        let norms: Vec<Vec<u8>> = self
            .norms()
            .par_chunks(CHUNK)
            .map(|c| {
                let mut out = Vec::with_capacity(c.len() * 10);
                for &n in c {
                    write!(out, "{n:.4e}").expect("writing to a Vec cannot fail");
                }
                out
            })
            .collect();
        norms.iter().for_each(|b| h.update(b));
        format!("{:016x}", h.digest())
    }

    /// One line for people: the source file and the size, as `wordvec` prints it
    /// (`news.wvec (3000000 words x 300 dims)`, or `default model (...)` for embeddings that
    /// came from no file).
    pub fn describe(&self) -> String {
        match &self.metadata().source {
            Some(p) if !p.to_string_lossy().starts_with('<') => format!(
                "{} ({} words x {} dims)",
                p.display(),
                self.len(),
                self.dims()
            ),
            _ => format!(
                "default model ({} words x {} dims)",
                self.len(),
                self.dims()
            ),
        }
    }

    /// The vocabulary.
    pub fn vocab(&self) -> &dyn Vocab {
        &*self.vocab
    }

    /// The vector storage.
    pub fn storage(&self) -> &dyn Storage {
        &*self.storage
    }

    /// The original length of every vector.
    pub fn norms(&self) -> &[f32] {
        &self.norms
    }

    /// Whether stored rows are unit-normalised.
    pub fn unit_rows(&self) -> bool {
        self.unit_rows
    }

    /// Where these embeddings came from.
    pub fn metadata(&self) -> &Metadata {
        &self.meta
    }

    /// Mutable metadata (for writers that change the binary layout, say).
    pub fn metadata_mut(&mut self) -> &mut Metadata {
        &mut self.meta
    }

    /// The word of row `idx`.
    pub fn word(&self, idx: usize) -> &str {
        self.vocab.word(idx)
    }

    /// The row of `word`.
    pub fn index(&self, word: &str) -> Option<usize> {
        self.vocab.index(word)
    }

    /// The row of `word`, or an error naming it.
    pub fn require(&self, word: &str) -> Result<usize> {
        self.index(word)
            .ok_or_else(|| Error::UnknownWords(vec![word.to_owned()]))
    }

    /// The rows of `words`, or one error naming every unknown word. A request's list may be
    /// long: cancellation ([`crate::cancel`]) is checked every 1,024 words.
    pub fn require_all<S: AsRef<str>>(&self, words: &[S]) -> Result<Vec<usize>> {
        let mut rows = Vec::with_capacity(words.len());
        let mut unknown = Vec::new();
        for (k, w) in words.iter().enumerate() {
            if k % 1024 == 1023 {
                crate::cancel::check()?;
            }
            match self.index(w.as_ref()) {
                Some(i) => rows.push(i),
                None => unknown.push(w.as_ref().to_owned()),
            }
        }
        if unknown.is_empty() {
            Ok(rows)
        } else {
            Err(Error::UnknownWords(unknown))
        }
    }

    /// The vector of row `idx` as it was in the source file (for unit-normalised storage,
    /// the stored row times its norm).
    pub fn raw_row(&self, idx: usize) -> Vec<f32> {
        let mut v = self.storage.row(idx);
        if self.unit_rows {
            let n = self.norms[idx];
            v.iter_mut().for_each(|x| *x *= n);
        }
        v
    }

    /// The unit-length vector of row `idx` (all zeros for a zero vector).
    pub fn unit_row(&self, idx: usize) -> Vec<f32> {
        let mut v = Vec::with_capacity(self.dims());
        self.unit_row_into(idx, &mut v);
        v
    }

    /// [`unit_row`](Self::unit_row) into `out` (cleared first), for passes over many rows.
    pub(crate) fn unit_row_into(&self, idx: usize, out: &mut Vec<f32>) {
        out.clear();
        out.extend(
            self.storage
                .row_bytes(idx)
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
        );
        if !self.unit_rows {
            let n = self.norms[idx];
            if n > 0.0 {
                out.iter_mut().for_each(|x| *x /= n);
            } else {
                out.iter_mut().for_each(|x| *x = 0.0);
            }
        }
    }

    /// The raw vector of `word`; for a word outside the vocabulary of a model with n-grams
    /// (fastText), the vector of its n-grams.
    pub fn vector(&self, word: &str) -> Result<Vec<f32>> {
        match self.index(word) {
            Some(i) => Ok(self.raw_row(i)),
            None => self
                .subword_vector(word)?
                .ok_or_else(|| Error::UnknownWords(vec![word.to_owned()])),
        }
    }

    /// The unit vector of `word` (from its n-grams outside the vocabulary, as [`vector`](Self::vector)).
    pub fn unit_vector(&self, word: &str) -> Result<Vec<f32>> {
        match self.index(word) {
            Some(i) => Ok(self.unit_row(i)),
            None => self
                .subword_unit_vector(word)?
                .ok_or_else(|| Error::UnknownWords(vec![word.to_owned()])),
        }
    }

    /// Whether `word` has a vector: it is in the vocabulary, or the model has n-grams for it.
    pub fn has_vector(&self, word: &str) -> bool {
        self.index(word).is_some()
            || self
                .subwords
                .as_ref()
                .is_some_and(|s| s.has_ngram_rows(word.as_bytes()))
    }

    /// The factor that turns `row . q` into a cosine for a unit `q`: 1 for unit rows, 1 / norm
    /// otherwise (0 for a zero vector, whose cosine with anything is taken as 0).
    #[inline]
    pub fn cosine_scale(&self, idx: usize) -> f32 {
        if self.unit_rows {
            1.0
        } else {
            let n = self.norms[idx];
            if n > 0.0 {
                1.0 / n
            } else {
                0.0
            }
        }
    }

    /// The cosine of every row with `unit_query`, as [`cosine_with`](Self::cosine_with) computes
    /// it (the same arithmetic, so the same bits), for scans: the rows' layout is matched once,
    /// not looked up through the storage's virtual call per row.
    pub(crate) fn cosine_scorer<'s>(
        &'s self,
        dot: simd::DotFn,
        unit_query: &'s [f32],
    ) -> impl Fn(usize) -> f32 + Sync + 's {
        let rows = crate::storage::Rows::of(&*self.storage);
        let norms: &[f32] = &self.norms;
        let unit_rows = self.unit_rows;
        move |idx| {
            let d = dot(unit_query, rows.row(idx));
            if unit_rows {
                d
            } else {
                let n = norms[idx];
                if n > 0.0 {
                    d / n
                } else {
                    0.0
                }
            }
        }
    }

    /// The cosine of row `idx` with the unit vector `unit_query`.
    #[inline]
    pub fn cosine_with(&self, dot: simd::DotFn, idx: usize, unit_query: &[f32]) -> f32 {
        let d = dot(unit_query, self.storage.row_bytes(idx));
        if self.unit_rows {
            d
        } else {
            let n = self.norms[idx];
            if n > 0.0 {
                d / n
            } else {
                0.0
            }
        }
    }
}

/// The Euclidean length of every row, computed on all cores.
pub fn compute_norms(storage: &dyn Storage) -> Vec<f32> {
    let norm_sq = simd::norm_sq_fn();
    (0..storage.len())
        .into_par_iter()
        .with_min_len(1024)
        .map(|i| row_norm(norm_sq, storage.row_bytes(i)))
        .collect()
}

/// The Euclidean length of one row of `f32` bytes, as [`compute_norms`] computes it (live
/// writes compute their rows' lengths here, so that they agree bit for bit with a file's).
pub(crate) fn row_norm(norm_sq: simd::NormSqFn, bytes: &[u8]) -> f32 {
    let n = norm_sq(bytes).sqrt();
    if n.is_finite() && (n > 0.0 || is_zero_row(bytes)) {
        n
    } else {
        // Squares of large (1e20) or tiny (1e-30) values leave f32's range though the length
        // itself may not: the same sum in f64. A length that still overflows f32 stays
        // infinite, and the readers refuse that row.
        let wide: f64 = crate::storage::decode_row(bytes)
            .iter()
            .map(|&x| f64::from(x) * f64::from(x))
            .sum();
        wide.sqrt() as f32
    }
}

fn is_zero_row(bytes: &[u8]) -> bool {
    // +0.0 and -0.0: every bit but the sign is zero.
    bytes
        .chunks_exact(4)
        .all(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]) << 1 == 0)
}

/// Scales `v` to unit length in place, as gensim's `unitvec` does (a zero vector stays zero).
pub fn normalize(v: &mut [f32]) {
    let len = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if len > 0.0 && len.is_finite() {
        v.iter_mut().for_each(|x| *x /= len);
    } else if v.iter().any(|&x| x != 0.0) {
        // Out of f32's range for the squares: in f64.
        let len = v
            .iter()
            .map(|&x| f64::from(x) * f64::from(x))
            .sum::<f64>()
            .sqrt();
        v.iter_mut().for_each(|x| *x = (f64::from(*x) / len) as f32);
    }
}

impl crate::quant::UnitRows for Embeddings {
    fn len(&self) -> usize {
        Embeddings::len(self)
    }
    fn dims(&self) -> usize {
        Embeddings::dims(self)
    }
    fn fingerprint(&self) -> String {
        Embeddings::fingerprint(self)
    }
    fn unit_row(&self, i: usize) -> Vec<f32> {
        Embeddings::unit_row(self, i)
    }
    fn unit_row_into(&self, i: usize, out: &mut Vec<f32>) {
        Embeddings::unit_row_into(self, i, out)
    }
    fn word(&self, i: usize) -> &str {
        Embeddings::word(self, i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fingerprint built in parallel chunks is the digest of the stream the first version
    /// hashed one field at a time (indexes and int8 copies saved then must still load).
    #[test]
    fn fingerprint_is_the_sequential_digest() {
        let n = 150_000; // more than two chunks
        let words: Vec<String> = (0..n).map(|i| format!("w{i}")).collect();
        let values: Vec<f32> = (0..n * 3).map(|i| ((i % 97) as f32 - 48.0) / 7.0).collect();
        let emb = Embeddings::from_vectors(&words, values, 3).unwrap();
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        h.update(&(emb.len() as u64).to_le_bytes());
        h.update(&(emb.dims() as u64).to_le_bytes());
        for i in 0..emb.len() {
            h.update(emb.word(i).as_bytes());
            h.update(&[0]);
        }
        for &x in emb.norms() {
            h.update(&format!("{x:.4e}").into_bytes());
        }
        assert_eq!(emb.fingerprint(), format!("{:016x}", h.digest()));
    }

    #[test]
    fn raw_and_unit_rows() {
        let e = Embeddings::from_vectors(&["a", "b", "z"], vec![3.0, 4.0, 0.0, 2.0, 0.0, 0.0], 2)
            .unwrap();
        assert_eq!(e.len(), 3);
        assert_eq!(e.norms(), &[5.0, 2.0, 0.0]);
        assert_eq!(e.vector("a").unwrap(), vec![3.0, 4.0]);
        assert_eq!(e.unit_vector("a").unwrap(), vec![0.6, 0.8]);
        assert_eq!(e.unit_vector("z").unwrap(), vec![0.0, 0.0]);
        assert!(matches!(e.vector("q"), Err(Error::UnknownWords(w)) if w == ["q"]));
        let err = e.require_all(&["a", "x", "y"]).unwrap_err();
        assert_eq!(err.to_string(), "words not in the vocabulary: \"x\", \"y\"");
        let many = vec!["a"; 5000];
        assert_eq!(e.require_all(&many).unwrap().len(), 5000);
        let cancel = crate::cancel::Cancel::new();
        cancel.cancel();
        let r = cancel.scope(|| e.require_all(&many));
        assert!(matches!(r, Err(Error::Cancelled(_))), "{r:?}");
    }

    #[test]
    fn from_vectors_rejects_bad_input() {
        assert!(Embeddings::from_vectors(&["a", "a"], vec![1.0, 2.0], 1).is_err());
        assert!(Embeddings::from_vectors(&["a"], vec![1.0, 2.0], 1).is_err());
        let err = Embeddings::from_vectors(&["a", "b"], vec![1.0, f32::NAN], 1).unwrap_err();
        assert!(err.to_string().contains("\"b\" holds NaN"), "{err}");
    }
}
