//! fastText models: open-to-first-answer and the throughput of vectors for words outside the
//! vocabulary, in one process. Prints one JSON object; benches/compare_fasttext.py runs it
//! beside gensim's `load_facebook_vectors` on the same model.
//!
//! Usage: cargo bench --bench fasttext_oov -- MODEL WORD OOV_FILE
//! (MODEL: a fastText .bin or its native copy; WORD: the first query; OOV_FILE: one word per
//! line, words outside the vocabulary whose vectors are computed.)

use std::time::Instant;

use wordvec::{LoadOptions, Term};

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let [model, word, oov_file] = &args[..] else {
        panic!("usage: fasttext_oov MODEL WORD OOV_FILE");
    };
    let t = Instant::now();
    let emb = wordvec::load(model.as_ref(), &LoadOptions::default()).unwrap();
    let open = t.elapsed().as_secs_f64();
    let first = emb
        .most_similar(&[Term::Word(word)], &[], 10, None)
        .unwrap();
    let first_answer = t.elapsed().as_secs_f64();
    let words: Vec<String> = std::fs::read_to_string(oov_file)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let t = Instant::now();
    let mut found = 0usize;
    let mut check = 0f64;
    for w in &words {
        if let Some(v) = emb.subword_vector(w).unwrap() {
            found += 1;
            check += f64::from(v[0]);
        }
    }
    let oov_s = t.elapsed().as_secs_f64();
    let out = serde_json::json!({
        "words": emb.len(), "dims": emb.dims(), "open_s": open, "first_answer_s": first_answer,
        "first": first.iter().map(|n| (n.word.clone(), n.score)).collect::<Vec<_>>(),
        "oov_words": words.len(), "oov_found": found, "oov_per_s": words.len() as f64 / oov_s,
        "checksum": check,
    });
    println!("{out}");
}
