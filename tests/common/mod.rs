//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use wordvec::{Embeddings, LoadOptions};

/// A file in tests/data.
pub fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// Loads a fixture with default options.
pub fn load(name: &str) -> Embeddings {
    wordvec::load(&data(name), &LoadOptions::default())
        .unwrap_or_else(|e| panic!("loading {name}: {e}"))
}

/// gensim's answers on the fixtures.
pub fn expected() -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(data("gensim-expected.json")).unwrap()).unwrap()
}

/// The fixture's header and records, for building malformed variants.
pub fn bin_bytes() -> Vec<u8> {
    std::fs::read(data("gensim-d32.bin")).unwrap()
}
