//! The training vocabulary: words kept by `min_count` / `max_vocab`, most frequent first.

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
        let seen = counts.len();
        let mut kept: Vec<(Box<str>, u64)> = counts
            .into_iter()
            .filter(|(_, c)| *c >= min_count)
            .collect();
        if kept.is_empty() {
            return Err(Error::invalid(if seen == 0 {
                "the corpus holds no words".to_owned()
            } else {
                format!("no word of the corpus occurs at least {min_count} times (min-count); {seen} distinct words were seen")
            }));
        }
        kept.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        if let Some(m) = max_vocab {
            kept.truncate(m.max(1));
        }
        Self::from_sorted(kept.into_iter().map(|(w, c)| (w.into_string(), c)))
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
