//! The embedded default model, used when no vectors file is given.
//!
//! `vectors.bin` (beside this file) is word2vec binary, 30,000 words x 64 dimensions, trained by
//! wordvec itself (skip-gram, batched) on the benchmark corpus, which `make-corpus.sh` builds
//! from public-domain and permissively licensed dictionaries in Debian's packages (GCIDE,
//! WordNet, FOLDOC, the Jargon File) and gensim's test texts. With one thread and a fixed seed the
//! training is reproducible bit for bit; README.md ("The default model") gives the command. It is
//! 7.9 MB, compiled into the binary, and opened in place in about 10 ms.

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
        assert_eq!((e.len(), e.dims()), (30_000, 64));
        assert_eq!(e.word(0), "the");
        assert!(
            e.metadata().newline_after_vector,
            "written by wordvec train, as the C tool writes"
        );
    }
}
