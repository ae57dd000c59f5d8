//! The vocabulary: words in file order, and the map from a word to its row.
//!
//! [`Vocab`] is the small trait the rest of the library uses. [`HashVocab`] is its one
//! implementation, laid out so that it can live inside a memory map unchanged: the words are one
//! UTF-8 string, `ends[i]` is where word `i` ends in it, and `slots` is an open-addressing hash
//! table (linear probing, FNV-1a hash, at most half full) whose entries are row numbers. The native
//! format stores exactly these three arrays, so opening a 3-million-word file builds nothing: the
//! lookups run on the mapped pages. Loading a word2vec file builds the same arrays once, without a
//! `String` per word.

use crate::bytes::Slice;
use crate::error::{Error, Result};

/// Words in row order and their lookup.
pub trait Vocab: Send + Sync {
    /// Number of words.
    fn len(&self) -> usize;
    /// True when there are no words.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The word of row `idx`. Panics when `idx >= len()`.
    fn word(&self, idx: usize) -> &str;
    /// The row of `word`, if it is in the vocabulary.
    fn index(&self, word: &str) -> Option<usize>;
}

/// Marks an empty hash slot.
pub const EMPTY_SLOT: u32 = u32::MAX;

/// FNV-1a, 64 bits. Stable across versions and platforms, which the native format needs: its
/// hash table is written to disk.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Number of hash slots for `n` words: a power of two at least twice `n` (and at least 2).
pub fn slot_count(n: usize) -> usize {
    (n.max(1) * 2).next_power_of_two()
}

/// A vocabulary stored as three flat arrays (see the module documentation).
#[derive(Debug, Clone)]
pub struct HashVocab {
    strings: Slice<u8>,
    ends: Slice<u64>,
    slots: Slice<u32>,
}

impl HashVocab {
    /// Wraps arrays read from a file, checking everything a lookup relies on: the strings are
    /// UTF-8, `ends` rise and fall on character boundaries, the table is a power of two larger
    /// than the vocabulary. Slot contents are checked at lookup time (a bad slot is a miss).
    pub(crate) fn from_parts(
        strings: Slice<u8>,
        ends: Slice<u64>,
        slots: Slice<u32>,
    ) -> Result<Self, String> {
        let s = std::str::from_utf8(&strings).map_err(|e| {
            format!(
                "vocabulary is not UTF-8 at byte {} of the word list",
                e.valid_up_to()
            )
        })?;
        let mut prev = 0u64;
        for (i, &end) in ends.iter().enumerate() {
            if end < prev || end > s.len() as u64 || !s.is_char_boundary(end as usize) {
                return Err(format!(
                    "vocabulary entry {i} ends at {end}, outside the word list"
                ));
            }
            prev = end;
        }
        if prev != s.len() as u64 {
            return Err(format!(
                "word list has {} bytes, the last word ends at {prev}",
                s.len()
            ));
        }
        if !slots.len().is_power_of_two() || slots.len() <= ends.len() {
            return Err(format!(
                "hash table has {} slots for {} words (needs a power of two above the word count)",
                slots.len(),
                ends.len()
            ));
        }
        Ok(HashVocab {
            strings,
            ends,
            slots,
        })
    }

    /// The raw arrays, for writers.
    pub fn parts(&self) -> (&[u8], &[u64], &[u32]) {
        (&self.strings, &self.ends, &self.slots)
    }

    fn find(&self, word: &[u8]) -> Result<usize, usize> {
        let mask = self.slots.len() - 1;
        let mut pos = fnv1a(word) as usize & mask;
        // At most half full, so an empty slot is always reached; the bound guards corrupt tables.
        for _ in 0..self.slots.len() {
            let slot = self.slots[pos];
            if slot == EMPTY_SLOT {
                return Err(pos);
            }
            let idx = slot as usize;
            if idx < self.ends.len() && self.word_bytes(idx) == word {
                return Ok(idx);
            }
            pos = (pos + 1) & mask;
        }
        Err(usize::MAX)
    }

