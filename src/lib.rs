//! # wordvec
//!
//! Word embeddings as a library: open word2vec files (binary, gzipped, text, GloVe) by memory
//! mapping them, and fastText models with their character n-grams (vectors for any word), convert
//! them to a native format that is used in place, and answer gensim's
//! queries (similarity, most_similar, 3CosAdd/3CosMul analogies, doesnt_match) and evaluations
//! with gensim's semantics, on all cores with SIMD.
//!
//! ```
//! let emb = wordvec::default_model::load()?;
//! let best = emb.most_similar(&["king".into()], &[], 3, None)?;
//! assert_eq!(best.len(), 3);
//! # Ok::<(), wordvec::Error>(())
//! ```
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
//! | `live` | `live`: writes to a served model (log, delta, compaction) | 36 |
//! | `server` | `server`: the gRPC daemon and its HTTP/JSON gateway (with `index` and `classify`) | 186 |
//! | `cli` (default) | the `wordvec` program: every layer, clap, indicatif | 236 |
//! | `cuda` | GPU training (with `train`) | 45 |
//!
//! ## Modules
//!
//! The core, one concept per module:
//! - [`vocab`]: words and their rows ([`vocab::Vocab`]); [`storage`]: the vectors
//!   ([`storage::Storage`]); [`embeddings`]: both together, with norms.
//! - [`format`](mod@format) names a file format; [`formats`] reads and writes them, one module each, and
//!   detects them ([`load`], [`open`], [`save`]); [`subword`]: fastText's n-grams and the vectors
//!   of words outside the vocabulary.
//! - [`query`]: the one [`query::Query`] value and gensim's queries (similarity, most_similar,
//!   3CosMul, doesnt_match); [`search`]: the [`search::Searcher`] that answers a query by the
//!   exact scan or the index; [`filter`] allow- and deny-lists; [`quant`] the int8 copy exact
//!   scans read first.
//! - [`limits`]: the bounds on every size from a request, flag or header; [`cancel`]:
//!   cooperative cancellation of scans; [`progress`]: how long work reports progress;
//!   [`io`]: mapping, gzip, output paths, atomic writes; [`error`]: the error type and its kinds.
//! - [`live`] (feature `live`): words added, replaced and deleted while a model is served, with
//!   a write-ahead log, a delta over the base and compaction.
//! - [`eval`]: analogy and word-pair evaluation; [`default_model`]: the small model compiled in.
//!
//! Private to the crate: the SIMD kernels and their one dispatch test (`simd`), parallel top-k
//! selection (`topk`), and the mapped-or-owned byte buffers (`bytes`).
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
