//! The classifier's vocabulary: `<pad>` (id 0), `<unk>` (id 1), then the training texts' words
//! seen at least `min_count` times, most frequent first (ties by word).
//!
//! `<pad>` is reserved so that ids line up with padded-tensor implementations of the same model;
//! it is never part of a text's mean. Unknown words map to `<unk>`, which is trained like any
//! word, so a text without a known word still gets a prediction.
//!
//! With word n-grams (fastText's `-wordNgrams`), runs of 2..=n consecutive tokens seen at least
//! `min_count` times get rows too (stored as the words joined by a space); a text's ids are its
//! tokens' ids followed by those of its known n-grams, and the model averages them all.
//! Unknown n-grams are skipped (fastText hashes them into shared buckets instead; skipping
//! keeps every row a readable entry of the vocabulary).

use hashbrown::HashMap;
use rayon::prelude::*;

use super::tokenize::for_each_token;
use crate::error::{Error, Result};

/// Id of the padding row.
pub const PAD: u32 = 0;
/// Id of the unknown-word row.
pub const UNK: u32 = 1;

/// How many special ids come first (`<pad>`, `<unk>`).
pub const SPECIAL: usize = 2;

/// Texts per parallel task when counting and encoding.
const ENCODE_CHUNK: usize = 4096;

/// Words (and word n-grams) and their ids.
#[derive(Debug, Clone)]
pub struct TextVocab {
    words: Vec<String>,
    /// Single words by text.
    index: HashMap<String, u32>,
    /// N-grams by their words' ids: looking one up needs no string.
    grams: HashMap<Box<[u32]>, u32>,
    ngrams: usize,
}

/// Reusable buffers for [`TextVocab::encode`], so that encoding allocates nothing per token.
#[derive(Debug, Default, Clone)]
pub struct Scratch {
    token: String,
    ids: Vec<u32>,
    tokens: String,
    spans: Vec<(usize, usize)>,
    gram: String,
}

impl Scratch {
    /// Splits `text` into tokens kept in `self.tokens`, bounds in `self.spans`.
    fn split(&mut self, text: &str) {
        self.tokens.clear();
        self.spans.clear();
        let (tokens, spans) = (&mut self.tokens, &mut self.spans);
        for_each_token(text, &mut self.token, |t| {
            let start = tokens.len();
            tokens.push_str(t);
            spans.push((start, tokens.len()));
        });
    }

    /// Calls `f` with each n-gram (n in 2..=max) of the last split text, words joined by ' '.
    fn for_each_ngram(&mut self, max: usize, mut f: impl FnMut(&str)) {
        for n in 2..=max {
            for w in self.spans.windows(n) {
                self.gram.clear();
                for (i, &(a, b)) in w.iter().enumerate() {
                    if i > 0 {
                        self.gram.push(' ');
                    }
                    self.gram.push_str(&self.tokens[a..b]);
                }
                f(&self.gram);
            }
        }
    }
}

impl TextVocab {
    /// Counts the tokens (and n-grams up to `ngrams` words) of `texts`, in parallel, and keeps
    /// those seen at least `min_count` times.
    pub fn build(texts: &[&str], min_count: usize, ngrams: usize) -> TextVocab {
        let count_chunk = |texts: &[&str]| {
            let mut counts: HashMap<String, usize> = HashMap::new();
            let mut add = |t: &str| {
                if let Some(c) = counts.get_mut(t) {
                    *c += 1;
                } else {
                    counts.insert(t.to_owned(), 1);
                }
            };
            let mut s = Scratch::default();
            for text in texts {
                s.split(text);
                for &(a, b) in &s.spans {
                    add(&s.tokens[a..b]);
                }
                s.for_each_ngram(ngrams, &mut add);
            }
            counts
        };
        let counts =
            texts
                .par_chunks(ENCODE_CHUNK)
                .map(count_chunk)
                .reduce(HashMap::new, |a, b| {
                    let (mut a, b) = if a.len() < b.len() { (b, a) } else { (a, b) };
                    for (w, c) in b {
                        *a.entry(w).or_insert(0) += c;
                    }
                    a
                });
        let mut kept: Vec<(String, usize)> = counts
            .into_iter()
            .filter(|(_, c)| *c >= min_count.max(1))
            .collect();
        kept.par_sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let words = ["<pad>".to_owned(), "<unk>".to_owned()]
            .into_iter()
            .chain(kept.into_iter().map(|(w, _)| w))
            .collect();
        Self::from_words(words, ngrams).expect("words are distinct")
    }

    /// A vocabulary from its word list (`<pad>` and `<unk>` first), as stored in a model file,
    /// and the longest n-gram it holds.
    pub fn from_words(words: Vec<String>, ngrams: usize) -> Result<TextVocab> {
        if words.len() < 2 || words[0] != "<pad>" || words[1] != "<unk>" {
            return Err(Error::invalid(
                "a classifier vocabulary starts with <pad> and <unk>",
            ));
        }
        let mut index = HashMap::with_capacity(words.len());
        let twice = |w: &str| Error::invalid(format!("word {w:?} is twice in the vocabulary"));
        for (i, w) in words.iter().enumerate().skip(2) {
            if !w.contains(' ') && index.insert(w.clone(), i as u32).is_some() {
                return Err(twice(w));
            }
        }
        // An n-gram seen min_count times has each of its words seen as often, so its words are
        // all in the vocabulary.
        let mut grams = HashMap::new();
        for (i, w) in words
            .iter()
            .enumerate()
            .skip(2)
            .filter(|(_, w)| w.contains(' '))
        {
            let key = w
                .split(' ')
                .map(|part| index.get(part).copied())
                .collect::<Option<Box<[u32]>>>()
                .ok_or_else(|| {
                    Error::invalid(format!("n-gram {w:?} has a word not in the vocabulary"))
                })?;
            if grams.insert(key, i as u32).is_some() {
                return Err(twice(w));
            }
        }
        Ok(TextVocab {
            words,
            index,
            grams,
            ngrams: ngrams.max(1),
        })
    }

