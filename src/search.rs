//! [`Query`], the one value every layer takes (library, index, server, CLI), and [`Searcher`]:
//! embeddings with an optional HNSW index, choosing per query between the exact scan and the
//! index.
//!
//! The exact scan reads every row; the index reads a few hundred. For small vocabularies the scan
//! is cheaper than the index's bookkeeping (and exact), so [`Mode::Auto`] scans when a query would
//! touch fewer than [`EXACT_BELOW`] floats and uses the index otherwise. An allow-list short
//! enough for that bound is scanned exactly too: a graph search admitting few rows would wander
//! the whole graph to find them.

use crate::embeddings::Embeddings;
use crate::error::{Error, Result};
pub use crate::filter::Filter;
use crate::index::HnswIndex;
use crate::query::{Neighbor, Term};

/// Below this many floats to read (rows x dims), [`Mode::Auto`] scans exactly: about 1M floats,
/// a 10,000 x 100 vocabulary, scanned in well under a millisecond.
pub const EXACT_BELOW: usize = 1 << 20;

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

/// How candidates are scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scoring {
    /// Cosine with the mean of the terms (3CosAdd; plain nearest neighbours).
    #[default]
    CosAdd,
    /// 3CosMul (Levy and Goldberg).
    CosMul,
}

/// A similarity query: what to look for, how many, among which rows, and how.
///
/// ```
/// use wordvec::search::{Query, Searcher};
/// let s = Searcher::exact(wordvec::default_model::load()?);
/// let q = Query::new(&["king".into(), "woman".into()], &["man".into()], 3);
/// assert_eq!(s.search(&q)?.len(), 3);
/// # Ok::<(), wordvec::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Query<'a> {
    /// Terms added (words or raw vectors).
    pub positive: Vec<Term<'a>>,
    /// Terms subtracted.
    pub negative: Vec<Term<'a>>,
    /// How many results.
    pub k: usize,
    /// 3CosAdd or 3CosMul.
    pub scoring: Scoring,
    /// Only the first N rows (the N most frequent words).
    pub restrict_vocab: Option<usize>,
    /// Allow- and deny-lists.
    pub filter: Filter,
    /// Exact scan, index, or either.
    pub mode: Mode,
    /// The index's candidate list size (default: the index's).
    pub ef: Option<usize>,
}

impl<'a> Query<'a> {
    /// The `k` nearest to the mean of `positive` minus `negative`, with every other setting at
    /// its default.
    pub fn new(positive: &[Term<'a>], negative: &[Term<'a>], k: usize) -> Self {
        Query {
            positive: positive.to_vec(),
            negative: negative.to_vec(),
            k,
            ..Query::default()
        }
    }

    /// The `k` nearest to a raw vector.
    pub fn vector(v: &'a [f32], k: usize) -> Self {
        Query::new(&[Term::Vector(v)], &[], k)
    }

    /// With 3CosMul scoring (`true`) or 3CosAdd.
    pub fn cosmul(mut self, yes: bool) -> Self {
        self.scoring = if yes {
            Scoring::CosMul
        } else {
            Scoring::CosAdd
        };
        self
    }

    /// Among the first `n` rows only.
    pub fn restrict_vocab(mut self, n: Option<usize>) -> Self {
        self.restrict_vocab = n;
        self
    }

    /// With a filter.
    pub fn filter(mut self, f: Filter) -> Self {
        self.filter = f;
        self
    }

    /// Through `mode`.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// With the index's candidate list size `ef`.
    pub fn ef(mut self, ef: Option<usize>) -> Self {
        self.ef = ef;
        self
    }

    /// Checks what does not depend on the vectors: `ef` at most [`crate::limits::MAX_EF`]
    /// whichever path answers, so that a query's validity does not depend on the vocabulary.
    pub fn check(&self) -> Result<()> {
        if let Some(ef) = self.ef {
            crate::limits::at_most("ef", ef, crate::limits::MAX_EF)?;
        }
        Ok(())
    }
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
            Some(i) => i.search(&self.embeddings, q),
            None => self.embeddings.search_exact(q),
        }
    }
}
