//! Parallel top-k selection over rows.
//!
//! Each rayon task keeps a bounded min-heap of the best `k` scores it has seen, so memory is
//! `O(k)` per task whatever the vocabulary size; heaps are merged at the end. Ties are broken by
//! the lower row (the more frequent word), so results are deterministic. A NaN score means a row
//! holds a non-finite value (a corrupt file: the readers refuse such values where they can, but a
//! memory-mapped file is not read whole at open); it is never returned, and [`top_k`] reports the
//! first such row instead of an answer that silently lacks it.

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
pub(crate) struct TopK {
    k: usize,
    /// The lowest row offered with a NaN score.
    nan_row: Option<usize>,
    // Min-heap on "better": the root is the worst kept entry.
    heap: BinaryHeap<std::cmp::Reverse<Scored>>,
}

impl TopK {
    /// An empty selection of at most `k` entries.
    pub(crate) fn new(k: usize) -> Self {
        TopK {
            k,
            nan_row: None,
            heap: BinaryHeap::with_capacity(k.saturating_add(1).min(1 << 20)),
        }
    }

    /// Offers an entry; NaN scores are ignored.
    #[inline]
    pub(crate) fn push(&mut self, s: Scored) {
        if s.score.is_nan() {
            self.nan_row = Some(self.nan_row.map_or(s.index, |r| r.min(s.index)));
            return;
        }
        if self.k == 0 {
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
    pub(crate) fn merge(mut self, other: TopK) -> TopK {
        if let Some(r) = other.nan_row {
            self.nan_row = Some(self.nan_row.map_or(r, |m| m.min(r)));
        }
        for s in other.heap {
            self.push(s.0);
        }
        self
    }

    /// The worst kept score once `k` entries are kept (the bar a new entry must pass).
    #[inline]
    pub(crate) fn bar(&self) -> Option<f32> {
        (self.heap.len() >= self.k && self.k > 0)
            .then(|| self.heap.peek().map(|w| w.0.score))
            .flatten()
    }

    /// The lowest row offered with a NaN score, if any.
    pub(crate) fn nan_row(&self) -> Option<usize> {
        self.nan_row
    }

    /// The kept entries, best first.
    pub(crate) fn into_sorted(self) -> Vec<Scored> {
        let mut v: Vec<Scored> = self.heap.into_iter().map(|r| r.0).collect();
        v.sort_by(|a, b| b.cmp(a));
        v
    }
}

/// Why a scan gave no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanError {
    /// This row's score came out NaN: its vector holds a non-finite value (the lowest such row).
    NanRow(usize),
    /// The current [`crate::cancel::Cancel`] was raised during the scan.
    Cancelled,
}

/// The `k` best rows of `0..rows` under `score`, best first, skipping the rows in `exclude`;
/// scored on all cores (fewer than 16,384 rows on the calling thread). A row scored NaN fails
/// the scan (`ScanError::NanRow`, the lowest such row); so does a raised
/// [`crate::cancel::Cancel`] (`ScanError::Cancelled`).
pub fn top_k(
    rows: usize,
    k: usize,
    exclude: &[usize],
    score: impl Fn(usize) -> f32 + Sync,
) -> Result<Vec<Scored>, ScanError> {
    top_k_where(rows, k, |i| !exclude.contains(&i), score)
}

/// [`top_k`] over the rows of `0..rows` that `keep` accepts.
///
/// The rows are cut into blocks of [`CANCEL_EVERY`]; each block is one tight loop that scores a
/// row and, only when the score can enter the top k (at least the running bar, or NaN), asks
/// `keep` and offers it: a scan of millions of rows runs the selection's comparisons on a few
/// hundred of them. Scans of fewer than [`SEQUENTIAL_BELOW`] rows run on the calling thread:
/// the fork and join of a parallel scan cost more than they save there (a one-query scan of
/// a 100,000-word vocabulary is well under a millisecond of work per core).
pub(crate) fn top_k_where(
    rows: usize,
    k: usize,
    keep: impl Fn(usize) -> bool + Sync,
    score: impl Fn(usize) -> f32 + Sync,
) -> Result<Vec<Scored>, ScanError> {
    if k == 0 || rows == 0 {
        return Ok(Vec::new());
    }
    let cancel = crate::cancel::current();
    let stopped = || cancel.as_ref().is_some_and(|c| c.is_cancelled());
    let block = |top: TopK, b: usize| -> Result<TopK, ScanError> {
        if stopped() {
            return Err(ScanError::Cancelled);
        }
        let first = b * CANCEL_EVERY;
        Ok(scan_block(
            top,
            first..(first + CANCEL_EVERY).min(rows),
            &keep,
            &score,
        ))
    };
    let blocks = rows.div_ceil(CANCEL_EVERY);
    let top = if rows < SEQUENTIAL_BELOW {
        (0..blocks).try_fold(TopK::new(k), block)?
    } else {
        (0..blocks)
            .into_par_iter()
            .try_fold(|| TopK::new(k), block)
            .try_reduce(|| TopK::new(k), |a, b| Ok(a.merge(b)))?
    };
    finish(top, stopped())
}

/// Offers the rows of `range` that `keep` accepts to `top`, scoring every row but asking `keep`
/// only of those whose score reaches the bar (or is NaN, which `top` records).
#[inline]
fn scan_block(
    mut top: TopK,
    range: std::ops::Range<usize>,
    keep: &impl Fn(usize) -> bool,
    score: &impl Fn(usize) -> f32,
) -> TopK {
    let mut bar = top.bar().unwrap_or(f32::NEG_INFINITY);
    for i in range {
        let s = score(i);
        // At the bar (a tie the lower row may win) or NaN.
        if (s >= bar || s.is_nan()) && keep(i) {
            top.push(Scored { index: i, score: s });
            bar = top.bar().unwrap_or(f32::NEG_INFINITY);
        }
    }
    top
}

/// The answer of a scan that kept `top`: an error if it was `cancelled` or saw a NaN score.
fn finish(top: TopK, cancelled: bool) -> Result<Vec<Scored>, ScanError> {
    if cancelled {
        return Err(ScanError::Cancelled);
    }
    match top.nan_row() {
        Some(r) => Err(ScanError::NanRow(r)),
        None => Ok(top.into_sorted()),
    }
}

/// Below this many rows, [`top_k_where`] scans on the calling thread.
pub(crate) const SEQUENTIAL_BELOW: usize = 1 << 14;

/// [`top_k`] over the listed rows that `keep` accepts (a short allow-list: only its rows are
/// visited).
pub(crate) fn top_k_of(
    ids: &[u32],
    k: usize,
    keep: impl Fn(usize) -> bool + Sync,
    score: impl Fn(usize) -> f32 + Sync,
) -> Result<Vec<Scored>, ScanError> {
    scan(k, ids.par_iter().map(|&i| i as usize), keep, score)
}

fn scan(
    k: usize,
    rows: impl IndexedParallelIterator<Item = usize>,
    keep: impl Fn(usize) -> bool + Sync,
    score: impl Fn(usize) -> f32 + Sync,
) -> Result<Vec<Scored>, ScanError> {
    if k == 0 || rows.len() == 0 {
        return Ok(Vec::new());
    }
    let cancel = crate::cancel::current();
    let stopped = || cancel.as_ref().is_some_and(|c| c.is_cancelled());
    let top = rows
        .with_min_len(2048)
        .try_fold(
            || TopK::new(k),
            |mut top, i| {
                if i % CANCEL_EVERY == 0 && stopped() {
                    return Err(ScanError::Cancelled);
                }
                if keep(i) {
                    top.push(Scored {
                        index: i,
                        score: score(i),
                    });
                }
                Ok(top)
            },
        )
        .try_reduce(|| TopK::new(k), |a, b| Ok(a.merge(b)))?;
    finish(top, stopped())
}

/// How many rows a scan scores between two looks at its cancellation flag.
pub(crate) const CANCEL_EVERY: usize = 4096;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_full_sort() {
        let scores: Vec<f32> = (0..10_000)
            .map(|i| ((i * 7919) % 1000) as f32 / 7.0)
            .collect();
        let got = top_k(scores.len(), 25, &[], |i| scores[i]).unwrap();
        let mut all: Vec<Scored> = scores
            .iter()
            .enumerate()
            .map(|(index, &score)| Scored { index, score })
            .collect();
        all.sort_by(|a, b| b.cmp(a));
        assert_eq!(got, all[..25].to_vec());
    }

