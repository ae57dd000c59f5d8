//! Exact similarity queries with gensim 4's semantics (`KeyedVectors`).
//!
//! - [`Embeddings::similarity`]: cosine of two words.
//! - [`Embeddings::most_similar`]: 3CosAdd. The query is the mean of the positive terms' unit
//!   vectors (raw vectors are used as given) minus the negatives', normalised; every row (or the
//!   first `restrict_vocab`) is scored by cosine; words of the query are left out.
//! - [`Embeddings::most_similar_cosmul`]: 3CosMul (Levy & Goldberg 2014), each cosine mapped to
//!   `(1 + cos) / 2`, score = product over positives / (product over negatives + 1e-6).
//! - [`Embeddings::doesnt_match`]: the word furthest from the mean of the others' unit vectors.
//!
//! Arithmetic is `f32` in the same order as gensim's, so scores agree to about 1e-7. Scans run on
//! all cores with the SIMD kernel of `crate::simd`.

use serde::Serialize;

use crate::embeddings::{normalize, Embeddings};
use crate::error::{Error, Result};
use crate::filter::Filter;
use crate::simd;
use crate::topk::top_k;

/// How to answer a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Mode {
    /// The index when there is one and the vocabulary is large, else the exact scan.
    #[default]
    Auto,
    /// Always the exact scan.
    Exact,
    /// Always the index (an error without one).
    Index,
}

/// How candidates are scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Scoring {
    /// Cosine with the mean of the terms (3CosAdd; plain nearest neighbours).
    #[default]
    CosAdd,
    /// 3CosMul (Levy and Goldberg).
    CosMul,
}

/// A similarity query: what to look for, how many, among which rows, and how.
///
/// ```
/// use wordvec::search::{Query, Searcher};
/// let s = Searcher::exact(wordvec::default_model::load()?);
/// let q = Query::new(&["king".into(), "woman".into()], &["man".into()], 3);
/// assert_eq!(s.search(&q)?.len(), 3);
/// # Ok::<(), wordvec::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Query<'a> {
    /// Terms added (words or raw vectors).
    pub positive: Vec<Term<'a>>,
    /// Terms subtracted.
    pub negative: Vec<Term<'a>>,
    /// How many results.
    pub k: usize,
    /// 3CosAdd or 3CosMul.
    pub scoring: Scoring,
    /// Only the first N rows (the N most frequent words).
    pub restrict_vocab: Option<usize>,
    /// Allow- and deny-lists.
    pub filter: Filter,
    /// Exact scan, index, or either.
    pub mode: Mode,
    /// The index's candidate list size (default: the index's).
    pub ef: Option<usize>,
}

impl<'a> Query<'a> {
    /// The `k` nearest to the mean of `positive` minus `negative`, with every other setting at
    /// its default.
    pub fn new(positive: &[Term<'a>], negative: &[Term<'a>], k: usize) -> Self {
        Query {
            positive: positive.to_vec(),
            negative: negative.to_vec(),
            k,
            ..Query::default()
        }
    }

    /// The `k` nearest to a raw vector.
    pub fn vector(v: &'a [f32], k: usize) -> Self {
        Query::new(&[Term::Vector(v)], &[], k)
    }

    /// With 3CosMul scoring (`true`) or 3CosAdd.
    pub fn cosmul(mut self, yes: bool) -> Self {
        self.scoring = if yes {
            Scoring::CosMul
        } else {
            Scoring::CosAdd
        };
        self
    }

    /// Among the first `n` rows only.
    pub fn restrict_vocab(mut self, n: Option<usize>) -> Self {
        self.restrict_vocab = n;
        self
    }

    /// With a filter.
    pub fn filter(mut self, f: Filter) -> Self {
        self.filter = f;
        self
    }

    /// Through `mode`.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// With the index's candidate list size `ef`.
    pub fn ef(mut self, ef: Option<usize>) -> Self {
        self.ef = ef;
        self
    }

    /// Checks what does not depend on the vectors: `ef` at most [`crate::limits::MAX_EF`]
    /// whichever path answers, so that a query's validity does not depend on the vocabulary.
    pub fn check(&self) -> Result<()> {
        if let Some(ef) = self.ef {
            crate::limits::at_most("ef", ef, crate::limits::MAX_EF)?;
        }
        Ok(())
    }
}

