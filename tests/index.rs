//! The HNSW index: recall against the exact scan, exclusion of query words, persistence, and
//! every way its files can be wrong.

use crate::common;

use common::{data, load};
use wordvec::index::{recall, HnswIndex, IndexParams};
use wordvec::search::{Mode, Query, Searcher};
use wordvec::{Embeddings, LoadOptions, Term};

fn build_and_save(emb: &Embeddings, dir: &std::path::Path) -> std::path::PathBuf {
    let p = dir.join("v.idx");
    let idx = HnswIndex::build(emb, IndexParams::default(), None).unwrap();
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
        .search(&emb, &Query::new(&pos, &neg, 10).ef(Some(200)))
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
        .search(&emb, &Query::new(&pos, &neg, 5).cosmul(true).ef(Some(200)))
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
        .search(&emb, &Query::new(&[Term::Word("king")], &[], 5000))
        .unwrap();
    assert!(all.len() <= 999 && all.len() > 900, "{}", all.len());
    assert!(all.iter().all(|n| n.index < 1000));
    let few = idx
        .search(
            &emb,
            &Query::new(&[Term::Word("king")], &[], 5)
                .restrict_vocab(Some(100))
                .ef(Some(100)),
        )
        .unwrap();
    assert!(few.iter().all(|n| n.index < 100));
    // Words outside the indexed rows still work as queries; unknown words are errors.
    assert!(idx
        .search(&emb, &Query::new(&[Term::Word("computer")], &[], 3))
        .is_ok());
    assert!(idx
        .search(&emb, &Query::new(&[Term::Word("zzzz")], &[], 3))
        .is_err());
    // The index refuses exactly what the exact scan refuses.
    for (pos, neg) in [(vec![], vec![]), (vec![], vec![Term::Word("king")])] {
        let a = idx
            .search(&emb, &Query::new(&pos, &neg, 3).cosmul(true))
            .unwrap_err()
            .to_string();
        let b = emb
            .most_similar_cosmul(&pos, &neg, 3, None)
            .unwrap_err()
            .to_string();
        assert_eq!(a, b);
    }
    let a = idx
        .search(&emb, &Query::new(&[], &[], 3))
        .unwrap_err()
        .to_string();
    assert_eq!(
        a,
        emb.most_similar(&[], &[], 3, None).unwrap_err().to_string()
    );
    assert!(idx
        .search(&emb, &Query::vector(&[f32::NAN; 32], 3))
        .is_err());
}

#[test]
fn save_reload_and_searcher_modes() {
    let dir = tempfile::tempdir().unwrap();
    let emb = load("w2vc-sg-d32.bin");
    let p = build_and_save(&emb, dir.path());
    let built = HnswIndex::build(&emb, IndexParams::default(), None).unwrap();
    let loaded = HnswIndex::load(&p, &emb).unwrap();
    assert_eq!(loaded.info().indexed, 4642);
    let q = [Term::Word("water")];
    let a = loaded
        .search(&emb, &Query::new(&q, &[], 10).ef(Some(100)))
        .unwrap();
    let b = built
        .search(&emb, &Query::new(&q, &[], 10).ef(Some(100)))
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
    assert!(!s.uses_index(&Query::default().mode(Mode::Auto)));
    assert!(s.uses_index(&Query::default().mode(Mode::Index)));
    assert_eq!(
        s.search(&Query::new(&q, &[], 5).mode(Mode::Auto)).unwrap(),
        s.embeddings.most_similar(&q, &[], 5, None).unwrap()
    );
    assert_eq!(
        s.search(&Query::new(&q, &[], 5).mode(Mode::Index).ef(Some(200)))
            .unwrap()
            .len(),
        5
    );
    assert!(Searcher::exact(load("gensim-d32.bin"))
        .search(&Query::new(&q, &[], 5).mode(Mode::Index))
        .is_err());
}

