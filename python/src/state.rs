//! [`State`]: what a [`crate::vectors::Vectors`] answers from. Until the first write, the vectors
//! as opened (a mapped file, say) with their index; from the first write on, the library's
//! [`LiveModel`] in memory over those same vectors: the file stays the unchanged *base*, added and
//! replaced rows go to an in-memory *delta*, and every read answers from the model's latest
//! [`View`], the merged rows (replaced words in their place, new words after the base's, in the
//! order they were added: gensim's order).
//!
//! There is no write-ahead log: the Python package edits vectors in a process and keeps them by
//! saving the merged rows.

use std::sync::Arc;

use wordvec::live::{LiveModel, LiveOptions, View};
use wordvec::search::{Query, Searcher};
use wordvec::{Embeddings, Neighbor};

/// The vectors a [`crate::vectors::Vectors`] answers from (see the module documentation).
pub(crate) enum State {
    /// No write yet: the vectors as opened, their index settable.
    Frozen(Searcher),
    /// Written to: a live model over the vectors as opened; `indexed` says whether they had an
    /// index (the model's views search it for the base's rows).
    Live { model: LiveModel, indexed: bool },
    /// Only while [`State::live`] moves the searcher into a live model, under the write lock.
    Moving,
}

/// What one call reads: the searcher, or the live model's view at the time of the call.
pub(crate) enum Current<'a> {
    Base(&'a Searcher),
    View(Arc<View>),
}

impl Current<'_> {
    /// The rows: the base's, or the merged rows of the view.
    pub(crate) fn embeddings(&self) -> &Embeddings {
        match self {
            Current::Base(s) => &s.embeddings,
            Current::View(v) => v.embeddings(),
        }
    }

    /// Answers `q` as the library's searcher (or view) decides: exact scan or index.
    pub(crate) fn search(&self, q: &Query) -> wordvec::Result<Vec<Neighbor>> {
        match self {
            Current::Base(s) => s.search(q),
            Current::View(v) => v.search(q),
        }
    }

    /// Rows, without merging the vocabulary of a view.
    pub(crate) fn len(&self) -> usize {
        match self {
            Current::Base(s) => s.embeddings.len(),
            Current::View(v) => v.len(),
        }
    }

    /// Whether `word` is in the vocabulary, without merging the vocabulary of a view.
    pub(crate) fn contains(&self, word: &str) -> bool {
        match self {
            Current::Base(s) => s.embeddings.index(word).is_some(),
            Current::View(v) => v.contains(word),
        }
    }

    /// Whether the rows are those of the vectors as opened: no write changed them.
    pub(crate) fn unmodified(&self) -> bool {
        match self {
            Current::Base(_) => true,
            Current::View(v) => v.delta_rows() == 0 && v.tombstones() == 0,
        }
    }
}

impl State {
    /// What a call reads now.
    pub(crate) fn current(&self) -> Current<'_> {
        match self {
            State::Frozen(s) => Current::Base(s),
            State::Live { model, .. } => Current::View(model.view()),
            State::Moving => unreachable!("the state is only moving under the write lock"),
        }
    }

    /// Whether an index answers for the base's rows.
    pub(crate) fn indexed(&self) -> bool {
        match self {
            State::Frozen(s) => s.index.is_some(),
            State::Live { indexed, .. } => *indexed,
            State::Moving => unreachable!("the state is only moving under the write lock"),
        }
    }

    /// The live model, made on the first call from the vectors as opened. Moving the searcher
    /// moves neither its mapping nor its rows (both are behind pointers), so arrays that share
    /// those rows stay valid: the model, held by this state, keeps them.
    pub(crate) fn live(&mut self) -> &LiveModel {
        if let State::Frozen(_) = self {
            let State::Frozen(searcher) = std::mem::replace(self, State::Moving) else {
                unreachable!("matched just above")
            };
            let indexed = searcher.index.is_some();
            let model = LiveModel::in_memory("python", searcher, LiveOptions::default())
                .expect("\"python\" is a valid model name");
            *self = State::Live { model, indexed };
        }
        match self {
            State::Live { model, .. } => model,
            _ => unreachable!("made live just above"),
        }
    }
}