/// One term of a query: a word of the vocabulary or a raw vector.
#[derive(Debug, Clone, Copy)]
pub enum Term<'a> {
    /// A word; its unit vector is used.
    Word(&'a str),
    /// A vector of the embeddings' dimension; used as given.
    Vector(&'a [f32]),
}

impl<'a> From<&'a str> for Term<'a> {
    fn from(w: &'a str) -> Self {
        Term::Word(w)
    }
}

impl<'a> From<&'a String> for Term<'a> {
    fn from(w: &'a String) -> Self {
        Term::Word(w)
    }
}

/// A cosine, or NaN when it cannot be one: rows and query are unit length (or divided by their
/// stored length), so a value past 1 by more than rounding means a row disagrees with its stored
/// length, which only a corrupt file does.
#[inline]
pub(crate) fn checked_cosine(c: f32) -> f32 {
    if c.abs() <= 1.0 + 1e-3 {
        c
    } else {
        f32::NAN
    }
}

/// Whether `row` is among the sorted rows `exclude`: a query's few words by a look at each, a
/// long list of words by bisection, so that a scan stays linear in the rows whatever the number
/// of terms.
#[inline]
fn excluded(exclude: &[usize], row: usize) -> bool {
    if exclude.len() <= 16 {
        exclude.contains(&row)
    } else {
        exclude.binary_search(&row).is_ok()
    }
}

/// Whether every term's vector is zero (a zero query is then the right answer).
fn all_zero(positive: &[Resolved], negative: &[Resolved]) -> bool {
    positive
        .iter()
        .chain(negative)
        .all(|t| t.vector.iter().all(|&x| x == 0.0))
}

/// A result row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Neighbor {
    /// The word.
    pub word: String,
    /// Its row (0 = most frequent in files written by word2vec).
    pub index: usize,
    /// Cosine similarity (or the 3CosMul score).
    pub score: f32,
}

/// The answer of [`Embeddings::doesnt_match`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DoesntMatch {
    /// The word that fits least.
    pub word: String,
    /// Words left out because they are not in the vocabulary.
    pub ignored: Vec<String>,
}

/// A query's terms, resolved and checked, and the rows its words occupy (left out of answers).
pub(crate) struct Prepared {
    pub pos: Vec<Resolved>,
    pub neg: Vec<Resolved>,
    pub exclude: Vec<usize>,
}

/// A term resolved against the vocabulary.
#[derive(Clone)]
pub(crate) struct Resolved {
    pub vector: Vec<f32>,
    pub row: Option<usize>,
}

impl Embeddings {
    /// Turns terms into vectors: unit vectors for words (all unknown words reported at once),
    /// checked copies for raw vectors.
    pub(crate) fn resolve(&self, terms: &[Term]) -> Result<Vec<Resolved>> {
        let mut unknown = Vec::new();
        let out = self.resolve_into(terms, &mut unknown)?;
        if unknown.is_empty() {
            Ok(out)
        } else {
            Err(Error::UnknownWords(unknown))
        }
    }

    /// [`resolve`](Self::resolve) that adds the unknown words to `unknown` and goes on, so that
    /// a query names every unknown word of its positive and negative terms at once. Checks
    /// cancellation every 1,024 terms: a request may carry many.
    fn resolve_into(&self, terms: &[Term], unknown: &mut Vec<String>) -> Result<Vec<Resolved>> {
        let mut out = Vec::with_capacity(terms.len());
        for (k, t) in terms.iter().enumerate() {
            if k % 1024 == 1023 {
                crate::cancel::check()?;
            }
            match *t {
                Term::Word(w) => match self.index(w) {
                    Some(i) => out.push(Resolved {
                        vector: self.unit_row(i),
                        row: Some(i),
                    }),
                    // A fastText model answers words outside its vocabulary from their
                    // n-grams; such a word has no row to leave out of the answer.
                    None => match self.subword_unit_vector(w)? {
                        Some(vector) => out.push(Resolved { vector, row: None }),
                        None => unknown.push(w.to_owned()),
                    },
                },
                Term::Vector(v) => out.push(Resolved {
                    vector: self.check_vector(v)?.to_vec(),
                    row: None,
                }),
            }
        }
        Ok(out)
    }

