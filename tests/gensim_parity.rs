//! Query and evaluation results equal gensim 4.4.0's on the fixtures (tests/data/README.md says
//! how the fixtures and `gensim-expected.json` were made): same words in the same order, scores
//! within 1e-5, evaluation counts exact and correlations within 1e-4. Every check runs on the
//! vectors read from each format, including the native format (unit-normalised rows).

use crate::common;

use common::{data, expected, load};
use serde_json::Value;
use wordvec::eval::{evaluate_analogies, evaluate_pairs, DEFAULT_RESTRICT_VOCAB};
use wordvec::{Embeddings, Format, Neighbor, SaveOptions, Term};

fn all_formats() -> Vec<(String, Embeddings)> {
    let bin = load("w2vc-sg-d32.bin");
    let dir = tempfile::tempdir().unwrap();
    let native = dir.path().join("v.wvec");
    wordvec::save(&bin, &native, Format::Native, &SaveOptions::default()).unwrap();
    let native = wordvec::load(&native, &Default::default()).unwrap();
    vec![
        ("w2vc bin".into(), bin),
        ("gensim bin".into(), load("gensim-d32.bin")),
        ("gensim bin.gz".into(), load("gensim-d32.bin.gz")),
        ("native".into(), native),
        ("w2vc txt".into(), load("w2vc-sg-d32.txt")),
    ]
}

fn assert_same(what: &str, got: &[Neighbor], want: &Value) {
    let want = want.as_array().unwrap();
    let got_words: Vec<&str> = got.iter().map(|n| n.word.as_str()).collect();
    let want_words: Vec<&str> = want.iter().map(|p| p[0].as_str().unwrap()).collect();
    assert_eq!(got_words, want_words, "{what}: words differ");
    for (g, w) in got.iter().zip(want) {
        let ws = w[1].as_f64().unwrap();
        assert!(
            (f64::from(g.score) - ws).abs() < 1e-5,
            "{what}: {} scored {} vs gensim {ws}",
            g.word,
            g.score
        );
    }
}

fn words(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn vocabulary_matches() {
    let exp = expected();
    for (name, e) in all_formats() {
        assert_eq!(e.len() as u64, exp["vocab"].as_u64().unwrap(), "{name}");
        assert_eq!(e.dims() as u64, exp["dim"].as_u64().unwrap(), "{name}");
        let first: Vec<&str> = (0..5).map(|i| e.word(i)).collect();
        assert_eq!(first, words(&exp["first_words"]), "{name}");
    }
}

#[test]
fn most_similar_matches() {
    let exp = expected();
    for (name, e) in all_formats() {
        for (word, want) in exp["most_similar"].as_object().unwrap() {
            let got = e.most_similar(&[Term::Word(word)], &[], 10, None).unwrap();
            assert_same(&format!("{name} most_similar({word})"), &got, want);
        }
        for (word, want) in exp["most_similar_restrict_1000"].as_object().unwrap() {
            let got = e
                .most_similar(&[Term::Word(word)], &[], 5, Some(1000))
                .unwrap();
            assert_same(
                &format!("{name} most_similar({word}, restrict_vocab=1000)"),
                &got,
                want,
            );
        }
    }
}

#[test]
fn analogies_and_cosmul_match() {
    let exp = expected();
    for (name, e) in all_formats() {
        for (key, cosmul) in [("analogy", false), ("cosmul", true)] {
            for case in exp[key].as_array().unwrap() {
                let (pos, neg) = (words(&case["positive"]), words(&case["negative"]));
                let pos: Vec<Term> = pos.iter().map(Term::from).collect();
                let neg: Vec<Term> = neg.iter().map(Term::from).collect();
                let got = if cosmul {
                    e.most_similar_cosmul(&pos, &neg, 5, None).unwrap()
                } else {
                    e.most_similar(&pos, &neg, 5, None).unwrap()
                };
                assert_same(&format!("{name} {key} {case}"), &got, &case["result"]);
            }
        }
    }
}

#[test]
fn doesnt_match_and_similarity_match() {
    let exp = expected();
    for (name, e) in all_formats() {
        for case in exp["doesnt_match"].as_array().unwrap() {
            let got = e.doesnt_match(&words(&case["words"])).unwrap();
            assert_eq!(got.word, case["result"].as_str().unwrap(), "{name}");
        }
        for case in exp["similarity"].as_array().unwrap() {
            let got = e
                .similarity(case["a"].as_str().unwrap(), case["b"].as_str().unwrap())
                .unwrap();
            let want = case["result"].as_f64().unwrap();
            assert!(
                (f64::from(got) - want).abs() < 1e-5,
                "{name}: {case}: {got}"
            );
        }
    }
}

#[test]
fn most_similar_to_vector_equals_the_word_query_plus_the_word() {
    // gensim's similar_by_vector excludes nothing: the word itself comes first with cosine 1.
    let e = load("w2vc-sg-d32.bin");
    let v = e.vector("king").unwrap();
    let got = e.most_similar_to_vector(&v, 11, None).unwrap();
    assert_eq!(got[0].word, "king");
    assert!((got[0].score - 1.0).abs() < 1e-5);
    assert_same(
        "similar_by_vector(king)",
        &got[1..],
        &expected()["most_similar"]["king"],
    );
}

#[test]
fn analogy_evaluation_matches() {
    let exp = &expected()["evaluate_word_analogies"];
    for (name, e) in all_formats() {
        let r = evaluate_analogies(
            &e,
            &data("questions-words.txt"),
            DEFAULT_RESTRICT_VOCAB,
            true,
        )
        .unwrap();
        let want = exp["sections"].as_array().unwrap();
        assert_eq!(r.sections.len(), want.len(), "{name}");
        for (got, w) in r.sections.iter().zip(want) {
            assert_eq!(got.section, w["section"].as_str().unwrap(), "{name}");
            assert_eq!(
                got.correct as u64,
                w["correct"].as_u64().unwrap(),
                "{name} {}",
                got.section
            );
            assert_eq!(
                got.incorrect as u64,
                w["incorrect"].as_u64().unwrap(),
                "{name} {}",
                got.section
            );
        }
        assert!(
            (r.total_accuracy - exp["total_accuracy"].as_f64().unwrap()).abs() < 1e-12,
            "{name}"
        );
    }
}

#[test]
fn pair_evaluation_matches() {
    let exp = &expected()["evaluate_word_pairs"];
    for (name, e) in all_formats() {
        let r = evaluate_pairs(
            &e,
            &data("wordsim353.tsv"),
            '\t',
            DEFAULT_RESTRICT_VOCAB,
            true,
        )
        .unwrap();
        assert!(
            (r.pearson - exp["pearson"].as_f64().unwrap()).abs() < 1e-4,
            "{name}: {}",
            r.pearson
        );
        assert!(
            (r.spearman - exp["spearman"].as_f64().unwrap()).abs() < 1e-4,
            "{name}: {}",
            r.spearman
        );
        assert!(
            (r.oov_percent - exp["oov_percent"].as_f64().unwrap()).abs() < 1e-9,
            "{name}"
        );
    }
}
