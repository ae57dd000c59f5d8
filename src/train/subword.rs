//! Subword training: fastText's skip-gram and CBOW, where a word's input vector is the mean of
//! its own row and the rows of its character n-grams, so that every word, seen or not, gets a
//! vector from its n-grams.
//!
//! The model is fastText 0.9's (`Dictionary::computeSubwords`, `Model::update`,
//! `FastText::skipgram` and `cbow`):
//! - The input matrix has `words + bucket` rows in one allocation: the vocabulary's rows, then
//!   one row per n-gram hash bucket. A word's input rows are its own row and, for each n-gram of
//!   `<word>` of `minn..=maxn` code points (duplicates included), row `words + hash % bucket`,
//!   with the n-grams and hashes of [`crate::subword`], the ones every reader uses; the special
//!   word `</s>` has no n-grams. `SubwordRows` lists them once per word before training.
//! - The hidden vector is the mean of the input rows. Skip-gram: the centre word's rows predict
//!   each context word; CBOW: the rows of every context word together (one list, each row
//!   counted as often as it occurs) predict the centre word.
//! - Negative sampling as in the word trainer (`sgns`): each target and its negatives
//!   move by `g * hidden`, and `g * output` is summed into the hidden layer's gradient.
//! - That gradient is added, whole, to every input row. fastText does so for its unsupervised
//!   models: it divides by the number of rows only for the supervised classifier. The exact
//!   gradient of the mean would be `1/n` of it, so each row effectively learns at `n` times the
//!   rate; that is the trained quality fastText users know, and the one the readers' averaging
//!   expects.
//!
//! What is the word trainer's and not fastText's: subsampling (`keep_probability`), the random
//! window shrink (off with `shrink_windows`), negatives drawn from `count^ns_exponent` (0.75 by
//! default; fastText: `count^0.5`), CBOW's mean of the context (its sum with `cbow_mean` off;
//! fastText always averages), the learning-rate schedule and the initial rows (uniform in
//! `+-0.5 / dims`), so that the settings mean the same for both kinds of model.
//!
//! An online vocabulary update (`TrainState::update_vocab`) keeps the bucket rows, which every
//! word shares: a new word gets a fresh row of its own, inserted after the known words' and
//! before the buckets', and starts from n-gram rows already trained.
//!
//! **Batched skip-gram** (the default, `batched`): fastText computes the centre word's mean and
//! writes its gradient back to all its rows once per (centre, context) pair, about 20 rows of a
//! table of gigabytes read and written for each pair. Here the mean is computed once per centre
//! word, the pairs of its window are trained against it, and their summed gradient is written
//! back once: the rows move by the same sum, read and written once per window instead of once
//! per pair (as pWord2Vec does for word vectors), so the scattered n-gram rows cost a fraction
//! of the time. `batched = false` runs fastText's per-pair updates. CBOW has one pair a window
//! either way.

use std::sync::Arc;

use rayon::prelude::*;

use super::hogwild::{Kernels, SharedMatrix};
use super::sampling::Lcg;
use super::sgns::{train_targets, window, Scratch, Shared};
use super::vocab::TrainVocab;
use super::{Model, TrainConfig};
use crate::bytes::{Backing, Slice};
use crate::embeddings::Embeddings;
use crate::error::{Error, Result};
use crate::formats::fasttext;
use crate::storage::DenseRows;
use crate::subword::{Pruning, Subwords, EOS};

/// Every word's input rows (its own, then its n-grams' buckets, offset past the words), in one
/// flat list with the start of each word's part.
pub(crate) struct SubwordRows {
    starts: Vec<usize>,
    rows: Vec<u32>,
}

impl SubwordRows {
    /// The rows of every word of `words`, for n-grams of `minn..=maxn` code points hashed into
    /// `bucket` buckets.
    pub(crate) fn new(words: &[String], minn: usize, maxn: usize, bucket: usize) -> Result<Self> {
        let too_many = || {
            Error::invalid(format!(
                "{} words and {bucket} buckets are more input rows than 32-bit row numbers hold",
                words.len()
            ))
        };
        let last = words.len().checked_add(bucket).ok_or_else(too_many)?;
        u32::try_from(last).map_err(|_| too_many())?;
        let (nwords, bucket32) = (words.len() as u32, bucket as u32);
        let mut starts = Vec::with_capacity(words.len() + 1);
        let mut rows = Vec::new();
        for (i, w) in words.iter().enumerate() {
            starts.push(rows.len());
            rows.push(i as u32);
            if w != EOS {
                crate::subword::for_each_ngram_hash(w.as_bytes(), minn, maxn, |h| {
                    rows.push(nwords + h % bucket32)
                });
            }
        }
        starts.push(rows.len());
        Ok(SubwordRows { starts, rows })
    }

