//! Word-pair similarity, as gensim's `evaluate_word_pairs`: Pearson and Spearman correlation
//! between gold scores and the model's cosines, over the pairs whose words are both in the first
//! `restrict_vocab` words (case-insensitively by default); lines starting with `#` are comments.

use std::path::Path;

use serde::Serialize;

use crate::embeddings::Embeddings;
use crate::error::{Error, Result};
use crate::eval::{eval_vocab, stats};

/// The result of a word-pair evaluation.
#[derive(Debug, Clone, Serialize)]
pub struct PairsReport {
    /// Pearson's r between gold scores and cosines.
    pub pearson: f64,
    /// Spearman's rho (ties averaged).
    pub spearman: f64,
    /// Two-sided p-value of `pearson` (as SciPy's `pearsonr`).
    pub pearson_p: f64,
    /// Two-sided p-value of `spearman` (as SciPy's `spearmanr`).
    pub spearman_p: f64,
    /// Pairs scored.
    pub pairs: usize,
    /// Pairs skipped because a word is outside the evaluated vocabulary.
    pub oov: usize,
    /// `oov / (pairs + oov) * 100`.
    pub oov_percent: f64,
}

/// Evaluates `emb` on a file of `word1 <delimiter> word2 <delimiter> score` lines.
pub fn evaluate_pairs(
    emb: &Embeddings,
    path: &Path,
    delimiter: char,
    restrict_vocab: usize,
    case_insensitive: bool,
) -> Result<PairsReport> {
    evaluate_pairs_with(
        emb,
        path,
        delimiter,
        restrict_vocab,
        case_insensitive,
        false,
        false,
    )
}

/// [`evaluate_pairs`], and with `oov_from_subwords` (fastText models) a pair with a word
/// outside the evaluated vocabulary is scored with that word's n-gram vector instead of being
/// skipped (gensim skips it). With `dummy4unknown` (gensim's), such a pair is scored 0 instead
/// of being skipped (and still counted in `oov`; `oov_percent` is then over the scored pairs, as
/// gensim's).
pub fn evaluate_pairs_with(
    emb: &Embeddings,
    path: &Path,
    delimiter: char,
    restrict_vocab: usize,
    case_insensitive: bool,
    oov_from_subwords: bool,
    dummy4unknown: bool,
) -> Result<PairsReport> {
    let text = std::fs::read(path).map_err(|e| Error::io("cannot read", path, e))?;
    let text = String::from_utf8(text).map_err(|e| {
        Error::format(
            path,
            None,
            e.utf8_error().valid_up_to() as u64,
            "word-pair file is not UTF-8",
        )
    })?;
    let vocab = eval_vocab(emb, restrict_vocab, case_insensitive);
    let (mut gold, mut model, mut oov) = (Vec::new(), Vec::new(), 0usize);
    for (line_no, line) in text.lines().enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let parts: Vec<&str> = line.split(delimiter).collect();
        let [a, b, score] = parts[..] else {
            tracing::debug!(line = line_no + 1, "skipping invalid word-pair line");
            continue;
        };
        let Ok(score) = score.trim().parse::<f64>() else {
            tracing::debug!(
                line = line_no + 1,
                "skipping word-pair line without a score"
            );
            continue;
        };
        let key = |w: &str| {
            if case_insensitive {
                w.to_uppercase()
            } else {
                w.to_owned()
            }
        };
        // A word's unit vector: its row in the evaluated vocabulary, or (with
        // `oov_from_subwords`) its n-grams' vector, from the word as the file writes it.
        let unit = |w: &str| -> Result<Option<Vec<f32>>> {
            if let Some(&i) = vocab.get(&key(w)) {
                return Ok(Some(emb.unit_row(i)));
            }
            if !oov_from_subwords {
                return Ok(None);
            }
            emb.subword_unit_vector(w)
        };
        match (unit(a)?, unit(b)?) {
            (Some(u), Some(v)) => {
                gold.push(score);
                model.push(f64::from(u.iter().zip(&v).map(|(x, y)| x * y).sum::<f32>()));
            }
            _ => {
                oov += 1;
                if dummy4unknown {
                    gold.push(score);
                    model.push(0.0);
                }
            }
        }
    }
    if gold.is_empty() {
        return Err(Error::invalid(format!(
            "{}: no word pair has both words in the vocabulary",
            path.display()
        )));
    }
    let (pearson, spearman) = (
        stats::pearson(&gold, &model),
        stats::spearman(&gold, &model),
    );
    Ok(PairsReport {
        pearson,
        spearman,
        pearson_p: stats::correlation_p_value(pearson, gold.len()),
        spearman_p: stats::correlation_p_value(spearman, gold.len()),
        pairs: gold.len(),
        oov,
        oov_percent: if dummy4unknown {
            oov as f64 / gold.len() as f64 * 100.0
        } else {
            oov as f64 / (gold.len() + oov) as f64 * 100.0
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dummy4unknown_scores_pairs_outside_the_vocabulary_zero() {
        let words = ["a", "b", "c"];
        let emb = Embeddings::from_vectors(&words, vec![1.0, 0.0, 0.6, 0.8, 0.0, 1.0], 2).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pairs.tsv");
        std::fs::write(&path, "a\tb\t5\nb\tc\t9\na\tc\t1\na\tzz\t7\n").unwrap();
        let eval = |dummy| evaluate_pairs_with(&emb, &path, '\t', 100, true, false, dummy).unwrap();
        let (skip, dummy) = (eval(false), eval(true));
        assert_eq!((skip.pairs, skip.oov), (3, 1));
        assert_eq!((dummy.pairs, dummy.oov), (4, 1));
        assert!((skip.oov_percent - 25.0).abs() < 1e-9);
        assert!((dummy.oov_percent - 25.0).abs() < 1e-9);
        // The fourth pair, scored 0 against a gold score of 7, breaks the perfect ranking.
        assert!((skip.spearman - 1.0).abs() < 1e-9);
        assert!(dummy.spearman < 0.9, "{}", dummy.spearman);
    }
}
