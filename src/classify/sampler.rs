//! The order in which an epoch visits the training texts: a seeded shuffle, or weighted
//! sampling with replacement that balances the classes.
//!
//! Balancing follows PyTorch's `WeightedRandomSampler` with weights inversely proportional to
//! class counts, with one cap: no class gets a larger share of the draws than [`MAX_OVERSAMPLE`]
//! times its share of the data, so a class of a handful of texts is not repeated hundreds of
//! times per epoch (memorised) while it takes over the batches. Classes that hit the cap give
//! the rest of their share to the others.

use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// The most a class's share of the draws may exceed its share of the data.
pub(crate) const MAX_OVERSAMPLE: f64 = 10.0;

/// One epoch's visiting order over `rows` (indices into the data set).
pub(crate) fn shuffled(rows: &[usize], rng: &mut ChaCha8Rng) -> Vec<usize> {
    let mut order = rows.to_vec();
    order.shuffle(rng);
    order
}

/// Per-row sampling weights that balance the classes (`class[i]` is row `rows[i]`'s class,
/// `0..classes`), normalised to sum to 1.
pub(crate) fn balancing_weights(class: &[usize], classes: usize) -> Vec<f64> {
    let n = class.len() as f64;
    let mut count = vec![0usize; classes];
    for &c in class {
        count[c] += 1;
    }
    let present = count.iter().filter(|&&c| c > 0).count().max(1) as f64;
    // Equal shares, capped at MAX_OVERSAMPLE x the data share; the capped mass is spread over
    // the uncapped classes by renormalising.
    let cap = |c: usize| MAX_OVERSAMPLE * count[c] as f64 / n;
    let mut share: Vec<f64> = (0..classes)
        .map(|c| {
            if count[c] == 0 {
                0.0
            } else {
                (1.0 / present).min(cap(c))
            }
        })
        .collect();
    let total: f64 = share.iter().sum();
    share.iter_mut().for_each(|s| *s /= total);
    class.iter().map(|&c| share[c] / count[c] as f64).collect()
}

/// Draws `rows.len()` rows with replacement, row `rows[i]` with probability `weights[i]`.
pub(crate) fn weighted(rows: &[usize], weights: &[f64], rng: &mut ChaCha8Rng) -> Vec<usize> {
    let mut cumulative = Vec::with_capacity(weights.len());
    let mut acc = 0.0;
    for &w in weights {
        acc += w;
        cumulative.push(acc);
    }
    (0..rows.len())
        .map(|_| {
            let u = rng.random::<f64>() * acc;
            let i = cumulative.partition_point(|&c| c <= u).min(rows.len() - 1);
            rows[i]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn shares(order: &[usize], class_of: impl Fn(usize) -> usize, classes: usize) -> Vec<f64> {
        let mut c = vec![0.0; classes];
        for &r in order {
            c[class_of(r)] += 1.0;
        }
        c.iter().map(|x| x / order.len() as f64).collect()
    }

    #[test]
    fn balancing_evens_out_a_90_10_split() {
        let rows: Vec<usize> = (0..10_000).collect();
        let class_of = |r: usize| usize::from(r.is_multiple_of(10));
        let class: Vec<usize> = rows.iter().map(|&r| class_of(r)).collect();
        let w = balancing_weights(&class, 2);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let order = weighted(&rows, &w, &mut rng);
        let s = shares(&order, class_of, 2);
        assert!((s[1] - 0.5).abs() < 0.02, "{s:?}");
        // Every batch of 256 is close to balanced too.
        for batch in order.chunks(256).filter(|b| b.len() == 256) {
            let s = shares(batch, class_of, 2);
            assert!((s[1] - 0.5).abs() < 0.15, "{s:?}");
        }
        // Plain shuffling keeps the data's proportions.
        let s = shares(&shuffled(&rows, &mut rng), class_of, 2);
        assert!((s[1] - 0.1).abs() < 1e-9);
    }

    #[test]
    fn a_tiny_class_is_capped() {
        // 20 texts against 1000: equal shares would draw each of the 20 about 25 times per
        // epoch; the cap holds the class to 10x its data share (before renormalising).
        let class: Vec<usize> = (0..1020).map(|i| usize::from(i < 20)).collect();
        let w = balancing_weights(&class, 2);
        let minority: f64 = w
            .iter()
            .zip(&class)
            .filter(|(_, &c)| c == 1)
            .map(|(w, _)| w)
            .sum();
        let expected = (10.0 * 20.0 / 1020.0) / (0.5 + 10.0 * 20.0 / 1020.0);
        assert!((minority - expected).abs() < 1e-9, "{minority}");
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    }
}
