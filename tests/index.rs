//! The HNSW index: recall against the exact scan, exclusion of query words, persistence, and
//! every way its files can be wrong.

mod common;

use common::{data, load};
use wordvec::index::{recall, HnswIndex, IndexParams};
use wordvec::search::{Mode, Searcher};
use wordvec::{Embeddings, LoadOptions, Term};

fn build_and_save(emb: &Embeddings, dir: &std::path::Path) -> std::path::PathBuf {
    let p = dir.join("v.idx");
    let mut idx = HnswIndex::build(emb, IndexParams::default(), None).unwrap();
    idx.save(&p).unwrap();
    p
}

#[test]
fn recall_against_the_exact_scan() {
    let emb = load("w2vc-sg-d32.bin");
    let idx = HnswIndex::build(&emb, IndexParams::default(), None).unwrap();
    let r = recall(&emb, &idx, 300, 10, &[100]).unwrap();
    assert!(
        r[0].recall_words >= 0.95,
        "word recall {}",
        r[0].recall_words
    );
    assert!(
        r[0].recall_analogies >= 0.95,
        "analogy recall {}",
        r[0].recall_analogies
    );
}

#[test]
fn query_words_are_excluded_and_scores_are_exact() {
    let emb = load("w2vc-sg-d32.bin");
    let idx = HnswIndex::build(&emb, IndexParams::default(), None).unwrap();
    let pos = [Term::Word("king"), Term::Word("woman")];
    let neg = [Term::Word("man")];
    let got = idx
        .most_similar(&emb, &pos, &neg, 10, None, Some(200))
        .unwrap();
    let exact = emb.most_similar(&pos, &neg, 10, None).unwrap();
    assert!(got
        .iter()
        .all(|n| !["king", "woman", "man"].contains(&n.word.as_str())));
    assert_eq!(
        got, exact,
        "with a wide search the index finds exactly the scan's answer"
    );
    let cm = idx
        .most_similar_cosmul(&emb, &pos, &neg, 5, None, Some(200))
        .unwrap();
    assert_eq!(cm, emb.most_similar_cosmul(&pos, &neg, 5, None).unwrap());
}

#[test]
fn k_larger_than_the_vocabulary_and_restricted_searches() {
    let emb = load("w2vc-sg-d32.bin");
    let idx = HnswIndex::build(
        &emb,
        IndexParams {
            restrict_vocab: Some(1000),
            ..Default::default()
        },
        None,
    )
    .unwrap();
    let all = idx
        .most_similar(&emb, &[Term::Word("king")], &[], 5000, None, None)
        .unwrap();
    assert!(all.len() <= 999 && all.len() > 900, "{}", all.len());
    assert!(all.iter().all(|n| n.index < 1000));
    let few = idx
        .most_similar(&emb, &[Term::Word("king")], &[], 5, Some(100), Some(100))
        .unwrap();
    assert!(few.iter().all(|n| n.index < 100));
    // Words outside the indexed rows still work as queries; unknown words are errors.
    assert!(idx
        .most_similar(&emb, &[Term::Word("computer")], &[], 3, None, None)
        .is_ok());
    assert!(idx
        .most_similar(&emb, &[Term::Word("zzzz")], &[], 3, None, None)
        .is_err());
    // The index refuses exactly what the exact scan refuses.
    for (pos, neg) in [(vec![], vec![]), (vec![], vec![Term::Word("king")])] {
        let a = idx
            .most_similar_cosmul(&emb, &pos, &neg, 3, None, None)
            .unwrap_err()
            .to_string();
        let b = emb
            .most_similar_cosmul(&pos, &neg, 3, None)
            .unwrap_err()
            .to_string();
        assert_eq!(a, b);
    }
    let a = idx
        .most_similar(&emb, &[], &[], 3, None, None)
        .unwrap_err()
        .to_string();
    assert_eq!(
        a,
        emb.most_similar(&[], &[], 3, None).unwrap_err().to_string()
    );
    assert!(idx
        .most_similar_to_vector(&emb, &[f32::NAN; 32], 3, None, None)
        .is_err());
}

