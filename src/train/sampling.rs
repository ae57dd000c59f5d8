//! The random parts of word2vec training: the generator, subsampling of frequent words,
//! negative sampling, the sigmoid table and the learning-rate schedule.

/// The word2vec C tool's linear congruential generator (`next = next * 25214903917 + 11`):
/// fast, and enough for window sizes, subsampling coins and negative draws.
#[derive(Debug, Clone)]
pub(crate) struct Lcg(u64);

/// The multiplier and increment of [`Lcg`].
const MUL: u64 = 25_214_903_917;
const INC: u64 = 11;

impl Lcg {
    /// A generator whose stream depends on `seed` and `stream` (thread, epoch).
    pub(crate) fn new(seed: u64, stream: u64) -> Self {
        // SplitMix64 of the pair, so nearby seeds give unrelated streams.
        let mut z = seed ^ stream.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Lcg(z ^ (z >> 31))
    }

    /// The next raw value.
    #[inline(always)]
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(MUL).wrapping_add(INC);
        self.0
    }

    /// Moves the stream `k` values on, as `k` calls of [`Lcg::next_u64`] would, in `O(log k)`
    /// steps: one step is the affine map `x -> MUL x + INC` (mod 2^64), and `k` steps are its
    /// `k`-th power, composed from its squarings (Brown, "Random number generation with
    /// arbitrary strides", 1994). Threads that each fill a part of a matrix so draw the numbers
    /// one thread would have drawn for it.
    pub(crate) fn skip(&mut self, mut k: u64) {
        // (mul, add) of the map applied so far, and of the current power of two of steps.
        let (mut acc_mul, mut acc_add) = (1u64, 0u64);
        let (mut mul, mut add) = (MUL, INC);
        while k > 0 {
            if k & 1 == 1 {
                acc_mul = acc_mul.wrapping_mul(mul);
                acc_add = acc_add.wrapping_mul(mul).wrapping_add(add);
            }
            // The map composed with itself: x -> mul^2 x + (mul + 1) add.
            add = mul.wrapping_add(1).wrapping_mul(add);
            mul = mul.wrapping_mul(mul);
            k >>= 1;
        }
        self.0 = acc_mul.wrapping_mul(self.0).wrapping_add(acc_add);
    }

    /// A value in `0..n` from the well-mixed high bits.
    #[inline(always)]
    pub(crate) fn below(&mut self, n: usize) -> usize {
        ((((self.next_u64() >> 16) & 0xffff_ffff) * n as u64) >> 32) as usize
    }

    /// A uniform value in `[0, 1)` with 16 bits of resolution, as the C tool's subsampling coin.
    #[inline(always)]
    pub(crate) fn coin(&mut self) -> f32 {
        ((self.next_u64() >> 16) & 0xffff) as f32 / 65536.0
    }
}

/// The probability of keeping each occurrence of a word seen `count` times among `total` words
/// (word2vec's formula, `sample` = s): `(sqrt(f / (s T)) + 1) * (s T) / f`, capped at 1; 1 for
/// `sample == 0`.
pub(crate) fn keep_probability(count: u64, total: u64, sample: f64) -> f32 {
    if sample <= 0.0 || count == 0 {
        return 1.0;
    }
    let threshold = sample * total as f64;
    let f = count as f64;
    (((f / threshold).sqrt() + 1.0) * threshold / f).min(1.0) as f32
}

/// Walker's alias method: draws word `i` with probability proportional to `weights[i]` in
/// O(1). Negatives are drawn from `count^0.75`.
#[derive(Debug, Clone)]
pub(crate) struct AliasTable {
    prob: Vec<u32>,
    alias: Vec<u32>,
}

