//! The training kernels: skip-gram and CBOW with negative sampling, one sentence at a time.
//!
//! Written by hand rather than with a linear-algebra crate because the work is many tiny,
//! sparse updates (a few 100-float rows per step) on matrices shared without locks, which is
//! what word2vec, gensim's Cython and fastText all do by hand too: a GEMM call per window would
//! cost more in overhead than the arithmetic. The loops are generic over the kernels of
//! [`super::hogwild`], which read and write shared rows only through relaxed atomic accesses (no
//! data race); [`train_slice`] compiles them a second time with AVX2 and FMA enabled and the
//! 8-float kernels, and picks that version at run time.
//!
//! - Classic skip-gram (the C tool's): for each (context, centre) pair, the context's input vector
//!   is trained against the centre word and `negative` fresh negatives.
//! - Batched skip-gram (pWord2Vec / HogBatch, Ji et al. 2016): all context words of one window
//!   share one draw of negatives; the scores of every (context, target) pair form one small
//!   matrix product, and both gradients are matrix products too, applied once per window. Same
//!   objective, each row read once per window instead of once per pair.
//! - CBOW: the mean of the context vectors predicts the centre word; the gradient goes back to
//!   every context vector (the C tool's `cbow_mean`).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::corpus::SENTENCE_END;
use super::hogwild::{Kernels, Portable, SharedMatrix};
use super::sampling::{learning_rate, AliasTable, Lcg, SigmoidTable};
use super::Model;

/// Words between learning-rate updates and progress reports (as the C tool).
pub(crate) const REPORT_EVERY: u64 = 10_000;

/// What every thread shares.
pub(crate) struct Shared<'a> {
    /// Input vectors (the word vectors), updated Hogwild through relaxed atomics.
    pub syn0: &'a SharedMatrix,
    /// Output vectors of negative sampling.
    pub syn1: &'a SharedMatrix,
    /// Per word, the probability of keeping an occurrence (frequent-word subsampling).
    pub keep: &'a [f32],
    /// The unigram^0.75 table negatives are drawn from.
    pub alias: &'a AliasTable,
    /// The C tool's precomputed sigmoid.
    pub sigmoid: &'a SigmoidTable,
    /// Skip-gram or CBOW.
    pub model: Model,
    /// Skip-gram only: batched windows with shared negatives (see [`super::TrainConfig`]).
    pub batched: bool,
    /// Largest context window (each position draws its own, as the C tool).
    pub window: usize,
    /// Whether windows shrink at random (see [`super::TrainConfig::shrink_windows`]).
    pub shrink_windows: bool,
    /// CBOW: the context's mean (`true`) or sum is the input.
    pub cbow_mean: bool,
    /// Negatives per positive pair.
    pub negative: usize,
    /// Starting learning rate.
    pub alpha: f32,
    /// Floor of the linearly decaying learning rate.
    pub min_alpha: f32,
    /// Words of all epochs (the schedule's denominator).
    pub total_words: u64,
    /// Words processed so far, all threads (the schedule's numerator).
    pub words_done: &'a AtomicU64,
    /// Raised to stop every thread early (Ctrl-C, cancellation).
    pub stop: &'a AtomicBool,
    /// Subword training: each word's input rows (its own and its n-grams'); `syn0` then holds
    /// the n-gram buckets' rows after the words'.
    pub subwords: Option<&'a super::subword::SubwordRows>,
}

/// A thread's published statistics: loss sum (f64 bits) and the number of (word, target) pairs.
#[derive(Default)]
pub(crate) struct ThreadStats {
    /// The sum of the losses so far, as the bits of an f64.
    pub loss_bits: AtomicU64,
    /// (word, target) pairs trained so far.
    pub pairs: AtomicU64,
}

impl ThreadStats {
    /// The running loss sum and pair count.
    pub(crate) fn read(&self) -> (f64, u64) {
        (
            f64::from_bits(self.loss_bits.load(Ordering::Relaxed)),
            self.pairs.load(Ordering::Relaxed),
        )
    }
}

