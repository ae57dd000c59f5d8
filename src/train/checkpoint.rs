//! Training checkpoints: everything needed to continue a run after a completed epoch, or to
//! go on training a finished model on new text (an online vocabulary update, gensim's
//! `build_vocab(update=True)`): the vocabulary with its counts (negative sampling draws from
//! them), the input vectors and the output vectors of negative sampling. Word vector files keep
//! only the input vectors, so they cannot be trained further; a checkpoint can.
//!
//! Layout: magic `WVCKPT01`, a little-endian `u64` length, that many bytes of JSON (the
//! configuration, the epochs done, the vocabulary with counts), then the input and output
//! matrices as little-endian `f32`. Written atomically, so a run killed while writing keeps the
//! previous checkpoint.

use std::io::{Read, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::embeddings::Embeddings;
use crate::error::{Error, Result};
use crate::train::sampling::Lcg;
use crate::train::vocab::TrainVocab;
use crate::train::TrainConfig;

const MAGIC: &[u8; 8] = b"WVCKPT01";

#[derive(Serialize, Deserialize)]
struct Header {
    config: TrainConfig,
    epochs_done: usize,
    words: Vec<String>,
    counts: Vec<u64>,
}

/// Everything training needs to go on: what a checkpoint holds.
#[derive(Debug, Clone)]
pub struct TrainState {
    /// The settings of the run that made it.
    pub config: TrainConfig,
    /// Epochs finished (of `config.epochs`).
    pub epochs_done: usize,
    /// The training vocabulary (words and counts, in row order).
    pub vocab: TrainVocab,
    /// Input vectors, `config.input_rows(vocab.len()) x config.dims`: the word vectors of a
    /// word model; a subword model's words' rows, then its n-gram buckets' rows.
    pub vectors: Vec<f32>,
    /// Output vectors of negative sampling, `vocab.len() x config.dims`.
    pub output: Vec<f32>,
}

impl TrainState {
    /// A fresh model over `vocab`: input vectors uniform in `+-0.5 / dims` (as the C tool; a
    /// subword model's bucket rows too), output vectors zero. Fails if the matrices are too
    /// large to allocate.
    pub fn new(config: TrainConfig, vocab: TrainVocab) -> Result<Self> {
        let vectors = super::subword::init_input(vocab.len(), &config)?;
        const WHAT: &str = "the output matrix";
        let n = crate::limits::product(WHAT, &[vocab.len(), config.dims, 4])? / 4;
        let mut output = super::hogwild::reserve_matrix(WHAT, n)?;
        output.resize(n, 0.0);
        Ok(TrainState {
            epochs_done: 0,
            vocab,
            vectors,
            output,
            config,
        })
    }

    /// Reads a checkpoint written by [`save`](Self::save) or by a run's
    /// [`checkpoint_every_epoch`](super::Trainer::checkpoint_every_epoch).
    pub fn load(path: &Path) -> Result<Self> {
        load(path)
    }

    /// The checkpoint as bytes (to send the state elsewhere, or pickle it).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        let h = header(&self.config, self.epochs_done, &self.vocab);
        write_to(&mut out, &h, &self.vectors, &self.output)
            .map_err(|e| Error::internal(format!("cannot encode checkpoint: {e}")))?;
        Ok(out)
    }

    /// A state from [`to_bytes`](Self::to_bytes); errors name `origin` (where the bytes came
    /// from) and the byte offset.
    pub fn from_bytes(bytes: &[u8], origin: &Path) -> Result<Self> {
        parse(bytes, origin)
    }

    /// The training state of an unsupervised fastText `.bin` (written by fastText, by gensim's
    /// `save_facebook_model` or by [`save_fasttext`](Self::save_fasttext)), to go on training
    /// it: the vocabulary with its counts in the file's order, both matrices, `epochs_done` the
    /// file's `epoch` (a finished run), and the file's arguments as the configuration (`dim`,
    /// `ws`, `epoch`, `minCount`, `neg`, `model`, `t`, and `minn`, `maxn`, `bucket`: a model
    /// with `maxn` 0 trains word vectors only, as fastText's does). The file does not hold the
    /// learning rate, the negative-sampling exponent (fastText draws from `count^0.5`), the
    /// seed or the threads: they are [`TrainConfig::default`]'s; `lrUpdateRate` is not used
    /// (wordvec decays the learning rate with the words done). What cannot be trained on (supervised, quantised or pruned
    /// models, a loss other than negative sampling) is refused by
    /// [`read_model`](crate::formats::fasttext::read_model), errors naming the file and the
    /// byte offset.
    pub fn from_fasttext(path: &Path) -> Result<Self> {
        let backing = crate::io::map_file(path)?;
        let m = crate::formats::fasttext::read_model((*backing).as_ref(), path)?;
        let config = fasttext_config(&m.args)
            .map_err(|e| Error::format(path, None, 8, format!("the model's arguments: {e}")))?;
        let d = config.dims;
        // A model without n-grams keeps only its words' rows (its bucket rows are never used).
        let in_rows = config.input_rows(m.words.len());
        let vectors = floats("the input matrix", &m.input[..in_rows * d * 4])?;
        let output = floats("the output matrix", m.output)?;
        // The dictionary follows the 64 bytes of magic, version and arguments.
        let vocab = TrainVocab::from_sorted(m.words.into_iter().zip(m.counts))
            .map_err(|e| Error::format(path, None, 64, e.to_string()))?;
        if vocab.is_empty() {
            return Err(Error::format(path, None, 64, "the model has no words"));
        }
        Ok(TrainState {
            epochs_done: config.epochs,
            config,
            vocab,
            vectors,
            output,
        })
    }

    /// Writes the state as a checkpoint, atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        save(
            path,
            &self.config,
            self.epochs_done,
            &self.vocab,
            &self.vectors,
            &self.output,
        )
    }

    /// The word vectors (fails if training diverged to NaN); a subword model's are fastText's
    /// (each word's row averaged with its n-grams' rows), with the n-gram table attached.
    pub fn to_embeddings(&self) -> Result<Embeddings> {
        let (vectors, model) = super::word_vectors(
            &self.config,
            &self.vocab,
            self.vectors.clone(),
            &self.output,
        )?;
        match model {
            Some(m) => m.embeddings(self.vocab.words(), vectors),
            None => Embeddings::from_vectors(self.vocab.words(), vectors, self.config.dims),
        }
    }

    /// Writes a subword model as fastText's `.bin` (what `wordvec train --minn 3 -o NAME.bin`
    /// writes: both matrices and the counts, so fastText and gensim's `load_facebook_model`
    /// read it), by way of [`SubwordModel`](super::SubwordModel), which takes copies of the
    /// matrices for the time of the write. A word model has no n-grams for the format: an
    /// error.
    pub fn save_fasttext(&self, path: &Path) -> Result<()> {
        if !self.config.subwords() {
            return Err(Error::invalid(
                "fastText's .bin holds subword models (minn > 0): this model has no n-grams",
            ));
        }
        let model =
            super::SubwordModel::new(&self.config, self.vectors.clone(), self.output.clone());
        model.save_fasttext(&self.vocab, path)
    }

    /// An online vocabulary update with the counts of a new corpus (see
    /// [`TrainVocab::extended`]): known words keep their rows, new words that pass `keep` get
    /// fresh random input rows (drawn as the first ones were, from a stream of their own) and
    /// zero output rows. A subword model keeps its n-gram bucket rows, shared by old and new
    /// words: the new words' rows go between the known words' and the buckets', so a new word
    /// starts from its trained n-grams. Returns how many words were added.
    pub fn update_vocab(
        &mut self,
        counts: hashbrown::HashMap<Box<str>, u64>,
        keep: impl FnMut(&str, u64) -> bool,
        max_vocab: Option<usize>,
    ) -> Result<usize> {
        let old = self.vocab.len();
        let d = self.config.dims;
        let at = old * d;
        if self.vectors.len() != self.config.input_rows(old).saturating_mul(d) {
            return Err(Error::invalid(format!(
                "the model's input matrix holds {} floats, {} input rows x {d} dims need {}",
                self.vectors.len(),
                self.config.input_rows(old),
                self.config.input_rows(old).saturating_mul(d)
            )));
        }
        let (vocab, added) = self.vocab.extended(counts, keep, max_vocab)?;
        let mut rng = Lcg::new(self.config.seed, u64::MAX - old as u64);
        // The words' rows come first; a subword model's bucket rows follow them.
        self.vectors
            .splice(at..at, random_rows(&mut rng, added * d, d));
        self.output.resize(vocab.len() * d, 0.0);
        self.vocab = vocab;
        self.epochs_done = 0;
        Ok(added)
    }
}