    /// Resolves and checks the terms of a query: `most_similar` needs at least one term,
    /// `most_similar_cosmul` (`cosmul`) at least one positive term. The exact scan and the index
    /// both start here, so they accept and refuse the same queries. Unknown words are named all
    /// at once, the positive terms' first (an analogy's negative term too). The rows to leave
    /// out come sorted, without repeats.
    pub(crate) fn prepare(
        &self,
        positive: &[Term],
        negative: &[Term],
        cosmul: bool,
    ) -> Result<Prepared> {
        let mut unknown = Vec::new();
        let pos = self.resolve_into(positive, &mut unknown)?;
        let neg = self.resolve_into(negative, &mut unknown)?;
        if !unknown.is_empty() {
            return Err(Error::UnknownWords(unknown));
        }
        if cosmul && pos.is_empty() {
            return Err(Error::invalid(
                "most_similar_cosmul needs at least one positive word or vector",
            ));
        }
        if pos.is_empty() && neg.is_empty() {
            return Err(Error::invalid(
                "most_similar needs at least one positive or negative word or vector",
            ));
        }
        let mut exclude: Vec<usize> = pos.iter().chain(&neg).filter_map(|t| t.row).collect();
        exclude.sort_unstable();
        exclude.dedup();
        Ok(Prepared { pos, neg, exclude })
    }