/// Per-thread scratch space.
pub(super) struct Scratch {
    pub(super) sentence: Vec<u32>,
    pub(super) neu1: Vec<f32>,
    pub(super) neu1e: Vec<f32>,
    pub(super) contexts: Vec<usize>,
    pub(super) targets: Vec<(usize, f32)>,
    wi: Vec<f32>,
    pub(super) wo: Vec<f32>,
    grad: Vec<f32>,
    pub(super) loss: f64,
    pub(super) pairs: u64,
    /// Batched subword CBOW: per position of the sentence in reach of a window (a ring of
    /// `2 * window + 2` slots), the sum of its word's input rows, the gradient gathered for
    /// them, and their number.
    pub(super) ring_sum: Vec<f32>,
    pub(super) ring_grad: Vec<f32>,
    pub(super) ring_rows: Vec<usize>,
}

impl Scratch {
    /// Space for vectors of `d` floats, windows of `window` words a side and `negative`
    /// negatives.
    pub(super) fn new(d: usize, window: usize, negative: usize) -> Self {
        let w2 = 2 * window;
        Scratch {
            sentence: Vec::with_capacity(super::corpus::MAX_SENTENCE),
            neu1: vec![0.0; d],
            neu1e: vec![0.0; d],
            contexts: Vec::with_capacity(w2),
            // Room for the targets of every pair of a window, drawn ahead (subword skip-gram).
            targets: Vec::with_capacity(w2 * (negative + 1)),
            wi: vec![0.0; w2 * d],
            wo: vec![0.0; (negative + 1) * d],
            grad: vec![0.0; w2 * (negative + 1)],
            loss: 0.0,
            pairs: 0,
            ring_sum: vec![0.0; (w2 + 2) * d],
            ring_grad: vec![0.0; (w2 + 2) * d],
            ring_rows: vec![0; w2 + 2],
        }
    }
}

