//! Training text: one or more files (plain or gzip), whitespace-separated tokens, each line a
//! sentence, long lines cut every [`MAX_SENTENCE`] tokens.
//!
//! Text is streamed twice: once to count words, once to turn kept words into `u32` ids written
//! to an anonymous temporary file, which the epochs then read through a memory map (4 bytes per
//! word, split into one contiguous slice per thread). Nothing holds the corpus in memory, and
//! epochs after the first do no tokenising.
//!
//! Sentence ends: unlike the C tool, which turns each newline into a `</s>` token (and so into
//! a vocabulary entry and a training word), wordvec treats a newline as a boundary only: no
//! window crosses it and no `</s>` vector is learned, as in gensim.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use crate::progress::Progress;
use memmap2::Mmap;

use crate::error::{Error, Result};
use crate::io::GZIP_MAGIC;
use crate::train::vocab::TrainVocab;

/// Sentences longer than this are cut (as gensim's `MAX_WORDS_IN_BATCH`).
pub const MAX_SENTENCE: usize = 10_000;

/// The id that marks a sentence end in the encoded corpus.
pub const SENTENCE_END: u32 = u32::MAX;

/// Opens a corpus file, decompressing gzip (detected by its magic bytes).
fn open(path: &Path) -> Result<Box<dyn BufRead>> {
    let mut f = File::open(path).map_err(|e| Error::io("cannot open", path, e))?;
    let mut magic = [0u8; 2];
    let n = f
        .read(&mut magic)
        .map_err(|e| Error::io("cannot read", path, e))?;
    let f = File::open(path).map_err(|e| Error::io("cannot open", path, e))?;
    Ok(if n == 2 && magic == GZIP_MAGIC {
        Box::new(BufReader::with_capacity(
            1 << 20,
            flate2::read::MultiGzDecoder::new(f),
        ))
    } else {
        Box::new(BufReader::with_capacity(1 << 20, f))
    })
}

/// Calls `f` with each line's tokens, for every file in turn.
pub fn for_each_line(
    paths: &[PathBuf],
    progress: &dyn Progress,
    mut f: impl FnMut(&mut dyn Iterator<Item = &[u8]>),
) -> Result<()> {
    let mut line = Vec::with_capacity(1 << 16);
    for path in paths {
        let mut r = open(path)?;
        loop {
            line.clear();
            let n = r.read_until(b'\n', &mut line).map_err(|e| {
                Error::format(
                    path,
                    None,
                    0,
                    format!("cannot read the corpus (corrupt gzip?): {e}"),
                )
            })?;
            if n == 0 {
                break;
            }
            progress.inc(n as u64);
            let mut tokens = line
                .split(|b| b.is_ascii_whitespace())
                .filter(|t| !t.is_empty());
            f(&mut tokens);
        }
    }
    Ok(())
}

/// Total size of the corpus files in bytes (compressed size for gzip files), for progress.
pub fn total_bytes(paths: &[PathBuf]) -> Result<u64> {
    paths
        .iter()
        .map(|p| {
            std::fs::metadata(p)
                .map(|m| m.len())
                .map_err(|e| Error::io("cannot open", p, e))
        })
        .sum()
}

/// Counts every token of the corpus.
pub fn count_words(
    paths: &[PathBuf],
    progress: &dyn Progress,
) -> Result<(hashbrown::HashMap<Box<str>, u64>, u64)> {
    let mut counts: hashbrown::HashMap<Box<str>, u64> = hashbrown::HashMap::new();
    let mut total = 0u64;
    for_each_line(paths, progress, |tokens| {
        for t in tokens {
            total += 1;
            let w = String::from_utf8_lossy(t);
            if let Some(c) = counts.get_mut(&*w) {
                *c += 1;
            } else {
                counts.insert(w.into(), 1);
            }
        }
    })?;
    Ok((counts, total))
}

/// The corpus as word ids in a memory-mapped temporary file, sentences ended by
/// [`SENTENCE_END`].
pub struct EncodedCorpus {
    map: Option<Mmap>,
    len: usize,
}