impl AliasTable {
    /// Builds the table (Vose's algorithm). `weights` must be non-empty with a positive sum.
    pub(crate) fn new(weights: &[f64]) -> Self {
        let n = weights.len();
        let sum: f64 = weights.iter().sum();
        let mut scaled: Vec<f64> = weights.iter().map(|w| w * n as f64 / sum).collect();
        let mut prob = vec![u32::MAX; n];
        let mut alias: Vec<u32> = (0..n as u32).collect();
        let (mut small, mut large): (Vec<usize>, Vec<usize>) =
            (0..n).partition(|&i| scaled[i] < 1.0);
        while let (Some(s), Some(&l)) = (small.pop(), large.last()) {
            prob[s] = (scaled[s] * 4_294_967_296.0).min(u32::MAX as f64) as u32;
            alias[s] = l as u32;
            scaled[l] -= 1.0 - scaled[s];
            if scaled[l] < 1.0 {
                large.pop();
                small.push(l);
            }
        }
        AliasTable { prob, alias }
    }

    /// The acceptance thresholds (`u32` scaled probabilities) and alias indices, for devices.
    #[cfg_attr(not(feature = "cuda"), allow(dead_code))]
    pub(crate) fn parts(&self) -> (&[u32], &[u32]) {
        (&self.prob, &self.alias)
    }

    /// Draws one index.
    #[inline(always)]
    pub(crate) fn sample(&self, rng: &mut Lcg) -> u32 {
        let i = rng.below(self.prob.len());
        let coin = (rng.next_u64() >> 16) as u32;
        if coin < self.prob[i] {
            i as u32
        } else {
            self.alias[i]
        }
    }
}

/// The negative-sampling distribution: `count^power` (0.75 in word2vec).
pub(crate) fn unigram_weights(counts: &[u64], power: f64) -> Vec<f64> {
    counts.iter().map(|&c| (c as f64).powf(power)).collect()
}

/// Sigmoid and log-sigmoid precomputed on `[-MAX_EXP, MAX_EXP]`, as in word2vec.
pub(crate) struct SigmoidTable {
    sigmoid: Vec<f32>,
    log_sigmoid: Vec<f32>,
}

/// Scores beyond +-MAX_EXP are saturated.
pub(crate) const MAX_EXP: f32 = 6.0;
const TABLE_SIZE: usize = 1000;

impl Default for SigmoidTable {
    fn default() -> Self {
        let x = |i: usize| (i as f64 / TABLE_SIZE as f64 * 2.0 - 1.0) * f64::from(MAX_EXP);
        let sigmoid = (0..=TABLE_SIZE)
            .map(|i| (1.0 / (1.0 + (-x(i)).exp())) as f32)
            .collect();
        let log_sigmoid = (0..=TABLE_SIZE)
            .map(|i| (-(1.0 + (-x(i)).exp()).ln()) as f32)
            .collect();
        SigmoidTable {
            sigmoid,
            log_sigmoid,
        }
    }
}

impl SigmoidTable {
    #[inline(always)]
    fn index(f: f32) -> usize {
        ((f + MAX_EXP) * (TABLE_SIZE as f32 / MAX_EXP / 2.0)) as usize
    }

    /// The gradient factor `(label - sigmoid(f))` (saturated outside +-MAX_EXP) and the loss
    /// `-log sigmoid(+-f)` of one (word, target) pair.
    #[inline(always)]
    pub(crate) fn grad_and_loss(&self, f: f32, label: f32) -> (f32, f32) {
        if f > MAX_EXP {
            (label - 1.0, if label > 0.0 { 0.0 } else { f })
        } else if f < -MAX_EXP {
            (label, if label > 0.0 { -f } else { 0.0 })
        } else {
            let i = Self::index(f);
            let s = self.sigmoid[i];
            // log sigmoid(-f) = log sigmoid(f) - f
            let ls = self.log_sigmoid[i];
            (label - s, if label > 0.0 { -ls } else { f - ls })
        }
    }
}