/// Trains on one thread's slice of the encoded corpus for one epoch.
pub(crate) fn train_slice(sh: &Shared, ids: &[u32], rng: &mut Lcg, stats: &ThreadStats) {
    #[cfg(target_arch = "x86_64")]
    {
        if crate::simd::has_avx2_fma() {
            // SAFETY: the CPU supports AVX2 and FMA, checked just above.
            unsafe { train_slice_avx2(sh, ids, rng, stats) };
            return;
        }
    }
    // SAFETY: the portable kernels run on every CPU of the target.
    unsafe { train_slice_generic::<Portable>(sh, ids, rng, stats) };
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn train_slice_avx2(sh: &Shared, ids: &[u32], rng: &mut Lcg, stats: &ThreadStats) {
    // SAFETY: this function runs only on CPUs with AVX2 and FMA (its own contract).
    unsafe { train_slice_generic::<super::hogwild::Avx2Fma>(sh, ids, rng, stats) };
}

/// # Safety
/// The CPU must support the instruction set of `K` (see [`Kernels`]).
#[inline(always)]
unsafe fn train_slice_generic<K: Kernels>(
    sh: &Shared,
    ids: &[u32],
    rng: &mut Lcg,
    stats: &ThreadStats,
) {
    let d = sh.syn0.dims();
    let mut s = Scratch::new(d, sh.window, sh.negative);
    let mut alpha = learning_rate(
        sh.alpha,
        sh.min_alpha,
        sh.words_done.load(Ordering::Relaxed),
        sh.total_words,
    );
    let (mut words, mut reported) = (0u64, 0u64);
    let mut pos = 0;
    while pos < ids.len() {
        s.sentence.clear();
        while pos < ids.len() {
            let id = ids[pos];
            pos += 1;
            if id == SENTENCE_END {
                break;
            }
            words += 1;
            let keep = sh.keep[id as usize];
            if keep < 1.0 && keep < rng.coin() {
                continue;
            }
            s.sentence.push(id);
        }
        if words - reported >= REPORT_EVERY {
            let done =
                sh.words_done.fetch_add(words - reported, Ordering::Relaxed) + (words - reported);
            reported = words;
            alpha = learning_rate(sh.alpha, sh.min_alpha, done, sh.total_words);
            stats.loss_bits.store(s.loss.to_bits(), Ordering::Relaxed);
            stats.pairs.store(s.pairs, Ordering::Relaxed);
            if sh.stop.load(Ordering::Relaxed) {
                return;
            }
        }
        // SAFETY: the CPU supports K's instructions (this function's contract).
        unsafe {
            match (sh.subwords, sh.model, sh.batched) {
                (Some(sw), _, _) => super::subword::train_sentence::<K>(sh, sw, &mut s, rng, alpha),
                (None, Model::SkipGram, false) => skipgram::<K>(sh, &mut s, rng, alpha, d),
                (None, Model::SkipGram, true) => skipgram_batched::<K>(sh, &mut s, rng, alpha, d),
                (None, Model::Cbow, _) => cbow::<K>(sh, &mut s, rng, alpha),
            }
        }
    }
    sh.words_done.fetch_add(words - reported, Ordering::Relaxed);
    stats.loss_bits.store(s.loss.to_bits(), Ordering::Relaxed);
    stats.pairs.store(s.pairs, Ordering::Relaxed);
}

/// The window around `p` after the random shrink (none, and no draw, when `shrink` is false):
/// `lo..=hi`, centre excluded by the caller.
#[inline(always)]
pub(super) fn window(
    rng: &mut Lcg,
    window: usize,
    shrink: bool,
    p: usize,
    len: usize,
) -> (usize, usize) {
    let b = if shrink { rng.below(window) } else { 0 };
    let reach = window - b;
    (p.saturating_sub(reach), (p + reach).min(len - 1))
}

/// Draws a negative that is not `word`, or `None` (then that negative is skipped, as in the C
/// tool).
#[inline(always)]
fn negative(sh: &Shared, rng: &mut Lcg, word: usize) -> Option<usize> {
    let t = sh.alias.sample(rng) as usize;
    (t != word).then_some(t)
}

/// Trains the input vector `input` (a copy of a syn0 row for skip-gram, the context mean for
/// CBOW) against `word` and `negative` fresh negatives: each output row moves by `g * input`,
/// and `neu1e` (zeroed by the caller) collects `g * output` for the caller to apply to the input
/// side. Adds to the loss sum and pair count in `stats`.
///
/// Each output row is read once into `out` (thread-local, `dims` long), scored and updated
/// there, and written back once: the same operations in the same order as reading and updating
/// it in place, with one shared load and one shared store a target.
///
/// # Safety
/// The CPU must support the instruction set of `K`.
#[inline(always)]
#[allow(clippy::too_many_arguments)] // the loop's state, passed apart so the borrows stay disjoint
pub(super) unsafe fn train_targets<K: Kernels>(
    sh: &Shared,
    stats: (&mut f64, &mut u64),
    rng: &mut Lcg,
    word: usize,
    input: &[f32],
    neu1e: &mut [f32],
    out: &mut [f32],
    targets: &mut Vec<(usize, f32)>,
    alpha: f32,
) {
    // The targets first (the random stream is the same: nothing else draws in between), so
    // that their rows are on their way into the cache before the first is read.
    draw_targets(sh, rng, word, targets);
    // SAFETY: the CPU supports K (this function's contract).
    unsafe { train_drawn::<K>(sh, stats, input, neu1e, out, targets, alpha) };
}

/// [`train_targets`] against targets already drawn (by [`draw_targets`]).
///
/// # Safety
/// The CPU must support the instruction set of `K`.
#[inline(always)]
pub(super) unsafe fn train_drawn<K: Kernels>(
    sh: &Shared,
    stats: (&mut f64, &mut u64),
    input: &[f32],
    neu1e: &mut [f32],
    out: &mut [f32],
    targets: &[(usize, f32)],
    alpha: f32,
) {
    for &(target, label) in targets {
        let l2 = sh.syn1.row(target);
        // SAFETY: the CPU supports K (this function's contract).
        unsafe {
            K::copy(l2, out);
            let f = K::dot(input, out);
            let (g, loss) = sh.sigmoid.grad_and_loss(f, label);
            *stats.0 += f64::from(loss);
            let g = g * alpha;
            axpy(g, out, neu1e);
            axpy(g, input, out);
            K::write(out, l2);
        }
        *stats.1 += 1;
    }
}

/// Prefetches the input rows of the window `lo..=hi` around `p` (see `Row::prefetch`).
#[inline(always)]
fn prefetch_contexts(sh: &Shared, sentence: &[u32], lo: usize, hi: usize, p: usize) {
    for c in (lo..=hi).filter(|&c| c != p) {
        sh.syn0.row(sentence[c] as usize).prefetch();
    }
}

/// `word` (label 1) and `sh.negative` draws of negatives (label 0; a draw of `word` itself is
/// skipped, as in the C tool) into `targets`, each row prefetched.
#[inline(always)]
fn draw_targets(sh: &Shared, rng: &mut Lcg, word: usize, targets: &mut Vec<(usize, f32)>) {
    targets.clear();
    draw_more_targets(sh, rng, word, targets);
}

/// [`draw_targets`], appended to `targets` (the targets of several pairs drawn ahead of their
/// training, in the order the pairs would draw them); the new ones prefetched.
#[inline(always)]
pub(super) fn draw_more_targets(
    sh: &Shared,
    rng: &mut Lcg,
    word: usize,
    targets: &mut Vec<(usize, f32)>,
) {
    let first = targets.len();
    targets.push((word, 1.0));
    for _ in 0..sh.negative {
        if let Some(t) = negative(sh, rng, word) {
            targets.push((t, 0.0));
        }
    }
    for &(t, _) in &targets[first..] {
        sh.syn1.row(t).prefetch();
    }
}

/// Classic skip-gram: each context word's input vector against the centre word.
///
/// # Safety
/// The CPU must support the instruction set of `K`.
#[inline(always)]
unsafe fn skipgram<K: Kernels>(sh: &Shared, s: &mut Scratch, rng: &mut Lcg, alpha: f32, d: usize) {
    let len = s.sentence.len();
    for p in 0..len {
        let word = s.sentence[p] as usize;
        let (lo, hi) = window(rng, sh.window, sh.shrink_windows, p, len);
        prefetch_contexts(sh, &s.sentence, lo, hi, p);
        for c in lo..=hi {
            if c == p {
                continue;
            }
            // The input row is read once: it changes only after its targets (as in the C tool,
            // which reads it in place), so a copy gives the same arithmetic.
            let l1 = sh.syn0.row(s.sentence[c] as usize);
            s.neu1e.fill(0.0);
            // SAFETY: the CPU supports K (this function's contract).
            unsafe {
                K::copy(l1, &mut s.neu1[..d]);
                train_targets::<K>(
                    sh,
                    (&mut s.loss, &mut s.pairs),
                    rng,
                    word,
                    &s.neu1,
                    &mut s.neu1e,
                    &mut s.wo[..d],
                    &mut s.targets,
                    alpha,
                );
                K::axpy_into(1.0, &s.neu1e, l1);
            }
        }
    }
}

/// Batched skip-gram: one window's contexts share their negatives.
///
/// # Safety
/// The CPU must support the instruction set of `K`.
#[inline(always)]
unsafe fn skipgram_batched<K: Kernels>(
    sh: &Shared,
    s: &mut Scratch,
    rng: &mut Lcg,
    alpha: f32,
    d: usize,
) {
    let len = s.sentence.len();
    for p in 0..len {
        let word = s.sentence[p] as usize;
        let (lo, hi) = window(rng, sh.window, sh.shrink_windows, p, len);
        prefetch_contexts(sh, &s.sentence, lo, hi, p);
        s.contexts.clear();
        s.contexts.extend(
            (lo..=hi)
                .filter(|&c| c != p)
                .map(|c| s.sentence[c] as usize),
        );
        if s.contexts.is_empty() {
            continue;
        }
        draw_targets(sh, rng, word, &mut s.targets);
        let (nc, nt) = (s.contexts.len(), s.targets.len());
        // Copy the context rows (nc x d): the output rows are updated from them after the
        // input rows have already moved.
        for (i, &c) in s.contexts.iter().enumerate() {
            // SAFETY: the CPU supports K (this function's contract).
            unsafe { K::copy(sh.syn0.row(c), &mut s.wi[i * d..(i + 1) * d]) };
        }
        // The target rows too (nt x d): read once here, they are not written before the last
        // step below.
        for (j, &(t, _)) in s.targets.iter().enumerate() {
            // SAFETY: the CPU supports K (this function's contract).
            unsafe { K::copy(sh.syn1.row(t), &mut s.wo[j * d..(j + 1) * d]) };
        }
        // Scores and gradient factors: G = (labels - sigmoid(wi . out_j)) * alpha, nc x nt.
        for (j, &(_, label)) in s.targets.iter().enumerate() {
            let out = &s.wo[j * d..(j + 1) * d];
            for i in 0..nc {
                // SAFETY: the CPU supports K.
                let f = unsafe { K::dot(&s.wi[i * d..(i + 1) * d], out) };
                let (g, loss) = sh.sigmoid.grad_and_loss(f, label);
                s.loss += f64::from(loss);
                s.grad[i * nt + j] = g * alpha;
            }
        }
        s.pairs += (nc * nt) as u64;
        // Input rows: in_i += sum_j G_ij out_j, from the copies of the (still unchanged) output
        // rows. Each shared row is read once, updated in `neu1e` and written once: the same additions
        // in the same order as updating it in place target by target (so the same vectors, bit
        // for bit, on one thread), with one shared store a row instead of one a target. A word
        // twice in the window is read again after its first update was written.
        let acc = &mut s.neu1e[..d];
        for (i, &c) in s.contexts.iter().enumerate() {
            let row = sh.syn0.row(c);
            // SAFETY: the CPU supports K.
            unsafe { K::copy(row, acc) };
            for j in 0..nt {
                axpy(s.grad[i * nt + j], &s.wo[j * d..(j + 1) * d], acc);
            }
            // SAFETY: the CPU supports K.
            unsafe { K::write(acc, row) };
        }
        // Output rows: out_j += sum_i G_ij in_i, from the copies of the input rows, the same way.
        for (j, &(t, _)) in s.targets.iter().enumerate() {
            let row = sh.syn1.row(t);
            // SAFETY: the CPU supports K.
            unsafe { K::copy(row, acc) };
            for i in 0..nc {
                axpy(s.grad[i * nt + j], &s.wi[i * d..(i + 1) * d], acc);
            }
            // SAFETY: the CPU supports K.
            unsafe { K::write(acc, row) };
        }
    }
}

/// `y += alpha * x` on thread-local slices: each element is one multiply and one add, so any
/// vector width the compiler picks gives the kernels' results.
#[inline(always)]
pub(super) fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    for (y, &x) in y.iter_mut().zip(x) {
        *y += alpha * x;
    }
}

