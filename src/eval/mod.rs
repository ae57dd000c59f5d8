//! Intrinsic evaluation with gensim's rules: word analogies (`questions-words.txt`) and word-pair
//! similarity (WordSim-353 and friends).

pub mod analogies;
pub mod pairs;
pub mod stats;

pub use analogies::{
    evaluate_analogies, evaluate_analogies_with, AnalogyOptions, AnalogyReport, Answered, Section,
};
pub use pairs::{evaluate_pairs, evaluate_pairs_with, PairsReport};

use std::collections::HashMap;

use crate::embeddings::Embeddings;

/// gensim's default: only the 300,000 most frequent words take part.
pub const DEFAULT_RESTRICT_VOCAB: usize = 300_000;

/// The vocabulary an evaluation sees: the first `restrict_vocab` words, upper-cased when
/// `case_insensitive` (the first, most frequent, case variant of a word wins), mapped to rows.
pub(crate) fn eval_vocab(
    emb: &Embeddings,
    restrict_vocab: usize,
    case_insensitive: bool,
) -> HashMap<String, usize> {
    let n = restrict_vocab.min(emb.len());
    let mut map = HashMap::with_capacity(n);
    for i in 0..n {
        let w = emb.word(i);
        let key = if case_insensitive {
            w.to_uppercase()
        } else {
            w.to_owned()
        };
        map.entry(key).or_insert(i);
    }
    map
}
