//! The training vocabulary: words kept by `min_count` / `max_vocab`, most frequent first.
//!
//! An online update ([`TrainVocab::extended`], gensim's `build_vocab(update=True)`) keeps every
//! known word at its id, so its rows go on training; it adds the new corpus's counts to the
//! known words' counts (all of them, whatever `min_count` says, as gensim), and appends the new
//! words that pass the rule after them, most frequent first (gensim appends them in the order
//! they were first seen; wordvec sorts each generation, so the order stays frequency-sorted
//! within it and does not depend on a hash map's iteration order).

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

/// Words in descending count order (ties broken by the word, so the order is reproducible),
/// their counts, and the map from word to id.
#[derive(Debug, Clone)]
pub struct TrainVocab {
    words: Vec<String>,
    counts: Vec<u64>,
    index: hashbrown::HashMap<Box<str>, u32>,
}

impl TrainVocab {
    /// Keeps words seen at least `min_count` times, the `max_vocab` most frequent of them if
    /// given.
    pub fn from_counts(
        counts: hashbrown::HashMap<Box<str>, u64>,
        min_count: u64,
        max_vocab: Option<usize>,
    ) -> Result<Self> {
        Self::keeping(
            counts,
            |_, c| c >= min_count,
            max_vocab,
            |seen| {
                format!("no word of the corpus occurs at least {min_count} times (min-count); {seen} distinct words were seen")
            },
        )
    }

    /// Keeps the words for which `keep(word, count)` holds (a `min_count`, or gensim's
    /// `trim_rule` over it), the `max_vocab` most frequent of them if given.
    pub fn from_counts_with(
        counts: hashbrown::HashMap<Box<str>, u64>,
        keep: impl FnMut(&str, u64) -> bool,
        max_vocab: Option<usize>,
    ) -> Result<Self> {
        Self::keeping(counts, keep, max_vocab, |seen| {
            format!("no word of the corpus is kept by the rule; {seen} distinct words were seen")
        })
    }

    /// [`from_counts_with`](Self::from_counts_with), with the error for "nothing kept".
    fn keeping(
        counts: hashbrown::HashMap<Box<str>, u64>,
        keep: impl FnMut(&str, u64) -> bool,
        max_vocab: Option<usize>,
        none_kept: impl FnOnce(usize) -> String,
    ) -> Result<Self> {
        let seen = counts.len();
        if seen == 0 {
            return Err(Error::invalid("the corpus holds no words"));
        }
        let kept = sorted_kept(counts, keep, max_vocab.map(|m| m.max(1)));
        if kept.is_empty() {
            return Err(Error::invalid(none_kept(seen)));
        }
        Self::from_sorted(kept.into_iter().map(|(w, c)| (w.into_string(), c)))
    }

    /// The vocabulary after an online update with the counts of a new corpus: known words keep
    /// their ids and add their new counts; new words that pass `keep` follow, most frequent
    /// first, as many as `max_vocab` leaves room for. Also returns how many words were added.
    pub fn extended(
        &self,
        mut counts: hashbrown::HashMap<Box<str>, u64>,
        mut keep: impl FnMut(&str, u64) -> bool,
        max_vocab: Option<usize>,
    ) -> Result<(Self, usize)> {
        let mut entries: Vec<(String, u64)> = Vec::with_capacity(self.len());
        for (word, &count) in self.words.iter().zip(&self.counts) {
            let more = counts.remove(word.as_str()).unwrap_or(0);
            entries.push((word.clone(), count.saturating_add(more)));
        }
        let room = max_vocab.map(|m| m.saturating_sub(self.len()));
        let new = sorted_kept(counts, |w, c| keep(w, c), room);
        let added = new.len();
        entries.extend(new.into_iter().map(|(w, c)| (w.into_string(), c)));
        Ok((Self::from_sorted(entries)?, added))
    }

    /// A vocabulary from words already in order (a checkpoint, say).
    pub fn from_sorted(entries: impl IntoIterator<Item = (String, u64)>) -> Result<Self> {
        let (words, counts): (Vec<String>, Vec<u64>) = entries.into_iter().unzip();
        if words.len() >= u32::MAX as usize {
            return Err(Error::invalid(
                "vocabulary too large (over 4 billion words)",
            ));
        }
        let mut index = hashbrown::HashMap::with_capacity(words.len());
        for (i, w) in words.iter().enumerate() {
            if index.insert(w.as_str().into(), i as u32).is_some() {
                return Err(Error::invalid(format!(
                    "duplicate word {w:?} in vocabulary"
                )));
            }
        }
        Ok(TrainVocab {
            words,
            counts,
            index,
        })
    }

    /// Number of words.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// True when empty (never, for a vocabulary built by [`from_counts`](Self::from_counts)).
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The words, most frequent first.
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// Their counts.
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// The id of `word`.
    #[inline]
    pub fn id(&self, word: &str) -> Option<u32> {
        self.index.get(word).copied()
    }

