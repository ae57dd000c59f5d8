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
//! Layout, one concept per module:
//! - [`vocab`]: words and their rows ([`vocab::Vocab`]); [`storage`]: the vectors
//!   ([`storage::Storage`]); [`embeddings`]: both together, with norms.
//! - [`formats`]: one module per file format, and format detection; [`subword`]: fastText's
//!   n-grams and the vectors of words outside the vocabulary.
//! - [`simd`] dot-product kernels, [`topk`] parallel selection, [`query`] the gensim queries.
//! - [`search`]: the one [`search::Query`] value and the [`search::Searcher`] that answers it by
//!   the exact scan or the [`index`] (wordvec's memory-mapped HNSW graph); [`filter`] allow- and
//!   deny-lists; [`quant`] the int8 copy exact scans read first.
//! - [`limits`]: the bounds on every size from a request, flag or header; [`cancel`]:
//!   cooperative cancellation of scans; [`io`]: mapping, gzip, output paths, atomic writes.
//! - [`eval`]: analogy and word-pair evaluation.
//! - [`default_model`]: the small model compiled into the binary.

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
