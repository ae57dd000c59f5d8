//! Text vectors: the mean of a text's word vectors, the text tokenised as the classifier
//! tokenises it ([`super::tokenize`]), so that a text embedded here and a text the classifier
//! reads are the same words.
//!
//! Each known token counts once per occurrence; tokens outside the vocabulary are dropped and
//! named in the answer (a fastText model gives them their n-gram vectors instead). The mean is of
//! the raw vectors, as `numpy.mean([kv[w] for w in words], axis=0)` over gensim's vectors; with
//! `unit` it is then scaled to unit length.

use std::hash::BuildHasher;

use crate::classify::tokenize::for_each_token;
use crate::embeddings::Embeddings;
use crate::error::{Error, Result};
use crate::limits;

/// A text's vector and which of its words made it.
#[derive(Debug, Clone, PartialEq)]
pub struct TextVector {
    /// The mean of the known words' vectors (unit length when asked).
    pub vector: Vec<f32>,
    /// Tokens that counted (with repeats).
    pub known: usize,
    /// Tokens outside the vocabulary, in text order, each once.
    pub unknown: Vec<String>,
}

/// Tokens outside the vocabulary, each once, in text order: a hash table of positions in the
/// list, so that each token costs one lookup (a search of the list made a text of 170,000
/// distinct unknown tokens take 28 s) and no word is stored twice.
#[derive(Default)]
struct Unknown {
    list: Vec<String>,
    seen: hashbrown::HashTable<usize>,
    hasher: std::hash::RandomState,
}

impl Unknown {
    fn insert(&mut self, t: &str) {
        let h = self.hasher.hash_one(t);
        if self.seen.find(h, |&i| self.list[i] == t).is_some() {
            return;
        }
        self.list.push(t.to_owned());
        let (list, hasher) = (&self.list, &self.hasher);
        self.seen
            .insert_unique(h, list.len() - 1, |&i| hasher.hash_one(list[i].as_str()));
    }
}

/// Tokens between two checks for cancellation ([`crate::cancel`]): a token costs at most a
/// lookup and one vector (a fastText model's n-gram sum checks on its own), so a thousand take
/// well under a millisecond.
const CHECK_EVERY: usize = 1024;

/// The vector of `text` (see the module documentation). A text with no token, or none in the
/// vocabulary, is an error: a zero vector would match nothing and hide the mistake.
///
/// The work is linear in the text, and cancellation of the request it serves is checked every
/// `CHECK_EVERY` (1,024) tokens ([`Error::Cancelled`]); after an error the rest of the text is only
/// tokenised.
pub fn embed_text(emb: &Embeddings, text: &str, unit: bool) -> Result<TextVector> {
    limits::at_most("text bytes", text.len(), limits::MAX_TEXT_BYTES)?;
    let d = emb.dims();
    let mut sum = vec![0f64; d];
    let (mut known, mut tokens) = (0usize, 0usize);
    let mut unknown = Unknown::default();
    let mut buf = String::new();
    let mut failed = None;
    for_each_token(text, &mut buf, |t| {
        if failed.is_some() {
            return;
        }
        if tokens % CHECK_EVERY == 0 {
            if let Err(e) = crate::cancel::check() {
                failed = Some(e);
                return;
            }
        }
        tokens += 1;
        let v = match emb.index(t) {
            Some(i) => Some(emb.raw_row(i)),
            None => match emb.subword_vector(t) {
                Ok(v) => v,
                Err(e) => {
                    failed = Some(e);
                    return;
                }
            },
        };
        match v {
            Some(v) => {
                known += 1;
                sum.iter_mut()
                    .zip(&v)
                    .for_each(|(s, x)| *s += f64::from(*x));
            }
            None => unknown.insert(t),
        }
    });
    if let Some(e) = failed {
        return Err(e);
    }
    if tokens == 0 {
        return Err(Error::invalid("the text has no word"));
    }
    if known == 0 {
        return Err(Error::UnknownWords(unknown.list));
    }
    let mut vector: Vec<f32> = sum.iter().map(|s| (s / known as f64) as f32).collect();
    if unit {
        let n = vector
            .iter()
            .map(|x| f64::from(*x) * f64::from(*x))
            .sum::<f64>()
            .sqrt();
        if n > 0.0 {
            vector
                .iter_mut()
                .for_each(|x| *x = (f64::from(*x) / n) as f32);
        }
    }
    Ok(TextVector {
        vector,
        known,
        unknown: unknown.list,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emb() -> Embeddings {
        let words = ["king", "queen", "the"].map(String::from);
        Embeddings::from_vectors(&words, vec![1.0, 0.0, 0.0, 2.0, 3.0, 4.0], 2).unwrap()
    }

    #[test]
    fn the_mean_of_known_words_with_the_unknown_named() {
        let e = emb();
        let t = embed_text(&e, "King, QUEEN and the zzz zzz!", false).unwrap();
        // king (1,0), queen (0,2), the (3,4): mean (4/3, 2).
        assert_eq!(t.known, 3);
        assert_eq!(t.unknown, ["and", "zzz"]);
        assert!((t.vector[0] - 4.0 / 3.0).abs() < 1e-6 && (t.vector[1] - 2.0).abs() < 1e-6);
        let u = embed_text(&e, "king king", true).unwrap();
        assert_eq!(u.vector, [1.0, 0.0]);
        assert_eq!(u.known, 2);
    }

    #[test]
    fn nothing_to_average_is_an_error() {
        let e = emb();
        assert!(matches!(
            embed_text(&e, "zzz qqq", false),
            Err(Error::UnknownWords(w)) if w == ["zzz", "qqq"]
        ));
        assert!(matches!(
            embed_text(&e, "!!! ...", false),
            Err(Error::InvalidArgument(_))
        ));
        let huge = "king ".repeat(limits::MAX_TEXT_BYTES / 5 + 1);
        assert!(embed_text(&e, &huge, false).is_err());
    }

    #[test]
    fn many_distinct_unknown_words_are_each_named_once_in_order() {
        let e = emb();
        let words: Vec<String> = (0..5000).map(|i| format!("zz{i}")).collect();
        let text = format!("{} king {}", words.join(" "), words.join(" "));
        let t = embed_text(&e, &text, false).unwrap();
        assert_eq!(t.known, 1);
        assert_eq!(t.unknown, words);
        // The error names ten words, each cut short, and says how many more there are.
        let long: Vec<String> = (0..30)
            .map(|i| format!("{i}{}", "q".repeat(30_000)))
            .collect();
        let msg = embed_text(&e, &long.join(" "), false)
            .unwrap_err()
            .to_string();
        assert!(msg.len() < 2_000, "{} bytes", msg.len());
        assert!(msg.contains("and 20 more"), "{msg}");
    }

    #[test]
    fn a_cancel_stops_the_token_loop() {
        let e = emb();
        let text = "king zzz ".repeat(10_000);
        let cancel = crate::cancel::Cancel::new();
        cancel.cancel();
        let r = cancel.scope(|| embed_text(&e, &text, false));
        assert!(matches!(r, Err(Error::Cancelled(_))), "{r:?}");
        // Unraised, the same text embeds.
        let r = crate::cancel::Cancel::new().scope(|| embed_text(&e, &text, false));
        assert_eq!(r.unwrap().known, 10_000);
    }
}
