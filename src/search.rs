//! [`Searcher`]: embeddings with an optional HNSW index, choosing per query between the exact
//! scan and the index. [`Query`], the one value every layer takes (library, index, server, CLI),
//! is defined in [`crate::query`] (which the index uses without this dispatch) and re-exported
//! here.
//!
//! The exact scan reads every row; the index reads a few hundred. For small vocabularies the scan
//! is cheaper than the index's bookkeeping (and exact), so [`Mode::Auto`] scans when a query would
//! touch fewer than [`EXACT_BELOW`] floats and uses the index otherwise. An allow-list short
//! enough for that bound is scanned exactly too: a graph search admitting few rows would wander
//! the whole graph to find them.

use crate::embeddings::Embeddings;
use crate::error::{Error, Result};
pub use crate::filter::Filter;
#[cfg(feature = "index")]
use crate::index::HnswIndex;
use crate::query::Neighbor;
pub use crate::query::{Mode, Query, Scoring};

/// Below this many floats to read (rows x dims), [`Mode::Auto`] scans exactly: about 1M floats,
/// a 10,000 x 100 vocabulary, scanned in well under a millisecond.
pub const EXACT_BELOW: usize = 1 << 20;

/// Embeddings and, optionally, an index built from them (with the `index` feature).
pub struct Searcher {
    /// The vectors.
    pub embeddings: Embeddings,
    /// The index, if loaded.
    #[cfg(feature = "index")]
    pub index: Option<HnswIndex>,
}

impl Searcher {
    /// Exact search only.
    pub fn exact(embeddings: Embeddings) -> Self {
        Searcher {
            embeddings,
            #[cfg(feature = "index")]
            index: None,
        }
    }

    /// Without the `index` feature every query is an exact scan, and asking for the index is an
    /// error.
    #[cfg(not(feature = "index"))]
    fn use_index(&self, q: &Query) -> Result<Option<std::convert::Infallible>> {
        match q.mode {
            Mode::Index => Err(Error::invalid(
                "this build of wordvec has no index (the `index` feature is off)",
            )),
            Mode::Auto | Mode::Exact => Ok(None),
        }
    }

    #[cfg(feature = "index")]
    fn use_index(&self, q: &Query) -> Result<Option<&HnswIndex>> {
        match (q.mode, &self.index) {
            (Mode::Exact, _) => Ok(None),
            (Mode::Index, Some(i)) => Ok(Some(i)),
            (Mode::Index, None) => Err(Error::invalid(
                "no index is loaded for these vectors; build one with `wordvec index build`",
            )),
            (Mode::Auto, None) => Ok(None),
            (Mode::Auto, Some(i)) => {
                let dims = self.embeddings.dims();
                let rows = q
                    .restrict_vocab
                    .map_or(self.embeddings.len(), |r| r.min(self.embeddings.len()));
                // The index cannot serve rows it does not hold.
                let covered = rows <= i.info().indexed;
                let allowed = q.filter.allowed_rows().map_or(rows, |a| a.len().min(rows));
                Ok((covered && allowed.saturating_mul(dims) >= EXACT_BELOW).then_some(i))
            }
        }
    }

    /// Whether `q` would go through the index.
    pub fn uses_index(&self, q: &Query) -> bool {
        matches!(self.use_index(q), Ok(Some(_)))
    }

    /// Answers `q`: the exact scan or the index, as its mode and the data say.
    pub fn search(&self, q: &Query) -> Result<Vec<Neighbor>> {
        q.check()?;
        match self.use_index(q)? {
            #[cfg(feature = "index")]
            Some(i) => i.search(&self.embeddings, q),
            #[cfg(not(feature = "index"))]
            Some(never) => match never {},
            None => self.embeddings.search_exact(q),
        }
    }
}