    /// The input rows of word `word`: its own first.
    #[inline(always)]
    pub(crate) fn of(&self, word: usize) -> &[u32] {
        &self.rows[self.starts[word]..self.starts[word + 1]]
    }
}

/// Trains on one sentence (after subsampling), skip-gram or CBOW.
///
/// # Safety
/// The CPU must support the instruction set of `K`.
#[inline(always)]
pub(super) unsafe fn train_sentence<K: Kernels>(
    sh: &Shared,
    sw: &SubwordRows,
    s: &mut Scratch,
    rng: &mut Lcg,
    alpha: f32,
) {
    // SAFETY: the CPU supports K (this function's contract).
    unsafe {
        match sh.model {
            Model::SkipGram => skipgram::<K>(sh, sw, s, rng, alpha),
            Model::Cbow => cbow::<K>(sh, sw, s, rng, alpha),
        }
    }
}

/// Asks for the rows of `rows` to be brought into the cache.
#[inline(always)]
fn prefetch(m: &SharedMatrix, rows: &[u32]) {
    for &r in rows {
        m.row(r as usize).prefetch();
    }
}

/// `out` = the mean of the rows `rows` of `m` (summed in order, then multiplied by `1 / n` as
/// fastText does); `out` is left zero when there are none.
///
/// # Safety
/// The CPU must support the instruction set of `K`.
#[inline(always)]
unsafe fn mean_of<K: Kernels>(m: &SharedMatrix, rows: &[u32], out: &mut [f32]) {
    out.fill(0.0);
    for &r in rows {
        // SAFETY: the CPU supports K (this function's contract).
        unsafe { K::axpy_from(1.0, m.row(r as usize), out) };
    }
    if !rows.is_empty() {
        let inv = 1.0 / rows.len() as f32;
        out.iter_mut().for_each(|x| *x *= inv);
    }
}

/// Adds `grad` to every row of `rows` (a row listed twice gets it twice, as in fastText).
///
/// # Safety
/// The CPU must support the instruction set of `K`.
#[inline(always)]
unsafe fn spread<K: Kernels>(m: &SharedMatrix, rows: &[u32], grad: &[f32]) {
    for &r in rows {
        // SAFETY: the CPU supports K (this function's contract).
        unsafe { K::axpy_into(1.0, grad, m.row(r as usize)) };
    }
}

/// One step of fastText's `Model::update`: the mean of `rows` is trained against `target` and
/// its negatives, and the hidden gradient is added to each of `rows`.
///
/// # Safety
/// The CPU must support the instruction set of `K`.
#[inline(always)]
unsafe fn update<K: Kernels>(
    sh: &Shared,
    s: &mut Scratch,
    rng: &mut Lcg,
    rows: &[u32],
    target: usize,
    alpha: f32,
) {
    let d = sh.syn0.dims();
    // SAFETY: the CPU supports K (this function's contract).
    unsafe {
        mean_of::<K>(sh.syn0, rows, &mut s.neu1);
        s.neu1e.fill(0.0);
        train_pair::<K>(sh, s, rng, target, alpha, d);
        spread::<K>(sh.syn0, rows, &s.neu1e);
    }
}

/// Trains the hidden vector in `s.neu1` against `target`, adding to `s.neu1e`.
///
/// # Safety
/// The CPU must support the instruction set of `K`.
#[inline(always)]
unsafe fn train_pair<K: Kernels>(
    sh: &Shared,
    s: &mut Scratch,
    rng: &mut Lcg,
    target: usize,
    alpha: f32,
    d: usize,
) {
    // SAFETY: the CPU supports K (this function's contract).
    unsafe {
        train_targets::<K>(
            sh,
            (&mut s.loss, &mut s.pairs),
            rng,
            target,
            &s.neu1,
            &mut s.neu1e,
            &mut s.wo[..d],
            &mut s.targets,
            alpha,
        )
    };
}

