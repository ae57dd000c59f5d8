//! Allow- and deny-lists, against a brute-force scan, in the exact path and through the graph;
//! from the CLI and over gRPC.

use crate::common;

use common::load;
use wordvec::index::{HnswIndex, IndexParams};
use wordvec::search::{Filter, Mode, Query, Searcher};
use wordvec::{Embeddings, Neighbor, Term};

/// Every admitted row scored by the exact path with no filter, then filtered: the truth.
fn brute_force(emb: &Embeddings, word: &str, k: usize, f: &Filter) -> Vec<Neighbor> {
    emb.most_similar(&[Term::Word(word)], &[], emb.len(), None)
        .unwrap()
        .into_iter()
        .filter(|n| f.admits(n.index))
        .take(k)
        .collect()
}

fn random_lists(
    emb: &Embeddings,
    seed: u64,
    allow: usize,
    deny: usize,
) -> (Vec<String>, Vec<String>) {
    let mut next = common::below(seed);
    let pick = |next: &mut dyn FnMut(usize) -> usize, n: usize| -> Vec<String> {
        (0..n)
            .map(|_| emb.word(next(emb.len())).to_owned())
            .collect()
    };
    (pick(&mut next, allow), pick(&mut next, deny))
}

#[test]
fn filters_match_a_brute_force_scan_in_both_paths() {
    filters_against_brute_force(false);
}

#[test]
fn filters_match_a_brute_force_scan_with_int8_traversal() {
    filters_against_brute_force(true);
}

/// With `int8`, the embeddings carry their int8 copy: exact queries scan it first and the graph
/// is traversed over it.
fn filters_against_brute_force(int8: bool) {
    let mut emb = load("w2vc-sg-d32.bin");
    if int8 {
        let rows = wordvec::quant::Int8Rows::build(&emb).unwrap();
        emb.attach_int8(rows).unwrap();
    }
    let index = HnswIndex::build(&emb, IndexParams::default(), None).unwrap();
    let s = Searcher {
        embeddings: emb,
        index: Some(index),
    };
    let emb = &s.embeddings;
    let (mut total, mut found) = (0, 0);
    // A row the truth holds is returned with the truth's score; any other row scores no more
    // than the truth's last.
    let want_score = |want: &[Neighbor], n: &Neighbor| {
        want.iter()
            .find(|w| w.index == n.index)
            .map_or(want.last().is_none_or(|l| n.score <= l.score), |w| {
                w.score == n.score
            })
    };
    for seed in 0..40u64 {
        let (allow, deny) = random_lists(emb, seed, [5, 50, 800, 3000][seed as usize % 4], 200);
        let with_allow = seed % 3 != 0;
        let f = Filter::from_words(emb, with_allow.then_some(allow.as_slice()), &deny).unwrap();
        let word = emb.word(common::below(seed + 100)(emb.len())).to_owned();
        let want = brute_force(emb, &word, 10, &f);
        let terms = [Term::Word(&word)];
        let q = Query::new(&terms, &[], 10).filter(f.clone());
        // The exact path: the same words, scores and order.
        let exact = s.search(&q.clone().mode(Mode::Exact)).unwrap();
        assert_eq!(exact, want, "seed {seed}: exact path");
        // The graph, searched as wide as the graph is large: admitted rows only, scored
        // exactly, and (HNSW graphs need not be connected) nearly all of the truth.
        let graph = s
            .search(&q.clone().mode(Mode::Index).ef(Some(emb.len())))
            .unwrap();
        assert!(graph
            .iter()
            .all(|n| f.admits(n.index) && want_score(&want, n)));
        total += want.len();
        found += graph.iter().filter(|n| want.contains(n)).count();
        // At the default ef the graph's answer is admitted rows only, most of the truth.
        let narrow = s.search(&q.clone().mode(Mode::Index)).unwrap();
        assert!(narrow.iter().all(|n| f.admits(n.index)), "seed {seed}");
    }
    let recall = found as f64 / total as f64;
    assert!(recall >= 0.99, "filtered graph recall {recall}");
}

