//! fastText `.bin` models (fastText 0.9, versions 11 and 12; what gensim's
//! `load_facebook_vectors` reads too): the vocabulary, and the input matrix of word rows and n-gram bucket rows, from which every word
//! of the vocabulary gets fastText's vector (its own row averaged with its n-grams' rows) and
//! any other word a vector from its n-grams ([`crate::subword`]).
//!
//! Layout (native-endian; files written on x86 and ARM are little-endian, which is what this
//! reader reads):
//!
//! | part | contents |
//! |---|---|
//! | header | i32 magic 793712314, i32 version |
//! | args | i32 dim, ws, epoch, minCount, neg, wordNgrams, loss, model, bucket, minn, maxn, lrUpdateRate; f64 t |
//! | dictionary | i32 size, nwords, nlabels; i64 ntokens, pruneidx_size; `size` entries (NUL-terminated word, i64 count, i8 type: 0 word, 1 label); `pruneidx_size` pairs of i32 (bucket, row) |
//! | input | u8 quant_input; i64 rows, i64 cols; `rows * cols` f32 (rows = nwords + bucket, fewer when pruned) |
//! | output | u8 quant_output; i64 rows, i64 cols; `rows * cols` f32 (rows = nwords; read by [`read_model`] only) |
//!
//! `pruneidx_size` is -1 for a model that was not pruned, 0 for one without n-grams, else the
//! number of (bucket, row) pairs that remap the n-gram rows kept by pruning. An n-gram's row is
//! `nwords + hash % bucket`, through that remap when there is one ([`crate::subword`] has the
//! hash and the n-gram rules).
//!
//! The bucket rows stay in the mapping (they are used only for words outside the vocabulary);
//! the vocabulary's vectors are computed once, on all cores, as they must be averaged with their
//! n-grams. Quantised models (`.ftz`) are refused with a clear error. Every count read from the
//! file is checked against the bytes that remain before anything is allocated for it, and the
//! n-gram arguments against their ranges ([`crate::subword::check_params`]: `maxn` at most
//! [`crate::limits::MAX_NGRAM_CHARS`], `minn <= maxn`, `bucket` not negative).
//!
//! [`read_model`] reads an unsupervised model whole, output matrix and counts included, to go
//! on training it (`train::TrainState::from_fasttext`); it refuses what the trainer
//! cannot continue (supervised, quantised or pruned models, losses other than negative
//! sampling), each error at the offset of the field that says so.
//!
//! [`write()`] writes the same layout for an unsupervised model that wordvec trained
//! ([`crate::train`] with subwords): version 12, no labels, no pruning (`pruneidx_size` -1), the
//! input matrix of `nwords + bucket` rows and the output matrix of `nwords` rows, both
//! unquantised (each preceded by a zero flag byte and its `i64` shape), and nothing after them:
//! fastText's `loadModel` and gensim's `load_facebook_model` read exactly this, and gensim checks
//! that the file ends where the output matrix does. `ntokens` is the sum of the words' counts.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use rayon::prelude::*;

use super::LoadOptions;
use crate::bytes::{Backing, Cursor, Slice};
use crate::embeddings::Embeddings;
use crate::error::{Error, Result};
use crate::storage::{DenseRows, Storage};
use crate::subword::{Pruning, Subwords};
use crate::vocab::decode_word;

/// fastText's magic number (the first four bytes, little-endian).
pub const MAGIC: i32 = 793_712_314;

/// Whether `data` starts like a fastText model.
pub fn is_fasttext(data: &[u8]) -> bool {
    data.len() >= 8
        && i32::from_le_bytes([data[0], data[1], data[2], data[3]]) == MAGIC
        && matches!(
            i32::from_le_bytes([data[4], data[5], data[6], data[7]]),
            11 | 12
        )
}

/// The training arguments stored in a model.
#[derive(Debug, Clone, PartialEq)]
pub struct Args {
    /// Vector dimension.
    pub dim: i32,
    /// Context window.
    pub ws: i32,
    /// Epochs.
    pub epoch: i32,
    /// Minimum word count.
    pub min_count: i32,
    /// Negatives sampled.
    pub neg: i32,
    /// Word n-grams (supervised models).
    pub word_ngrams: i32,
    /// Loss (1 hierarchical softmax, 2 negative sampling, 3 softmax, 4 one-vs-all).
    pub loss: i32,
    /// Model (1 CBOW, 2 skip-gram, 3 supervised).
    pub model: i32,
    /// Hash buckets for n-grams.
    pub bucket: i32,
    /// Shortest character n-gram.
    pub minn: i32,
    /// Longest character n-gram (0: none).
    pub maxn: i32,
    /// Learning-rate update rate.
    pub lr_update_rate: i32,
    /// Sampling threshold.
    pub t: f64,
}

/// [`Args::loss`] of negative sampling.
pub const LOSS_NEGATIVE_SAMPLING: i32 = 2;
/// [`Args::model`] of CBOW.
pub const MODEL_CBOW: i32 = 1;
/// [`Args::model`] of skip-gram.
pub const MODEL_SKIPGRAM: i32 = 2;
/// The format version [`write()`] writes (fastText 0.9's).
pub const VERSION: i32 = 12;