    fn word_bytes(&self, idx: usize) -> &[u8] {
        let start = if idx == 0 {
            0
        } else {
            self.ends[idx - 1] as usize
        };
        &self.strings[start..self.ends[idx] as usize]
    }
}

impl Vocab for HashVocab {
    fn len(&self) -> usize {
        self.ends.len()
    }

    fn word(&self, idx: usize) -> &str {
        // Checked in `from_parts`/`VocabBuilder`: the word list is UTF-8 and `ends` are char
        // boundaries, so this never fails.
        std::str::from_utf8(self.word_bytes(idx)).unwrap_or("")
    }

    fn index(&self, word: &str) -> Option<usize> {
        self.find(word.as_bytes()).ok()
    }
}

/// Builds a [`HashVocab`] word by word.
#[derive(Debug)]
pub struct VocabBuilder {
    strings: Vec<u8>,
    ends: Vec<u64>,
    slots: Vec<u32>,
}

impl Default for VocabBuilder {
    fn default() -> Self {
        VocabBuilder::with_capacity(0)
    }
}

impl VocabBuilder {
    /// A builder sized for about `n` words.
    pub fn with_capacity(n: usize) -> Self {
        VocabBuilder {
            strings: Vec::with_capacity(n.saturating_mul(8).min(1 << 30)),
            ends: Vec::with_capacity(n.min(1 << 28)),
            slots: vec![EMPTY_SLOT; slot_count(n.min(1 << 28))],
        }
    }

    /// Number of words so far.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when no word was added.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Adds `word` as the next row. Returns `false` (and adds nothing) when it is already there.
    pub fn push(&mut self, word: &str) -> bool {
        self.push_hashed(word, fnv1a(word.as_bytes()))
    }

    /// [`push`](Self::push) with the word's [`fnv1a`] hash computed by the caller (in
    /// parallel, say).
    pub fn push_hashed(&mut self, word: &str, hash: u64) -> bool {
        if (self.ends.len() + 1) * 2 > self.slots.len() {
            self.grow();
        }
        match self.probe(word.as_bytes(), hash) {
            Ok(_) => false,
            Err(pos) => {
                self.slots[pos] = self.ends.len() as u32;
                self.strings.extend_from_slice(word.as_bytes());
                self.ends.push(self.strings.len() as u64);
                true
            }
        }
    }

    /// Hints the CPU to fetch the hash slot of a word that will be pushed soon. Pushing millions
    /// of words is bound by cache misses on the table; fetching a few words ahead overlaps them.
    #[inline]
    pub fn prefetch(&self, hash: u64) {
        let pos = hash as usize & (self.slots.len() - 1);
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            // SAFETY: `pos` is masked into `0..slots.len()`, so the address is inside the table;
            // a prefetch never faults and changes no state visible to the program.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(self.slots.as_ptr().add(pos) as *const i8) };
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = pos;
    }

    fn probe(&self, word: &[u8], hash: u64) -> Result<usize, usize> {
        let mask = self.slots.len() - 1;
        let mut pos = hash as usize & mask;
        loop {
            let slot = self.slots[pos];
            if slot == EMPTY_SLOT {
                return Err(pos);
            }
            let idx = slot as usize;
            let start = if idx == 0 {
                0
            } else {
                self.ends[idx - 1] as usize
            };
            if &self.strings[start..self.ends[idx] as usize] == word {
                return Ok(idx);
            }
            pos = (pos + 1) & mask;
        }
    }

    fn grow(&mut self) {
        let n = self.slots.len() * 2;
        let mut slots = vec![EMPTY_SLOT; n];
        let mask = n - 1;
        let mut start = 0usize;
        for (idx, &end) in self.ends.iter().enumerate() {
            let mut pos = fnv1a(&self.strings[start..end as usize]) as usize & mask;
            while slots[pos] != EMPTY_SLOT {
                pos = (pos + 1) & mask;
            }
            slots[pos] = idx as u32;
            start = end as usize;
        }
        self.slots = slots;
    }