/// Skip-gram: the centre word's rows predict each word of its window.
///
/// # Safety
/// The CPU must support the instruction set of `K`.
#[inline(always)]
unsafe fn skipgram<K: Kernels>(
    sh: &Shared,
    sw: &SubwordRows,
    s: &mut Scratch,
    rng: &mut Lcg,
    alpha: f32,
) {
    let (len, d) = (s.sentence.len(), sh.syn0.dims());
    for p in 0..len {
        let rows = sw.of(s.sentence[p] as usize);
        let (lo, hi) = window(rng, sh.window, sh.shrink_windows, p, len);
        // The next centre's rows load while this one trains.
        if let Some(&next) = s.sentence.get(p + 1) {
            prefetch(sh.syn0, sw.of(next as usize));
        }
        if lo == hi {
            continue;
        }
        if !sh.batched {
            for c in (lo..=hi).filter(|&c| c != p) {
                let target = s.sentence[c] as usize;
                // SAFETY: the CPU supports K (this function's contract).
                unsafe { update::<K>(sh, s, rng, rows, target, alpha) };
            }
            continue;
        }
        // SAFETY: the CPU supports K (this function's contract).
        unsafe { mean_of::<K>(sh.syn0, rows, &mut s.neu1) };
        s.neu1e.fill(0.0);
        for c in (lo..=hi).filter(|&c| c != p) {
            let target = s.sentence[c] as usize;
            // SAFETY: the CPU supports K.
            unsafe { train_pair::<K>(sh, s, rng, target, alpha, d) };
        }
        // SAFETY: the CPU supports K.
        unsafe { spread::<K>(sh.syn0, rows, &s.neu1e) };
    }
}

/// CBOW: the rows of every context word, averaged together, predict the centre word.
///
/// # Safety
/// The CPU must support the instruction set of `K`.
#[inline(always)]
unsafe fn cbow<K: Kernels>(
    sh: &Shared,
    sw: &SubwordRows,
    s: &mut Scratch,
    rng: &mut Lcg,
    alpha: f32,
) {
    let (len, d) = (s.sentence.len(), sh.syn0.dims());
    for p in 0..len {
        let word = s.sentence[p] as usize;
        let (lo, hi) = window(rng, sh.window, sh.shrink_windows, p, len);
        // The word that may enter the window next loads while this one trains.
        if let Some(&next) = s.sentence.get(p + sh.window + 1) {
            prefetch(sh.syn0, sw.of(next as usize));
        }
        s.neu1.fill(0.0);
        let mut n = 0usize;
        for c in (lo..=hi).filter(|&c| c != p) {
            let rows = sw.of(s.sentence[c] as usize);
            for &r in rows {
                // SAFETY: the CPU supports K (this function's contract).
                unsafe { K::axpy_from(1.0, sh.syn0.row(r as usize), &mut s.neu1) };
            }
            n += rows.len();
        }
        if n == 0 {
            continue;
        }
        if sh.cbow_mean {
            let inv = 1.0 / n as f32;
            s.neu1.iter_mut().for_each(|x| *x *= inv);
        }
        s.neu1e.fill(0.0);
        // SAFETY: the CPU supports K.
        unsafe { train_pair::<K>(sh, s, rng, word, alpha, d) };
        for c in (lo..=hi).filter(|&c| c != p) {
            // SAFETY: the CPU supports K.
            unsafe { spread::<K>(sh.syn0, sw.of(s.sentence[c] as usize), &s.neu1e) };
        }
    }
}

/// The input matrix of a new subword model: `(words + bucket) x dims` floats in one fallible
/// allocation (sizes checked first), uniform in `+-0.5 / dims` as the word trainer's rows.
pub(super) fn init_input(words: usize, cfg: &TrainConfig) -> Result<Vec<f32>> {
    let n = crate::limits::product(
        "the input matrix (words + buckets) x dims",
        &[cfg.input_rows(words), cfg.dims, 4],
    )? / 4;
    let mut v = crate::limits::zeroed::<f32>("the input matrix (words + buckets) x dims", n)?;
    let mut rng = Lcg::new(cfg.seed, u64::MAX);
    v.iter_mut()
        .for_each(|x| *x = (rng.coin() - 0.5) / cfg.dims as f32);
    Ok(v)
}

