//! The int8 copy: exact queries that scan it first give the f32 scan's answers exactly (words,
//! scores, order, ties), and a copy that does not belong to its vectors is an error.

use crate::common;

use std::path::Path;

use wordvec::quant::record::{record_path, VERIFY_ENV};
use wordvec::quant::{sidecar_path, Int8Rows};
use wordvec::search::{Filter, Query};
use wordvec::{Embeddings, Format, LoadOptions, SaveOptions, Term};

/// The fixture as a native file with its int8 sidecar: (plain, with int8 attached).
fn pair(dir: &Path, emb: &Embeddings) -> (Embeddings, Embeddings) {
    let p = dir.join("v.wvec");
    wordvec::save(emb, &p, Format::Native, &SaveOptions::default()).unwrap();
    let plain = wordvec::load(&p, &LoadOptions::default()).unwrap();
    Int8Rows::build(&plain)
        .unwrap()
        .save(&sidecar_path(&p))
        .unwrap();
    let mut fast = wordvec::load(&p, &LoadOptions::default()).unwrap();
    let rows = Int8Rows::open(&sidecar_path(&p), &fast).unwrap();
    fast.attach_int8(rows).unwrap();
    (plain, fast)
}

#[test]
fn answers_equal_the_f32_scan_on_thousands_of_queries() {
    let dir = tempfile::tempdir().unwrap();
    let emb = common::load("w2vc-sg-d32.bin");
    let (plain, fast) = pair(dir.path(), &emb);
    let n = plain.len();
    let mut next = common::below(2024);
    let mut checked = 0;
    for q in 0..3000 {
        let w = plain.word((q * 7919 + 1) % n).to_owned();
        let w2 = plain.word(next(n)).to_owned();
        let w3 = plain.word(next(n)).to_owned();
        let v: Vec<f32> = (0..plain.dims())
            .map(|_| next(2001) as f32 / 1000.0 - 1.0)
            .collect();
        let k = [1, 5, 10, 50, 300][q % 5];
        let restrict = [None, Some(100), Some(3000)][q % 3];
        let terms_a = [Term::Word(&w)];
        let terms_b = [Term::Word(&w2), Term::Word(&w3)];
        let neg = [Term::Word(&w)];
        let queries = [
            Query::new(&terms_a, &[], k).restrict_vocab(restrict),
            Query::new(&terms_b, &neg, k),
            Query::vector(&v, k).restrict_vocab(restrict),
        ];
        for query in &queries {
            let a = plain.search_exact(query).unwrap();
            let b = fast.search_exact(query).unwrap();
            assert_eq!(a, b, "query {q}");
            checked += 1;
        }
    }
    // With a deny-list too.
    let deny: Vec<String> = (0..500).map(|i| plain.word(i * 9).to_owned()).collect();
    let f = Filter::from_words::<&str, String>(&plain, None, &deny).unwrap();
    for q in 0..300 {
        let w = plain.word((q * 31 + 7) % n).to_owned();
        let terms = [Term::Word(&w)];
        let query = Query::new(&terms, &[], 10).filter(f.clone());
        assert_eq!(
            plain.search_exact(&query).unwrap(),
            fast.search_exact(&query).unwrap()
        );
        checked += 1;
    }
    assert_eq!(checked, 9300);
    // k = 0: empty, as the f32 scan, and bad terms are still errors.
    let terms = [Term::Word("king")];
    assert!(fast
        .search_exact(&Query::new(&terms, &[], 0))
        .unwrap()
        .is_empty());
    let unknown = [Term::Word("zzqq")];
    assert!(fast.search_exact(&Query::new(&unknown, &[], 0)).is_err());
}

