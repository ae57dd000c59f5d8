//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub(crate) mod fuzz_client;
pub(crate) mod server;

use std::path::{Path, PathBuf};

use wordvec::{Embeddings, LoadOptions};

/// The built `wordvec` binary, ready for arguments.
pub(crate) fn wordvec() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("wordvec").unwrap()
}

/// A JSON array of numbers as `f32`s.
pub(crate) fn floats(v: &serde_json::Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

/// A file in tests/data.
pub(crate) fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// Loads a fixture with default options.
pub(crate) fn load(name: &str) -> Embeddings {
    wordvec::load(&data(name), &LoadOptions::default())
        .unwrap_or_else(|e| panic!("loading {name}: {e}"))
}

/// gensim's answers on the fixtures.
pub(crate) fn expected() -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(data("gensim-expected.json")).unwrap()).unwrap()
}

/// The fixture's header and records, for building malformed variants.
pub(crate) fn bin_bytes() -> Vec<u8> {
    std::fs::read(data("gensim-d32.bin")).unwrap()
}

/// A seeded generator of numbers in `0..n` (a PCG-style LCG: reproducible test data, no crate).
pub(crate) fn below(seed: u64) -> impl FnMut(usize) -> usize {
    let mut s = seed;
    move |n| {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((s >> 33) % n as u64) as usize
    }
}

/// A corpus with two topics; within a topic, "cat"/"feline" and "car"/"automobile" are
/// interchangeable, so a model must place each pair close together. Written to `dir`.
pub(crate) fn planted_corpus(dir: &Path) -> PathBuf {
    let animal = [
        "cat", "purr", "whiskers", "mouse", "milk", "fur", "paws", "meow",
    ];
    let vehicle = [
        "car", "engine", "wheel", "road", "fuel", "driver", "brake", "garage",
    ];
    let mut next = below(12345);
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

/// Writes a labelled CSV of `n` short texts to `dir/name`. Each text mixes filler words with
/// words of its label's group (with 5% of the labels flipped), and some texts carry quoted
/// commas, quotes, newlines and Cyrillic. `labels` picks the groups: 2 (neg, pos) or 3 (neg,
/// neu, pos). With `multi_label`, a second, independent topic label (food or sport) is added
/// as "pos|sport".
pub(crate) fn labelled_csv(
    dir: &Path,
    name: &str,
    n: usize,
    labels: usize,
    multi_label: bool,
) -> PathBuf {
    let groups: [(&str, &[&str]); 3] = [
        (
            "neg",
            &["bad", "awful", "hate", "terrible", "sad", "poor", "плохо"],
        ),
        (
            "pos",
            &[
                "good",
                "great",
                "love",
                "excellent",
                "happy",
                "nice",
                "хорошо",
            ],
        ),
        (
            "neu",
            &[
                "table", "chair", "seven", "paper", "window", "street", "стол",
            ],
        ),
    ];
    let topics: [(&str, &[&str]); 2] = [
        ("food", &["pizza", "bread", "soup", "cheese", "apple"]),
        ("sport", &["football", "tennis", "goal", "match", "race"]),
    ];
    let filler = [
        "the", "a", "and", "it", "was", "this", "very", "really", "so", "we",
    ];
    let mut next = below(99);
    let sep = if name.ends_with(".tsv") { '\t' } else { ',' };
    let mut out = format!("id{sep}text{sep}label\n");
    for i in 0..n {
        let g = next(labels);
        let (mut label, words) = groups[g];
        let mut text: Vec<&str> = Vec::new();
        for _ in 0..3 {
            text.push(words[next(words.len())]);
            text.push(filler[next(filler.len())]);
        }
        let mut topic = "";
        if multi_label {
            let t = next(2);
            topic = topics[t].0;
            text.push(topics[t].1[next(topics[t].1.len())]);
            text.push(topics[t].1[next(topics[t].1.len())]);
        }
        if next(20) == 0 {
            label = groups[(g + 1) % labels].0;
        }
        let mut text = text.join(" ");
        match i % 7 {
            0 => text = format!("\"{text}, \"\"quoted\"\"\"",),
            1 => text = format!("\"{text}\nsecond line!\""),
            _ => {}
        }
        let label = if multi_label {
            format!("{label}|{topic}")
        } else {
            label.to_owned()
        };
        out.push_str(&format!("{i}{sep}{text}{sep}{label}\n"));
    }
    let p = dir.join(name);
    std::fs::write(&p, out).unwrap();
    p
}

/// An index of the previous format (hnsw_rs's files) made by hnsw_rs itself.
pub(crate) fn legacy_index(
    emb: &Embeddings,
    dir: &Path,
) -> (PathBuf, wordvec::index::reference::HnswRsGraph) {
    let g =
        wordvec::index::reference::HnswRsGraph::build(emb, emb.len(), 16, 200, &|_| {}).unwrap();
    let (gf, df) = g.dump(dir).unwrap();
    let p = dir.join("old.idx");
    let (g2, d2) = wordvec::index::meta::hnsw_files(&p);
    std::fs::rename(gf, &g2).unwrap();
    std::fs::rename(df, &d2).unwrap();
    let meta = wordvec::index::IndexMeta {
        format: wordvec::index::meta::FORMAT.into(),
        fingerprint: emb.fingerprint(),
        vocab_len: emb.len(),
        indexed: emb.len(),
        dims: emb.dims(),
        m: 16,
        ef_construction: 200,
        ef_search: 32,
        build_seconds: 1.0,
        graph: wordvec::index::meta::check_file(&g2).unwrap(),
        data: wordvec::index::meta::check_file(&d2).unwrap(),
    };
    std::fs::write(&p, serde_json::to_vec(&meta).unwrap()).unwrap();
    (p, g)
}

/// 16,384 random words (`w0`, `w1`, ...) x 64 dims with a small HNSW index (M 8,
/// ef_construction 40): large enough that `Mode::Auto` goes through the index
/// (rows x dims reaches `search::EXACT_BELOW`), small enough to build in a second.
pub(crate) fn indexed_random(seed: u64) -> wordvec::search::Searcher {
    let (n, d) = (16_384usize, 64usize);
    let words: Vec<String> = (0..n).map(|i| format!("w{i}")).collect();
    let mut next = below(seed);
    let values = (0..n * d)
        .map(|_| next(1 << 20) as f32 / (1 << 20) as f32 - 0.5)
        .collect();
    let emb = Embeddings::from_vectors(&words, values, d).unwrap();
    let index = small_index(&emb);
    wordvec::search::Searcher {
        embeddings: emb,
        index: Some(index),
    }
}

/// An HNSW index with small, fast build parameters (M 8, ef_construction 40).
pub(crate) fn small_index(emb: &Embeddings) -> wordvec::index::HnswIndex {
    let params = wordvec::index::IndexParams {
        m: 8,
        ef_construction: 40,
        ..Default::default()
    };
    wordvec::index::HnswIndex::build(emb, params, None).unwrap()
}
