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

/// A corpus with two topics; within a topic, "cat"/"feline" and "car"/"automobile" are
/// interchangeable, so a model must place each pair close together. Written to `dir`.
pub fn planted_corpus(dir: &Path) -> PathBuf {
    let animal = [
        "cat", "purr", "whiskers", "mouse", "milk", "fur", "paws", "meow",
    ];
    let vehicle = [
        "car", "engine", "wheel", "road", "fuel", "driver", "brake", "garage",
    ];
    let mut s: u64 = 12345;
    let mut next = |n: usize| {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((s >> 33) % n as u64) as usize
    };
    let mut text = String::new();
    for line in 0..3000 {
        let topic = if line % 2 == 0 { &animal } else { &vehicle };
        let words: Vec<&str> = (0..12)
            .map(|_| match topic[next(topic.len())] {
                "cat" if next(2) == 0 => "feline",
                "car" if next(2) == 0 => "automobile",
                w => w,
            })
            .collect();
        text.push_str(&words.join(" "));
        text.push('\n');
    }
    let p = dir.join("corpus.txt");
    std::fs::write(&p, text).unwrap();
    p
}