/// The learning rate after `done` of `total` words: linear from `start` to `min` (word2vec's
/// schedule, `start * (1 - done / (total + 1))`, floored at `min`).
pub(crate) fn learning_rate(start: f32, min: f32, done: u64, total: u64) -> f32 {
    let r = start * (1.0 - done as f32 / (total as f32 + 1.0));
    r.max(min)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_probability_formula() {
        // f = 1000, T = 1e6, s = 1e-4 -> sT = 100: (sqrt(10) + 1) * 0.1
        let p = keep_probability(1000, 1_000_000, 1e-4);
        assert!((f64::from(p) - (10f64.sqrt() + 1.0) * 0.1).abs() < 1e-6);
        assert_eq!(
            keep_probability(5, 1_000_000, 1e-4),
            1.0,
            "rare words are always kept"
        );
        assert_eq!(keep_probability(1000, 1_000_000, 0.0), 1.0);
    }

    #[test]
    fn alias_table_follows_the_distribution() {
        // Chi-square goodness of fit with a fixed seed.
        let counts = [1000u64, 300, 50, 10, 1, 2000, 7];
        let w = unigram_weights(&counts, 0.75);
        let sum: f64 = w.iter().sum();
        let table = AliasTable::new(&w);
        let mut rng = Lcg::new(42, 0);
        let n = 500_000;
        let mut seen = vec![0u64; counts.len()];
        for _ in 0..n {
            seen[table.sample(&mut rng) as usize] += 1;
        }
        let chi2: f64 = seen
            .iter()
            .zip(&w)
            .map(|(&o, &wi)| {
                let e = wi / sum * n as f64;
                (o as f64 - e).powi(2) / e
            })
            .sum();
        // 6 degrees of freedom: the 99.9% quantile is 22.46.
        assert!(chi2 < 22.46, "chi-square {chi2} with observed {seen:?}");
    }

    #[test]
    fn learning_rate_decays_linearly_to_the_floor() {
        assert_eq!(learning_rate(0.025, 0.0001, 0, 100), 0.025);
        let mid = learning_rate(0.025, 0.0001, 50, 99);
        assert!((mid - 0.0125).abs() < 1e-6);
        let end = learning_rate(0.025, 0.0001, 100, 100);
        assert!((end - 0.025 / 101.0).abs() < 1e-7, "{end}");
        assert_eq!(learning_rate(0.025, 0.001, 1000, 100), 0.001);
    }

    #[test]
    fn sigmoid_table_matches_the_function() {
        let t = SigmoidTable::default();
        for f in [-5.9f32, -1.0, 0.0, 0.5, 3.0, 5.9] {
            let (g, loss) = t.grad_and_loss(f, 1.0);
            let s = 1.0 / (1.0 + (-f).exp());
            assert!((g - (1.0 - s)).abs() < 0.01, "f={f}");
            assert!((loss + s.ln()).abs() < 0.02, "f={f}");
            let (g0, loss0) = t.grad_and_loss(f, 0.0);
            assert!((g0 + s).abs() < 0.01);
            assert!((loss0 + (1.0 - s).ln()).abs() < 0.02, "f={f}: {loss0}");
        }
        assert_eq!(t.grad_and_loss(7.0, 1.0).0, 0.0);
        assert_eq!(t.grad_and_loss(-7.0, 0.0).0, 0.0);
    }

    #[test]
    fn lcg_skip_lands_where_the_calls_would() {
        for k in [0u64, 1, 2, 3, 7, 64, 1000, 65_537] {
            let (mut stepped, mut skipped) = (Lcg::new(9, 4), Lcg::new(9, 4));
            for _ in 0..k {
                stepped.next_u64();
            }
            skipped.skip(k);
            assert_eq!(skipped.next_u64(), stepped.next_u64(), "k={k}");
        }
        // Skips add up.
        let (mut a, mut b) = (Lcg::new(3, 3), Lcg::new(3, 3));
        a.skip(123_456_789);
        a.skip(987_654_321);
        b.skip(123_456_789 + 987_654_321);
        assert_eq!(a.next_u64(), b.next_u64());
    }

    #[test]
    fn lcg_below_is_in_range_and_covers_it() {
        let mut r = Lcg::new(1, 2);
        let mut seen = [false; 5];
        for _ in 0..1000 {
            let v = r.below(5);
            seen[v] = true;
        }
        assert!(seen.iter().all(|&s| s));
    }
}