/// A trained subword model: its n-gram settings and both matrices, as fastText's `.bin` holds
/// them.
pub struct SubwordModel {
    minn: usize,
    maxn: usize,
    bucket: usize,
    dims: usize,
    /// The input matrix, `(words + bucket) x dims` floats (`Backing::Floats`), shared with
    /// the n-gram tables of the [`Embeddings`] made from it.
    input: Arc<Backing>,
    output: Vec<f32>,
    args: fasttext::Args,
}

impl std::fmt::Debug for SubwordModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubwordModel")
            .field("minn", &self.minn)
            .field("maxn", &self.maxn)
            .field("bucket", &self.bucket)
            .field("dims", &self.dims)
            .finish()
    }
}

impl SubwordModel {
    /// Wraps the matrices of a run of `cfg` (`input` holds the words' rows then the buckets').
    pub(super) fn new(cfg: &TrainConfig, input: Vec<f32>, output: Vec<f32>) -> Self {
        let i = |v: usize| i32::try_from(v).unwrap_or(i32::MAX);
        let args = fasttext::Args {
            dim: i(cfg.dims),
            ws: i(cfg.window),
            epoch: i(cfg.epochs),
            min_count: i(cfg.min_count.try_into().unwrap_or(usize::MAX)),
            neg: i(cfg.negative),
            word_ngrams: 1,
            loss: fasttext::LOSS_NEGATIVE_SAMPLING,
            model: match cfg.model {
                Model::Cbow => fasttext::MODEL_CBOW,
                Model::SkipGram => fasttext::MODEL_SKIPGRAM,
            },
            bucket: i(cfg.bucket),
            minn: i(cfg.minn),
            maxn: i(cfg.maxn),
            lr_update_rate: 100,
            t: cfg.sample,
        };
        SubwordModel {
            minn: cfg.minn,
            maxn: cfg.maxn,
            bucket: cfg.bucket,
            dims: cfg.dims,
            input: Arc::new(Backing::Floats(input)),
            output,
            args,
        }
    }

    /// Shortest n-gram, in code points.
    pub fn minn(&self) -> usize {
        self.minn
    }

    /// Longest n-gram, in code points.
    pub fn maxn(&self) -> usize {
        self.maxn
    }

    /// Number of n-gram hash buckets.
    pub fn bucket(&self) -> usize {
        self.bucket
    }

    /// The input matrix: the vocabulary's rows, then one row per bucket.
    pub fn input(&self) -> &[f32] {
        match &*self.input {
            Backing::Floats(v) => v,
            _ => unreachable!("the input matrix is always floats"),
        }
    }

    /// The input matrix, moved out (copied only while [`Embeddings`] made from the model
    /// still share it).
    pub(super) fn into_input(self) -> Vec<f32> {
        match Arc::try_unwrap(self.input) {
            Ok(Backing::Floats(v)) => v,
            Ok(_) => unreachable!("the input matrix is always floats"),
            Err(shared) => match &*shared {
                Backing::Floats(v) => v.clone(),
                _ => unreachable!("the input matrix is always floats"),
            },
        }
    }

    /// The output matrix of negative sampling, one row per vocabulary word.
    pub fn output(&self) -> &[f32] {
        &self.output
    }

    /// The n-gram table over the bucket rows (no copy of them), after `words` word rows.
    fn subwords(&self, words: usize) -> Result<Subwords> {
        let row_bytes = self.dims * 4;
        let rows = Slice::<u8>::shared(
            self.input.clone(),
            words * row_bytes,
            self.bucket * row_bytes,
        )
        .and_then(|s| DenseRows::new(s, self.dims, self.bucket))
        .ok_or_else(|| Error::internal("the input matrix is shorter than its buckets"))?;
        Subwords::new(
            self.minn,
            self.maxn,
            self.bucket as u32,
            Pruning::All,
            Box::new(rows),
        )
    }

    /// fastText's vector of every word of `words` (its own row averaged with its n-grams'
    /// rows, computed as every reader computes it), on all cores.
    pub(super) fn word_vectors(&self, words: &[String]) -> Result<Vec<f32>> {
        let sw = self.subwords(words.len())?;
        let d = self.dims;
        let input: &[u8] = bytemuck::cast_slice(self.input());
        let mut values = crate::limits::zeroed::<f32>("the word vectors", words.len() * d)?;
        values
            .par_chunks_mut(d)
            .zip(words.par_iter())
            .enumerate()
            .for_each(|(i, (out, w))| {
                sw.word_vector_into(w.as_bytes(), &input[i * d * 4..(i + 1) * d * 4], out)
            });
        Ok(values)
    }