/// An unsupervised model to write as fastText's `.bin`.
#[derive(Debug, Clone, Copy)]
pub struct ModelParts<'a> {
    /// The arguments (the header); `dim` and `bucket` must match the matrices.
    pub args: &'a Args,
    /// The vocabulary, in row order (no NUL byte in a word).
    pub words: &'a [String],
    /// Each word's count in the corpus.
    pub counts: &'a [u64],
    /// The input matrix: `(words + bucket) x dim` floats, the words' rows then the buckets'.
    pub input: &'a [f32],
    /// The output matrix: `words x dim` floats.
    pub output: &'a [f32],
}

impl ModelParts<'_> {
    /// Checks that the parts fit together and fit the format's 32-bit fields.
    fn check(&self) -> Result<()> {
        let bad = |m: String| {
            Err(Error::invalid(format!(
                "cannot write a fastText model: {m}"
            )))
        };
        let (n, a) = (self.words.len(), self.args);
        if a.dim <= 0 || a.bucket < 0 || i32::try_from(n).is_err() {
            return bad(format!(
                "{n} words, dimension {}, {} buckets",
                a.dim, a.bucket
            ));
        }
        let d = a.dim as usize;
        if self.counts.len() != n
            || Some(self.input.len()) != (n + a.bucket as usize).checked_mul(d)
            || Some(self.output.len()) != n.checked_mul(d)
        {
            return bad(format!(
                "{n} words with {} counts, {} input and {} output values for dimension {d} and {} buckets",
                self.counts.len(),
                self.input.len(),
                self.output.len(),
                a.bucket
            ));
        }
        if let Some(w) = self.words.iter().find(|w| w.as_bytes().contains(&0)) {
            return bad(format!(
                "the word {:?} holds a NUL byte",
                crate::limits::echo(w)
            ));
        }
        Ok(())
    }
}

/// Writes `m` in fastText's `.bin` layout (module docs).
pub fn write(m: &ModelParts, w: &mut dyn std::io::Write) -> Result<()> {
    m.check()?;
    write_parts(m, w).map_err(|e| Error::internal(format!("writing a fastText model: {e}")))
}

fn write_parts(m: &ModelParts, w: &mut dyn std::io::Write) -> std::io::Result<()> {
    let a = m.args;
    w.write_all(&MAGIC.to_le_bytes())?;
    w.write_all(&VERSION.to_le_bytes())?;
    for v in [
        a.dim,
        a.ws,
        a.epoch,
        a.min_count,
        a.neg,
        a.word_ngrams,
        a.loss,
        a.model,
        a.bucket,
        a.minn,
        a.maxn,
        a.lr_update_rate,
    ] {
        w.write_all(&v.to_le_bytes())?;
    }
    w.write_all(&a.t.to_le_bytes())?;
    let n = m.words.len() as i32;
    for v in [n, n, 0] {
        w.write_all(&v.to_le_bytes())?;
    }
    let ntokens: u64 = m.counts.iter().sum();
    w.write_all(&(ntokens as i64).to_le_bytes())?;
    w.write_all(&(-1i64).to_le_bytes())?;
    for (word, &count) in m.words.iter().zip(m.counts) {
        w.write_all(word.as_bytes())?;
        w.write_all(&[0])?;
        w.write_all(&(count as i64).to_le_bytes())?;
        w.write_all(&[0])?;
    }
    let d = a.dim as usize;
    for matrix in [m.input, m.output] {
        w.write_all(&[0])?;
        w.write_all(&((matrix.len() / d) as i64).to_le_bytes())?;
        w.write_all(&(d as i64).to_le_bytes())?;
        // Little-endian floats: the crate builds for little-endian targets only.
        w.write_all(bytemuck::cast_slice(matrix))?;
    }
    Ok(())
}

/// Writes `m` to `path` atomically (a crash leaves any previous file whole).
pub fn save(m: &ModelParts, path: &Path) -> Result<()> {
    m.check()?;
    crate::io::write_atomically(path, |w| write_parts(m, w))
}

