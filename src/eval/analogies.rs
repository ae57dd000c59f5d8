//! Word analogies, as gensim's `evaluate_word_analogies`.
//!
//! The file has `: section` lines followed by questions `a b c d` ("a is to b as c is to d").
//! Only the first `restrict_vocab` words take part; with `case_insensitive` every word is
//! upper-cased and the most frequent case variant stands for it. A question with a word outside
//! that vocabulary is skipped (and counted as out of vocabulary). The answer is the first of
//! `most_similar(positive=[b, c], negative=[a], topn=5, restrict_vocab)` that is not a, b or c.
//!
//! For fastText models, [`evaluate_analogies_with`] can instead answer such questions with the
//! n-gram vectors of the missing words (`oov_from_subwords`; off by default, as gensim never
//! does it): a missing a, b or c contributes its n-grams' vector, and a missing d can never be
//! predicted (answers come from the vocabulary), so that question counts as wrong.

use std::collections::HashMap;
use std::path::Path;

use rayon::prelude::*;
use serde::Serialize;

use crate::embeddings::Embeddings;
use crate::error::{Error, Result};
use crate::eval::eval_vocab;
use crate::query::Resolved;

/// Correct and incorrect answers of one section (or of all, for "Total accuracy").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Section {
    /// The name after `: ` in the file.
    pub section: String,
    /// Questions answered correctly.
    pub correct: usize,
    /// Questions answered wrongly.
    pub incorrect: usize,
}

impl Section {
    /// correct / (correct + incorrect); 0 for an empty section.
    pub fn accuracy(&self) -> f64 {
        let n = self.correct + self.incorrect;
        if n == 0 {
            0.0
        } else {
            self.correct as f64 / n as f64
        }
    }
}

/// The result of an analogy evaluation.
#[derive(Debug, Clone, Serialize)]
pub struct AnalogyReport {
    /// Per-section counts, in file order, then a last "Total accuracy" section.
    pub sections: Vec<Section>,
    /// Accuracy over all answered questions.
    pub total_accuracy: f64,
    /// Questions read (valid lines).
    pub questions: usize,
    /// Questions skipped because a word is outside the evaluated vocabulary.
    pub oov: usize,
    /// `oov / questions * 100`.
    pub oov_percent: f64,
    /// Every answered question in file order, as gensim lists them per section (not part of the
    /// JSON report, which keeps the counts).
    #[serde(skip)]
    pub answered: Vec<Answered>,
}

/// One answered question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answered {
    /// Index into [`AnalogyReport::sections`].
    pub section: usize,
    /// `a b c expected`, case-folded as evaluated (upper case when case-insensitive, as gensim).
    pub words: [String; 4],
    /// Whether the expected word was the answer.
    pub correct: bool,
}

struct Question {
    section: usize,
    /// The terms of a, b and c; `None` for a question outside the vocabulary counted as wrong
    /// (`dummy4unknown`).
    terms: Option<[Resolved; 3]>,
    words: [String; 4],
}

/// How [`evaluate_analogies_with`] evaluates.
#[derive(Debug, Clone, Copy)]
pub struct AnalogyOptions {
    /// Only the first N words take part (gensim: 300000).
    pub restrict_vocab: usize,
    /// Fold case (gensim: true).
    pub case_insensitive: bool,
    /// fastText models: answer questions with words outside the evaluated vocabulary from those
    /// words' n-gram vectors instead of skipping them (gensim: never).
    pub oov_from_subwords: bool,
    /// gensim's `dummy4unknown`: a question with a word outside the evaluated vocabulary counts
    /// as answered wrongly (in its section and the total) instead of being skipped; it is still
    /// counted in `oov`.
    pub dummy4unknown: bool,
}

/// Evaluates `emb` on an analogy file (gensim defaults: `restrict_vocab` 300000,
/// `case_insensitive` true).
pub fn evaluate_analogies(
    emb: &Embeddings,
    path: &Path,
    restrict_vocab: usize,
    case_insensitive: bool,
) -> Result<AnalogyReport> {
    evaluate_analogies_with(
        emb,
        path,
        &AnalogyOptions {
            restrict_vocab,
            case_insensitive,
            oov_from_subwords: false,
            dummy4unknown: false,
        },
    )
}