#[test]
fn mismatched_vectors_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = build_and_save(&load("w2vc-sg-d32.bin"), dir.path());
    let fewer = wordvec::load(
        &data("w2vc-sg-d32.bin"),
        &LoadOptions::default().limit(Some(4000)),
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
    let original = std::fs::read(&p).unwrap();
    let try_with = |bytes: &[u8]| {
        std::fs::write(&p, bytes).unwrap();
        HnswIndex::load(&p, &emb).map(|_| ())
    };
    let err = |bytes: &[u8]| try_with(bytes).unwrap_err().to_string();
    assert!(err(&original[..100]).contains("no WVGRAPH1 magic"));
    assert!(err(&original[..original.len() - 64]).contains("truncated or extended"));
    let mut b = original.clone();
    b.extend([0u8; 64]);
    assert!(err(&b).contains("truncated or extended"));
    let mut b = original.clone();
    b[8] = 9;
    assert!(err(&b).contains("graph version 9"));
    let mut b = original.clone();
    b[104..112].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(err(&b).contains("layer 0"), "{}", err(&b));
    assert!(err(b"{\"format\": \"other\"}").contains("not a wordvec index"));
    // Links out of range open (nothing is read at open) but are skipped by the search and
    // named by verify.
    let mut b = original.clone();
    let l0 = u64::from_le_bytes(b[104..112].try_into().unwrap()) as usize;
    for k in 0..200 {
        let at = l0 + 4 * (1 + k * 33);
        b[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    }
    std::fs::write(&p, &b).unwrap();
    let damaged = HnswIndex::load(&p, &emb).unwrap();
    assert!(damaged
        .search(
            &emb,
            &Query::new(&[Term::Word("king")], &[], 10).ef(Some(100))
        )
        .is_ok());
    assert!(damaged
        .verify()
        .unwrap_err()
        .to_string()
        .contains("link to"));
    std::fs::remove_file(&p).unwrap();
    assert!(HnswIndex::load(&p, &emb)
        .unwrap_err()
        .to_string()
        .contains("cannot open"));
}

#[test]
fn old_indexes_are_named_and_imported_with_hnsw_rs_recall() {
    let emb = load("w2vc-sg-d32.bin");
    let dir = tempfile::tempdir().unwrap();
    let (old, reference) = common::legacy_index(&emb, dir.path());
    let e = HnswIndex::load(&old, &emb).unwrap_err().to_string();
    assert!(e.contains("wordvec index import"), "{e}");
    let imported = HnswIndex::import(&old, &emb).unwrap();
    imported.verify().unwrap();
    // Search over the converted graph reaches hnsw_rs's own recall on the same graph at equal
    // ef (within 0.01), on 1,000 word queries spread over the vocabulary.
    let n = emb.len();
    let queries: Vec<usize> = (0..1000).map(|q| (q * 7919 + 1) % n).collect();
    let exact: Vec<Vec<usize>> = queries
        .iter()
        .map(|&i| {
            emb.most_similar_to_vector(&emb.unit_row(i), 10, None)
                .unwrap()
                .into_iter()
                .map(|x| x.index)
                .collect()
        })
        .collect();
    for ef in [10, 20, 40] {
        let (mut ours, mut theirs) = (0usize, 0usize);
        for (q, want) in queries.iter().zip(&exact) {
            let v = emb.unit_row(*q);
            let a = imported
                .search(&emb, &Query::vector(&v, 10).ef(Some(ef)))
                .unwrap();
            ours += a.iter().filter(|x| want.contains(&x.index)).count();
            let b = reference.search(&v, 10, ef, None).unwrap();
            theirs += b.iter().filter(|x| want.contains(x)).count();
        }
        let (ours, theirs) = (ours as f64 / 10_000.0, theirs as f64 / 10_000.0);
        assert!(
            ours >= theirs - 0.01,
            "ef {ef}: recall {ours} over the imported graph, {theirs} in hnsw_rs"
        );
    }
}

#[test]
fn graph_files_are_one_file_of_bounded_size() {
    let emb = load("w2vc-sg-d32.bin");
    let dir = tempfile::tempdir().unwrap();
    let p = build_and_save(&emb, dir.path());
    let bytes = std::fs::metadata(&p).unwrap().len() as f64;
    // (2M + 2) x 4 bytes per row plus 10%, M = 16.
    let bound = (2.0 * 16.0 + 2.0) * 4.0 * emb.len() as f64 * 1.1;
    assert!(bytes <= bound, "{bytes} bytes for {} rows", emb.len());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    let idx = HnswIndex::load(&p, &emb).unwrap();
    idx.verify().unwrap();
}

#[test]
fn concurrent_queries_on_one_mapped_index_answer_as_alone() {
    use rayon::prelude::*;
    let emb = load("w2vc-sg-d32.bin");
    let dir = tempfile::tempdir().unwrap();
    let p = build_and_save(&emb, dir.path());
    let idx = HnswIndex::load(&p, &emb).unwrap();
    let ask = |i: usize| {
        idx.search(
            &emb,
            &Query::new(&[Term::Word(emb.word(i))], &[], 10).ef(Some(50)),
        )
        .unwrap()
    };
    let alone: Vec<_> = (0..400).map(ask).collect();
    let together: Vec<_> = (0..400).into_par_iter().map(ask).collect();
    assert_eq!(alone, together);
}

#[test]
fn empty_store() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("e.bin");
    std::fs::write(&p, b"0 8\n").unwrap();
    let emb = wordvec::load(&p, &LoadOptions::default()).unwrap();
    let idx = HnswIndex::build(&emb, IndexParams::default(), None).unwrap();
    assert!(idx
        .search(&emb, &Query::vector(&[1.0; 8], 5))
        .unwrap()
        .is_empty());
    assert!(recall(&emb, &idx, 10, 10, &[10]).is_err());
}

/// The rows of `idx` that no search returns for their own vector, searched exhaustively
/// (`ef` = every row, so only a row the search cannot reach is missed).
fn rows_not_returned(emb: &Embeddings, idx: &HnswIndex) -> Vec<String> {
    let n = idx.info().indexed;
    (0..n)
        .filter_map(|i| {
            let word = emb.word(i);
            let v = emb.vector(word).unwrap();
            let got = idx
                .search(emb, &Query::new(&[Term::Vector(&v)], &[], 5).ef(Some(n)))
                .unwrap();
            (!got.iter().any(|g| g.word == word)).then(|| word.to_string())
        })
        .collect()
}

#[test]
fn every_indexed_row_is_returned_for_its_own_vector() {
    // Before the repair pass, builds at the default M 16 left a few rows of w2vc-sg-d32 with no
    // in-link (3 in one run), and gensim-d32 at M 2 had 765 rows no search returned. Checked at
    // M 8 and the default M 16: at M 2-4 a search whose layer-0 beam starts where the upper
    // layers lead (not at the entry point) can still miss rows that the entry point reaches, and
    // parallel builds differ from run to run, so such M would make this test flaky.
    for (fixture, configs) in [
        ("gensim-d32.bin", [(8, 40), (16, 100)]),
        ("w2vc-sg-d32.bin", [(8, 40), (16, 100)]),
    ] {
        let emb = load(fixture);
        for (m, ef_construction) in configs {
            let params = IndexParams {
                m,
                ef_construction,
                ..Default::default()
            };
            let idx = HnswIndex::build(&emb, params, None).unwrap();
            let missed = rows_not_returned(&emb, &idx);
            assert!(
                missed.is_empty(),
                "{fixture}, M {m}: {} rows never returned: {missed:?}",
                missed.len()
            );
            idx.verify().unwrap();
        }
    }
}
