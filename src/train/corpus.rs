//! Training text: one or more files (plain or gzip), whitespace-separated tokens, each line a
//! sentence, long lines cut every [`MAX_SENTENCE`] kept words.
//!
//! Files are read as a stream of tokens, never a line at a time, so memory does not grow with a
//! line's length: a word longer than [`MAX_WORD_BYTES`] is truncated as word2vec's `ReadWord`
//! truncates it at `MAX_STRING`, and a sentence is cut as gensim cuts one (its
//! `MAX_WORDS_IN_BATCH`; the C tool cuts at 1,000 words). A gzip file may decompress to at most
//! [`crate::limits::MAX_GZIP_RATIO`] times its size (text compresses 3-5x), so a gzip bomb is a
//! clear error naming the file and the ratio.
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
use crate::io::{GzipBomb, GzipRatioGuard, GZIP_MAGIC};
use crate::train::vocab::TrainVocab;

/// Sentences longer than this are cut (as gensim's `MAX_WORDS_IN_BATCH`).
pub(crate) const MAX_SENTENCE: usize = 10_000;

/// The id that marks a sentence end in the encoded corpus.
pub(crate) const SENTENCE_END: u32 = u32::MAX;

/// Longest word kept, in bytes (word2vec's `MAX_STRING`): a longer run of non-space bytes is
/// truncated to its first `MAX_WORD_BYTES` (cut back to a UTF-8 character boundary), as the C
/// tool truncates it, so that a "word" of any length takes bounded memory.
pub(crate) const MAX_WORD_BYTES: usize = 100;

/// Opens a corpus file, decompressing gzip (detected by its magic bytes) under the gzip ratio
/// guard ([`crate::io::GzipRatioGuard`]): a gzip bomb is an error, not gigabytes of text.
fn open(path: &Path) -> Result<Box<dyn BufRead>> {
    let mut f = File::open(path).map_err(|e| Error::io("cannot open", path, e))?;
    let mut magic = [0u8; 2];
    let n = f
        .read(&mut magic)
        .map_err(|e| Error::io("cannot read", path, e))?;
    let f = File::open(path).map_err(|e| Error::io("cannot open", path, e))?;
    Ok(if n == 2 && magic == GZIP_MAGIC {
        let len = f
            .metadata()
            .map_err(|e| Error::io("cannot stat", path, e))?
            .len();
        Box::new(BufReader::with_capacity(
            1 << 20,
            GzipRatioGuard::new(flate2::read::MultiGzDecoder::new(f), len),
        ))
    } else {
        Box::new(BufReader::with_capacity(1 << 20, f))
    })
}

/// What the corpus reader hands on: a word, or the end of a line (also sent at the end of each
/// file, so a last line without a newline still ends).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Token<'a> {
    /// A run of non-whitespace bytes, at most [`MAX_WORD_BYTES`] long.
    Word(&'a [u8]),
    /// A newline.
    LineEnd,
}