/// Evaluates `emb` on an analogy file with explicit options.
pub fn evaluate_analogies_with(
    emb: &Embeddings,
    path: &Path,
    opts: &AnalogyOptions,
) -> Result<AnalogyReport> {
    let text = std::fs::read(path).map_err(|e| Error::io("cannot read", path, e))?;
    let text = String::from_utf8(text).map_err(|e| {
        Error::format(
            path,
            None,
            e.utf8_error().valid_up_to() as u64,
            "analogy file is not UTF-8",
        )
    })?;
    let evaluator = Evaluator {
        emb,
        vocab: eval_vocab(emb, opts.restrict_vocab, opts.case_insensitive),
        opts: *opts,
    };
    let Parsed {
        mut sections,
        questions,
        total,
        oov,
    } = evaluator.parse(&text, path)?;
    let answers: Vec<bool> = questions
        .par_iter()
        .map(|q| evaluator.answer(q))
        .collect::<Result<_>>()?;
    let answered = tally(&mut sections, &questions, answers);
    let all = Section {
        section: "Total accuracy".to_owned(),
        correct: sections.iter().map(|s| s.correct).sum(),
        incorrect: sections.iter().map(|s| s.incorrect).sum(),
    };
    let total_accuracy = all.accuracy();
    sections.push(all);
    Ok(AnalogyReport {
        sections,
        total_accuracy,
        questions: total,
        oov,
        answered,
        oov_percent: if total == 0 {
            0.0
        } else {
            oov as f64 / total as f64 * 100.0
        },
    })
}

/// The questions of an analogy file.
struct Parsed {
    /// The file's sections, in order, with no answers counted yet.
    sections: Vec<Section>,
    /// The questions that can be answered.
    questions: Vec<Question>,
    /// Question lines read (valid ones).
    total: usize,
    /// Questions with a word outside the evaluated vocabulary.
    oov: usize,
}

/// What a question line asks.
enum Asked {
    /// Not four words: skipped.
    Malformed,
    /// A word outside the evaluated vocabulary (and without n-gram vectors to stand for it).
    OutOfVocabulary,
    /// A question to answer.
    Question(Box<Question>),
    /// A word outside the evaluated vocabulary, the question counted as answered wrongly
    /// (`dummy4unknown`).
    Dummy(Box<Question>),
}

/// The vectors, the vocabulary that takes part, and the options of one evaluation.
struct Evaluator<'e> {
    emb: &'e Embeddings,
    /// Each evaluated word (case-folded when case-insensitive) and its row.
    vocab: HashMap<String, usize>,
    opts: AnalogyOptions,
}