/// Reads the header and arguments; returns them with the version.
fn read_args(c: &mut Cursor) -> Result<(i32, Args)> {
    let magic = c.i32("the magic number")?;
    if magic != MAGIC {
        return Err(c.err(None, 0, "not a fastText model (wrong magic number)"));
    }
    let version = c.i32("the version")?;
    if !(11..=12).contains(&version) {
        return Err(c.err(
            None,
            4,
            format!("fastText model version {version}; versions 11 and 12 are supported"),
        ));
    }
    let at = c.pos();
    let mut v = [0i32; 12];
    for x in v.iter_mut() {
        *x = c.i32("the model's arguments")?;
    }
    let t = c.f64("the model's arguments")?;
    let mut a = Args {
        dim: v[0],
        ws: v[1],
        epoch: v[2],
        min_count: v[3],
        neg: v[4],
        word_ngrams: v[5],
        loss: v[6],
        model: v[7],
        bucket: v[8],
        minn: v[9],
        maxn: v[10],
        lr_update_rate: v[11],
        t,
    };
    // As fastText: supervised models of version 11 had no character n-grams.
    if version == 11 && a.model == 3 {
        a.maxn = 0;
    }
    if a.dim <= 0 || a.dim as usize > crate::limits::MAX_DIMS {
        return Err(c.err(
            None,
            at,
            format!(
                "dimension {} is outside 1..={}: corrupt header?",
                a.dim,
                crate::limits::MAX_DIMS
            ),
        ));
    }
    // bucket, minn and maxn are the 9th, 10th and 11th i32 of the arguments.
    crate::subword::check_params(a.minn.into(), a.maxn.into(), a.bucket.into()).map_err(|b| {
        let field = match b.field {
            "bucket" => 8,
            "minn" => 9,
            _ => 10,
        };
        c.err(
            None,
            at + 4 * field,
            format!("n-gram argument {}: corrupt header?", b.message),
        )
    })?;
    Ok((version, a))
}

/// Reads a fastText model: the vocabulary's words (labels left out) with fastText's vectors,
/// and the n-gram table attached for words outside it.
pub(crate) fn read(backing: Arc<Backing>, path: &Path, opts: &LoadOptions) -> Result<Embeddings> {
    let data: &[u8] = (*backing).as_ref();
    let mut c = Cursor::new(data, path);
    let (_, args) = read_args(&mut c)?;
    let dict = read_dictionary(&mut c, opts)?;
    let prune_map = read_pruning(&mut c, dict.prune_size, args.bucket)?;
    let input = read_input_shape(&mut c, &args, &dict)?;
    let subwords = ngram_table(&c, &backing, &args, &dict, &input, prune_map)?;
    let word_row = |i: usize| input.row(data, i);
    if let Some(bad) = (0..dict.words.len())
        .into_par_iter()
        .find_first(|&i| !finite(word_row(i)))
    {
        return Err(c.err(
            Some(bad as u64),
            input.matrix_at + bad * input.row_bytes,
            format!(
                "the row of {:?} holds a value that is not finite",
                dict.words[bad]
            ),
        ));
    }
    let values = average_words(&subwords, &dict, word_row, args.dim as usize, opts)?;
    let mut emb = Embeddings::from_vectors(&dict.words, values, args.dim as usize)
        .map_err(|e| c.err(None, dict.at, e.to_string()))?;
    emb.attach_subwords(subwords)?;
    Ok(emb)
}

/// An unsupervised model read whole, to go on training it ([`read_model`]): the arguments, the
/// vocabulary with its counts, and both matrices as the file stores them (little-endian `f32`).
pub struct TrainableModel<'a> {
    /// The arguments of the header.
    pub args: Args,
    /// The vocabulary, in row order (fastText's: by count, most frequent first).
    pub words: Vec<String>,
    /// Each word's count.
    pub counts: Vec<u64>,
    /// The input matrix, `(words + bucket) x dim` floats: the words' rows, then the buckets'.
    pub input: &'a [u8],
    /// The output matrix of negative sampling, `words x dim` floats.
    pub output: &'a [u8],
}

impl std::fmt::Debug for TrainableModel<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrainableModel")
            .field("args", &self.args)
            .field("words", &self.words.len())
            .field("input_bytes", &self.input.len())
            .field("output_bytes", &self.output.len())
            .finish()
    }
}

/// Reads an unsupervised fastText model of `data` (read from `path`, named in errors) with its
/// output matrix, what training needs to go on from it. Refused, each with the byte offset of
/// what gives it away: supervised models (labels, or model 3), losses other than negative
/// sampling (hierarchical softmax's and softmax's output rows mean something else), word
/// n-grams other than 1, quantised and pruned models, an output matrix of another shape than
/// `nwords x dim`, and values that are not finite. Every size is checked against the bytes
/// that remain before it is trusted; nothing large is allocated here.
pub fn read_model<'a>(data: &'a [u8], path: &'a Path) -> Result<TrainableModel<'a>> {
    let mut c = Cursor::new(data, path);
    let (_, args) = read_args(&mut c)?;
    check_trainable(&c, &args)?;
    let dict = read_dictionary(&mut c, &LoadOptions::default())?;
    // nlabels is the third i32 of the dictionary, the pruning table's size its second i64.
    if dict.nlabels != 0 {
        return Err(c.err(
            None,
            dict.at + 8,
            format!("the dictionary holds {} labels: a supervised model (a classifier) cannot be trained on as word vectors", dict.nlabels),
        ));
    }
    if dict.prune_size != -1 {
        return Err(c.err(
            None,
            dict.at + 20,
            format!("a pruned model (pruning table of {} entries, as quantisation leaves): use the .bin model it was made from", dict.prune_size),
        ));
    }
    let input = read_input_shape(&mut c, &args, &dict)?;
    let output_at = read_output_shape(&mut c, &args, &dict)?;
    let input_bytes = &data[input.matrix_at..input.ngrams_at + input.ngram_rows * input.row_bytes];
    let output = &data[output_at..c.pos()];
    for (bytes, at, what) in [
        (input_bytes, input.matrix_at, "input"),
        (output, output_at, "output"),
    ] {
        if let Some(bad) = bytes
            .par_chunks(input.row_bytes)
            .position_first(|r| !finite(r))
        {
            return Err(c.err(
                None,
                at + bad * input.row_bytes,
                format!("row {bad} of the {what} matrix holds a value that is not finite"),
            ));
        }
    }
    Ok(TrainableModel {
        args,
        words: dict.words,
        counts: dict.counts,
        input: input_bytes,
        output,
    })
}

