//! Parallel top-k selection over rows.
//!
//! Each rayon task keeps a bounded min-heap of the best `k` scores it has seen, so memory is
//! `O(k)` per task whatever the vocabulary size; heaps are merged at the end. Ties are broken by
//! the lower row (the more frequent word), so results are deterministic. Rows whose score is NaN
//! are never returned.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use rayon::prelude::*;

/// A row and its score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    /// Row number.
    pub index: usize,
    /// Score (higher is better).
    pub score: f32,
}

impl Eq for Scored {}

impl Ord for Scored {
    /// Better first: higher score, then lower row.
    fn cmp(&self, other: &Self) -> Ordering {
        self.score
            .total_cmp(&other.score)
            .then_with(|| other.index.cmp(&self.index))
    }
}

impl PartialOrd for Scored {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Keeps the `k` best [`Scored`] entries pushed into it.
#[derive(Debug, Clone)]
pub struct TopK {
    k: usize,
    // Min-heap on "better": the root is the worst kept entry.
    heap: BinaryHeap<std::cmp::Reverse<Scored>>,
}

impl TopK {
    /// An empty selection of at most `k` entries.
    pub fn new(k: usize) -> Self {
        TopK {
            k,
            heap: BinaryHeap::with_capacity(k.saturating_add(1).min(1 << 20)),
        }
    }

    /// Offers an entry; NaN scores are ignored.
    #[inline]
    pub fn push(&mut self, s: Scored) {
        if self.k == 0 || s.score.is_nan() {
            return;
        }
        if self.heap.len() < self.k {
            self.heap.push(std::cmp::Reverse(s));
        } else if let Some(mut worst) = self.heap.peek_mut() {
            if s > worst.0 {
                *worst = std::cmp::Reverse(s);
            }
        }
    }

    /// Adds every entry of `other`.
    pub fn merge(mut self, other: TopK) -> TopK {
        for s in other.heap {
            self.push(s.0);
        }
        self
    }

    /// The kept entries, best first.
    pub fn into_sorted(self) -> Vec<Scored> {
        let mut v: Vec<Scored> = self.heap.into_iter().map(|r| r.0).collect();
        v.sort_by(|a, b| b.cmp(a));
        v
    }
}

/// The `k` best rows of `0..rows` under `score`, best first, skipping the rows in `exclude`;
/// scored on all cores.
pub fn top_k(
    rows: usize,
    k: usize,
    exclude: &[usize],
    score: impl Fn(usize) -> f32 + Sync,
) -> Vec<Scored> {
    if k == 0 || rows == 0 {
        return Vec::new();
    }
    (0..rows)
        .into_par_iter()
        .with_min_len(2048)
        .fold(
            || TopK::new(k),
            |mut top, i| {
                if !exclude.contains(&i) {
                    top.push(Scored {
                        index: i,
                        score: score(i),
                    });
                }
                top
            },
        )
        .reduce(|| TopK::new(k), TopK::merge)
        .into_sorted()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_full_sort() {
        let scores: Vec<f32> = (0..10_000)
            .map(|i| ((i * 7919) % 1000) as f32 / 7.0)
            .collect();
        let got = top_k(scores.len(), 25, &[], |i| scores[i]);
        let mut all: Vec<Scored> = scores
            .iter()
            .enumerate()
            .map(|(index, &score)| Scored { index, score })
            .collect();
        all.sort_by(|a, b| b.cmp(a));
        assert_eq!(got, all[..25].to_vec());
    }

    #[test]
    fn exclusion_nan_ties_and_large_k() {
        let scores = [1.0, f32::NAN, 3.0, 3.0, 2.0];
        let got = top_k(scores.len(), 100, &[4], |i| scores[i]);
        let idx: Vec<usize> = got.iter().map(|s| s.index).collect();
        assert_eq!(
            idx,
            vec![2, 3, 0],
            "ties go to the lower row, NaN and excluded rows are dropped"
        );
        assert!(top_k(5, 0, &[], |i| scores[i]).is_empty());
        assert!(top_k(0, 5, &[], |i| scores[i]).is_empty());
    }
}