    /// The finished vocabulary.
    pub fn build(self) -> HashVocab {
        HashVocab {
            strings: self.strings.into(),
            ends: self.ends.into(),
            slots: self.slots.into(),
        }
    }
}

/// Decodes a word's bytes under a [`UnicodeErrors`] policy.
pub fn decode_word(
    bytes: &[u8],
    policy: UnicodeErrors,
) -> Result<std::borrow::Cow<'_, str>, usize> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.into()),
        Err(e) => match policy {
            UnicodeErrors::Strict => Err(e.valid_up_to()),
            UnicodeErrors::Replace => Ok(String::from_utf8_lossy(bytes)),
            UnicodeErrors::Ignore => {
                let mut s = String::with_capacity(bytes.len());
                for chunk in bytes.utf8_chunks() {
                    s.push_str(chunk.valid());
                }
                Ok(s.into())
            }
        },
    }
}

/// What to do with a word that is not valid UTF-8 (as gensim's `unicode_errors`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnicodeErrors {
    /// Fail, naming the record and byte offset.
    #[default]
    Strict,
    /// Replace each invalid sequence with U+FFFD.
    Replace,
    /// Drop the invalid bytes.
    Ignore,
}

/// Convenience for tests and small tools: a vocabulary from a list of distinct words.
pub fn vocab_from_words<'a>(words: impl IntoIterator<Item = &'a str>) -> Result<HashVocab> {
    let mut b = VocabBuilder::default();
    for w in words {
        if !b.push(w) {
            return Err(Error::invalid(format!("duplicate word {w:?}")));
        }
    }
    Ok(b.build())
}

impl Default for HashVocab {
    fn default() -> Self {
        VocabBuilder::with_capacity(0).build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_round_trips_and_grows() {
        let words: Vec<String> = (0..5000).map(|i| format!("w{i}")).collect();
        let mut b = VocabBuilder::with_capacity(2);
        for w in &words {
            assert!(b.push(w));
        }
        assert!(!b.push("w17"), "duplicate must be refused");
        let v = b.build();
        assert_eq!(v.len(), 5000);
        for (i, w) in words.iter().enumerate() {
            assert_eq!(v.word(i), w);
            assert_eq!(v.index(w), Some(i));
        }
        assert_eq!(v.index("nope"), None);
        assert_eq!(v.index(""), None);
    }

    #[test]
    fn from_parts_rejects_corrupt_arrays() {
        let v = vocab_from_words(["a", "bé", "c"]).unwrap();
        let (s, e, t) = v.parts();
        let ok = HashVocab::from_parts(s.to_vec().into(), e.to_vec().into(), t.to_vec().into());
        assert_eq!(ok.unwrap().index("bé"), Some(1));
        // An end inside the two-byte 'é'.
        let bad_ends = vec![1u64, 3, 5];
        let err = HashVocab::from_parts(s.to_vec().into(), bad_ends.into(), t.to_vec().into());
        assert!(err.unwrap_err().contains("entry 1 ends at 3"));
        let err = HashVocab::from_parts(
            s.to_vec().into(),
            e.to_vec().into(),
            vec![EMPTY_SLOT; 3].into(),
        );
        assert!(err.unwrap_err().contains("power of two"));
        // Slots pointing past the vocabulary are misses, not panics.
        let wild =
            HashVocab::from_parts(s.to_vec().into(), e.to_vec().into(), vec![77u32; 8].into())
                .unwrap();
        assert_eq!(wild.index("a"), None);
    }

    #[test]
    fn decode_policies() {
        let bytes = b"ab\xffc";
        assert_eq!(decode_word(bytes, UnicodeErrors::Strict), Err(2));
        assert_eq!(
            decode_word(bytes, UnicodeErrors::Replace).unwrap(),
            "ab\u{fffd}c"
        );
        assert_eq!(decode_word(bytes, UnicodeErrors::Ignore).unwrap(), "abc");
    }

    #[test]
    fn fnv_is_stable() {
        // Reference values of FNV-1a 64: the native format depends on them never changing.
        assert_eq!(fnv1a(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a(b"a"), 0xaf63dc4c8601ec8c);
    }
}
