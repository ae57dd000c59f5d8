//! Filters on the rows a query may return: an allow-list (only these words) and a deny-list
//! (never these words), besides `restrict_vocab` (only the N most frequent words).
//!
//! Both are kept as bitsets over the rows (n / 8 bytes: 375 KB for 3 million words), so a test
//! costs one load whatever the list's length, in the exact scan and in the graph search alike;
//! the allow-list also keeps its sorted rows, so that a scan of a short allow-list visits those
//! rows only.
//!
//! Unknown words in a list are left out (a word list from elsewhere rarely matches a vocabulary
//! exactly), but an allow-list given empty, or with no known word, is an error: it would admit
//! nothing, and a silent empty answer hides the mistake.

use std::sync::Arc;

use crate::embeddings::Embeddings;
use crate::error::{Error, Result};

#[derive(Debug, Clone)]
struct RowSet {
    bits: Vec<u64>,
    rows: Vec<u32>,
}

impl RowSet {
    fn new(n: usize, mut rows: Vec<u32>) -> RowSet {
        rows.sort_unstable();
        rows.dedup();
        let mut bits = vec![0u64; n.div_ceil(64)];
        for &r in &rows {
            bits[r as usize / 64] |= 1 << (r % 64);
        }
        RowSet { bits, rows }
    }

    #[inline]
    fn contains(&self, row: usize) -> bool {
        self.bits
            .get(row / 64)
            .is_some_and(|w| w & (1 << (row % 64)) != 0)
    }
}

/// Which rows a query may return (see the module documentation). The default admits every row.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    allow: Option<Arc<RowSet>>,
    deny: Option<Arc<RowSet>>,
}

impl Filter {
    /// A filter from word lists: `allow` (when given) the only words that may be returned,
    /// `deny` words that may not.
    pub fn from_words<A: AsRef<str>, D: AsRef<str>>(
        emb: &Embeddings,
        allow: Option<&[A]>,
        deny: &[D],
    ) -> Result<Filter> {
        // A request's lists may hold many words: cancellation is checked as they are looked up.
        let rows = |words: &mut dyn Iterator<Item = &str>| -> Result<Vec<u32>> {
            let mut out = Vec::new();
            for (k, w) in words.enumerate() {
                if k % 1024 == 1023 {
                    crate::cancel::check()?;
                }
                out.extend(emb.index(w).map(|i| i as u32));
            }
            Ok(out)
        };
        let allow = match allow {
            None => None,
            Some([]) => {
                return Err(Error::invalid(
                    "the allow-list is empty: it would admit no word",
                ))
            }
            Some(words) => {
                let known = rows(&mut words.iter().map(|w| w.as_ref()))?;
                if known.is_empty() {
                    return Err(Error::invalid(format!(
                        "none of the {} words of the allow-list is in the vocabulary",
                        words.len()
                    )));
                }
                Some(Arc::new(RowSet::new(emb.len(), known)))
            }
        };
        let denied = rows(&mut deny.iter().map(|w| w.as_ref()))?;
        let deny = (!denied.is_empty()).then(|| Arc::new(RowSet::new(emb.len(), denied)));
        Ok(Filter { allow, deny })
    }

    /// True when the filter admits every row.
    pub fn is_none(&self) -> bool {
        self.allow.is_none() && self.deny.is_none()
    }

    /// Whether `row` may be returned.
    #[inline]
    pub fn admits(&self, row: usize) -> bool {
        self.allow.as_ref().is_none_or(|a| a.contains(row))
            && !self.deny.as_ref().is_some_and(|d| d.contains(row))
    }

    /// The allowed rows, sorted, when there is an allow-list.
    pub fn allowed_rows(&self) -> Option<&[u32]> {
        self.allow.as_deref().map(|a| a.rows.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_become_rows() {
        let e = Embeddings::from_vectors(&["a", "b", "c", "d"], vec![1.0; 8], 2).unwrap();
        let f = Filter::from_words(&e, Some(&["c", "a", "zz", "a"]), &["a"]).unwrap();
        assert_eq!(f.allowed_rows(), Some(&[0u32, 2][..]));
        assert!(!f.admits(0) && !f.admits(1) && f.admits(2) && !f.admits(3));
        assert!(!f.admits(99));
        let none: Filter = Filter::from_words::<&str, &str>(&e, None, &[]).unwrap();
        assert!(none.is_none() && none.admits(3));
        let empty: &[&str] = &[];
        assert!(Filter::from_words::<&str, &str>(&e, Some(empty), &[])
            .unwrap_err()
            .to_string()
            .contains("empty"));
        assert!(Filter::from_words::<&str, &str>(&e, Some(&["x", "y"]), &[])
            .unwrap_err()
            .to_string()
            .contains("none of the 2 words"));
    }

    #[test]
    fn long_lists_stop_on_a_cancel() {
        let e = Embeddings::from_vectors(&["a", "b"], vec![1.0; 4], 2).unwrap();
        let words: Vec<String> = (0..5000).map(|i| format!("w{i}")).collect();
        let cancel = crate::cancel::Cancel::new();
        cancel.cancel();
        let r = cancel.scope(|| Filter::from_words::<&str, String>(&e, None, &words));
        assert!(matches!(r, Err(Error::Cancelled(_))), "{r:?}");
        let r = cancel.scope(|| Filter::from_words::<String, &str>(&e, Some(&words), &[]));
        assert!(matches!(r, Err(Error::Cancelled(_))), "{r:?}");
        assert!(Filter::from_words::<&str, String>(&e, None, &words).is_ok());
    }
}
