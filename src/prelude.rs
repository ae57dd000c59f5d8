//! What a typical program needs, in one import: `use wordvec::prelude::*;`.
//!
//! Opening and saving vectors ([`open`], [`load`], [`save`], with [`LoadOptions`],
//! [`SaveOptions`], [`Format`]), the vectors themselves ([`Embeddings`]), asking them
//! ([`Searcher`], [`Query`], [`Term`], [`Filter`], [`Mode`], and the answers [`Neighbor`] and
//! [`DoesntMatch`]), and the errors ([`Error`], [`ErrorKind`], [`Result`]). With the `index`
//! feature, the HNSW index too ([`HnswIndex`], [`IndexParams`]).
//!
//! [`Result`] is `Result<T, E = wordvec::Error>`: with one argument it is wordvec's, with two it
//! is the standard library's, so importing it over the standard prelude's changes nothing else.
//!
//! ```
//! use wordvec::prelude::*;
//!
//! let searcher = Searcher::exact(wordvec::default_model::load()?);
//! let deny = Filter::from_words::<&str, _>(&searcher.embeddings, None, &["queen"])?;
//! let q = Query::new(&[Term::Word("king"), Term::Word("woman")], &[Term::Word("man")], 3)
//!     .filter(deny);
//! let best: Vec<Neighbor> = searcher.search(&q)?;
//! assert_eq!(best.len(), 3);
//! assert!(best.iter().all(|n| n.word != "queen"));
//! # Ok::<(), Error>(())
//! ```

pub use crate::embeddings::Embeddings;
pub use crate::error::{Error, ErrorKind, Result};
pub use crate::filter::Filter;
pub use crate::formats::{load, open, save, Format, LoadOptions, SaveOptions};
#[cfg(feature = "index")]
pub use crate::index::{HnswIndex, IndexParams};
pub use crate::query::{DoesntMatch, Mode, Neighbor, Query, Term};
pub use crate::search::Searcher;