/// Refuses arguments wordvec cannot train with, naming the field's offset (the arguments are
/// the i32s after the 8 bytes of magic and version, in [`Args`]' order).
fn check_trainable(c: &Cursor, a: &Args) -> Result<()> {
    let field = |i: usize, msg: String| Err(c.err(None, 8 + 4 * i, msg));
    if a.model != MODEL_CBOW && a.model != MODEL_SKIPGRAM {
        return field(
            7,
            format!("model {} is not CBOW (1) or skip-gram (2): a supervised model (a classifier) cannot be trained on as word vectors", a.model),
        );
    }
    if a.loss != LOSS_NEGATIVE_SAMPLING {
        let name = match a.loss {
            1 => "hierarchical softmax",
            3 => "softmax",
            4 => "one-vs-all",
            _ => "an unknown loss",
        };
        return field(
            6,
            format!("loss {} ({name}): wordvec trains with negative sampling (loss 2) only; retrain with fastText's -loss ns", a.loss),
        );
    }
    if a.word_ngrams != 1 {
        return field(
            5,
            format!("wordNgrams {}: unsupervised models use 1", a.word_ngrams),
        );
    }
    Ok(())
}

/// Reads the output matrix's flag and shape (`nwords x dim`, unquantised) and steps over its
/// rows; returns the offset of its first row.
fn read_output_shape(c: &mut Cursor, args: &Args, dict: &Dictionary) -> Result<usize> {
    let quant_at = c.pos();
    if c.u8("the output matrix's quantisation flag")? != 0 {
        return Err(c.err(
            None,
            quant_at,
            "quantised output matrix (.ftz): cannot be trained on; use the .bin model",
        ));
    }
    let shape_at = c.pos();
    let (rows, cols) = (
        c.i64("the output matrix's shape")?,
        c.i64("the output matrix's shape")?,
    );
    if rows != i64::from(dict.nwords) || cols != i64::from(args.dim) {
        return Err(c.err(
            None,
            shape_at,
            format!(
                "output matrix of {rows} x {cols}; the header asks for {} x {} (one row a word)",
                dict.nwords, args.dim
            ),
        ));
    }
    let at = c.pos();
    let bytes =
        crate::limits::product("the output matrix", &[rows as usize, args.dim as usize, 4])?;
    c.take(bytes, "the output matrix")?;
    Ok(at)
}

/// The dictionary as far as it is kept: the first words (up to the load limit), as strings and
/// as the bytes their n-grams are taken from.
struct Dictionary {
    /// Byte offset of the dictionary.
    at: usize,
    /// Words in the dictionary (labels follow them).
    nwords: i32,
    /// Labels in the dictionary.
    nlabels: i32,
    /// The pruning table's size (-1: not pruned).
    prune_size: i64,
    words: Vec<String>,
    word_bytes: Vec<Vec<u8>>,
    /// The kept words' counts.
    counts: Vec<u64>,
}

/// Reads the dictionary's counts and entries; keeps the first words.
fn read_dictionary(c: &mut Cursor, opts: &LoadOptions) -> Result<Dictionary> {
    let at = c.pos();
    let size = c.i32("the dictionary size")?;
    let nwords = c.i32("the dictionary's word count")?;
    let nlabels = c.i32("the dictionary's label count")?;
    let _ntokens = c.i64("the dictionary's token count")?;
    let prune_size = c.i64("the pruning table size")?;
    if size < 0
        || nwords < 0
        || nlabels < 0
        || i64::from(nwords) + i64::from(nlabels) != i64::from(size)
    {
        return Err(c.err(
            None,
            at,
            format!("dictionary of {size} entries with {nwords} words and {nlabels} labels: corrupt file?"),
        ));
    }
    // Each entry takes at least 10 bytes (a NUL, a count and a type): a size the rest of the
    // file cannot hold is refused before anything is allocated for it.
    if size as usize > c.remaining() / 10 {
        return Err(c.err(
            None,
            at,
            format!(
                "a dictionary of {size} entries cannot fit in the {} bytes that remain: truncated or corrupt file",
                c.remaining()
            ),
        ));
    }
    let wanted = opts
        .limit
        .map_or(nwords as usize, |l| l.min(nwords as usize));
    let mut dict = Dictionary {
        at,
        nwords,
        nlabels,
        prune_size,
        words: Vec::with_capacity(wanted),
        word_bytes: Vec::with_capacity(wanted),
        counts: Vec::with_capacity(wanted),
    };
    for record in 0..size as u64 {
        let (start, raw, count) = read_entry(c, record, record < nwords as u64)?;
        if (record as usize) < wanted {
            dict.counts.push(count);
            let w = decode_word(raw, opts.unicode_errors)
                .map_err(|bad| Error::not_utf8(c.path(), record, start, raw, bad))?;
            dict.words.push(w.into_owned());
            dict.word_bytes.push(raw.to_vec());
        }
    }
    Ok(dict)
}