/// The configuration of a fastText model's arguments: `dim`, `ws`, `epoch`, `minCount`, `neg`,
/// `model` (CBOW or skip-gram), `t` (the sampling threshold) and the n-grams (`minn`, `maxn`,
/// `bucket`; a model with `maxn` 0 or no buckets trains word vectors only, as fastText's
/// does). Not in the file, so wordvec's defaults: the learning rate (fastText's `lr` is not
/// saved; the model's default applies), the negative-sampling exponent (0.75, gensim's;
/// fastText draws from `count^0.5`), the seed and the threads. `lrUpdateRate` is not used:
/// wordvec decays the learning rate with the words done, without that step. `wordNgrams` and
/// `loss` are checked by the reader. An error names the argument that does not fit.
fn fasttext_config(a: &crate::formats::fasttext::Args) -> Result<TrainConfig> {
    use crate::formats::fasttext::MODEL_SKIPGRAM;
    let count = |name: &str, v: i32| {
        usize::try_from(v).map_err(|_| Error::invalid(format!("{name} {v} is negative")))
    };
    let ngrams = a.maxn > 0 && a.bucket > 0;
    if ngrams && a.minn < 1 {
        return Err(Error::invalid(format!(
            "minn {} with maxn {}: n-grams of no characters are not supported",
            a.minn, a.maxn
        )));
    }
    let config = TrainConfig::default()
        .model(if a.model == MODEL_SKIPGRAM {
            crate::train::Model::SkipGram
        } else {
            crate::train::Model::Cbow
        })
        .dims(count("dim", a.dim)?)
        .window(count("ws", a.ws)?)
        .epochs(count("epoch", a.epoch)?)
        .min_count(count("minCount", a.min_count)? as u64)
        .negative(count("neg", a.neg)?)
        .sample(a.t)
        .minn(if ngrams { count("minn", a.minn)? } else { 0 })
        .maxn(if ngrams { count("maxn", a.maxn)? } else { 0 })
        .bucket(if ngrams {
            count("bucket", a.bucket)?
        } else {
            TrainConfig::default().bucket
        });
    config.validate()?;
    Ok(config)
}

