//! Tokenisation for the classifier: Unicode word boundaries (UAX #29), lowercased.
//!
//! `"Don't PANIC, Привет!"` gives `don't`, `panic`, `привет`. Punctuation and spaces are not
//! tokens. The same function runs at training and at prediction time, so a model never sees a
//! token its vocabulary could not have.

use unicode_segmentation::UnicodeSegmentation;

/// Calls `f` with each lowercased token of `text`. `buf` is scratch space reused across calls,
/// so tokenising allocates nothing once `buf` has grown to the longest word.
pub fn for_each_token(text: &str, buf: &mut String, mut f: impl FnMut(&str)) {
    for word in text.unicode_words() {
        buf.clear();
        if word.is_ascii() {
            buf.push_str(word);
            buf.make_ascii_lowercase();
        } else {
            buf.extend(word.chars().flat_map(char::to_lowercase));
        }
        f(buf);
    }
}

/// The tokens of `text` as owned strings (convenient in tests and tools; the hot paths use
/// [`for_each_token`]).
pub fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut buf = String::new();
    for_each_token(text, &mut buf, |t| out.push(t.to_owned()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_lowercased_and_punctuation_dropped() {
        assert_eq!(
            tokens("Don't PANIC, Привет!  ok?"),
            ["don't", "panic", "привет", "ok"]
        );
        assert_eq!(tokens("e-mail 3.14 #tag"), ["e", "mail", "3.14", "tag"]);
        assert!(tokens("!!! ... ---").is_empty());
        assert!(tokens("").is_empty());
    }
}