/// Calls `f` with each token of every file in turn, streaming: no line is held whole, so a
/// line of any length (a one-line corpus, a gzip bomb of one line) takes bounded memory.
pub(crate) fn for_each_token(
    paths: &[PathBuf],
    progress: &dyn Progress,
    mut f: impl FnMut(Token<'_>),
) -> Result<()> {
    for path in paths {
        tokens(&mut *open(path)?, progress, &mut f).map_err(|e| read_error(path, e))?;
    }
    Ok(())
}

/// The error of a failed read of the corpus file `path`.
fn read_error(path: &Path, e: std::io::Error) -> Error {
    let message = match e.get_ref().and_then(|e| e.downcast_ref::<GzipBomb>()) {
        Some(bomb) => format!("{bomb}: not a text corpus"),
        None => format!("cannot read the corpus (corrupt gzip?): {e}"),
    };
    Error::format(path, None, 0, message)
}

/// Splits `r` into tokens for `f`. A word within one buffer is handed on in place; one that
/// spans buffers is gathered in a buffer of at most [`MAX_WORD_BYTES`] + 4 bytes.
fn tokens(
    r: &mut dyn BufRead,
    progress: &dyn Progress,
    f: &mut impl FnMut(Token<'_>),
) -> std::io::Result<()> {
    let mut word: Vec<u8> = Vec::with_capacity(MAX_WORD_BYTES + 4);
    loop {
        let buf = r.fill_buf()?;
        let n = buf.len();
        if n == 0 {
            break;
        }
        let mut i = 0;
        while i < n {
            if buf[i].is_ascii_whitespace() {
                if !word.is_empty() {
                    f(Token::Word(truncated(&word)));
                    word.clear();
                }
                if buf[i] == b'\n' {
                    f(Token::LineEnd);
                }
                i += 1;
                continue;
            }
            let end = buf[i..]
                .iter()
                .position(|b| b.is_ascii_whitespace())
                .map_or(n, |p| i + p);
            let piece = &buf[i..end];
            if end < n && word.is_empty() {
                f(Token::Word(truncated(piece)));
            } else {
                let room = (MAX_WORD_BYTES + 4).saturating_sub(word.len());
                word.extend_from_slice(&piece[..piece.len().min(room)]);
            }
            i = end;
        }
        progress.inc(n as u64);
        r.consume(n);
    }
    if !word.is_empty() {
        f(Token::Word(truncated(&word)));
    }
    f(Token::LineEnd);
    Ok(())
}

/// `w` cut to at most [`MAX_WORD_BYTES`], at the start of the UTF-8 character that crosses the
/// limit.
fn truncated(w: &[u8]) -> &[u8] {
    if w.len() <= MAX_WORD_BYTES {
        return w;
    }
    let mut end = MAX_WORD_BYTES;
    while end > 0 && (w[end] & 0xC0) == 0x80 {
        end -= 1;
    }
    &w[..end]
}

/// Total size of the corpus files in bytes (compressed size for gzip files), for progress.
pub(crate) fn total_bytes(paths: &[PathBuf]) -> Result<u64> {
    paths
        .iter()
        .map(|p| {
            std::fs::metadata(p)
                .map(|m| m.len())
                .map_err(|e| Error::io("cannot open", p, e))
        })
        .sum()
}

/// A chunk of sentences, each a list of tokens, as a [`SentenceSender`] hands it on.
pub type SentenceChunk = Vec<Vec<String>>;

/// The sending half of a sentence stream ([`sentence_channel`]): a thread that produces
/// sentences (a Python iterator, a network reader) pushes them in chunks while the trainer
/// counts or encodes them on its own thread. Dropping it ends the stream.
#[derive(Debug)]
pub struct SentenceSender(std::sync::mpsc::SyncSender<SentenceChunk>);

impl SentenceSender {
    /// Hands on a chunk, waiting while the reader is a full channel behind. An error means the
    /// reader has gone (its run failed or stopped): stop producing.
    pub fn send(&self, chunk: SentenceChunk) -> Result<()> {
        self.0
            .send(chunk)
            .map_err(|_| Error::invalid("the trainer stopped reading the sentence stream"))
    }
}

/// The receiving half of a sentence stream, read once by [`count_words`](super::count_words) or
/// a training run.
#[derive(Debug)]
pub struct SentenceReceiver(std::sync::mpsc::Receiver<SentenceChunk>);

/// A stream of sentences from another thread, holding at most `bound` chunks in flight (so a
/// fast producer waits for the reader instead of filling memory).
pub fn sentence_channel(bound: usize) -> (SentenceSender, SentenceReceiver) {
    let (tx, rx) = std::sync::mpsc::sync_channel(bound.max(1));
    (SentenceSender(tx), SentenceReceiver(rx))
}

/// Where training sentences come from: text files (read twice: to count, to encode), or a
/// stream pushed from another thread (read once).
#[derive(Debug)]
#[non_exhaustive]
pub enum Sentences {
    /// Text files, plain or gzip, whitespace-separated tokens, one sentence a line.
    Files(Vec<PathBuf>),
    /// Sentences pushed in chunks through a [`SentenceSender`]; tokens are taken as they are
    /// (no splitting, no truncation); a sentence longer than 10,000 words is cut, as a line is.
    Stream(SentenceReceiver),
}

/// Calls `f` with every token of a stream, a line end after each sentence.
fn for_each_streamed(rx: SentenceReceiver, mut f: impl FnMut(Token<'_>)) {
    for chunk in rx.0.iter() {
        for sentence in &chunk {
            for word in sentence {
                f(Token::Word(word.as_bytes()));
            }
            f(Token::LineEnd);
        }
    }
}

/// Calls `f` with every token of `corpus`.
pub(crate) fn for_each_in(
    corpus: Sentences,
    progress: &dyn Progress,
    f: impl FnMut(Token<'_>),
) -> Result<()> {
    match corpus {
        Sentences::Files(paths) => for_each_token(&paths, progress, f),
        Sentences::Stream(rx) => {
            for_each_streamed(rx, f);
            Ok(())
        }
    }
}

/// Counts every token of `corpus`: the counts, and the number of tokens.
pub(crate) fn count_in(
    corpus: Sentences,
    progress: &dyn Progress,
) -> Result<(hashbrown::HashMap<Box<str>, u64>, u64)> {
    let mut counts: hashbrown::HashMap<Box<str>, u64> = hashbrown::HashMap::new();
    let mut total = 0u64;
    for_each_in(corpus, progress, |token| {
        if let Token::Word(t) = token {
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

/// Turns tokens into the ids of the encoded corpus: kept words' ids (little-endian `u32`s),
/// sentences ended by [`SENTENCE_END`] and cut at [`MAX_SENTENCE`], and each id's count. Every
/// write's error is kept, the sentence ends' included: the first one is the error, once the
/// corpus has been read.
struct Encoder<'a, W: Write> {
    vocab: &'a TrainVocab,
    w: W,
    len: usize,
    counts: Vec<u64>,
    in_sentence: usize,
    io_err: Option<std::io::Error>,
}

impl<'a, W: Write> Encoder<'a, W> {
    fn new(vocab: &'a TrainVocab, w: W) -> Self {
        Encoder {
            vocab,
            w,
            len: 0,
            counts: vec![0; vocab.len()],
            in_sentence: 0,
            io_err: None,
        }
    }

    fn put(&mut self, id: u32) {
        if let Err(e) = self.w.write_all(&id.to_le_bytes()) {
            self.io_err.get_or_insert(e);
        }
        self.len += 1;
    }

    fn token(&mut self, token: Token<'_>) {
        match token {
            Token::Word(t) => {
                let id = match std::str::from_utf8(t) {
                    Ok(s) => self.vocab.id(s),
                    Err(_) => self.vocab.id(&String::from_utf8_lossy(t)),
                };
                if let Some(id) = id {
                    self.put(id);
                    self.counts[id as usize] += 1;
                    self.in_sentence += 1;
                    if self.in_sentence == MAX_SENTENCE {
                        self.put(SENTENCE_END);
                        self.in_sentence = 0;
                    }
                }
            }
            Token::LineEnd if self.in_sentence > 0 => {
                self.put(SENTENCE_END);
                self.in_sentence = 0;
            }
            Token::LineEnd => {}
        }
    }

    /// The number of ids written and each word's count, or the first write error (naming
    /// `sink`).
    fn finish(self, sink: &Path) -> Result<(usize, Vec<u64>)> {
        match self.io_err {
            Some(e) => Err(Error::io("cannot write the encoded corpus to", sink, e)),
            None => Ok((self.len, self.counts)),
        }
    }
}

/// Writes the ids of the corpus's kept words to `w` (see [`Encoder`]) and returns how many, and
/// each word's count.
fn write_ids(
    corpus: Sentences,
    vocab: &TrainVocab,
    progress: &dyn Progress,
    w: &mut impl Write,
    sink: &Path,
) -> Result<(usize, Vec<u64>)> {
    let mut enc = Encoder::new(vocab, w);
    for_each_in(corpus, progress, |token| enc.token(token))?;
    enc.finish(sink)
}

/// The corpus as word ids in a memory-mapped temporary file, sentences ended by
/// [`SENTENCE_END`], with each word's count in it.
pub(crate) struct EncodedCorpus {
    map: Option<Mmap>,
    len: usize,
    counts: Vec<u64>,
}

impl EncodedCorpus {
    /// Encodes the corpus with `vocab` (words outside it are dropped).
    pub(crate) fn encode(
        corpus: Sentences,
        vocab: &TrainVocab,
        progress: &dyn Progress,
    ) -> Result<Self> {
        let tmp = tempfile::tempfile()
            .map_err(|e| Error::io("cannot create a temporary file in", std::env::temp_dir(), e))?;
        let tmp_path = std::env::temp_dir();
        let mut w = BufWriter::with_capacity(1 << 20, &tmp);
        let (len, counts) = write_ids(corpus, vocab, progress, &mut w, &tmp_path)?;
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
        Ok(EncodedCorpus { map, len, counts })
    }

    /// How often each word of the vocabulary occurs in this corpus.
    pub(crate) fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// The number of word occurrences (sentence ends not counted).
    pub(crate) fn words(&self) -> u64 {
        self.counts.iter().sum()
    }
    /// The ids (little-endian `u32`s; mapped pages are page-aligned, so the cast cannot fail).
    pub(crate) fn ids(&self) -> &[u32] {
        match &self.map {
            Some(m) => &bytemuck::cast_slice(&m[..])[..self.len],
            None => &[],
        }
    }

    /// Splits the ids into `n` contiguous slices that start at sentence starts.
    pub(crate) fn slices(&self, n: usize) -> Vec<&[u32]> {
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

    fn count_words(
        paths: &[PathBuf],
        pb: &dyn Progress,
    ) -> Result<(hashbrown::HashMap<Box<str>, u64>, u64)> {
        count_in(Sentences::Files(paths.to_vec()), pb)
    }

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
        let enc = EncodedCorpus::encode(Sentences::Files(paths.clone()), &vocab, &pb).unwrap();
        assert_eq!(
            enc.ids(),
            [0, SENTENCE_END, 0, SENTENCE_END, 0, SENTENCE_END]
        );
        assert_eq!((enc.counts(), enc.words()), (&[3u64][..], 3));
    }

    #[test]
    fn a_stream_from_another_thread_counts_and_encodes_as_a_file_does() {
        let dir = tempfile::tempdir().unwrap();
        let text = "the cat sat\n\nthe mat the end\n";
        let file = vec![write(dir.path(), "a.txt", text)];
        let stream = || {
            let (tx, rx) = sentence_channel(1);
            let producer = std::thread::spawn(move || {
                for line in text.lines() {
                    let s: Vec<String> = line.split_whitespace().map(String::from).collect();
                    tx.send(vec![s]).unwrap();
                }
            });
            (Sentences::Stream(rx), producer)
        };
        let pb = crate::progress::Silent;
        let (s, producer) = stream();
        let streamed = count_in(s, &pb).unwrap();
        producer.join().unwrap();
        assert_eq!(streamed, count_words(&file, &pb).unwrap());
        let vocab = TrainVocab::from_counts(streamed.0, 2, None).unwrap();
        let (s, producer) = stream();
        let enc = EncodedCorpus::encode(s, &vocab, &pb).unwrap();
        producer.join().unwrap();
        let from_file = EncodedCorpus::encode(Sentences::Files(file), &vocab, &pb).unwrap();
        assert_eq!(enc.ids(), from_file.ids());
        assert_eq!(enc.ids(), [0, SENTENCE_END, 0, 0, SENTENCE_END]);
        // A reader that has gone is an error for the producer, not a hang.
        let (tx, rx) = sentence_channel(1);
        drop(rx);
        assert!(tx.send(vec![]).is_err());
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
        let enc = EncodedCorpus::encode(Sentences::Files(paths.clone()), &vocab, &pb).unwrap();
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

    /// A sink that takes `room` bytes, then fails every write as a full disk does.
    struct Full {
        room: usize,
        taken: Vec<u8>,
    }

    impl Write for Full {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.room == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::StorageFull,
                    "no space left",
                ));
            }
            let n = buf.len().min(self.room);
            self.room -= n;
            self.taken.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_failed_sentence_end_is_an_error() {
        // One line of exactly MAX_SENTENCE words and no newline: the last write is the end the
        // cut puts after them, and the sink has room for the words only.
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "cut.txt", &"w ".repeat(MAX_SENTENCE));
        let mut counts = hashbrown::HashMap::new();
        counts.insert(Box::<str>::from("w"), MAX_SENTENCE as u64);
        let vocab = TrainVocab::from_counts(counts, 1, None).unwrap();
        let paths = [p];
        let run = |room: usize| {
            let mut sink = Full {
                room,
                taken: Vec::new(),
            };
            let r = write_ids(
                Sentences::Files(paths.to_vec()),
                &vocab,
                &crate::progress::Silent,
                &mut sink,
                Path::new("sink"),
            );
            (r, sink.taken)
        };
        let (r, taken) = run(4 * MAX_SENTENCE + 4);
        assert_eq!(r.unwrap().0, MAX_SENTENCE + 1);
        assert_eq!(taken[4 * MAX_SENTENCE..], SENTENCE_END.to_le_bytes());
        let (r, taken) = run(4 * MAX_SENTENCE);
        assert_eq!(taken.len(), 4 * MAX_SENTENCE);
        let e = r.unwrap_err().to_string();
        assert!(
            e.contains("cannot write the encoded corpus to sink") && e.contains("no space left"),
            "{e}"
        );
    }

    /// The tokens of `text` read through a buffer of `cap` bytes.
    fn tokens_of(text: &[u8], cap: usize) -> Vec<Option<Vec<u8>>> {
        let mut out = Vec::new();
        let mut r = BufReader::with_capacity(cap, text);
        tokens(&mut r, &crate::progress::Silent, &mut |t| {
            out.push(match t {
                Token::Word(w) => Some(w.to_vec()),
                Token::LineEnd => None,
            })
        })
        .unwrap();
        out
    }

    #[test]
    fn tokens_spanning_buffers_and_long_words() {
        let text = "the  cat\tsat\n\nmé\r\nend".as_bytes();
        let words = |v: Vec<Option<Vec<u8>>>| {
            v.into_iter()
                .map(|t| t.map_or("|".to_string(), |w| String::from_utf8(w).unwrap()))
                .collect::<Vec<_>>()
                .join(" ")
        };
        for cap in [1, 2, 3, 5, 64] {
            assert_eq!(
                words(tokens_of(text, cap)),
                "the cat sat | | mé | end |",
                "buffer of {cap}"
            );
        }
        // A word past MAX_WORD_BYTES keeps its first bytes, cut at a character boundary.
        let mut long = "a".repeat(MAX_WORD_BYTES - 1).into_bytes();
        long.extend_from_slice("éé".as_bytes());
        long.extend_from_slice(&[b'z'; 5000]);
        long.extend_from_slice(b" next");
        let want = "a".repeat(MAX_WORD_BYTES - 1);
        for cap in [7, 1 << 16] {
            let t = tokens_of(&long, cap);
            assert_eq!(t.len(), 3);
            assert_eq!(t[0].as_deref(), Some(want.as_bytes()), "buffer of {cap}");
            assert_eq!(t[1].as_deref(), Some(&b"next"[..]));
        }
    }

    #[test]
    fn a_gzip_bomb_is_an_error_naming_the_file_and_ratio() {
        let dir = tempfile::tempdir().unwrap();
        let bomb = dir.path().join("bomb.gz");
        let mut e = flate2::write::GzEncoder::new(
            File::create(&bomb).unwrap(),
            flate2::Compression::best(),
        );
        for _ in 0..8 {
            e.write_all(&[b' '; 1 << 20]).unwrap();
        }
        e.finish().unwrap();
        let err = count_words(&[bomb], &crate::progress::Silent)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("bomb.gz") && err.contains("64x") && err.contains("gzip bomb"),
            "{err}"
        );
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