/// CBOW: the mean of the context vectors predicts the centre word.
///
/// # Safety
/// The CPU must support the instruction set of `K`.
#[inline(always)]
unsafe fn cbow<K: Kernels>(sh: &Shared, s: &mut Scratch, rng: &mut Lcg, alpha: f32) {
    let len = s.sentence.len();
    for p in 0..len {
        let word = s.sentence[p] as usize;
        let (lo, hi) = window(rng, sh.window, sh.shrink_windows, p, len);
        prefetch_contexts(sh, &s.sentence, lo, hi, p);
        s.neu1.fill(0.0);
        let mut cw = 0usize;
        for c in lo..=hi {
            if c != p {
                // SAFETY: the CPU supports K (this function's contract).
                unsafe { K::axpy_from(1.0, sh.syn0.row(s.sentence[c] as usize), &mut s.neu1) };
                cw += 1;
            }
        }
        if cw == 0 {
            continue;
        }
        if sh.cbow_mean {
            let inv = 1.0 / cw as f32;
            s.neu1.iter_mut().for_each(|x| *x *= inv);
        }
        s.neu1e.fill(0.0);
        // SAFETY: the CPU supports K.
        unsafe {
            train_targets::<K>(
                sh,
                (&mut s.loss, &mut s.pairs),
                rng,
                word,
                &s.neu1,
                &mut s.neu1e,
                &mut s.wo[..sh.syn0.dims()],
                &mut s.targets,
                alpha,
            )
        };
        for c in lo..=hi {
            if c != p {
                // SAFETY: the CPU supports K.
                unsafe { K::axpy_into(1.0, &s.neu1e, sh.syn0.row(s.sentence[c] as usize)) };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_shrink_is_uniform_and_clipped() {
        let mut rng = Lcg::new(7, 0);
        let mut reach = [0u32; 6];
        for _ in 0..60_000 {
            let (lo, hi) = window(&mut rng, 5, true, 10, 100);
            assert_eq!(10 - lo, hi - 10, "symmetric away from the edges");
            reach[10 - lo] += 1;
        }
        assert_eq!(reach[0], 0);
        for r in &reach[1..] {
            assert!((*r as i64 - 12_000).abs() < 600, "reach counts {reach:?}");
        }
        // At the sentence edges the window is clipped.
        for _ in 0..100 {
            let (lo, hi) = window(&mut rng, 5, true, 0, 3);
            assert_eq!(lo, 0);
            assert!(hi <= 2);
        }
        // Without the shrink every window is whole and nothing is drawn.
        let before = rng.clone().next_u64();
        assert_eq!(window(&mut rng, 5, false, 10, 100), (5, 15));
        assert_eq!(rng.next_u64(), before);
    }
}