impl EncodedCorpus {
    /// Encodes the corpus with `vocab` (words outside it are dropped).
    pub fn encode(paths: &[PathBuf], vocab: &TrainVocab, progress: &dyn Progress) -> Result<Self> {
        let tmp = tempfile::tempfile()
            .map_err(|e| Error::io("cannot create a temporary file in", std::env::temp_dir(), e))?;
        let mut w = BufWriter::with_capacity(1 << 20, &tmp);
        let mut len = 0usize;
        let mut io_err = None;
        for_each_line(paths, progress, |tokens| {
            let mut in_sentence = 0usize;
            for t in tokens {
                let id = match std::str::from_utf8(t) {
                    Ok(s) => vocab.id(s),
                    Err(_) => vocab.id(&String::from_utf8_lossy(t)),
                };
                if let Some(id) = id {
                    if let Err(e) = w.write_all(&id.to_le_bytes()) {
                        io_err.get_or_insert(e);
                    }
                    len += 1;
                    in_sentence += 1;
                    if in_sentence == MAX_SENTENCE {
                        let _ = w.write_all(&SENTENCE_END.to_le_bytes());
                        len += 1;
                        in_sentence = 0;
                    }
                }
            }
            if in_sentence > 0 {
                if let Err(e) = w.write_all(&SENTENCE_END.to_le_bytes()) {
                    io_err.get_or_insert(e);
                }
                len += 1;
            }
        })?;
        let tmp_path = std::env::temp_dir();
        if let Some(e) = io_err {
            return Err(Error::io("cannot write the encoded corpus to", tmp_path, e));
        }
        w.flush()
            .map_err(|e| Error::io("cannot write the encoded corpus to", &tmp_path, e))?;
        drop(w);
        let map = if len == 0 {
            None
        } else {
            // SAFETY: the file is an anonymous temporary file (already unlinked), written above
            // and never written again; nobody else can open it, so the mapping cannot change.
            Some(
                unsafe { Mmap::map(&tmp) }
                    .map_err(|e| Error::io("cannot map the encoded corpus in", &tmp_path, e))?,
            )
        };
        Ok(EncodedCorpus { map, len })
    }

    /// The ids (little-endian `u32`s; mapped pages are page-aligned, so the cast cannot fail).
    pub fn ids(&self) -> &[u32] {
        match &self.map {
            Some(m) => &bytemuck::cast_slice(&m[..])[..self.len],
            None => &[],
        }
    }

    /// Splits the ids into `n` contiguous slices that start at sentence starts.
    pub fn slices(&self, n: usize) -> Vec<&[u32]> {
        let ids = self.ids();
        let mut bounds = vec![0usize];
        for t in 1..n {
            let mut b = (ids.len() * t / n).max(*bounds.last().unwrap());
            while b < ids.len() && (b == 0 || ids[b - 1] != SENTENCE_END) {
                b += 1;
            }
            bounds.push(b);
        }
        bounds.push(ids.len());
        bounds.windows(2).map(|w| &ids[w[0]..w[1]]).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn counts_and_encodes_plain_and_gzip() {
        let dir = tempfile::tempdir().unwrap();
        let a = write(dir.path(), "a.txt", "the cat\tsat\n\nthe  mat\n");
        let gz = dir.path().join("b.txt.gz");
        let mut e =
            flate2::write::GzEncoder::new(File::create(&gz).unwrap(), flate2::Compression::fast());
        e.write_all(b"the end").unwrap();
        e.finish().unwrap();
        let paths = vec![a, gz];
        let pb = crate::progress::Silent;
        let (counts, total) = count_words(&paths, &pb).unwrap();
        assert_eq!(total, 7);
        assert_eq!(counts["the"], 3);
        let vocab = TrainVocab::from_counts(counts, 2, None).unwrap();
        assert_eq!(vocab.words(), ["the"]);
        let enc = EncodedCorpus::encode(&paths, &vocab, &pb).unwrap();
        assert_eq!(
            enc.ids(),
            [0, SENTENCE_END, 0, SENTENCE_END, 0, SENTENCE_END]
        );
    }

    #[test]
    fn long_lines_are_cut_and_slices_start_at_sentences() {
        let dir = tempfile::tempdir().unwrap();
        let line = vec!["w"; MAX_SENTENCE + 5].join(" ");
        let p = write(dir.path(), "long.txt", &format!("{line}\nw w\n"));
        let paths = vec![p];
        let pb = crate::progress::Silent;
        let (counts, _) = count_words(&paths, &pb).unwrap();
        let vocab = TrainVocab::from_counts(counts, 1, None).unwrap();
        let enc = EncodedCorpus::encode(&paths, &vocab, &pb).unwrap();
        let ids = enc.ids();
        assert_eq!(ids[MAX_SENTENCE], SENTENCE_END);
        assert_eq!(ids.iter().filter(|&&i| i == SENTENCE_END).count(), 3);
        let slices = enc.slices(3);
        assert_eq!(slices.iter().map(|s| s.len()).sum::<usize>(), ids.len());
        let mut start = 0;
        for s in &slices {
            assert!(start == 0 || start == ids.len() || ids[start - 1] == SENTENCE_END);
            start += s.len();
        }
    }

    #[test]
    fn missing_and_corrupt_files() {
        let pb = crate::progress::Silent;
        let err = count_words(&[PathBuf::from("/nonexistent/corpus.txt")], &pb).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("cannot open /nonexistent/corpus.txt"));
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.gz");
        std::fs::write(&bad, [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3]).unwrap();
        let err = count_words(&[bad], &pb).unwrap_err().to_string();
        assert!(
            err.contains("bad.gz") && err.contains("corrupt gzip"),
            "{err}"
        );
    }
}