/// `bytes` (little-endian `f32`, a whole number of them) as floats, in a fallible allocation.
fn floats(what: &str, bytes: &[u8]) -> Result<Vec<f32>> {
    let mut v = super::hogwild::reserve_matrix(what, bytes.len() / 4)?;
    v.extend(
        bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
    );
    Ok(v)
}

/// `n` floats uniform in `+-0.5 / dims`.
fn random_rows(rng: &mut Lcg, n: usize, dims: usize) -> Vec<f32> {
    (0..n).map(|_| (rng.coin() - 0.5) / dims as f32).collect()
}

/// Writes a checkpoint.
pub(crate) fn save(
    path: &Path,
    config: &TrainConfig,
    epochs_done: usize,
    vocab: &TrainVocab,
    syn0: &[f32],
    syn1: &[f32],
) -> Result<()> {
    let h = header(config, epochs_done, vocab);
    crate::io::write_atomically(path, |w| write_to(w, &h, syn0, syn1))
}

fn header(config: &TrainConfig, epochs_done: usize, vocab: &TrainVocab) -> Header {
    Header {
        config: config.clone(),
        epochs_done,
        words: vocab.words().to_vec(),
        counts: vocab.counts().to_vec(),
    }
}

/// The checkpoint's bytes, in the layout of the module docs.
fn write_to(w: &mut dyn Write, h: &Header, syn0: &[f32], syn1: &[f32]) -> std::io::Result<()> {
    let json = serde_json::to_vec(h)?;
    w.write_all(MAGIC)?;
    w.write_all(&(json.len() as u64).to_le_bytes())?;
    w.write_all(&json)?;
    w.write_all(bytemuck::cast_slice(syn0))?;
    w.write_all(bytemuck::cast_slice(syn1))
}

/// Reads a checkpoint, checking that its matrices match its vocabulary and dimensions.
fn load(path: &Path) -> Result<TrainState> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|e| Error::io("cannot read", path, e))?;
    parse(&bytes, path)
}