#[test]
fn restrict_vocab_and_filters_together() {
    let emb = load("w2vc-sg-d32.bin");
    let (allow, deny) = random_lists(&emb, 7, 2000, 100);
    let f = Filter::from_words(&emb, Some(&allow), &deny).unwrap();
    let got = emb
        .search_exact(
            &Query::new(&[Term::Word("king")], &[], 20)
                .restrict_vocab(Some(1000))
                .filter(f.clone()),
        )
        .unwrap();
    let want: Vec<Neighbor> = brute_force(&emb, "king", emb.len(), &f)
        .into_iter()
        .filter(|n| n.index < 1000)
        .take(20)
        .collect();
    assert_eq!(got, want);
    // 3CosMul honours the filter too.
    let cm = emb
        .search_exact(
            &Query::new(&[Term::Word("king")], &[Term::Word("man")], 10)
                .cosmul(true)
                .filter(f.clone()),
        )
        .unwrap();
    assert!(cm.iter().all(|n| f.admits(n.index)));
    assert_eq!(cm.len(), 10);
}

#[test]
fn bad_lists_are_clear_errors() {
    let emb = load("w2vc-sg-d32.bin");
    let none: &[&str] = &[];
    let e = Filter::from_words(&emb, Some(none), none)
        .unwrap_err()
        .to_string();
    assert!(e.contains("allow-list is empty"), "{e}");
    let e = Filter::from_words(&emb, Some(&["qqqq", "zzzz"]), none)
        .unwrap_err()
        .to_string();
    assert!(e.contains("none of the 2 words"), "{e}");
    // Unknown words beside known ones are left out; an allow-list of only the query word
    // leaves nothing to answer: an empty answer, not an error.
    let f = Filter::from_words(&emb, Some(&["king", "qqqq"]), none).unwrap();
    let r = emb
        .search_exact(&Query::new(&[Term::Word("king")], &[], 5).filter(f))
        .unwrap();
    assert!(r.is_empty());
}

#[test]
fn a_short_allow_list_is_scanned_exactly() {
    let s = common::indexed_random(5);
    let terms = [Term::Word("w3")];
    let q = Query::new(&terms, &[], 5);
    assert!(s.uses_index(&q));
    let few: Vec<String> = (0..100).map(|i| format!("w{}", i * 97)).collect();
    let f = Filter::from_words(&s.embeddings, Some(&few), &["w0"]).unwrap();
    let q = q.filter(f.clone());
    assert!(
        !s.uses_index(&q),
        "100 allowed rows are scanned, not searched"
    );
    let got = s.search(&q).unwrap();
    assert_eq!(got, brute_force(&s.embeddings, "w3", 5, &f));
}

#[test]
fn cli_only_and_exclude() {
    let dir = tempfile::tempdir().unwrap();
    let f = common::data("w2vc-sg-d32.bin");
    let only = dir.path().join("only.txt");
    std::fs::write(&only, "queen prince\nlord\nduke zzzz\n").unwrap();
    let exclude = dir.path().join("exclude.txt");
    std::fs::write(&exclude, "lord\n").unwrap();
    let out = common::wordvec()
        .args([
            "nn",
            f.to_str().unwrap(),
            "king",
            "--json",
            "-k",
            "10",
            "--only",
        ])
        .arg(&only)
        .arg("--exclude")
        .arg(&exclude)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut got: Vec<&str> = v["neighbors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["word"].as_str().unwrap())
        .collect();
    got.sort();
    assert_eq!(got, ["duke", "prince", "queen"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_only_and_exclude_words() {
    use wordvec::server::proto;
    let emb = load("w2vc-sg-d32.bin");
    let s = common::server::start_exact("w2v", emb).await;
    let mut c = s.client().await;
    let mut r = common::server::ms(&["king"], &[], 10);
    r.only_words = vec![
        "queen".into(),
        "prince".into(),
        "lord".into(),
        "zzzz".into(),
    ];
    r.exclude_words = vec!["lord".into()];
    let got = c.most_similar(r).await.unwrap().into_inner();
    let mut words = common::server::words(&got);
    words.sort();
    assert_eq!(words, ["prince", "queen"]);
    let mut r = common::server::ms(&["king"], &[], 10);
    r.only_words = vec!["zzzz".into()];
    let e = c.most_similar(r).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    let a = c
        .analogy(proto::AnalogyRequest {
            a: "man".into(),
            b: "king".into(),
            c: "woman".into(),
            exclude_words: vec!["queen".into()],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!common::server::words(&a).contains(&"queen".to_owned()));
    s.shutdown().await.unwrap();
}