#[test]
fn save_reload_and_searcher_modes() {
    let dir = tempfile::tempdir().unwrap();
    let emb = load("w2vc-sg-d32.bin");
    let p = build_and_save(&emb, dir.path());
    let built = HnswIndex::build(&emb, IndexParams::default(), None).unwrap();
    let loaded = HnswIndex::load(&p, &emb).unwrap();
    assert_eq!(loaded.meta().indexed, 4642);
    let q = [Term::Word("water")];
    let a = loaded
        .most_similar(&emb, &q, &[], 10, None, Some(100))
        .unwrap();
    let b = built
        .most_similar(&emb, &q, &[], 10, None, Some(100))
        .unwrap();
    assert_eq!(a.len(), 10);
    assert!(a.iter().filter(|n| b.contains(n)).count() >= 9);
    // The native copy of the same vectors has the same fingerprint: one index serves both.
    let native = dir.path().join("v.wvec");
    wordvec::save(&emb, &native, wordvec::Format::Native, &Default::default()).unwrap();
    let nemb = wordvec::load(&native, &LoadOptions::default()).unwrap();
    let s = Searcher {
        embeddings: nemb,
        index: Some(
            HnswIndex::load(
                &p,
                &wordvec::load(&native, &LoadOptions::default()).unwrap(),
            )
            .unwrap(),
        ),
    };
    // 4642 x 32 is small: Auto scans exactly; Index goes through the graph.
    assert!(!s.uses_index(Mode::Auto, None));
    assert!(s.uses_index(Mode::Index, None));
    assert_eq!(
        s.most_similar(&q, &[], 5, None, Mode::Auto, None).unwrap(),
        s.embeddings.most_similar(&q, &[], 5, None).unwrap()
    );
    assert_eq!(
        s.most_similar(&q, &[], 5, None, Mode::Index, Some(200))
            .unwrap()
            .len(),
        5
    );
    assert!(Searcher::exact(load("gensim-d32.bin"))
        .most_similar(&q, &[], 5, None, Mode::Index, None)
        .is_err());
}

#[test]
fn mismatched_vectors_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = build_and_save(&load("w2vc-sg-d32.bin"), dir.path());
    let fewer = wordvec::load(
        &data("w2vc-sg-d32.bin"),
        &LoadOptions {
            limit: Some(4000),
            ..Default::default()
        },
    )
    .unwrap();
    let err = HnswIndex::load(&p, &fewer).unwrap_err().to_string();
    assert!(
        err.contains("was built from other vectors")
            && err.contains("4642 words")
            && err.contains("4000 words"),
        "{err}"
    );
    // Same words, other vectors.
    let e = load("w2vc-sg-d32.bin");
    let words: Vec<String> = (0..e.len()).map(|i| e.word(i).to_owned()).collect();
    let values: Vec<f32> = (0..e.len())
        .flat_map(|i| e.raw_row(i).into_iter().map(|x| x * 2.0))
        .collect();
    let doubled = Embeddings::from_vectors(&words, values, 32).unwrap();
    assert!(HnswIndex::load(&p, &doubled)
        .unwrap_err()
        .to_string()
        .contains("was built from other vectors"));
}

#[test]
fn corrupt_index_files_are_errors_not_crashes() {
    let emb = load("w2vc-sg-d32.bin");
    let dir = tempfile::tempdir().unwrap();
    let p = build_and_save(&emb, dir.path());
    let (graph, data_file) = wordvec::index::meta::hnsw_files(&p);
    let originals: Vec<(std::path::PathBuf, Vec<u8>)> = [&p, &graph, &data_file]
        .iter()
        .map(|f| (f.to_path_buf(), std::fs::read(f).unwrap()))
        .collect();
    let restore = || {
        for (f, b) in &originals {
            std::fs::write(f, b).unwrap();
        }
    };
    type Damage = Box<dyn Fn(&mut Vec<u8>)>;
    let cases: Vec<(&std::path::Path, Damage, &str)> = vec![
        (
            &data_file,
            Box::new(|b| b[1000] ^= 0xff),
            "corrupt, truncated or from another build",
        ),
        (
            &graph,
            Box::new(|b| b.truncate(b.len() / 2)),
            "corrupt, truncated or from another build",
        ),
        (&p, Box::new(|b| b.truncate(10)), "not a wordvec index"),
        (
            &p,
            Box::new(|b| *b = b"{\"format\": \"other\"}".to_vec()),
            "not a wordvec index",
        ),
    ];
    for (file, damage, want) in cases {
        let mut bytes = std::fs::read(file).unwrap();
        damage(&mut bytes);
        std::fs::write(file, &bytes).unwrap();
        let err = HnswIndex::load(&p, &emb).unwrap_err().to_string();
        assert!(err.contains(want), "{}: {err}", file.display());
        restore();
    }
    std::fs::remove_file(&data_file).unwrap();
    assert!(HnswIndex::load(&p, &emb)
        .unwrap_err()
        .to_string()
        .contains("cannot open"));
}

#[test]
fn empty_store() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("e.bin");
    std::fs::write(&p, b"0 8\n").unwrap();
    let emb = wordvec::load(&p, &LoadOptions::default()).unwrap();
    let idx = HnswIndex::build(&emb, IndexParams::default(), None).unwrap();
    assert!(idx
        .most_similar_to_vector(&emb, &[1.0; 8], 5, None, None)
        .unwrap()
        .is_empty());
    assert!(recall(&emb, &idx, 10, 10, &[10]).is_err());
}