#[test]
fn ties_break_as_the_f32_scan_breaks_them() {
    // Every vector appears three times under three words: every score ties with two others.
    let base = common::load("w2vc-sg-d32.bin");
    let (mut words, mut values) = (Vec::new(), Vec::new());
    for i in 0..600 {
        for copy in 0..3 {
            words.push(format!("{}#{copy}", base.word(i)));
            values.extend(base.raw_row(i));
        }
    }
    let emb = Embeddings::from_vectors(&words, values, base.dims()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (plain, fast) = pair(dir.path(), &emb);
    for q in 0..600 {
        let v = plain.unit_row(q * 3);
        for k in [1, 2, 3, 4, 7, 30] {
            let query = Query::vector(&v, k);
            let (a, b) = (
                plain.search_exact(&query).unwrap(),
                fast.search_exact(&query).unwrap(),
            );
            assert_eq!(a, b, "row {q}, k {k}");
        }
    }
}

#[test]
fn copies_that_do_not_belong_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let emb = common::load("w2vc-sg-d32.bin");
    let (plain, _) = pair(dir.path(), &emb);
    let side = sidecar_path(&dir.path().join("v.wvec"));
    let original = std::fs::read(&side).unwrap();
    let open = |bytes: &[u8]| {
        std::fs::write(&side, bytes).unwrap();
        Int8Rows::open(&side, &plain)
            .map(|_| ())
            .unwrap_err()
            .to_string()
    };
    assert!(
        open(&original[..100]).contains("no WVINT8Q1 magic")
            || open(&original[..100]).contains("truncated")
    );
    assert!(open(&original[..original.len() - 64]).contains("truncated or extended"));
    // A code changed by more than rounding: the copy disagrees with its row.
    let mut b = original.clone();
    let codes = u64::from_le_bytes(b[64..72].try_into().unwrap()) as usize;
    b[codes + 32 * 17 + 3] ^= 0x80;
    let e = open(&b);
    assert!(
        e.contains("disagrees with its row") && e.contains("record 17"),
        "{e}"
    );
    // A step that is not a number.
    let mut b = original.clone();
    let step = u64::from_le_bytes(b[56..64].try_into().unwrap()) as usize;
    b[step..step + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    assert!(open(&b).contains("dimension 0"));
    // Another set of vectors: named by fingerprint.
    std::fs::write(&side, &original).unwrap();
    let fewer = wordvec::load(
        &common::data("w2vc-sg-d32.bin"),
        &LoadOptions::default().limit(Some(4000)),
    )
    .unwrap();
    let e = Int8Rows::open(&side, &fewer).unwrap_err().to_string();
    assert!(e.contains("belongs to other vectors"), "{e}");
    // Through the CLI: the sidecar beside a vectors file is picked up, and a bad one stops it.
    let v = dir.path().join("v.wvec");
    let ok = common::wordvec()
        .args(["nn", v.to_str().unwrap(), "king", "-k", "3"])
        .output()
        .unwrap();
    assert!(ok.status.success());
    std::fs::write(&side, &original[..original.len() / 2]).unwrap();
    let bad = common::wordvec()
        .args(["nn", v.to_str().unwrap(), "king"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("int8 copy"));
}

/// Opened beside its vectors, a copy is checked once: the check is recorded next to it
/// (`v.wvec.i8.ok`) and later opens of the same two files skip it, unless
/// `WORDVEC_INT8_VERIFY=always`; a copy edited in place after the record is checked again and
/// refused.
#[test]
fn the_check_is_recorded_once_and_an_edited_copy_is_checked_again() {
    let dir = tempfile::tempdir().unwrap();
    let emb = common::load("w2vc-sg-d32.bin");
    pair(dir.path(), &emb);
    let v = dir.path().join("v.wvec");
    let side = sidecar_path(&v);
    let record = record_path(&side);
    // A check is recorded only for files that last changed seconds before it.
    assert!(wordvec::open(&v, &LoadOptions::default())
        .unwrap()
        .int8()
        .is_some());
    assert!(!record.exists());
    std::thread::sleep(std::time::Duration::from_millis(3_100));
    assert!(wordvec::open(&v, &LoadOptions::default())
        .unwrap()
        .int8()
        .is_some());
    assert!(record.is_file());
    let nn = |force: bool| {
        let mut c = common::wordvec();
        c.env("RUST_LOG", "debug")
            .args(["nn", v.to_str().unwrap(), "king", "-k", "3"]);
        if force {
            c.env(VERIFY_ENV, "always");
        }
        let out = c.output().unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    assert!(nn(false).contains("check skipped"));
    assert!(!nn(true).contains("check skipped"));
    // One code changed in place: same file, same length, other times.
    let original = std::fs::read(&side).unwrap();
    let codes = u64::from_le_bytes(original[64..72].try_into().unwrap());
    let at = codes + 32 * 17 + 3;
    let mut f = std::fs::OpenOptions::new().write(true).open(&side).unwrap();
    std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(at)).unwrap();
    std::io::Write::write_all(&mut f, &[original[at as usize] ^ 0x80]).unwrap();
    drop(f);
    let e = wordvec::open(&v, &LoadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("disagrees with its row"), "{e}");
}

#[test]
fn graph_traversal_over_the_codes_keeps_recall_and_scores_exact() {
    use wordvec::index::{recall, HnswIndex, IndexParams};
    let dir = tempfile::tempdir().unwrap();
    let emb = common::load("w2vc-sg-d32.bin");
    let (plain, fast) = pair(dir.path(), &emb);
    let idx = HnswIndex::build(&plain, IndexParams::default(), None).unwrap();
    // The same graph, traversed over the f32 rows and over the codes.
    let f32_recall = recall(&plain, &idx, 400, 10, &[10, 100]).unwrap();
    let int8_recall = recall(&fast, &idx, 400, 10, &[10, 100]).unwrap();
    // With ef equal to k the beam has no room for the codes' error (largest in few dimensions,
    // 32 here); a wider beam absorbs it.
    for ((a, b), slack) in f32_recall.iter().zip(&int8_recall).zip([0.05, 0.01]) {
        assert!(
            b.recall_words >= a.recall_words - slack,
            "ef {}: int8 traversal recall {} against f32 {}",
            a.ef,
            b.recall_words,
            a.recall_words
        );
    }
    assert!(int8_recall[1].recall_words >= 0.95, "{:?}", int8_recall[1]);
    // Whatever traversal finds is re-scored in f32: every score is the exact scan's score for
    // that word, the order is the exact order, and a search as wide as the graph finds the exact
    // answer.
    let n = plain.len();
    let mut exact_answers = 0;
    for q in 0..200 {
        let w = plain.word((q * 7919 + 1) % n).to_owned();
        let terms = [Term::Word(&w)];
        let everything: std::collections::HashMap<usize, f32> = plain
            .most_similar(&terms, &[], n, None)
            .unwrap()
            .into_iter()
            .map(|nb| (nb.index, nb.score))
            .collect();
        let got = idx
            .search(&fast, &Query::new(&terms, &[], 10).ef(Some(20)))
            .unwrap();
        assert_eq!(got.len(), 10);
        for nb in &got {
            assert_eq!(everything[&nb.index], nb.score, "query {w}: {}", nb.word);
        }
        assert!(got.windows(2).all(|p| p[0].score >= p[1].score));
        let wide = idx
            .search(&fast, &Query::new(&terms, &[], 10).ef(Some(n)))
            .unwrap();
        if wide == plain.most_similar(&terms, &[], 10, None).unwrap() {
            exact_answers += 1;
        }
    }
    // An HNSW graph need not reach every node from its entry point (the pruning heuristic can
    // leave a node with no links to it: 3 to 7 of these 4,642 rows in five builds, with f32
    // traversal as with int8), so a search as wide as the graph finds the exact answer for
    // nearly every query, not every one.
    assert!(exact_answers >= 190, "{exact_answers} of 200");
}
