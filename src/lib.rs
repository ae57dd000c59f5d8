//! # wordvec
//!
//! Word embeddings as a library: open word2vec files (binary, gzipped, text, GloVe) by memory
//! mapping them, and fastText models with their character n-grams (vectors for any word), convert
//! them to a native format that is used in place, and answer gensim's
//! queries (similarity, most_similar, 3CosAdd/3CosMul analogies, doesnt_match) and evaluations
//! with gensim's semantics, on all cores with SIMD.
//!
//! ```
//! use wordvec::prelude::*;
//!
//! let emb: Embeddings = wordvec::default_model::load()?;
//! let best = emb.most_similar(&[Term::Word("king")], &[], 3, None)?;
//! assert_eq!(best.len(), 3);
//!
//! // The same question through a Searcher, which takes every option as one Query and answers
//! // by the exact scan or, with the `index` feature and an index loaded, the HNSW graph.
//! let searcher = Searcher::exact(emb);
//! let q = Query::new(&[Term::Word("king")], &[], 3).mode(Mode::Exact);
//! let words = |ns: &[Neighbor]| ns.iter().map(|n| n.word.clone()).collect::<Vec<_>>();
//! assert_eq!(words(&searcher.search(&q)?), words(&best));
//! # Ok::<(), Error>(())
//! ```
//!
//! [`prelude`] holds what a typical program needs ([`open`], [`load`], [`save`], [`Embeddings`],
//! [`search::Searcher`], [`query::Query`], [`Error`], [`Result`], ...); the most common of those
//! are re-exported at the crate root as well.
//!
//! ## Layers and features
//!
//! The core is always built; each layer above it is a Cargo feature, and the default features
//! give the whole `wordvec` program. Crates compiled, wordvec included:
//!
//! | feature | adds | crates |
//! |---|---|---|
//! | (none: the core) | formats, vocabulary, storage, exact queries, the int8 copy, evaluation | 36 |
//! | `index` | `index`: wordvec's HNSW graph, and import of hnsw_rs dumps | 39 |
//! | `hnsw-rs` | hnsw_rs as alternative builder and parity reference | 91 |
//! | `train` | `train`: skip-gram and CBOW with negative sampling | 43 |
//! | `classify` | `classify`: the embedding-MLP text classifier | 79 |
//! | `live` | `live`: writes to a served model (log, delta, compaction) | the core's |
//! | `server` | `server`: the gRPC daemon and its HTTP/JSON gateway (with `index`, `classify` and `live`) | 186 |
//! | `cli` (default) | the `wordvec` program: every layer, clap, indicatif | 236 |
//! | `cuda` | GPU training (with `train`) | 45 |
//!
//! ## Modules
//!
//! Public modules are the API; each says what it is for in its own docs. The core, one concept
//! per module:
//! - [`vocab`]: words and their rows ([`vocab::Vocab`]); [`storage`]: the vectors
//!   ([`storage::Storage`]); [`embeddings`]: both together, with norms.
//! - [`format`](mod@format) names a file format; [`formats`] reads and writes them, one module
//!   each, and detects them ([`load`], [`open`], [`save`]); [`subword`]: fastText's n-grams and
//!   the vectors of words outside the vocabulary.
//! - [`query`]: the one [`query::Query`] value and gensim's queries (similarity, most_similar,
//!   3CosMul, doesnt_match); [`search`]: the [`search::Searcher`] that answers a query by the
//!   exact scan or the index; [`filter`] allow- and deny-lists; [`quant`] the int8 copy exact
//!   scans read first.
//! - [`limits`]: the bounds on every size from a request, flag or header; [`cancel`]:
//!   cooperative cancellation of scans; [`progress`]: how long work reports progress;
//!   [`io`]: output paths, atomic writes, the gzip guard; [`error`]: the error type and its
//!   kinds.
//! - [`live`] (feature `live`): words added, replaced and deleted while a model is served, with
//!   a write-ahead log, a delta over the base and compaction.
//! - [`eval`]: analogy and word-pair evaluation; [`default_model`]: the small model compiled in.
//! - [`prelude`]: the items above a typical program imports.
//!
//! The layers, each behind its feature: `index` (build, save, map and search the HNSW graph),
//! `train` (the word2vec trainer), `classify` (the text classifier: data, configuration,
//! training, prediction, metrics, the model file) and `server` (the daemon, its configuration,
//! and the generated gRPC types in `server::proto`).
//!
//! Private to the crate, so free to change: the SIMD kernels and their one dispatch test
//! (`simd`), parallel top-k selection (`topk`), the mapped-or-owned byte buffers (`bytes`) and
//! everything that takes or returns them (mapping and gunzipping a file, the formats' readers
//! over a mapped buffer, the storage and vocabulary constructors from raw parts), the training
//! loops' corpus reader, checkpoints, shared matrices and kernels, the classifier's backward
//! pass and optimiser, and the daemon's handlers, layers and metrics.
//! `unreachable_pub` (in Cargo.toml) keeps an item that only the crate uses from saying `pub`.
//!
// Every public item is documented; CI's `-D warnings` makes a missing doc an error.
#![warn(missing_docs)]

#[cfg(target_endian = "big")]
compile_error!(
    "wordvec reads little-endian float files in place and supports little-endian targets only"
);

pub(crate) mod bytes;
pub mod cancel;
#[cfg(feature = "classify")]
pub mod classify;
pub mod default_model;
pub mod embeddings;
pub mod error;
pub mod eval;
pub mod filter;
pub mod format;
pub mod formats;
#[cfg(feature = "index")]
pub mod index;
pub mod io;
pub mod limits;
#[cfg(feature = "live")]
pub mod live;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod prelude;
pub mod progress;
pub mod quant;
pub mod query;
pub mod search;
#[cfg(feature = "server")]
pub mod server;
pub(crate) mod simd;
pub mod storage;
pub mod subword;
pub(crate) mod topk;
#[cfg(feature = "train")]
pub mod train;
pub mod vocab;

pub use embeddings::Embeddings;
pub use error::{Error, ErrorKind, Result};
pub use formats::{load, open, save, Format, LoadOptions, SaveOptions};
pub use query::{DoesntMatch, Neighbor, Term};
pub use vocab::UnicodeErrors;

/// Internals that `benches/` measures on their own (the dot-product kernels, top-k selection).
/// Not part of the API: hidden from the docs, and free to change in any release.
#[doc(hidden)]
pub mod __bench {
    pub use crate::simd::{dot_fn, dot_portable};
    pub use crate::topk::top_k;
}