    /// Total count of the kept words (the words one epoch trains on, before subsampling).
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Writes `word count` lines, as the C tool's `-save-vocab`, atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::io::write_atomically(path, |w| {
            for (word, count) in self.words.iter().zip(&self.counts) {
                writeln!(w, "{word} {count}")?;
            }
            Ok(())
        })
    }
}

/// The entries of `counts` that `keep` accepts, most frequent first (ties by the word, so the
/// order is reproducible), at most `cap` of them.
fn sorted_kept(
    counts: hashbrown::HashMap<Box<str>, u64>,
    mut keep: impl FnMut(&str, u64) -> bool,
    cap: Option<usize>,
) -> Vec<(Box<str>, u64)> {
    let mut kept: Vec<(Box<str>, u64)> = counts.into_iter().filter(|(w, c)| keep(w, *c)).collect();
    kept.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    if let Some(m) = cap {
        kept.truncate(m);
    }
    kept
}

/// gensim's `max_final_vocab`: the smallest count that keeps at most `max_final_vocab` words,
/// or `min_count` if that is higher (gensim's `effective_min_count`).
pub fn effective_min_count(
    counts: &hashbrown::HashMap<Box<str>, u64>,
    min_count: u64,
    max_final_vocab: Option<usize>,
) -> u64 {
    let Some(m) = max_final_vocab else {
        return min_count;
    };
    let mut all: Vec<u64> = counts.values().copied().collect();
    if m >= all.len() {
        return min_count.max(1);
    }
    all.select_nth_unstable_by(m, |a, b| b.cmp(a));
    min_count.max(all[m] + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(pairs: &[(&str, u64)]) -> hashbrown::HashMap<Box<str>, u64> {
        pairs.iter().map(|(w, c)| (Box::from(*w), *c)).collect()
    }

    #[test]
    fn sorted_by_count_then_word_with_min_count_and_max_vocab() {
        let v = TrainVocab::from_counts(
            counts(&[("b", 5), ("a", 5), ("c", 9), ("rare", 1)]),
            2,
            None,
        )
        .unwrap();
        assert_eq!(v.words(), ["c", "a", "b"]);
        assert_eq!(v.counts(), [9, 5, 5]);
        assert_eq!(v.id("a"), Some(1));
        assert_eq!(v.id("rare"), None);
        assert_eq!(v.total(), 19);
        let v =
            TrainVocab::from_counts(counts(&[("b", 5), ("a", 5), ("c", 9)]), 1, Some(2)).unwrap();
        assert_eq!(v.words(), ["c", "a"]);
    }

    #[test]
    fn empty_results_are_errors() {
        let err = TrainVocab::from_counts(counts(&[]), 5, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("the corpus holds no words"), "{err}");
        let err = TrainVocab::from_counts(counts(&[("a", 2)]), 5, None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no word of the corpus occurs at least 5 times"),
            "{err}"
        );
    }

    #[test]
    fn an_update_keeps_known_ids_sums_counts_and_appends_new_words_sorted() {
        let old = TrainVocab::from_counts(counts(&[("a", 9), ("b", 4)]), 1, None).unwrap();
        let new = counts(&[("b", 1), ("z", 3), ("y", 3), ("x", 7), ("rare", 1)]);
        let (v, added) = old.extended(new, |_, c| c >= 2, None).unwrap();
        assert_eq!(added, 3);
        // Known words first at their ids (b's count summed though its new count is below the
        // rule), then the new generation by count, ties by word.
        assert_eq!(v.words(), ["a", "b", "x", "y", "z"]);
        assert_eq!(v.counts(), [9, 5, 7, 3, 3]);
        assert_eq!(v.id("x"), Some(2));
        let (capped, added) = old
            .extended(counts(&[("x", 7), ("y", 3)]), |_, _| true, Some(3))
            .unwrap();
        assert_eq!((capped.words().len(), added), (3, 1));
        assert_eq!(capped.words()[2], "x");
    }

    #[test]
    fn a_rule_and_max_final_vocab_choose_the_words() {
        let c = counts(&[("a", 9), ("b", 4), ("c", 4), ("d", 2), ("e", 1)]);
        // Two words at most: the count of the third most frequent, plus one.
        assert_eq!(effective_min_count(&c, 1, Some(2)), 5);
        assert_eq!(effective_min_count(&c, 3, None), 3);
        assert_eq!(effective_min_count(&c, 1, Some(9)), 1);
        let v = TrainVocab::from_counts_with(c, |w, n| w != "a" && n >= 2, None).unwrap();
        assert_eq!(v.words(), ["b", "c", "d"]);
        let err = TrainVocab::from_counts_with(counts(&[("a", 1)]), |_, _| false, None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no word of the corpus is kept by the rule"),
            "{err}"
        );
    }

    #[test]
    fn save_in_the_c_tools_format() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("vocab.txt");
        TrainVocab::from_counts(counts(&[("x", 3), ("y", 7)]), 1, None)
            .unwrap()
            .save(&p)
            .unwrap();
        assert_eq!(std::fs::read_to_string(p).unwrap(), "y 7\nx 3\n");
    }
}