/// A checkpoint from its bytes (read from `path`, named in errors).
fn parse(bytes: &[u8], path: &Path) -> Result<TrainState> {
    let bad = |offset: usize, msg: String| Error::format(path, None, offset as u64, msg);
    if bytes.len() < 16 || &bytes[..8] != MAGIC {
        return Err(bad(0, "not a wordvec training checkpoint".into()));
    }
    let json_len = u64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes")) as usize;
    let json = bytes
        .get(16..16usize.saturating_add(json_len))
        .ok_or_else(|| bad(8, "checkpoint header runs past the end of the file".into()))?;
    let h: Header =
        serde_json::from_slice(json).map_err(|e| bad(16, format!("checkpoint header: {e}")))?;
    if h.words.len() != h.counts.len() {
        return Err(bad(
            16,
            "checkpoint vocabulary and counts differ in length".into(),
        ));
    }
    // Sizes checked before anything is allocated: a subword model's input matrix has its
    // n-gram buckets' rows after the words', and the header's numbers may be anything.
    let too_large = || {
        bad(
            16,
            format!(
                "checkpoint matrices too large: {} words, {} buckets, {} dims",
                h.words.len(),
                h.config.bucket,
                h.config.dims
            ),
        )
    };
    let in_rows = h
        .words
        .len()
        .checked_add(if h.config.subwords() {
            h.config.bucket
        } else {
            0
        })
        .ok_or_else(too_large)?;
    let floats = h
        .words
        .len()
        .checked_mul(h.config.dims)
        .ok_or_else(too_large)?;
    let in_floats = in_rows.checked_mul(h.config.dims).ok_or_else(too_large)?;
    let need = in_floats
        .checked_add(floats)
        .and_then(|f| f.checked_mul(4))
        .ok_or_else(too_large)?;
    let body = &bytes[16 + json_len..];
    if body.len() != need {
        return Err(bad(
            16 + json_len,
            format!(
                "checkpoint holds {} bytes of vectors, {} input rows ({} words) x {} dims need {}",
                body.len(),
                in_rows,
                h.words.len(),
                h.config.dims,
                need
            ),
        ));
    }
    let read = |b: &[u8]| -> Vec<f32> {
        b.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    };
    let (syn0, syn1) = (read(&body[..in_floats * 4]), read(&body[in_floats * 4..]));
    let vocab = TrainVocab::from_sorted(h.words.into_iter().zip(h.counts))?;
    if h.config.dims == 0 || vocab.is_empty() {
        return Err(bad(16, "checkpoint has no words or no dimensions".into()));
    }
    Ok(TrainState {
        config: h.config,
        epochs_done: h.epochs_done,
        vocab,
        vectors: syn0,
        output: syn1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> TrainState {
        let counts = [("a", 5u64), ("b", 3)]
            .iter()
            .map(|(w, c)| (Box::from(*w), *c))
            .collect();
        let vocab = TrainVocab::from_counts(counts, 1, None).unwrap();
        TrainState::new(TrainConfig::default().dims(4).seed(9), vocab).unwrap()
    }

    #[test]
    fn bytes_round_trip_and_damage_is_an_error_naming_the_origin() {
        let mut s = state();
        s.output[3] = 0.25;
        let bytes = s.to_bytes().unwrap();
        let back = TrainState::from_bytes(&bytes, Path::new("pickle")).unwrap();
        assert_eq!(back.vocab.words(), s.vocab.words());
        assert_eq!((back.vectors, back.output), (s.vectors, s.output));
        let err = TrainState::from_bytes(&bytes[..bytes.len() - 4], Path::new("pickle"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("pickle") && err.contains("bytes of vectors"),
            "{err}"
        );
        let err = TrainState::from_bytes(b"not a checkpoint", Path::new("x"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a wordvec training checkpoint"), "{err}");
    }

    /// A subword state written as fastText's `.bin` reads back as the vectors the state
    /// gives, for its words and for others; a word model is refused.
    #[test]
    fn a_subword_state_saves_as_fasttext() {
        let counts = [("apple", 5u64), ("banana", 3)]
            .iter()
            .map(|(w, c)| (Box::from(*w), *c))
            .collect();
        let vocab = TrainVocab::from_counts(counts, 1, None).unwrap();
        let cfg = TrainConfig::default()
            .dims(4)
            .seed(9)
            .minn(2)
            .maxn(3)
            .bucket(16);
        let s = TrainState::new(cfg, vocab).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.bin");
        s.save_fasttext(&path).unwrap();
        let back = crate::formats::load(&path, &Default::default()).unwrap();
        let ours = s.to_embeddings().unwrap();
        assert_eq!(back.len(), 2);
        for i in 0..2 {
            assert_eq!(
                (back.word(i), back.raw_row(i)),
                (ours.word(i), ours.raw_row(i))
            );
        }
        let oov = |e: &Embeddings| e.subword_vector("applet").unwrap().unwrap();
        assert_eq!(oov(&back), oov(&ours));
        let err = state().save_fasttext(&path).unwrap_err().to_string();
        assert!(err.contains("no n-grams"), "{err}");
    }

    /// A subword model trained on a small corpus, written as fastText's `.bin` and read back
    /// for training: the same vocabulary and counts in the same order, both matrices bit for
    /// bit, the configuration the file stores, and the epochs done.
    #[test]
    fn a_trained_subword_model_reads_back_from_fasttext_whole() {
        let dir = tempfile::tempdir().unwrap();
        let corpus = dir.path().join("c.txt");
        let mut text = String::new();
        for i in 0..200 {
            text += &format!(
                "the cat sat on mat{} while dogs barked at {}\n",
                i % 7,
                i % 3
            );
        }
        std::fs::write(&corpus, text).unwrap();
        let cfg = TrainConfig::default()
            .model(crate::train::Model::SkipGram)
            .dims(8)
            .window(3)
            .negative(4)
            .min_count(2)
            .epochs(2)
            .sample(1e-4)
            .threads(1)
            .minn(2)
            .maxn(4)
            .bucket(64);
        let s = crate::train::Trainer::new(cfg.clone())
            .unwrap()
            .train(&[corpus])
            .unwrap()
            .into_state();
        let path = dir.path().join("m.bin");
        s.save_fasttext(&path).unwrap();
        let back = TrainState::from_fasttext(&path).unwrap();
        assert_eq!(back.vocab.words(), s.vocab.words());
        assert_eq!(back.vocab.counts(), s.vocab.counts());
        assert!(back.vectors == s.vectors, "input matrices differ");
        assert!(back.output == s.output, "output matrices differ");
        assert_eq!(back.epochs_done, 2);
        // What the file stores is the run's; the rest is the defaults'.
        let stored = |c: &TrainConfig| {
            (
                c.model,
                c.dims,
                c.window,
                c.negative,
                c.min_count,
                c.epochs,
                c.sample,
                c.minn,
                c.maxn,
                c.bucket,
            )
        };
        assert_eq!(stored(&back.config), stored(&cfg));
        assert_eq!(back.config.alpha, None);
        // Training goes on from it: a new corpus adds its words.
        let mut more = back.clone();
        let new = [("zebra", 3u64)]
            .iter()
            .map(|(w, c)| (Box::from(*w), *c))
            .collect();
        assert_eq!(more.update_vocab(new, |_, c| c >= 2, None).unwrap(), 1);
        assert_eq!(more.vectors.len(), (s.vocab.len() + 1 + 64) * 8);

        // A checkpoint is not a fastText model: an error naming the file.
        let ck = dir.path().join("m.ckpt");
        s.save(&ck).unwrap();
        let e = TrainState::from_fasttext(&ck).unwrap_err().to_string();
        assert!(
            e.contains("m.ckpt") && e.contains("not a fastText model"),
            "{e}"
        );
    }

    #[test]
    fn an_update_keeps_rows_and_gives_new_words_fresh_ones() {
        let mut s = state();
        s.output.iter_mut().for_each(|x| *x = 1.0);
        let before = s.clone();
        let new = [("b", 1u64), ("c", 2), ("d", 2)]
            .iter()
            .map(|(w, c)| (Box::from(*w), *c))
            .collect();
        assert_eq!(s.update_vocab(new, |_, c| c >= 2, None).unwrap(), 2);
        assert_eq!(s.vocab.words(), ["a", "b", "c", "d"]);
        assert_eq!(s.vectors[..8], before.vectors[..]);
        assert_eq!(s.output[..8], before.output[..]);
        assert!(s.output[8..].iter().all(|&x| x == 0.0));
        // Fresh rows are drawn as the first ones (within +-0.5/dims), not copies of them.
        let fresh = &s.vectors[8..];
        assert!(fresh.iter().all(|x| x.abs() <= 0.125) && fresh.iter().any(|&x| x != 0.0));
        assert_ne!(fresh[..4], before.vectors[..4]);
        assert_eq!(s.vectors.len(), 16);
    }
}