/// Reads dictionary entry `record` (a word when `is_word`, else a label): its offset, bytes and
/// count.
fn read_entry<'a>(
    c: &mut Cursor<'a>,
    record: u64,
    is_word: bool,
) -> Result<(usize, &'a [u8], u64)> {
    let start = c.pos();
    let nul = c.rest().iter().position(|&b| b == 0).ok_or_else(|| {
        c.err(
            Some(record),
            start,
            "no NUL byte ends the word: truncated file",
        )
    })?;
    let raw = &c.take(nul + 1, "a word")?[..nul];
    let count_at = c.pos();
    let count = c.i64("a word's count")?;
    let count = u64::try_from(count).map_err(|_| {
        c.err(
            Some(record),
            count_at,
            format!("count {count}: corrupt file?"),
        )
    })?;
    let kind = c.u8("a word's type")?;
    if kind != u8::from(!is_word) {
        return Err(c.err(
            Some(record),
            start,
            format!(
                "entry of type {kind} where the dictionary's counts put a {}",
                if is_word { "word (0)" } else { "label (1)" }
            ),
        ));
    }
    Ok((start, raw, count))
}

/// Reads the pruning table: `prune_size` (bucket, row) pairs that remap the kept n-gram rows.
fn read_pruning(c: &mut Cursor, prune_size: i64, bucket: i32) -> Result<HashMap<u32, u32>> {
    let prune_at = c.pos();
    if prune_size < -1 || (prune_size > 0 && prune_size as u64 > c.remaining() as u64 / 8) {
        return Err(c.err(
            None,
            prune_at,
            format!("pruning table of {prune_size} entries: truncated or corrupt file"),
        ));
    }
    let mut prune_map = HashMap::new();
    for _ in 0..prune_size.max(0) {
        let at = c.pos();
        let (b, r) = (c.i32("a pruning entry")?, c.i32("a pruning entry")?);
        if b < 0 || b >= bucket.max(1) || r < 0 || i64::from(r) >= prune_size {
            return Err(c.err(
                None,
                at,
                format!("pruning entry maps bucket {b} to row {r}: corrupt file?"),
            ));
        }
        prune_map.insert(b as u32, r as u32);
    }
    Ok(prune_map)
}

/// Where the input matrix's rows are: the words' rows, then the n-gram rows.
struct InputMatrix {
    /// Byte offset of the matrix's shape.
    shape_at: usize,
    /// Byte offset of its first row.
    matrix_at: usize,
    /// Bytes in a row.
    row_bytes: usize,
    /// Byte offset of the first n-gram row.
    ngrams_at: usize,
    /// N-gram rows.
    ngram_rows: usize,
}

impl InputMatrix {
    /// The bytes of word row `i` in `data`.
    fn row<'a>(&self, data: &'a [u8], i: usize) -> &'a [u8] {
        &data[self.matrix_at + i * self.row_bytes..self.matrix_at + (i + 1) * self.row_bytes]
    }
}

/// Reads the input matrix's flag and shape, checks them against the header and the dictionary,
/// and steps over its rows (which must all be there).
fn read_input_shape(c: &mut Cursor, args: &Args, dict: &Dictionary) -> Result<InputMatrix> {
    let quant_at = c.pos();
    if c.u8("the input matrix's quantisation flag")? != 0 {
        return Err(c.err(
            None,
            quant_at,
            "quantised fastText models (.ftz) are not supported: use the .bin model",
        ));
    }
    let shape_at = c.pos();
    let (rows, cols) = (
        c.i64("the input matrix's shape")?,
        c.i64("the input matrix's shape")?,
    );
    let nwords = dict.nwords;
    let ngram_rows = if dict.prune_size >= 0 {
        dict.prune_size
    } else {
        i64::from(args.bucket)
    };
    if cols != i64::from(args.dim) || rows != i64::from(nwords) + ngram_rows {
        return Err(c.err(
            None,
            shape_at,
            format!(
                "input matrix of {rows} x {cols}; the header asks for {} x {} ({nwords} words and {ngram_rows} n-gram rows)",
                i64::from(nwords) + ngram_rows,
                args.dim
            ),
        ));
    }
    let matrix_at = c.pos();
    let dims = args.dim as usize;
    let bytes = crate::limits::product("the input matrix", &[rows as usize, dims, 4])?;
    c.take(bytes, "the input matrix")?;
    let row_bytes = dims * 4;
    Ok(InputMatrix {
        shape_at,
        matrix_at,
        row_bytes,
        ngrams_at: matrix_at + nwords as usize * row_bytes,
        ngram_rows: ngram_rows as usize,
    })
}

