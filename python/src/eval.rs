//! gensim's evaluations (`evaluate_word_analogies`, `evaluate_word_pairs`) on the library's,
//! with their answers in gensim's shapes.

use std::path::Path;

use wordvec::eval::AnalogyOptions;
use wordvec::Embeddings;

/// A section of analogy questions: `(name, correct questions, incorrect questions)`.
pub(crate) type Section = (String, Vec<[String; 4]>, Vec<[String; 4]>);

/// `(accuracy, sections, oov %)`, as gensim's `evaluate_word_analogies` returns it.
pub(crate) type AnalogiesAnswer = (f64, Vec<Section>, f64);

/// `((pearson, p), (spearman, p), oov %)`, as gensim's `evaluate_word_pairs` returns it.
pub(crate) type PairsAnswer = ((f64, f64), (f64, f64), f64);

/// The analogy questions of `path`, each section's questions sorted into correct and
/// incorrect, every question also in the last section ("Total accuracy").
pub(crate) fn analogies(
    emb: &Embeddings,
    path: &Path,
    restrict_vocab: usize,
    case_insensitive: bool,
    dummy4unknown: bool,
) -> wordvec::Result<AnalogiesAnswer> {
    let opts = AnalogyOptions {
        restrict_vocab,
        case_insensitive,
        oov_from_subwords: false,
        dummy4unknown,
    };
    let r = wordvec::eval::evaluate_analogies_with(emb, path, &opts)?;
    let last = r.sections.len().saturating_sub(1);
    let mut sections: Vec<Section> = r
        .sections
        .iter()
        .map(|s| (s.section.clone(), Vec::new(), Vec::new()))
        .collect();
    for a in &r.answered {
        for at in [a.section, last] {
            let s = &mut sections[at];
            if a.correct {
                s.1.push(a.words.clone());
            } else {
                s.2.push(a.words.clone());
            }
        }
    }
    Ok((r.total_accuracy, sections, r.oov_percent))
}

/// The correlations of `path`'s word pairs' similarities with their human scores.
pub(crate) fn pairs(
    emb: &Embeddings,
    path: &Path,
    delimiter: char,
    restrict_vocab: usize,
    case_insensitive: bool,
    dummy4unknown: bool,
) -> wordvec::Result<PairsAnswer> {
    let r = wordvec::eval::evaluate_pairs_with(
        emb,
        path,
        delimiter,
        restrict_vocab,
        case_insensitive,
        false,
        dummy4unknown,
    )?;
    Ok((
        (r.pearson, r.pearson_p),
        (r.spearman, r.spearman_p),
        r.oov_percent,
    ))
}