    /// Both paths (on the calling thread below `SEQUENTIAL_BELOW` rows, in parallel blocks
    /// above), with many ties at the bar and rows `keep` refuses: the full sort's answer.
    #[test]
    fn blocks_skip_rows_below_the_bar_and_keep_ties_and_nan() {
        for rows in [5_000, SEQUENTIAL_BELOW + 1, 100_000] {
            let scores: Vec<f32> = (0..rows).map(|i| ((i * 7919) % 613) as f32).collect();
            let keep = |i: usize| i % 7 != 3;
            for k in [1, 10, 1000] {
                let got = top_k_where(rows, k, keep, |i| scores[i]).unwrap();
                let mut all: Vec<Scored> = (0..rows)
                    .filter(|&i| keep(i))
                    .map(|index| Scored {
                        index,
                        score: scores[index],
                    })
                    .collect();
                all.sort_by(|a, b| b.cmp(a));
                assert_eq!(got, all[..k].to_vec(), "{rows} rows, k {k}");
            }
            // A NaN far below the bar's rows is still reported, unless `keep` refuses its row.
            let nan_at = rows - 2;
            let score = |i: usize| if i == nan_at { f32::NAN } else { scores[i] };
            assert_eq!(
                top_k_where(rows, 3, |_| true, score),
                Err(ScanError::NanRow(nan_at))
            );
            assert!(top_k_where(rows, 3, |i| i != nan_at, score).is_ok());
        }
    }

    #[test]
    fn exclusion_nan_ties_and_large_k() {
        let scores = [1.0, f32::NAN, 3.0, 3.0, 2.0, f32::NAN];
        let got = top_k(4, 100, &[1], |i| scores[i]).unwrap();
        let idx: Vec<usize> = got.iter().map(|s| s.index).collect();
        assert_eq!(
            idx,
            vec![2, 3, 0],
            "ties go to the lower row, excluded rows are dropped"
        );
        // A NaN score is a corrupt row: the scan names the first one instead of answering.
        assert_eq!(top_k(6, 100, &[], |i| scores[i]), Err(ScanError::NanRow(1)));
        assert_eq!(top_k(6, 1, &[1], |i| scores[i]), Err(ScanError::NanRow(5)));
        assert!(top_k(5, 0, &[], |i| scores[i]).unwrap().is_empty());
        assert!(top_k(0, 5, &[], |i| scores[i]).unwrap().is_empty());
        let c = crate::cancel::Cancel::new();
        c.cancel();
        assert_eq!(
            c.scope(|| top_k(100_000, 5, &[], |i| i as f32)),
            Err(ScanError::Cancelled)
        );
    }
}