/// The n-gram table: the n-gram rows in place in `backing`, every one checked finite (a NaN
/// there would spread into every word that uses it), with the model's n-gram arguments and
/// pruning.
fn ngram_table(
    c: &Cursor,
    backing: &Arc<Backing>,
    args: &Args,
    dict: &Dictionary,
    input: &InputMatrix,
    prune_map: HashMap<u32, u32>,
) -> Result<Subwords> {
    let (dims, row_bytes) = (args.dim as usize, input.row_bytes);
    let storage = Slice::<u8>::shared(
        backing.clone(),
        input.ngrams_at,
        input.ngram_rows * row_bytes,
    )
    .and_then(|s| DenseRows::new(s, dims, input.ngram_rows))
    .expect("bounds checked when the matrix was read");
    if let Some(bad) = (0..input.ngram_rows)
        .into_par_iter()
        .find_first(|&r| !finite(storage.row_bytes(r)))
    {
        return Err(c.err(
            None,
            input.ngrams_at + bad * row_bytes,
            format!("n-gram row {bad} holds a value that is not finite"),
        ));
    }
    let pruning = match dict.prune_size {
        -1 => Pruning::All,
        0 => Pruning::NoNgrams,
        _ => Pruning::Map(prune_map),
    };
    Subwords::new(
        args.minn as usize,
        args.maxn as usize,
        args.bucket as u32,
        pruning,
        Box::new(storage),
    )
    .map_err(|e| c.err(None, input.shape_at, e.to_string()))
    .map(|sw| sw.with_origin(c.path(), input.ngrams_at as u64))
}

/// fastText's vector of every kept word: its own row averaged with its n-grams' rows, on all
/// cores.
fn average_words<'a>(
    subwords: &Subwords,
    dict: &Dictionary,
    word_row: impl Fn(usize) -> &'a [u8] + Sync,
    dims: usize,
    opts: &LoadOptions,
) -> Result<Vec<f32>> {
    let wanted = dict.words.len();
    let progress = opts.reporter();
    progress.start("", wanted as u64);
    // Reserved (a refusal is an error, not an abort), then zeroed on all cores: the first touch
    // of 2.4 GB of fresh pages is itself a second of page faults on one core.
    let n_values = crate::limits::product("the word vectors", &[wanted, dims])?;
    let mut values: Vec<f32> = Vec::new();
    values.try_reserve_exact(n_values).map_err(|_| {
        Error::invalid(format!(
            "the word vectors: cannot allocate {n_values} floats"
        ))
    })?;
    values.par_extend(rayon::iter::repeat_n(0f32, n_values));
    // Words are averaged in byte order, not in the vocabulary's: neighbours then share their
    // leading n-grams, whose rows are still in cache (on 2M x 300 with 2M buckets the averaging
    // takes 3.4 s instead of 5.5 s; it is bound by scattered reads of the n-gram table). Each
    // word's output row is handed to its task as a `&mut`, permuted, so writes stay disjoint
    // without `unsafe`.
    let word_bytes = &dict.word_bytes;
    let mut order: Vec<usize> = (0..wanted).collect();
    order.par_sort_unstable_by(|&a, &b| word_bytes[a].cmp(&word_bytes[b]));
    let mut slots: Vec<Option<&mut [f32]>> = values.chunks_mut(dims).map(Some).collect();
    let rows: Vec<(usize, &mut [f32])> = order
        .iter()
        .map(|&i| (i, slots[i].take().expect("the order is a permutation")))
        .collect();
    drop(slots);
    rows.into_par_iter().enumerate().for_each(|(k, (i, out))| {
        subwords.word_vector_into(&word_bytes[i], word_row(i), out);
        if k % 65_536 == 0 {
            progress.inc(65_536);
        }
    });
    progress.finish();
    Ok(values)
}

