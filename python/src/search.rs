//! Similarity queries: a Python call's arguments as the library's [`Query`], answered by the
//! library's searcher, or a live model's view after a write (which chooses between the exact scan and the index, exactly as the
//! command line and the daemon do).

use wordvec::search::{Filter, Mode, Query};

use crate::errors::{as_terms, PyTerm};
use crate::state::Current;

/// One `most_similar` call, converted from Python and ready to run without the GIL.
pub(crate) struct Request {
    pub positive: Vec<PyTerm>,
    pub negative: Vec<PyTerm>,
    pub topn: usize,
    pub restrict_vocab: Option<usize>,
    pub cosmul: bool,
    pub mode: Mode,
    pub ef: Option<usize>,
    /// Only these words may be answered (words outside the vocabulary are ignored).
    pub allow: Option<Vec<String>>,
    /// Never these words.
    pub deny: Option<Vec<String>>,
}

impl Request {
    /// The `(word, score)` pairs `c` answers.
    pub(crate) fn answer(&self, c: &Current<'_>) -> wordvec::Result<Vec<(String, f32)>> {
        let filter = if self.allow.is_some() || self.deny.is_some() {
            Filter::from_words(
                c.embeddings(),
                self.allow.as_deref(),
                self.deny.as_deref().unwrap_or(&[]),
            )?
        } else {
            Filter::default()
        };
        let (pos, neg) = (as_terms(&self.positive), as_terms(&self.negative));
        let q = Query::new(&pos, &neg, self.topn)
            .filter(filter)
            .cosmul(self.cosmul)
            .restrict_vocab(self.restrict_vocab)
            .mode(self.mode)
            .ef(self.ef);
        let found = c.search(&q)?;
        Ok(found.into_iter().map(|n| (n.word, n.score)).collect())
    }
}
