//! The one place where sizes that come from outside (a request, a flag, a file header) are
//! checked before anything is allocated.
//!
//! A size from outside is hostile until checked: `ef = 4294967295` made the graph search reserve
//! 34 GB, a `--window` of 2^32 reserved 68 GB, and a model file whose sizes multiply past
//! `usize::MAX` wrapped to a small number and then aborted on allocation. Every such value goes
//! through this module:
//!
//! - [`at_most`] refuses a value above a fixed sane maximum (the constants below), with a message
//!   that names the setting;
//! - [`product`] multiplies sizes with checked arithmetic;
//! - [`zeroed`] allocates a buffer fallibly, so a size that passed every check but still cannot
//!   be had is an error and not an abort.
//!
//! Limits *tied to the data* (a `top_k` or `ef` above the number of rows, a tensor longer than
//! its file) are checked where the data is known, with the numbers from here.

use crate::error::{Error, Result};

/// Most dimensions of a vector (file headers, `--dim`, classifier embeddings).
pub const MAX_DIMS: usize = 1 << 16;
/// Widest hidden layer of a classifier.
pub const MAX_HIDDEN_WIDTH: usize = 1 << 16;
/// Most hidden layers of a classifier.
pub const MAX_HIDDEN_LAYERS: usize = 64;
/// Most floats in one classifier model (embedding and dense layers together): 4 GiB of `f32`,
/// room for a 3,000,000 x 300 embedding and its layers.
pub const MAX_MODEL_FLOATS: usize = 1 << 30;
/// Largest word2vec context window (the C tool's default is 5; 1,000 words is past any corpus's
/// sentence structure).
pub const MAX_WINDOW: usize = 1_000;
/// Most negative samples per positive pair (word2vec uses 5-20).
pub const MAX_NEGATIVE: usize = 1_000;
/// Largest HNSW candidate list, while building or searching (hnswlib's users go up to a few
/// thousand; the list is also capped by the number of indexed rows).
pub const MAX_EF: usize = 1 << 16;
/// Largest gzip expansion accepted when unpacking a vectors file: embedding files compress
/// 1.1-4x, a gzip bomb about 1000x.
pub const MAX_GZIP_RATIO: u64 = 64;

/// Longest character n-gram of a fastText model, in code points (its `maxn`, in every reader).
/// fastText's default is 6 (with `minn` 3) and its published models use 5 or 6; an n-gram of 32
/// code points is longer than nearly every word, so it could only add rows no word uses. The cap
/// matters because the n-grams of a word outside the vocabulary number its length times
/// `maxn - minn + 1`: with `maxn = 2^32 - 1` they number the square of its length (a 60 KB word
/// took 14 GB).
pub const MAX_NGRAM_CHARS: usize = 32;

/// Most n-gram hash buckets of a subword model being trained (`--buckets`): 16 times fastText's
/// default of 2,000,000. The bucket rows are one allocation of `buckets x dims` floats
/// (2,000,000 x 300 is 2.4 GB), so this bounds a mistyped flag before it asks for terabytes; the
/// product with the dimensions is checked too, and the allocation itself is fallible.
pub const MAX_BUCKETS: usize = 1 << 25;

/// Longest text embedded at once, bytes (1 MiB): a text vector is for sentences and documents,
/// and the server's message limit is smaller still.
pub const MAX_TEXT_BYTES: usize = 1 << 20;

/// Longest word a request may name by default, in bytes (the daemon's `--max-word-bytes`): a
/// query term, a filter word, a text's token, a model name. The longest entries of the GoogleNews
/// vocabulary are phrases of about 150 bytes; a word past this is an error before any work, and
/// it bounds the n-gram work of a fastText model's out-of-vocabulary word.
pub const DEFAULT_MAX_WORD_BYTES: usize = 1024;

/// Most words in one live write (an upsert or a delete, [`crate::live`]): a bulk load sends
/// batches of about a thousand; a batch is one log record, validated and held whole in memory.
pub const MAX_WRITE_WORDS: usize = 100_000;

/// Most bytes of one live write, words and vectors together (4 bytes a value): 100,000 vectors of
/// 300 dimensions fit. It also bounds a log record's length, which replay checks before reading
/// the record.
pub const MAX_WRITE_BYTES: usize = 128 << 20;