fn finite(row: &[u8]) -> bool {
    row.chunks_exact(4)
        .all(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]).is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny model: 2 words, 1 label, dim 2, bucket 3, minn 2, maxn 3, no pruning.
    pub(crate) fn tiny() -> Vec<u8> {
        let mut b = Vec::new();
        b.extend(MAGIC.to_le_bytes());
        b.extend(12i32.to_le_bytes());
        for v in [2i32, 5, 5, 1, 5, 1, 2, 2, 3, 2, 3, 100] {
            b.extend(v.to_le_bytes());
        }
        b.extend(1e-4f64.to_le_bytes());
        for v in [3i32, 2, 1] {
            b.extend(v.to_le_bytes());
        }
        b.extend(10i64.to_le_bytes());
        b.extend((-1i64).to_le_bytes());
        for (w, t) in [("ab", 0u8), ("</s>", 0), ("__label__x", 1)] {
            b.extend(w.as_bytes());
            b.push(0);
            b.extend(4i64.to_le_bytes());
            b.push(t);
        }
        b.push(0);
        b.extend(5i64.to_le_bytes());
        b.extend(2i64.to_le_bytes());
        for r in 0..5 {
            b.extend((r as f32).to_le_bytes());
            b.extend((10.0 * r as f32).to_le_bytes());
        }
        b.push(0);
        b
    }

    /// The bytes of an unsupervised model of 2 words, dim 2, bucket 3, minn 2, maxn 3, laid
    /// out field by field as the module docs' table says.
    fn tiny_unsupervised(input: &[f32], output: &[f32]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend(MAGIC.to_le_bytes());
        b.extend(12i32.to_le_bytes());
        for v in [2i32, 5, 3, 1, 5, 1, 2, 2, 3, 2, 3, 100] {
            b.extend(v.to_le_bytes());
        }
        b.extend(1e-4f64.to_le_bytes());
        for v in [2i32, 2, 0] {
            b.extend(v.to_le_bytes());
        }
        b.extend(10i64.to_le_bytes());
        b.extend((-1i64).to_le_bytes());
        for (w, count) in [("ab", 7i64), ("é", 3)] {
            b.extend(w.as_bytes());
            b.push(0);
            b.extend(count.to_le_bytes());
            b.push(0);
        }
        for m in [input, output] {
            b.push(0);
            b.extend(((m.len() / 2) as i64).to_le_bytes());
            b.extend(2i64.to_le_bytes());
            m.iter().for_each(|v| b.extend(v.to_le_bytes()));
        }
        b
    }

    #[test]
    fn writes_an_unsupervised_model_byte_for_byte_and_reads_it_back() {
        let args = Args {
            dim: 2,
            ws: 5,
            epoch: 3,
            min_count: 1,
            neg: 5,
            word_ngrams: 1,
            loss: LOSS_NEGATIVE_SAMPLING,
            model: MODEL_SKIPGRAM,
            bucket: 3,
            minn: 2,
            maxn: 3,
            lr_update_rate: 100,
            t: 1e-4,
        };
        let words = ["ab".to_string(), "é".to_string()];
        let input: Vec<f32> = (0..10).map(|i| i as f32 * 0.5 - 1.0).collect();
        let output = [0.25f32, -0.5, 1.5, 2.0];
        let parts = ModelParts {
            args: &args,
            words: &words,
            counts: &[7, 3],
            input: &input,
            output: &output,
        };
        let mut written = Vec::new();
        write(&parts, &mut written).unwrap();
        assert_eq!(written, tiny_unsupervised(&input, &output));

        let emb = read(
            Arc::new(Backing::Owned(written)),
            Path::new("t.bin"),
            &LoadOptions::default(),
        )
        .unwrap();
        let sw = emb.subwords().unwrap();
        for (i, w) in words.iter().enumerate() {
            let mut want = [input[2 * i], input[2 * i + 1]];
            let mut n = 1;
            sw.for_each_ngram_row(w.as_bytes(), |r| {
                want[0] += input[4 + 2 * r];
                want[1] += input[5 + 2 * r];
                n += 1;
            });
            assert!(n > 1, "{w} has n-grams");
            let f = 1.0 / n as f32;
            assert_eq!(emb.raw_row(i), [want[0] * f, want[1] * f], "{w}");
        }

        // Parts that do not fit together are refused, naming what is wrong.
        let short = ModelParts {
            input: &input[..8],
            ..parts
        };
        let e = write(&short, &mut Vec::new()).unwrap_err().to_string();
        assert!(e.contains("8 input"), "{e}");
        let nul = ["a\0b".to_string(), "c".to_string()];
        let e = write(
            &ModelParts {
                words: &nul,
                ..parts
            },
            &mut Vec::new(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("NUL"), "{e}");
    }

    /// The offset and message of `read_model`'s error on `data`.
    fn model_error(data: &[u8]) -> (u64, String) {
        match read_model(data, Path::new("t.bin")).unwrap_err() {
            Error::Format {
                offset, message, ..
            } => (offset, message),
            e => panic!("not a format error: {e}"),
        }
    }

    #[test]
    fn reads_a_model_to_train_and_refuses_what_cannot_be_trained() {
        let input: Vec<f32> = (0..10).map(|i| i as f32 * 0.25 - 1.0).collect();
        let output = [0.5f32, -0.5, 1.5, -2.0];
        let data = tiny_unsupervised(&input, &output);
        let m = read_model(&data, Path::new("t.bin")).unwrap();
        assert_eq!((m.args.dim, m.args.epoch, m.args.bucket), (2, 3, 3));
        assert_eq!(m.words, ["ab", "é"]);
        assert_eq!(m.counts, [7, 3]);
        assert_eq!(m.input, bytemuck::cast_slice::<f32, u8>(&input));
        assert_eq!(m.output, bytemuck::cast_slice::<f32, u8>(&output));

        // Regions of the file (module docs' table): the dictionary at 64, its two entries of
        // 12 bytes after its 28 bytes of counts, then each matrix's flag, shape and rows.
        let (input_flag, output_flag) = (116, 116 + 17 + 40);
        assert_eq!(data.len(), output_flag + 17 + 16);
        let with = |at: usize, bytes: &[u8]| {
            let mut b = data.clone();
            b[at..at + bytes.len()].copy_from_slice(bytes);
            b
        };
        let cases: [(Vec<u8>, u64, &str); 8] = [
            (with(32, &1i32.to_le_bytes()), 32, "hierarchical softmax"),
            (with(32, &3i32.to_le_bytes()), 32, "softmax"),
            (with(36, &3i32.to_le_bytes()), 36, "supervised"),
            (with(28, &2i32.to_le_bytes()), 28, "wordNgrams 2"),
            (with(input_flag, &[1]), input_flag as u64, ".ftz"),
            (with(output_flag, &[1]), output_flag as u64, ".ftz"),
            (
                with(output_flag + 1, &3i64.to_le_bytes()),
                output_flag as u64 + 1,
                "output matrix of 3 x 2",
            ),
            (
                with(output_flag + 17 + 12, &f32::NAN.to_le_bytes()),
                output_flag as u64 + 17 + 8,
                "row 1 of the output matrix",
            ),
        ];
        for (bad, offset, says) in cases {
            let (at, e) = model_error(&bad);
            assert!(e.contains(says) && at == offset, "{says}: {e} at {at}");
        }
        // A classifier's labels and a pruned model's table, in the dictionary's counts.
        let (at, e) = model_error(&tiny());
        assert!(e.contains("1 labels") && at == 72, "{e} at {at}");
        let (at, e) = model_error(&with(84, &0i64.to_le_bytes()));
        assert!(e.contains("pruned") && at == 84, "{e} at {at}");

        // Cut anywhere, at every region's boundary too (the output matrix's flag, shape and
        // rows included), the file is refused, never read short.
        for cut in 0..data.len() {
            let (at, e) = model_error(&data[..cut]);
            assert!(at as usize <= cut, "cut at {cut}: {e} at {at}");
            if cut > output_flag {
                assert!(e.contains("output matrix"), "cut at {cut}: {e}");
            }
        }
    }

    #[test]
    fn reads_a_tiny_model() {
        let data = tiny();
        assert!(is_fasttext(&data));
        let emb = read(
            Arc::new(Backing::Owned(data)),
            Path::new("t.bin"),
            &LoadOptions::default(),
        )
        .unwrap();
        assert_eq!(emb.len(), 2);
        assert_eq!(emb.word(0), "ab");
        let sw = emb.subwords().unwrap();
        // "ab": own row 0 and the n-grams of "<ab>" of 2..3 code points.
        let mut ids = Vec::new();
        sw.for_each_ngram_row(b"ab", |r| ids.push(r));
        assert_eq!(ids.len(), 5, "<a <ab ab ab> b>");
        let mut want = [0f32, 0.0];
        for &r in &ids {
            want[0] += 2.0 + r as f32;
            want[1] += 10.0 * (2.0 + r as f32);
        }
        let f = (1.0 / 6.0f64) as f32;
        assert_eq!(emb.raw_row(0), [want[0] * f, want[1] * f]);
        // "</s>" has no n-grams: its own row.
        assert_eq!(emb.raw_row(1), [1.0, 10.0]);
    }

    #[test]
    fn quantised_models_and_bad_shapes_are_refused() {
        let data = tiny();
        // The input matrix's flag sits before its shape (16 bytes) and its 5 x 2 floats, and
        // the output's flag ends the file.
        let flag = data.len() - 1 - 40 - 16 - 1;
        let open = |b: Vec<u8>| {
            read(
                Arc::new(Backing::Owned(b)),
                Path::new("t.bin"),
                &LoadOptions::default(),
            )
            .unwrap_err()
            .to_string()
        };
        let mut b = data.clone();
        b[flag] = 1;
        let e = open(b);
        assert!(
            e.contains(".ftz") && e.contains(&format!("byte offset {flag}")),
            "{e}"
        );
        let mut b = data.clone();
        b[flag + 1] = 9; // 9 rows where the header asks for 5
        assert!(open(b).contains("input matrix of 9 x 2"));
        let mut b = data.clone();
        b[16] = 0; // version 12 -> 0 in the little-endian bytes of `ws`: harmless
        b[4] = 13; // version 13
        assert!(open(b).contains("version 13"));
        let mut b = data;
        b[8..12].copy_from_slice(&(-3i32).to_le_bytes());
        assert!(open(b).contains("dimension -3"));
    }

    #[test]
    fn every_truncation_is_an_error() {
        let data = tiny();
        // The output matrix is not read: cutting into it is not an error.
        for cut in 0..data.len() - 1 {
            let r = read(
                Arc::new(Backing::Owned(data[..cut].to_vec())),
                Path::new("t.bin"),
                &LoadOptions::default(),
            );
            assert!(r.is_err(), "cut at {cut}");
        }
    }
}
