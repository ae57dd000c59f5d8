//! [`Searcher`]: embeddings with an optional HNSW index, choosing per query between the exact scan
//! and the index.
//!
//! The exact scan reads every row; the index reads a few hundred. For small vocabularies the scan
//! is cheaper than the index's bookkeeping (and exact), so [`Mode::Auto`] scans when a query would
//! touch fewer than [`EXACT_BELOW`] floats and uses the index otherwise.

use crate::embeddings::Embeddings;
use crate::error::{Error, Result};
use crate::index::HnswIndex;
use crate::query::{Neighbor, Term};

/// Below this many floats to read (rows x dims), [`Mode::Auto`] scans exactly: about 1M floats,
/// a 10,000 x 100 vocabulary, scanned in well under a millisecond.
pub const EXACT_BELOW: usize = 1 << 20;

/// An `ef` is refused above [`crate::limits::MAX_EF`] whichever path answers, so that a query's
/// validity does not depend on the size of the vocabulary.
fn check_ef(ef: Option<usize>) -> Result<()> {
    if let Some(ef) = ef {
        crate::limits::at_most("ef", ef, crate::limits::MAX_EF)?;
    }
    Ok(())
}

/// How to answer a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// The index when there is one and the vocabulary is large, else the exact scan.
    #[default]
    Auto,
    /// Always the exact scan.
    Exact,
    /// Always the index (an error without one).
    Index,
}

/// Embeddings and, optionally, an index built from them.
pub struct Searcher {
    /// The vectors.
    pub embeddings: Embeddings,
    /// The index, if loaded.
    pub index: Option<HnswIndex>,
}

impl Searcher {
    /// Exact search only.
    pub fn exact(embeddings: Embeddings) -> Self {
        Searcher {
            embeddings,
            index: None,
        }
    }

    fn use_index(&self, mode: Mode, restrict_vocab: Option<usize>) -> Result<Option<&HnswIndex>> {
        match (mode, &self.index) {
            (Mode::Exact, _) => Ok(None),
            (Mode::Index, Some(i)) => Ok(Some(i)),
            (Mode::Index, None) => Err(Error::invalid(
                "no index is loaded for these vectors; build one with `wordvec index build`",
            )),
            (Mode::Auto, None) => Ok(None),
            (Mode::Auto, Some(i)) => {
                let rows =
                    restrict_vocab.map_or(self.embeddings.len(), |r| r.min(self.embeddings.len()));
                // The index cannot serve rows it does not hold.
                let covered = rows <= i.info().indexed;
                Ok(
                    (covered && rows.saturating_mul(self.embeddings.dims()) >= EXACT_BELOW)
                        .then_some(i),
                )
            }
        }
    }

    /// Whether a query in `mode` would go through the index.
    pub fn uses_index(&self, mode: Mode, restrict_vocab: Option<usize>) -> bool {
        matches!(self.use_index(mode, restrict_vocab), Ok(Some(_)))
    }

    /// 3CosAdd / nearest neighbours (see [`Embeddings::most_similar`]).
    pub fn most_similar(
        &self,
        positive: &[Term],
        negative: &[Term],
        topn: usize,
        restrict_vocab: Option<usize>,
        mode: Mode,
        ef: Option<usize>,
    ) -> Result<Vec<Neighbor>> {
        check_ef(ef)?;
        match self.use_index(mode, restrict_vocab)? {
            Some(i) => i.most_similar(
                &self.embeddings,
                positive,
                negative,
                topn,
                restrict_vocab,
                ef,
            ),
            None => self
                .embeddings
                .most_similar(positive, negative, topn, restrict_vocab),
        }
    }

    /// 3CosMul (see [`Embeddings::most_similar_cosmul`]).
    pub fn most_similar_cosmul(
        &self,
        positive: &[Term],
        negative: &[Term],
        topn: usize,
        restrict_vocab: Option<usize>,
        mode: Mode,
        ef: Option<usize>,
    ) -> Result<Vec<Neighbor>> {
        check_ef(ef)?;
        match self.use_index(mode, restrict_vocab)? {
            Some(i) => i.most_similar_cosmul(
                &self.embeddings,
                positive,
                negative,
                topn,
                restrict_vocab,
                ef,
            ),
            None => self
                .embeddings
                .most_similar_cosmul(positive, negative, topn, restrict_vocab),
        }
    }

    /// Nearest words to a raw vector.
    pub fn most_similar_to_vector(
        &self,
        vector: &[f32],
        topn: usize,
        restrict_vocab: Option<usize>,
        mode: Mode,
        ef: Option<usize>,
    ) -> Result<Vec<Neighbor>> {
        self.most_similar(&[Term::Vector(vector)], &[], topn, restrict_vocab, mode, ef)
    }
}