    /// The longest word n-gram with rows (1: words only).
    pub fn ngrams(&self) -> usize {
        self.ngrams
    }

    /// Number of ids, `<pad>` and `<unk>` included.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Number of words and n-grams learned from the texts: the ids besides `<pad>` and `<unk>`.
    pub fn learned(&self) -> usize {
        self.words.len().saturating_sub(SPECIAL)
    }

    /// Whether only `<pad>` and `<unk>` are present.
    pub fn is_empty(&self) -> bool {
        self.words.len() <= 2
    }

    /// All words by id.
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// The id of a (lowercased) token, if known.
    pub fn get(&self, token: &str) -> Option<u32> {
        self.index.get(token).copied()
    }

    /// The id of the n-gram made of these word ids, if known.
    pub fn get_ngram(&self, ids: &[u32]) -> Option<u32> {
        self.grams.get(ids).copied()
    }

    /// Appends the ids of `text`'s tokens to `out` (unknown ones as [`UNK`]; a text without
    /// any token as a single [`UNK`]), then those of its known n-grams. Returns how many were
    /// appended.
    pub fn encode(&self, text: &str, scratch: &mut Scratch, out: &mut Vec<u32>) -> usize {
        let start = out.len();
        let Scratch { token, ids, .. } = scratch;
        ids.clear();
        for_each_token(text, token, |t| {
            let id = self.get(t).unwrap_or(UNK);
            out.push(id);
            ids.push(id);
        });
        for n in 2..=self.ngrams {
            for w in ids.windows(n).filter(|w| !w.contains(&UNK)) {
                if let Some(id) = self.get_ngram(w) {
                    out.push(id);
                }
            }
        }
        if out.len() == start {
            out.push(UNK);
        }
        out.len() - start
    }
}

/// Texts as token ids, one run per text (CSR layout: text `i` is `ids[offsets[i]..offsets[i+1]]`).
#[derive(Debug, Clone, Default)]
pub struct Encoded {
    /// Where each text starts, plus the end.
    pub offsets: Vec<usize>,
    /// All token ids.
    pub ids: Vec<u32>,
}

impl Encoded {
    /// Encodes `texts` (in parallel chunks, joined in order).
    pub fn new(vocab: &TextVocab, texts: &[&str]) -> Encoded {
        let parts: Vec<(Vec<usize>, Vec<u32>)> = texts
            .par_chunks(ENCODE_CHUNK)
            .map(|texts| {
                let mut scratch = Scratch::default();
                let mut ids = Vec::new();
                let ends = texts
                    .iter()
                    .map(|t| {
                        vocab.encode(t, &mut scratch, &mut ids);
                        ids.len()
                    })
                    .collect();
                (ends, ids)
            })
            .collect();
        let mut e = Encoded {
            offsets: Vec::with_capacity(texts.len() + 1),
            ids: Vec::with_capacity(parts.iter().map(|p| p.1.len()).sum()),
        };
        e.offsets.push(0);
        for (ends, ids) in parts {
            let base = e.ids.len();
            e.offsets.extend(ends.iter().map(|&x| base + x));
            e.ids.extend_from_slice(&ids);
        }
        e
    }

    /// Number of texts.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Whether there are no texts.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Text `i`'s ids.
    pub fn text(&self, i: usize) -> &[u32] {
        &self.ids[self.offsets[i]..self.offsets[i + 1]]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_count_order_and_unknown_words() {
        let v = TextVocab::build(&["b a a", "A c b", "a"], 2, 1);
        assert_eq!(v.words(), ["<pad>", "<unk>", "a", "b"]);
        let mut s = Scratch::default();
        let mut ids = Vec::new();
        assert_eq!(v.encode("A b zzz", &mut s, &mut ids), 3);
        assert_eq!(ids, [2, 3, UNK]);
        ids.clear();
        assert_eq!(v.encode("?!", &mut s, &mut ids), 1);
        assert_eq!(ids, [UNK]);
        let e = Encoded::new(&v, &["a", "b b"]);
        assert_eq!(e.text(1), [3, 3]);
        assert!(TextVocab::from_words(vec!["x".into()], 1).is_err());
    }

    #[test]
    fn word_ngrams() {
        let v = TextVocab::build(&["new york is big", "New York, new york!", "york"], 2, 3);
        // "new york" x3, "york" x4, "new" x3; "york new" x1 and the trigrams are too rare.
        assert_eq!(v.words(), ["<pad>", "<unk>", "york", "new", "new york"]);
        let mut ids = Vec::new();
        v.encode("NEW York city", &mut Scratch::default(), &mut ids);
        assert_eq!(ids, [3, 2, UNK, 4]);
        assert_eq!(v.get_ngram(&[3, 2]), Some(4));
        assert_eq!(v.get("new york"), None);
        // A stored vocabulary whose n-gram names an unknown word is refused.
        let words = ["<pad>", "<unk>", "new", "new york"]
            .map(String::from)
            .to_vec();
        let e = TextVocab::from_words(words, 2).unwrap_err().to_string();
        assert!(
            e.contains("\"new york\" has a word not in the vocabulary"),
            "{e}"
        );
    }
}