    /// The embeddings of the vocabulary (`vectors` from `word_vectors`) with the
    /// n-gram table attached, so that words outside it get vectors too.
    pub(super) fn embeddings(&self, words: &[String], vectors: Vec<f32>) -> Result<Embeddings> {
        let mut emb = Embeddings::from_vectors(words, vectors, self.dims)?;
        emb.attach_subwords(self.subwords(words.len())?)?;
        Ok(emb)
    }

    /// Writes the model as fastText's `.bin` ([`crate::formats::fasttext::write`]).
    pub fn save_fasttext(&self, vocab: &TrainVocab, path: &std::path::Path) -> Result<()> {
        let model = fasttext::ModelParts {
            args: &self.args,
            words: vocab.words(),
            counts: vocab.counts(),
            input: self.input(),
            output: &self.output,
        };
        fasttext::save(&model, path)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicU64};

    use super::*;
    use crate::train::hogwild::Portable;
    use crate::train::sampling::{AliasTable, SigmoidTable};

    fn words() -> Vec<String> {
        ["the", "cat", EOS, "naïve", "aaaaa"]
            .map(String::from)
            .to_vec()
    }

    /// Values without a pattern, in `+-scale`.
    fn values(n: usize, seed: u64, scale: f32) -> Vec<f32> {
        let mut rng = Lcg::new(seed, 7);
        (0..n).map(|_| (rng.coin() - 0.5) * 2.0 * scale).collect()
    }

    #[test]
    fn a_words_rows_are_its_own_then_the_readers_ngram_rows() {
        let (minn, maxn, bucket) = (2, 4, 97);
        let w = words();
        let rows = SubwordRows::new(&w, minn, maxn, bucket).unwrap();
        // The reader's table over `bucket` rows: its cutting, hashing and bucketing.
        let table = Subwords::new(
            minn,
            maxn,
            bucket as u32,
            Pruning::All,
            Box::new(DenseRows::from_f32(vec![0.0; bucket * 2], 2).unwrap()),
        )
        .unwrap();
        for (i, word) in w.iter().enumerate() {
            let mut want = vec![i as u32];
            if word != EOS {
                table.for_each_ngram_row(word.as_bytes(), |r| want.push((w.len() + r) as u32));
            }
            assert_eq!(rows.of(i), want, "{word}");
        }
        // The first n-gram of "cat" is "<c": fastText's hash of its bytes, modulo the buckets.
        let h = crate::subword::hash(b"<c");
        assert_eq!(rows.of(1)[1], (w.len() as u32) + h % bucket as u32);
        // "</s>" has only its own row; repeated n-grams of "aaaaa" keep their repeats.
        assert_eq!(rows.of(2), [2]);
        let a = rows.of(4);
        assert!(a[1..]
            .iter()
            .any(|r| a[1..].iter().filter(|&x| x == r).count() > 1));
    }