/// Longest word `wordvec export` writes into a PostgreSQL key column, in bytes. The key is the
/// table's primary key, and PostgreSQL's btree index refuses an entry past 2,704 bytes: an 8-byte
/// index tuple header and a 4-byte text header leave 2,692 for the word (a longer one might
/// still fit compressed, but whether it does depends on its letters). A word past this is refused
/// before anything is written, rather than failing the COPY of its batch.
pub const MAX_PG_KEY_BYTES: usize = 2_692;

/// Most bytes of a caller's string (a word, a model name) that an error message repeats.
pub const ECHO_BYTES: usize = 64;

/// `s` as an error message shows it: whole when short, else its first [`ECHO_BYTES`] bytes (cut
/// at a character boundary) and how long it was, so that an error about a 4 MB word is not
/// itself 4 MB.
pub fn echo(s: &str) -> std::borrow::Cow<'_, str> {
    if s.len() <= ECHO_BYTES {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut end = ECHO_BYTES;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    std::borrow::Cow::Owned(format!("{}... ({} bytes)", &s[..end], s.len()))
}

/// Most of a caller's words that one error message names.
pub const ECHO_WORDS: usize = 10;

/// `words` as an error message lists them: the first [`ECHO_WORDS`], each quoted and cut by
/// [`echo`], then how many more there are.
pub fn echo_list<S: AsRef<str>>(words: &[S]) -> String {
    let mut out: Vec<String> = words
        .iter()
        .take(ECHO_WORDS)
        .map(|w| format!("{:?}", echo(w.as_ref())))
        .collect();
    if words.len() > ECHO_WORDS {
        out.push(format!("and {} more", words.len() - ECHO_WORDS));
    }
    out.join(", ")
}

/// `value` when it is at most `max`, else an error naming `what`.
pub fn at_most(what: &str, value: usize, max: usize) -> Result<usize> {
    if value > max {
        return Err(Error::invalid(format!(
            "{what} {value} is over the limit of {max}"
        )));
    }
    Ok(value)
}

/// `value` when it is between 1 and `max`, else an error naming `what`.
pub fn between_1_and(what: &str, value: usize, max: usize) -> Result<usize> {
    if value == 0 {
        return Err(Error::invalid(format!("{what} must be at least 1")));
    }
    at_most(what, value, max)
}

/// The product of `factors`, or an error naming `what` when it overflows `usize`.
pub fn product(what: &str, factors: &[usize]) -> Result<usize> {
    factors
        .iter()
        .try_fold(1usize, |a, &b| a.checked_mul(b))
        .ok_or_else(|| {
            Error::invalid(format!(
                "{what}: {} overflows",
                factors
                    .iter()
                    .map(|f| f.to_string())
                    .collect::<Vec<_>>()
                    .join(" x ")
            ))
        })
}

/// A vector of `n` default values, allocated fallibly: an allocation the system refuses is an
/// error naming `what`, not an abort of the process.
pub fn zeroed<T: Default + Clone>(what: &str, n: usize) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| {
        Error::invalid(format!(
            "{what}: cannot allocate {n} values of {} bytes",
            std::mem::size_of::<T>()
        ))
    })?;
    v.resize(n, T::default());
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks() {
        assert_eq!(at_most("k", 5, 5).unwrap(), 5);
        let e = at_most("ef", 4_294_967_295, MAX_EF)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("ef 4294967295 is over the limit of 65536"),
            "{e}"
        );
        assert!(between_1_and("window", 0, 10).is_err());
        assert_eq!(product("p", &[3, 4, 5]).unwrap(), 60);
        let e = product("tensor", &[32, 1 << 59, 4])
            .unwrap_err()
            .to_string();
        assert!(e.contains("overflows"), "{e}");
        assert!(zeroed::<f32>("huge", usize::MAX / 2).is_err());
        assert_eq!(zeroed::<f32>("small", 3).unwrap(), vec![0.0; 3]);
    }

    #[test]
    fn echo_cuts_long_strings_at_a_char_boundary() {
        assert_eq!(echo("king"), "king");
        let long = "é".repeat(1000);
        let e = echo(&long);
        assert!(e.len() < 100, "{e}");
        assert!(e.ends_with("... (2000 bytes)"), "{e}");
    }

    #[test]
    fn echo_list_names_ten_words_and_counts_the_rest() {
        assert_eq!(echo_list(&["a", "b"]), r#""a", "b""#);
        let words: Vec<String> = (0..25)
            .map(|i| format!("{i}{}", "w".repeat(1000)))
            .collect();
        let l = echo_list(&words);
        assert!(l.ends_with(", and 15 more") && l.len() < 1_200, "{l}");
    }
}