impl Evaluator<'_> {
    /// The sections and questions of `text`, read from `path` (named by errors).
    fn parse(&self, text: &str, path: &Path) -> Result<Parsed> {
        let mut parsed = Parsed {
            sections: Vec::new(),
            questions: Vec::new(),
            total: 0,
            oov: 0,
        };
        let mut offset = 0u64;
        for (line_no, line) in text.split_inclusive('\n').enumerate() {
            let at = offset;
            offset += line.len() as u64;
            if line.starts_with(": ") {
                let name = line.trim_start_matches([':', ' ']).trim();
                parsed.sections.push(Section {
                    section: name.to_owned(),
                    correct: 0,
                    incorrect: 0,
                });
                continue;
            }
            let Some(section) = parsed.sections.len().checked_sub(1) else {
                return Err(Error::format(
                    path,
                    None,
                    at,
                    format!(
                        "line {}: a question before any \": section\" line",
                        line_no + 1
                    ),
                ));
            };
            match self.question(section, line)? {
                Asked::Malformed => {
                    tracing::debug!(line = line_no + 1, "skipping invalid analogy line");
                }
                Asked::OutOfVocabulary => {
                    parsed.total += 1;
                    parsed.oov += 1;
                }
                Asked::Question(q) => {
                    parsed.total += 1;
                    parsed.questions.push(*q);
                }
                Asked::Dummy(q) => {
                    parsed.total += 1;
                    parsed.oov += 1;
                    parsed.questions.push(*q);
                }
            }
        }
        Ok(parsed)
    }

    /// The question of `line`, in `section`.
    fn question(&self, section: usize, line: &str) -> Result<Asked> {
        let raw: Vec<&str> = line.split_whitespace().collect();
        let words: Vec<String> = raw.iter().map(|w| self.fold(w)).collect();
        let Ok(words) = <[String; 4]>::try_from(words) else {
            return Ok(Asked::Malformed);
        };
        // d need not be computed, only to have a vector (a d outside the vocabulary is never
        // predicted: the question counts as answered wrongly).
        let answerable = self.vocab.contains_key(&words[3])
            || (self.opts.oov_from_subwords && self.emb.has_vector(raw[3]));
        let term = |i: usize| self.term(&words[i], raw[i]);
        Ok(match (term(0)?, term(1)?, term(2)?) {
            (Some(a), Some(b), Some(c)) if answerable => Asked::Question(Box::new(Question {
                section,
                terms: Some([a, b, c]),
                words,
            })),
            _ if self.opts.dummy4unknown => Asked::Dummy(Box::new(Question {
                section,
                terms: None,
                words,
            })),
            _ => Asked::OutOfVocabulary,
        })
    }

    /// A word's term: its row in the evaluated vocabulary (`folded`: the word as evaluated),
    /// or (with `oov_from_subwords`) its n-grams' vector, from the word as the file writes it
    /// (`raw`).
    fn term(&self, folded: &str, raw: &str) -> Result<Option<Resolved>> {
        if let Some(&r) = self.vocab.get(folded) {
            return Ok(Some(Resolved {
                vector: self.emb.unit_row(r),
                row: Some(r),
            }));
        }
        if !self.opts.oov_from_subwords {
            return Ok(None);
        }
        Ok(self
            .emb
            .subword_unit_vector(raw)?
            .map(|vector| Resolved { vector, row: None }))
    }

    /// `word` upper-cased when the evaluation is case-insensitive.
    fn fold(&self, word: &str) -> String {
        if self.opts.case_insensitive {
            word.to_uppercase()
        } else {
            word.to_owned()
        }
    }

    /// Whether the answer to `q` is its expected word: the first of the five nearest to
    /// `b + c - a` that is in the evaluated vocabulary and not a, b or c (else the last seen).
    fn answer(&self, q: &Question) -> Result<bool> {
        let Some([a, b, c]) = &q.terms else {
            return Ok(false);
        };
        let sims = self.emb.most_similar_resolved(
            &[b.clone(), c.clone()],
            std::slice::from_ref(a),
            5,
            Some(self.opts.restrict_vocab),
        )?;
        let ignore = &q.words[..3];
        let mut predicted = None;
        for n in &sims {
            let p = self.fold(&n.word);
            let usable = self.vocab.contains_key(&p) && !ignore.contains(&p);
            predicted = Some(p);
            if usable {
                break;
            }
        }
        Ok(predicted.as_deref() == Some(q.words[3].as_str()))
    }
}

/// Counts each question's answer in its section; the answered questions in file order.
fn tally(sections: &mut [Section], questions: &[Question], answers: Vec<bool>) -> Vec<Answered> {
    let mut answered = Vec::with_capacity(questions.len());
    for (q, ok) in questions.iter().zip(answers) {
        let s = &mut sections[q.section];
        if ok {
            s.correct += 1;
        } else {
            s.incorrect += 1;
        }
        answered.push(Answered {
            section: q.section,
            words: q.words.clone(),
            correct: ok,
        });
    }
    answered
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dummy4unknown_counts_questions_outside_the_vocabulary_wrong() {
        let words = ["a", "b", "c", "d"];
        let rows = vec![1.0, 0.0, 0.0, 1.0, 1.0, 0.1, 0.1, 1.0];
        let emb = Embeddings::from_vectors(&words, rows, 2).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.txt");
        std::fs::write(&path, ": s\na b c d\na b c zz\n").unwrap();
        let eval = |dummy4unknown| {
            let opts = AnalogyOptions {
                restrict_vocab: 100,
                case_insensitive: true,
                oov_from_subwords: false,
                dummy4unknown,
            };
            evaluate_analogies_with(&emb, &path, &opts).unwrap()
        };
        let (skip, dummy) = (eval(false), eval(true));
        assert_eq!((skip.questions, skip.oov, skip.answered.len()), (2, 1, 1));
        assert_eq!(
            (dummy.questions, dummy.oov, dummy.answered.len()),
            (2, 1, 2)
        );
        let last = dummy.answered.last().unwrap();
        assert_eq!((last.words[3].as_str(), last.correct), ("ZZ", false));
        let total = |r: &AnalogyReport| {
            let t = r.sections.last().unwrap();
            t.correct + t.incorrect
        };
        assert_eq!((total(&skip), total(&dummy)), (1, 2));
        assert!(dummy.total_accuracy <= 0.5);
    }
}