    #[test]
    fn more_rows_than_u32_numbers_is_an_error() {
        let e = SubwordRows::new(&words(), 3, 6, u32::MAX as usize)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("32-bit row numbers"), "{e}");
    }

    /// One step moves every input row by `alpha` times minus the gradient of the loss with
    /// respect to the mean (fastText's unnormalised spread; a row listed twice moves twice), and
    /// the target's output row by minus the gradient with respect to it. The gradients are
    /// checked against central differences of `-log sigmoid(mean . out)`.
    #[test]
    fn an_update_spreads_the_gradient_of_the_mean_to_every_row() {
        let d = 5;
        let input = values(4 * d, 1, 0.5);
        let output = values(d, 2, 0.5);
        let syn0 = SharedMatrix::new(input.clone(), d);
        let syn1 = SharedMatrix::new(output.clone(), d);
        let (words_done, stop) = (AtomicU64::new(0), AtomicBool::new(false));
        let (alias, sigmoid) = (AliasTable::new(&[1.0]), SigmoidTable::default());
        let sh = Shared {
            syn0: &syn0,
            syn1: &syn1,
            keep: &[1.0],
            alias: &alias,
            sigmoid: &sigmoid,
            model: Model::SkipGram,
            batched: false,
            window: 1,
            shrink_windows: true,
            cbow_mean: true,
            negative: 0,
            alpha: 0.1,
            min_alpha: 0.1,
            total_words: 1,
            words_done: &words_done,
            stop: &stop,
            subwords: None,
        };
        let rows = [0u32, 2, 2, 3];
        let alpha = 0.1;
        let mut s = Scratch::new(d, 1, 0);
        // SAFETY: the portable kernels run on every CPU.
        unsafe { update::<Portable>(&sh, &mut s, &mut Lcg::new(1, 1), &rows, 0, alpha) };

        let mean: Vec<f32> = (0..d)
            .map(|k| rows.iter().map(|&r| input[r as usize * d + k]).sum::<f32>() / 4.0)
            .collect();
        let loss = |h: &[f32], o: &[f32]| {
            let f: f64 = h.iter().zip(o).map(|(a, b)| f64::from(a * b)).sum();
            (1.0 + (-f).exp()).ln()
        };
        let eps = 1e-3f32;
        let grad = |k: usize, wrt_mean: bool| {
            let (mut h1, mut o1, mut h2, mut o2) =
                (mean.clone(), output.clone(), mean.clone(), output.clone());
            let (a, b) = if wrt_mean {
                (&mut h1[k], &mut h2[k])
            } else {
                (&mut o1[k], &mut o2[k])
            };
            *a += eps;
            *b -= eps;
            (loss(&h1, &o1) - loss(&h2, &o2)) as f32 / (2.0 * eps)
        };
        let after = syn0.snapshot();
        let out_after = syn1.snapshot();
        // The table's sigmoid is the exact one to about 1e-2 near 0.
        let close = |got: f32, want: f32| (got - want).abs() <= 2e-3 + 1e-2 * want.abs();
        for k in 0..d {
            let want = -alpha * grad(k, true);
            for (r, times) in [(0, 1.0), (2, 2.0), (3, 1.0)] {
                let moved = after[r * d + k] - input[r * d + k];
                assert!(
                    close(moved, times * want),
                    "row {r} dim {k}: {moved} vs {want}"
                );
            }
            assert_eq!(
                after[d + k],
                input[d + k],
                "row 1 is not an input of the step"
            );
            let moved = out_after[k] - output[k];
            assert!(close(moved, -alpha * grad(k, false)), "output dim {k}");
            assert!(want.abs() > 1e-4, "a step that moves nothing tests nothing");
        }
    }

    fn config() -> TrainConfig {
        TrainConfig::default()
            .model(Model::SkipGram)
            .dims(4)
            .epochs(2)
            .min_count(1)
            .minn(2)
            .maxn(4)
            .bucket(31)
    }

    /// The vectors of a trained model, as it computes them, equal what the fastText reader
    /// computes from the `.bin` it writes, for vocabulary words and others.
    #[test]
    fn word_vectors_survive_a_fasttext_round_trip() {
        let w = words();
        let cfg = config();
        let n_in = cfg.input_rows(w.len()) * cfg.dims;
        let model = SubwordModel::new(
            &cfg,
            values(n_in, 3, 1.0),
            values(w.len() * cfg.dims, 4, 1.0),
        );
        let vectors = model.word_vectors(&w).unwrap();
        let ours = model.embeddings(&w, vectors.clone()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.bin");
        let vocab = TrainVocab::from_sorted(w.iter().cloned().zip([9, 8, 7, 6, 5])).unwrap();
        model.save_fasttext(&vocab, &path).unwrap();
        let back = crate::formats::load(&path, &Default::default()).unwrap();
        assert_eq!(back.len(), w.len());
        for (i, word) in w.iter().enumerate() {
            assert_eq!(back.word(i), word);
            assert_eq!(
                back.raw_row(i),
                &vectors[i * cfg.dims..(i + 1) * cfg.dims],
                "{word}"
            );
            assert_eq!(ours.raw_row(i), back.raw_row(i));
        }
        for oov in ["dog", "naïveté", "zz"] {
            let (a, b) = (
                ours.subword_vector(oov).unwrap(),
                back.subword_vector(oov).unwrap(),
            );
            assert!(a.is_some() && a == b, "{oov}");
        }
        // The own row counts: "the" is not the mean of its n-grams alone.
        assert_ne!(
            ours.subword_vector("the").unwrap().unwrap(),
            ours.raw_row(0)
        );
    }
}
