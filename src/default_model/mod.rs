//! The embedded default model, used when no vectors file is given.
//!
//! `vectors.bin` (beside this file) is word2vec binary: 4,642 words x 32 dimensions, skip-gram
//! vectors trained by the word2vec C tool (v0.1c) on the first 2,000,000 words of the benchmark
//! corpus (public-domain and permissively licensed dictionaries: GCIDE, WordNet, FOLDOC, the
//! Jargon File, and gensim's test texts; see `README.md`, "The default model"). It is small
//! enough to compile into the binary (630 KB) and loads in about a millisecond.

use std::path::Path;

use crate::embeddings::Embeddings;
use crate::error::Result;
use crate::formats::{self, Format, LoadOptions};

/// The name the default model is served under.
pub const NAME: &str = "default";

static BYTES: &[u8] = include_bytes!("vectors.bin");

/// Loads the embedded model (its vectors are used in place, not copied).
pub fn load() -> Result<Embeddings> {
    let opts = LoadOptions {
        format: Some(Format::Word2VecBinary),
        ..LoadOptions::default()
    };
    formats::load_bytes(BYTES, Path::new("<embedded default model>"), &opts)
}

#[cfg(test)]
mod tests {
    #[test]
    fn loads() {
        let e = super::load().unwrap();
        assert_eq!((e.len(), e.dims()), (4642, 32));
        assert_eq!(e.word(0), "</s>");
    }
}
