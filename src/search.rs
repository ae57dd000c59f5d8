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

    #[cfg(not(feature = "index"))]
    fn use_index(&self, q: &Query) -> Result<Option<std::convert::Infallible>> {
        pick_index(
            q,
            None,
            self.embeddings.len(),
            self.embeddings.dims(),
            |_, _| false,
        )
    }

    #[cfg(feature = "index")]
    fn use_index(&self, q: &Query) -> Result<Option<&HnswIndex>> {
        let covers = |i: &HnswIndex, rows: usize| rows <= i.info().indexed;
        pick_index(
            q,
            self.index.as_ref(),
            self.embeddings.len(),
            self.embeddings.dims(),
            covers,
        )
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

/// The index type [`pick_index`] chooses: none without the `index` feature.
#[cfg(feature = "index")]
pub(crate) type IndexRef<'a> = &'a HnswIndex;
/// The index type [`pick_index`] chooses: none without the `index` feature.
#[cfg(not(feature = "index"))]
pub(crate) type IndexRef<'a> = std::convert::Infallible;

/// Whether `q` over `rows` rows of `dims` dimensions goes through `index`: its mode says so, or
/// (for [`Mode::Auto`]) the rows it may return are many enough and all `covered(index, rows)`.
/// Every searcher (a [`Searcher`], a live model's view) decides here. Without the `index`
/// feature every query is an exact scan, and asking for the index is an error.
pub(crate) fn pick_index<'a>(
    q: &Query,
    index: Option<IndexRef<'a>>,
    rows: usize,
    dims: usize,
    covered: impl FnOnce(IndexRef<'a>, usize) -> bool,
) -> Result<Option<IndexRef<'a>>> {
    match (q.mode, index) {
        (Mode::Exact, _) => Ok(None),
        (Mode::Index, Some(i)) => Ok(Some(i)),
        #[cfg(feature = "index")]
        (Mode::Index, None) => Err(Error::invalid(
            "no index is loaded for these vectors; build one with `wordvec index build`",
        )),
        #[cfg(not(feature = "index"))]
        (Mode::Index, None) => Err(Error::invalid(
            "this build of wordvec has no index (the `index` feature is off)",
        )),
        (Mode::Auto, None) => Ok(None),
        (Mode::Auto, Some(i)) => {
            let rows = q.restrict_vocab.map_or(rows, |r| r.min(rows));
            // The index cannot serve rows it does not hold.
            let allowed = q.filter.allowed_rows().map_or(rows, |a| a.len().min(rows));
            Ok((allowed.saturating_mul(dims) >= EXACT_BELOW && covered(i, rows)).then_some(i))
        }
    }
}