    /// Checks a caller's vector: right dimension, finite values.
    pub fn check_vector<'v>(&self, v: &'v [f32]) -> Result<&'v [f32]> {
        if v.len() != self.dims() {
            return Err(Error::invalid(format!(
                "query vector has {} dimensions, the embeddings have {}",
                v.len(),
                self.dims()
            )));
        }
        if let Some(i) = v.iter().position(|x| !x.is_finite()) {
            return Err(Error::invalid(format!(
                "query vector holds {} at dimension {i}",
                v[i]
            )));
        }
        Ok(v)
    }

    fn rows_to_scan(&self, restrict_vocab: Option<usize>) -> usize {
        restrict_vocab.map_or(self.len(), |r| r.min(self.len()))
    }

    fn neighbors(&self, scored: Vec<crate::topk::Scored>) -> Vec<Neighbor> {
        scored
            .into_iter()
            .map(|s| Neighbor {
                word: self.word(s.index).to_owned(),
                index: s.index,
                score: s.score,
            })
            .collect()
    }

    /// Cosine similarity of two words (outside the vocabulary of a fastText model, from their
    /// n-grams).
    pub fn similarity(&self, a: &str, b: &str) -> Result<f32> {
        let r = self.resolve(&[Term::Word(a), Term::Word(b)])?;
        let (u, v) = (&r[0].vector, &r[1].vector);
        Ok(u.iter().zip(v).map(|(x, y)| x * y).sum())
    }

    /// The unit mean of weighted terms, as gensim's `get_mean_vector(..., pre_normalize=True,
    /// post_normalize=True)`: words contribute unit vectors, raw vectors themselves.
    pub(crate) fn mean_query(&self, positive: &[Resolved], negative: &[Resolved]) -> Vec<f32> {
        let mut mean = vec![0f32; self.dims()];
        for (terms, w) in [(positive, 1f32), (negative, -1f32)] {
            for t in terms {
                mean.iter_mut()
                    .zip(&t.vector)
                    .for_each(|(m, x)| *m += w * x);
            }
        }
        let total = (positive.len() + negative.len()) as f32;
        mean.iter_mut().for_each(|m| *m /= total);
        normalize(&mut mean);
        if mean.iter().all(|m| m.is_finite())
            && (mean.iter().any(|&m| m != 0.0) || all_zero(positive, negative))
        {
            return mean;
        }
        // Finite but extreme raw vectors (1e20 or 3e38 in every dimension, or 1e-40) overflow or
        // underflow the f32 sums; the same arithmetic in f64 holds every finite f32 input.
        let mut wide = vec![0f64; self.dims()];
        for (terms, w) in [(positive, 1f64), (negative, -1f64)] {
            for t in terms {
                wide.iter_mut()
                    .zip(&t.vector)
                    .for_each(|(m, &x)| *m += w * f64::from(x));
            }
        }
        let len = wide.iter().map(|x| x * x).sum::<f64>().sqrt();
        if len > 0.0 && len.is_finite() {
            wide.iter().map(|&x| (x / len) as f32).collect()
        } else {
            // Past f64's range too: scale by the largest magnitude first.
            let max = wide.iter().fold(0f64, |a, &x| a.max(x.abs()));
            if max > 0.0 && max.is_finite() {
                let scaled: Vec<f64> = wide.iter().map(|&x| x / max).collect();
                let len = scaled.iter().map(|x| x * x).sum::<f64>().sqrt();
                scaled.iter().map(|&x| (x / len) as f32).collect()
            } else {
                vec![0.0; self.dims()]
            }
        }
    }

    fn scan_error(&self, e: crate::topk::ScanError) -> Error {
        match e {
            crate::topk::ScanError::NanRow(r) => self.corrupt_row(r),
            crate::topk::ScanError::Cancelled => crate::cancel::cancelled(),
        }
    }

    /// The error for a row whose score came out NaN: its stored vector is not finite.
    pub(crate) fn corrupt_row(&self, row: usize) -> Error {
        let path = self
            .metadata()
            .source
            .clone()
            .unwrap_or_else(|| "<vectors>".into());
        Error::format(
            path,
            Some(row as u64),
            self.storage().row_offset(row).unwrap_or(0),
            format!(
                "the vector of {:?} holds a non-finite value (or disagrees with its stored length): the file is corrupt",
                self.word(row)
            ),
        )
    }

    /// The `topn` words most similar to the mean of `positive` minus `negative` (3CosAdd), among
    /// the first `restrict_vocab` rows (all when `None`). Words in the query are not returned.
    pub fn most_similar(
        &self,
        positive: &[Term],
        negative: &[Term],
        topn: usize,
        restrict_vocab: Option<usize>,
    ) -> Result<Vec<Neighbor>> {
        self.search_exact(&Query::new(positive, negative, topn).restrict_vocab(restrict_vocab))
    }

    /// Answers `q` by scanning every row it may return (its restriction, its allow-list),
    /// whatever its mode.
    pub fn search_exact(&self, q: &Query) -> Result<Vec<Neighbor>> {
        q.check()?;
        let cosmul = q.scoring == Scoring::CosMul;
        let p = self.prepare(&q.positive, &q.negative, cosmul)?;
        if q.k == 0 {
            // Checked like any query, answered without a pass over the rows.
            return Ok(Vec::new());
        }
        let rows = self.rows_to_scan(q.restrict_vocab);
        let dot = simd::dot_fn();
        let query = (!cosmul).then(|| self.mean_query(&p.pos, &p.neg));
        let cosine = query.as_deref().map(|v| self.cosine_scorer(dot, v));
        let score = |i: usize| match &cosine {
            Some(cos) => checked_cosine(cos(i)),
            None => self.cosmul_score(dot, i, &p.pos, &p.neg),
        };
        let keep = |i: usize| !excluded(&p.exclude, i) && q.filter.admits(i);
        let best = match (q.filter.allowed_rows(), &query, self.int8()) {
            (Some(ids), _, _) => {
                let end = ids.partition_point(|&r| (r as usize) < rows);
                crate::topk::top_k_of(&ids[..end], q.k, keep, score)
            }
            (None, Some(v), Some(int8)) => {
                // The int8 copy first, then f32 for the rows that can still be in the answer
                // (the proof is in `crate::quant`).
                crate::cancel::check()?;
                let cands = int8.candidates(v, rows, q.k, &keep);
                crate::cancel::check()?;
                crate::topk::top_k_of(&cands, q.k, keep, score)
            }
            (None, _, _) => crate::topk::top_k_where(rows, q.k, keep, score),
        }
        .map_err(|e| self.scan_error(e))?;
        Ok(self.neighbors(best))
    }

    pub(crate) fn most_similar_resolved(
        &self,
        pos: &[Resolved],
        neg: &[Resolved],
        topn: usize,
        restrict_vocab: Option<usize>,
    ) -> Result<Vec<Neighbor>> {
        let query = self.mean_query(pos, neg);
        let exclude: Vec<usize> = pos.iter().chain(neg).filter_map(|t| t.row).collect();
        let dot = simd::dot_fn();
        let rows = self.rows_to_scan(restrict_vocab);
        let cosine = self.cosine_scorer(dot, &query);
        let best = top_k(rows, topn, &exclude, |i| checked_cosine(cosine(i)))
            .map_err(|e| self.scan_error(e))?;
        Ok(self.neighbors(best))
    }

    /// The `topn` words closest to `vector` by cosine (gensim's `similar_by_vector`); nothing is
    /// excluded.
    pub fn most_similar_to_vector(
        &self,
        vector: &[f32],
        topn: usize,
        restrict_vocab: Option<usize>,
    ) -> Result<Vec<Neighbor>> {
        self.most_similar(&[Term::Vector(vector)], &[], topn, restrict_vocab)
    }

    /// 3CosMul: `prod((1 + cos(w, p)) / 2) / (prod((1 + cos(w, n)) / 2) + 1e-6)`.
    pub fn most_similar_cosmul(
        &self,
        positive: &[Term],
        negative: &[Term],
        topn: usize,
        restrict_vocab: Option<usize>,
    ) -> Result<Vec<Neighbor>> {
        self.search_exact(
            &Query::new(positive, negative, topn)
                .cosmul(true)
                .restrict_vocab(restrict_vocab),
        )
    }

    /// The 3CosMul score of row `row`: cosines shifted to `(1 + cos) / 2`, the product over the
    /// positive terms divided by (the product over the negative ones + 1e-6).
    pub(crate) fn cosmul_score(
        &self,
        dot: simd::DotFn,
        row: usize,
        pos: &[Resolved],
        neg: &[Resolved],
    ) -> f32 {
        let bytes = self.storage().row_bytes(row);
        let scale = self.cosine_scale(row);
        let shifted = |t: &Resolved| (1.0 + dot(&t.vector, bytes) * scale) / 2.0;
        let p: f32 = pos.iter().map(shifted).product();
        let n: f32 = neg.iter().map(shifted).product();
        p / (n + 1e-6)
    }

    /// The word that fits least with the others: lowest cosine to the normalised mean of all
    /// their unit vectors. Unknown words are left out (and listed); ties go to the word that
    /// sorts first, as gensim's `sorted` does.
    pub fn doesnt_match<S: AsRef<str>>(&self, words: &[S]) -> Result<DoesntMatch> {
        let mut used = Vec::new();
        let mut ignored = Vec::new();
        for (k, w) in words.iter().enumerate() {
            if k % 1024 == 1023 {
                crate::cancel::check()?;
            }
            match self.index(w.as_ref()) {
                Some(i) => used.push((w.as_ref(), self.unit_row(i))),
                // A fastText model has a vector for any word with n-grams (gensim's `in`).
                None => match self.subword_unit_vector(w.as_ref())? {
                    Some(v) => used.push((w.as_ref(), v)),
                    None => ignored.push(w.as_ref().to_owned()),
                },
            }
        }
        if used.is_empty() {
            return Err(Error::invalid(if ignored.is_empty() {
                "doesnt_match needs at least one word".to_owned()
            } else {
                format!(
                    "doesnt_match: none of the words is in the vocabulary: {}",
                    crate::limits::echo_list(&ignored)
                )
            }));
        }
        if !ignored.is_empty() {
            tracing::debug!(words = ?ignored, "doesnt_match: words not in the vocabulary were ignored");
        }
        let mut mean = vec![0f32; self.dims()];
        for (_, v) in &used {
            mean.iter_mut().zip(v).for_each(|(m, x)| *m += x);
        }
        mean.iter_mut().for_each(|m| *m /= used.len() as f32);
        normalize(&mut mean);
        let (word, _) = used
            .iter()
            .map(|(w, v)| (*w, v.iter().zip(&mean).map(|(a, b)| a * b).sum::<f32>()))
            .min_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(b.0)))
            .expect("at least one word");
        Ok(DoesntMatch {
            word: word.to_owned(),
            ignored,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> Embeddings {
        // Rows: a and b close, c orthogonal, d opposite to a.
        Embeddings::from_vectors(
            &["a", "b", "c", "d"],
            vec![1.0, 0.0, 0.9, 0.1, 0.0, 2.0, -3.0, 0.0],
            2,
        )
        .unwrap()
    }

    #[test]
    fn most_similar_excludes_inputs_and_orders() {
        let e = toy();
        let r = e.most_similar(&["a".into()], &[], 10, None).unwrap();
        let words: Vec<&str> = r.iter().map(|n| n.word.as_str()).collect();
        assert_eq!(words, ["b", "c", "d"]);
        assert!((r[2].score + 1.0).abs() < 1e-6);
        let r = e.most_similar(&["a".into()], &[], 1, Some(2)).unwrap();
        assert_eq!(r[0].word, "b");
        assert!(e
            .most_similar(&["a".into()], &[], 0, None)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn bad_queries_are_errors() {
        let e = toy();
        assert!(matches!(
            e.most_similar(&[], &[], 5, None),
            Err(Error::InvalidArgument(_))
        ));
        assert!(
            matches!(e.most_similar(&["zz".into(), "a".into(), "yy".into()], &[], 5, None), Err(Error::UnknownWords(w)) if w == ["zz", "yy"])
        );
        let err = e
            .most_similar_to_vector(&[1.0, f32::NAN], 5, None)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid argument: query vector holds NaN at dimension 1"
        );
        assert!(e.most_similar_to_vector(&[1.0], 5, None).is_err());
        assert!(e.most_similar_cosmul(&[], &["a".into()], 5, None).is_err());
        assert!(e.doesnt_match(&["x", "y"]).is_err());
        assert!(e.doesnt_match::<&str>(&[]).is_err());
    }

    #[test]
    fn every_unknown_word_is_named_negative_terms_too() {
        let e = toy();
        // An analogy "xx1 is to xx2 as xx3 is to ?": positive xx2 and xx3, negative xx1.
        let r = e.most_similar(&["xx2".into(), "xx3".into()], &["xx1".into()], 5, None);
        assert!(
            matches!(&r, Err(Error::UnknownWords(w)) if w == &["xx2", "xx3", "xx1"]),
            "{r:?}"
        );
        let r = e.most_similar(&["a".into()], &["xx1".into()], 5, None);
        assert!(
            matches!(&r, Err(Error::UnknownWords(w)) if w == &["xx1"]),
            "{r:?}"
        );
        let long = "x".repeat(100_000);
        let msg = e
            .most_similar(&[Term::Word(&long)], &[], 5, None)
            .unwrap_err()
            .to_string();
        assert!(msg.len() < 200, "{msg}");
        let many: Vec<String> = (0..5000)
            .map(|i| format!("{i}{}", "x".repeat(1000)))
            .collect();
        let msg = e.doesnt_match(&many).unwrap_err().to_string();
        assert!(msg.len() < 2_000 && msg.contains("and 4990 more"), "{msg}");
    }

    #[test]
    fn many_terms_exclude_their_rows_and_stop_on_a_cancel() {
        let e = toy();
        // Repeats of the same two words: the rows to leave out are two, whatever the count.
        let terms: Vec<Term> = (0..3000)
            .map(|i| Term::Word(if i % 2 == 0 { "a" } else { "c" }))
            .collect();
        let r = e.most_similar(&terms, &[], 5, None).unwrap();
        let words: Vec<&str> = r.iter().map(|n| n.word.as_str()).collect();
        assert_eq!(words, ["b", "d"]);
        let cancel = crate::cancel::Cancel::new();
        cancel.cancel();
        let r = cancel.scope(|| e.most_similar(&terms, &[], 5, None));
        assert!(matches!(r, Err(Error::Cancelled(_))), "{r:?}");
    }

    #[test]
    fn vector_query_excludes_nothing() {
        let e = toy();
        let r = e.most_similar_to_vector(&[1.0, 0.0], 1, None).unwrap();
        assert_eq!(r[0].word, "a");
        assert!((r[0].score - 1.0).abs() < 1e-6);
    }

    #[test]
    fn doesnt_match_drops_unknown() {
        let e = toy();
        let d = e.doesnt_match(&["a", "b", "c", "nope"]).unwrap();
        assert_eq!(d.word, "c");
        assert_eq!(d.ignored, ["nope"]);
    }

    #[test]
    fn cosmul_prefers_both_positives() {
        let e = toy();
        let r = e.most_similar_cosmul(&["b".into()], &[], 3, None).unwrap();
        assert_eq!(r[0].word, "a");
        assert!(r[0].score > r[1].score);
    }
}
