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
//! of the time. `batched = false` runs fastText's per-pair updates.
//!
//! **Batched CBOW** (the default too): fastText sums the rows of every context word for each
//! window and adds the window's gradient to each of them, so a word's 20-odd rows are read and
//! written once for every window it is in (about 6 with the shrink, 10 without). Here a word's
//! rows are summed once, when the first window that can reach its position is trained; each
//! window adds the sums of its context words (a few vectors held in a ring of `2 * window + 2`
//! slots, in L1) and gathers its gradient in the slot of each context word; the gathered
//! gradient is added to the word's rows once, when no later window can reach its position
//! (`window` positions on). The rows move by the same sum of gradients, later and at once, and
//! a window sees its context words' rows as they were when the first window reached them
//! (not yet moved by the windows before it in the sentence): a delay of the kind batched
//! skip-gram and Hogwild already accept. The rows of the word entering next are prefetched a
//! step ahead, and the targets of a window are drawn (and their output rows prefetched) before
//! the rows of the word entering it are summed. `batched = false` runs fastText's update per
//! window.

use std::sync::Arc;

use rayon::prelude::*;

use super::hogwild::{Kernels, SharedMatrix};
use super::sampling::Lcg;
use super::sgns::{axpy, draw_more_targets, train_drawn, train_targets, window, Scratch, Shared};
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
            Model::Cbow if sh.batched => cbow_batched::<K>(sh, sw, s, rng, alpha),
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
        // The targets of every pair first, drawn in the order the pairs would draw them (the
        // same random stream), so that their output rows load while the centre's rows are
        // averaged; `contexts` holds where each pair's targets start.
        s.targets.clear();
        s.contexts.clear();
        for c in (lo..=hi).filter(|&c| c != p) {
            s.contexts.push(s.targets.len());
            draw_more_targets(sh, rng, s.sentence[c] as usize, &mut s.targets);
        }
        s.contexts.push(s.targets.len());
        // SAFETY: the CPU supports K (this function's contract).
        unsafe { mean_of::<K>(sh.syn0, rows, &mut s.neu1) };
        s.neu1e.fill(0.0);
        for pair in s.contexts.windows(2) {
            let targets = &s.targets[pair[0]..pair[1]];
            let stats = (&mut s.loss, &mut s.pairs);
            // SAFETY: the CPU supports K.
            unsafe {
                train_drawn::<K>(
                    sh,
                    stats,
                    &s.neu1,
                    &mut s.neu1e,
                    &mut s.wo[..d],
                    targets,
                    alpha,
                )
            };
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

/// Batched CBOW: each position's input rows are summed once, when the first window that may
/// reach it is trained, and the gradients of every window it is part of are gathered and
/// added to its rows once, when no later window can reach it (see the module docs).
///
/// # Safety
/// The CPU must support the instruction set of `K`.
#[inline(always)]
unsafe fn cbow_batched<K: Kernels>(
    sh: &Shared,
    sw: &SubwordRows,
    s: &mut Scratch,
    rng: &mut Lcg,
    alpha: f32,
) {
    let (len, d, w) = (s.sentence.len(), sh.syn0.dims(), sh.window);
    // Positions p - w ..= p + w are live at step p: 2w + 1 of the ring's 2w + 2 slots.
    let slots = s.ring_rows.len();
    let mut entered = 0;
    for p in 0..len {
        let (lo, hi) = window(rng, w, sh.shrink_windows, p, len);
        // The targets first: their output rows load while the entering rows are summed.
        s.targets.clear();
        if hi > lo {
            draw_more_targets(sh, rng, s.sentence[p] as usize, &mut s.targets);
        }
        while entered < len && entered <= p + w {
            // SAFETY: the CPU supports K (this function's contract).
            unsafe { enter::<K>(sh, sw, s, entered, entered % slots) };
            entered += 1;
        }
        s.neu1.fill(0.0);
        let mut n = 0usize;
        for c in (lo..=hi).filter(|&c| c != p) {
            let k = c % slots;
            axpy(1.0, &s.ring_sum[k * d..(k + 1) * d], &mut s.neu1);
            n += s.ring_rows[k];
        }
        if n > 0 {
            if sh.cbow_mean {
                let inv = 1.0 / n as f32;
                s.neu1.iter_mut().for_each(|x| *x *= inv);
            }
            s.neu1e.fill(0.0);
            let stats = (&mut s.loss, &mut s.pairs);
            let (input, targets) = (&s.neu1, &s.targets);
            // SAFETY: the CPU supports K.
            unsafe {
                train_drawn::<K>(
                    sh,
                    stats,
                    input,
                    &mut s.neu1e,
                    &mut s.wo[..d],
                    targets,
                    alpha,
                )
            };
            for c in (lo..=hi).filter(|&c| c != p) {
                let k = c % slots;
                axpy(1.0, &s.neu1e, &mut s.ring_grad[k * d..(k + 1) * d]);
            }
        }
        // No window after this one reaches position p - w.
        if let Some(q) = p.checked_sub(w) {
            // SAFETY: the CPU supports K.
            unsafe { leave::<K>(sh, sw, s, q, q % slots) };
        }
    }
    for q in len.saturating_sub(w)..len {
        // SAFETY: the CPU supports K.
        unsafe { leave::<K>(sh, sw, s, q, q % slots) };
    }
}

/// Batched CBOW: position `q` of the sentence enters ring slot `k`: the sum of its word's
/// input rows, a zero gradient. The next position's rows are prefetched, a step ahead of
/// their turn.
///
/// # Safety
/// The CPU must support the instruction set of `K`.
#[inline(always)]
unsafe fn enter<K: Kernels>(sh: &Shared, sw: &SubwordRows, s: &mut Scratch, q: usize, k: usize) {
    let d = sh.syn0.dims();
    if let Some(&next) = s.sentence.get(q + 1) {
        prefetch(sh.syn0, sw.of(next as usize));
    }
    let rows = sw.of(s.sentence[q] as usize);
    let sum = &mut s.ring_sum[k * d..(k + 1) * d];
    sum.fill(0.0);
    for &r in rows {
        // SAFETY: the CPU supports K (this function's contract).
        unsafe { K::axpy_from(1.0, sh.syn0.row(r as usize), sum) };
    }
    s.ring_grad[k * d..(k + 1) * d].fill(0.0);
    s.ring_rows[k] = rows.len();
}

/// Batched CBOW: position `q` (in ring slot `k`) leaves: its gathered gradient is added to
/// each of its word's input rows.
///
/// # Safety
/// The CPU must support the instruction set of `K`.
#[inline(always)]
unsafe fn leave<K: Kernels>(sh: &Shared, sw: &SubwordRows, s: &Scratch, q: usize, k: usize) {
    let d = sh.syn0.dims();
    let rows = sw.of(s.sentence[q] as usize);
    // SAFETY: the CPU supports K (this function's contract).
    unsafe { spread::<K>(sh.syn0, rows, &s.ring_grad[k * d..(k + 1) * d]) };
}

/// The input matrix of a new model: `(words + bucket) x dims` floats (the words' rows alone
/// without subwords) in one fallible allocation (sizes checked first), uniform in
/// `+-0.5 / dims` as the word trainer's rows.
///
/// Value `i` is drawn from the `i + 1`-th number of one seeded stream, as one thread filling
/// the matrix in order would draw it; the parts are filled on all cores, each from the stream
/// moved to its start ([`Lcg::skip`]), so the matrix depends on the seed alone, not on the
/// number of threads. The matrix is written once, straight into its allocation (no zeroing
/// first), which also faults its pages in on all cores.
pub(super) fn init_input(words: usize, cfg: &TrainConfig) -> Result<Vec<f32>> {
    const WHAT: &str = "the input matrix (words + buckets) x dims";
    let n = crate::limits::product(WHAT, &[cfg.input_rows(words), cfg.dims, 4])? / 4;
    let mut v = super::hogwild::reserve_matrix(WHAT, n)?;
    let stream = Lcg::new(cfg.seed, u64::MAX);
    let scale = cfg.dims as f32;
    // Each part of the split starts with the stream skipped to its first index; `next` is the
    // index the generator is at, so that a part skips only once.
    let values = (0..n).into_par_iter().with_min_len(1 << 16).map_init(
        || (stream.clone(), 0usize),
        |(rng, next), i| {
            if *next != i {
                *rng = stream.clone();
                rng.skip(i as u64);
            }
            *next = i + 1;
            (rng.coin() - 0.5) / scale
        },
    );
    v.par_extend(values);
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

    /// The matrix filled on all cores is the one stream of the seed drawn in order, so it does
    /// not depend on the number of threads (nor on how the work was split).
    #[test]
    fn the_input_matrix_is_the_seeds_stream_in_order() {
        let cfg = TrainConfig::default()
            .dims(7)
            .bucket(40_000)
            .minn(3)
            .maxn(6)
            .seed(5);
        let words = 11;
        let mut rng = Lcg::new(5, u64::MAX);
        let want: Vec<f32> = (0..(words + 40_000) * 7)
            .map(|_| (rng.coin() - 0.5) / 7.0)
            .collect();
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let three = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        for pool in [one, three] {
            let got = pool.install(|| init_input(words, &cfg)).unwrap();
            assert!(got == want, "the matrix differs from the stream");
        }
        // Word vectors alone: the words' rows, the same stream.
        let got = init_input(words, &cfg.clone().minn(0)).unwrap();
        assert_eq!(got, want[..words * 7]);
    }

    /// CBOW over `sentence` (word ids) of words with the input rows `rows` (word `i`'s are
    /// `rows[i]`), batched or as fastText; returns the input and output matrices after it.
    fn cbow_run(
        batched: bool,
        sentence: &[u32],
        rows: &[&[u32]],
        window: usize,
        d: usize,
    ) -> (Vec<f32>, Vec<f32>) {
        let n_in = rows.iter().flat_map(|r| r.iter()).max().unwrap() + 1;
        let sw = SubwordRows {
            starts: std::iter::once(0)
                .chain(rows.iter().scan(0, |at, r| {
                    *at += r.len();
                    Some(*at)
                }))
                .collect(),
            rows: rows.concat(),
        };
        let syn0 = SharedMatrix::new(values(n_in as usize * d, 1, 0.5), d);
        let syn1 = SharedMatrix::new(values(rows.len() * d, 2, 0.5), d);
        let (words_done, stop) = (AtomicU64::new(0), AtomicBool::new(false));
        let (alias, sigmoid) = (AliasTable::new(&[1.0]), SigmoidTable::default());
        let sh = Shared {
            syn0: &syn0,
            syn1: &syn1,
            keep: &[1.0],
            alias: &alias,
            sigmoid: &sigmoid,
            model: Model::Cbow,
            batched,
            window,
            shrink_windows: false,
            cbow_mean: true,
            negative: 0,
            alpha: 0.1,
            min_alpha: 0.1,
            total_words: 1,
            words_done: &words_done,
            stop: &stop,
            subwords: Some(&sw),
        };
        let mut s = Scratch::new(d, window, 0);
        s.sentence.extend_from_slice(sentence);
        // SAFETY: the portable kernels run on every CPU.
        unsafe { train_sentence::<Portable>(&sh, &sw, &mut s, &mut Lcg::new(1, 1), 0.1) };
        (syn0.snapshot(), syn1.snapshot())
    }

    /// Where no row is read after another window moved it, batched CBOW is fastText's update,
    /// bit for bit: two words, each the other's only context.
    #[test]
    fn batched_cbow_is_fasttexts_update_when_no_window_sees_another_ones_update() {
        let rows: [&[u32]; 2] = [&[0, 2, 3], &[1, 4, 4, 5]];
        let (a, b) = (
            cbow_run(true, &[0, 1], &rows, 1, 9),
            cbow_run(false, &[0, 1], &rows, 1, 9),
        );
        assert!(a == b, "batched and per-window updates differ");
        let (start, _) = cbow_run(false, &[], &rows, 1, 9);
        assert!(a.0 != start, "the run moved no row");
    }

    /// In a longer sentence the words' rows move by the same gradients, gathered: apart from
    /// the delay (a window sees its context as the first window to reach it did), the two
    /// agree, and both move every row.
    #[test]
    fn batched_cbow_moves_the_rows_as_fasttext_does_up_to_the_delay() {
        let rows: [&[u32]; 4] = [&[0, 4, 5], &[1, 6], &[2, 7, 7, 8], &[3, 4, 9]];
        let sentence = [0, 1, 2, 3, 1, 0, 2];
        let (start, _) = cbow_run(false, &[], &rows, 2, 6);
        let (a, _) = cbow_run(true, &sentence, &rows, 2, 6);
        let (b, _) = cbow_run(false, &sentence, &rows, 2, 6);
        let moved = |x: &[f32]| -> f32 { x.iter().zip(&start).map(|(p, q)| (p - q).abs()).sum() };
        let gap: f32 = a.iter().zip(&b).map(|(p, q)| (p - q).abs()).sum();
        assert!(moved(&a) > 0.0 && moved(&b) > 0.0);
        for r in 0..10 {
            let row = |x: &[f32]| x[r * 6..(r + 1) * 6].to_vec();
            assert_ne!(row(&a), row(&start), "row {r} did not move");
        }
        assert!(gap < 0.1 * moved(&b), "gap {gap}, moved {}", moved(&b));
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
