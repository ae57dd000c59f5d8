//! File formats: one module each, and the entry points that pick one.
//!
//! | format | read | write | module |
//! |---|---|---|---|
//! | word2vec binary (`.bin`, GoogleNews) | memory-mapped in place | byte-exact | [`word2vec_bin`] |
//! | word2vec text (with header) | parsed | byte-exact for C-tool files | [`text`] |
//! | GloVe text (no header) | parsed | yes | [`text`] |
//! | native (`.wvec`) | memory-mapped, zero copies | yes | [`native`] |
//! | fastText model (`.bin`, with its n-grams) | words averaged with their n-grams; n-gram rows memory-mapped | no (to native, keeping the n-grams) | [`fasttext`] |
//!
//! Any of the first three may be gzipped (`.gz`, detected by its magic bytes); it is
//! decompressed once, streaming, into memory. Formats are detected by content; a name's
//! extension is only used to choose an output format.

pub mod fasttext;
pub mod native;
pub mod text;
pub mod word2vec_bin;

pub use crate::format::Format;

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use crate::bytes::Backing;
use crate::embeddings::Embeddings;
use crate::error::{Error, Result};
use crate::io;
use crate::progress::{self, Progress, SharedProgress};
use crate::vocab::UnicodeErrors;

/// How to read a file. Start from `LoadOptions::default()` and change what differs:
///
/// ```
/// let opts = wordvec::LoadOptions::default().limit(Some(1000));
/// assert_eq!(opts.limit, Some(1000));
/// ```
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct LoadOptions {
    /// Force a format instead of detecting it.
    pub format: Option<Format>,
    /// What to do with words that are not UTF-8.
    pub unicode_errors: UnicodeErrors,
    /// Read only the first `limit` words (as gensim's `limit`).
    pub limit: Option<usize>,
    /// Progress for long loads (none by default).
    pub progress: Option<SharedProgress>,
}

impl LoadOptions {
    /// With the format forced (`None`: detected).
    pub fn format(mut self, format: Option<Format>) -> Self {
        self.format = format;
        self
    }

    /// With `handling` of words that are not UTF-8.
    pub fn unicode_errors(mut self, handling: UnicodeErrors) -> Self {
        self.unicode_errors = handling;
        self
    }

    /// Reading only the first `limit` words.
    pub fn limit(mut self, limit: Option<usize>) -> Self {
        self.limit = limit;
        self
    }

    /// Reporting progress to `p`.
    pub fn progress(mut self, p: SharedProgress) -> Self {
        self.progress = Some(p);
        self
    }

    pub(crate) fn reporter(&self) -> &dyn Progress {
        progress::or_silent(&self.progress)
    }
}

impl std::fmt::Debug for LoadOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadOptions")
            .field("format", &self.format)
            .field("unicode_errors", &self.unicode_errors)
            .field("limit", &self.limit)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

/// How to write a file. Start from `SaveOptions::default()` and change what differs.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct SaveOptions {
    /// word2vec binary only: write `\n` after each vector. `None` keeps what the source file did
    /// (and writes it for embeddings that came from elsewhere, as the C tool does).
    pub newline_after_vector: Option<bool>,
    /// Progress for long writes (none by default).
    pub progress: Option<SharedProgress>,
    /// Text formats only: each value with this many decimals (`Some(6)`: the C tool's `%lf`).
    /// `None`, the default, writes each value in full: the shortest decimal that reads back as
    /// the same float, as gensim writes it.
    pub decimals: Option<usize>,
}

impl SaveOptions {
    /// Text formats only: values with `decimals` decimals, or in full (`None`).
    pub fn decimals(mut self, decimals: Option<usize>) -> Self {
        self.decimals = decimals;
        self
    }

    /// word2vec binary only: with (`Some(true)`) or without a newline after each vector.
    pub fn newline_after_vector(mut self, newline: Option<bool>) -> Self {
        self.newline_after_vector = newline;
        self
    }

    /// Reporting progress to `p`.
    pub fn progress(mut self, p: SharedProgress) -> Self {
        self.progress = Some(p);
        self
    }
}

impl std::fmt::Debug for SaveOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaveOptions")
            .field("newline_after_vector", &self.newline_after_vector)
            .field("progress", &self.progress.is_some())
            .field("decimals", &self.decimals)
            .finish()
    }
}

/// Reads embeddings from `path`, detecting the format unless `opts.format` forces one.
pub fn load(path: &Path, opts: &LoadOptions) -> Result<Embeddings> {
    let start = Instant::now();
    let mut backing = io::map_file(path)?;
    if (*backing).as_ref().starts_with(&io::GZIP_MAGIC) {
        backing = io::gunzip_file(path, opts.reporter())?;
    }
    let emb = load_backing(backing, path, opts)?;
    tracing::debug!(path = %path.display(), words = emb.len(), dims = emb.dims(), elapsed = ?start.elapsed(), "loaded");
    Ok(emb)
}

/// Reads embeddings from `path` as [`load`] does, then attaches the int8 copy beside them
/// (`PATH.i8`, written by `wordvec convert --int8`) when there is one and every row was read
/// (no `limit`): exact scans read it first. A copy that does not match the vectors is an error,
/// never silently ignored. The first open checks every code and records that beside the copy;
/// later opens of the same two files skip the check ([`crate::quant::record`]).
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("m.wvec");
/// let emb = wordvec::default_model::load()?;
/// wordvec::save(&emb, &path, wordvec::Format::Native, &Default::default())?;
/// wordvec::quant::Int8Rows::build(&emb)?.save(&wordvec::quant::sidecar_path(&path))?;
/// let opened = wordvec::open(&path, &Default::default())?;
/// assert!(opened.int8().is_some());
/// # Ok::<(), wordvec::Error>(())
/// ```
pub fn open(path: &Path, opts: &LoadOptions) -> Result<Embeddings> {
    use crate::quant::record::{FileStamp, VectorsFile};
    // The file's stamp before and after reading it: equal, it is the stamp of what was read,
    // and the int8 copy's record may vouch for it (`crate::quant::record`).
    let before = FileStamp::of(path).ok();
    let mut emb = load(path, opts)?;
    let sidecar = crate::quant::sidecar_path(path);
    if opts.limit.is_none() && sidecar.is_file() {
        let start = Instant::now();
        let stamp = before.filter(|&b| FileStamp::of(path).is_ok_and(|a| a == b));
        let reader = format!("{:?} {:?}", emb.metadata().format, opts.unicode_errors);
        let rows = match stamp {
            Some(s) => {
                crate::quant::Int8Rows::open_recorded(&sidecar, &emb, &VectorsFile::new(s, &reader))
            }
            None => crate::quant::Int8Rows::open(&sidecar, &emb),
        }
        .map_err(|e| e.context(format!("opening the int8 copy {}", sidecar.display())))?;
        emb.attach_int8(rows)?;
        tracing::info!(path = %sidecar.display(), elapsed = ?start.elapsed(), "attached the int8 copy");
    }
    Ok(emb)
}

/// Reads embeddings from bytes already in memory (`name` is used in error messages).
pub fn load_bytes(bytes: &'static [u8], name: &Path, opts: &LoadOptions) -> Result<Embeddings> {
    load_backing(Arc::new(Backing::Static(bytes)), name, opts)
}

fn load_backing(backing: Arc<Backing>, path: &Path, opts: &LoadOptions) -> Result<Embeddings> {
    let data: &[u8] = (*backing).as_ref();
    if is_pickle(data) {
        return Err(Error::format(path, None, 0, PICKLE));
    }
    let found = detect(data);
    let format = opts.format.unwrap_or(found);
    if format != found && matches!(found, Format::Native | Format::FastText) {
        // Both start with a magic number: the file is certainly not what it was asked to be.
        return Err(Error::WrongFormat {
            path: path.to_owned(),
            asked: format,
            found,
        });
    }
    let mut emb = match format {
        Format::Native => native::read(backing, path)?,
        Format::FastText => fasttext::read(backing, path, opts)?,
        Format::Word2VecBinary => word2vec_bin::read(backing, path, opts)?,
        Format::Word2VecText | Format::GloveText => text::read(data, path, format, opts)?,
    };
    let meta = emb.metadata_mut();
    meta.format = Some(format);
    meta.source = Some(path.to_owned());
    if meta.duplicates_skipped > 0 {
        tracing::warn!(
            path = %path.display(),
            count = meta.duplicates_skipped,
            "duplicate words in file: kept the first of each, skipped {} records",
            meta.duplicates_skipped
        );
    }
    Ok(emb)
}

/// What a Python pickle (gensim's `KeyedVectors.save()` file, `.kv` or `.model`) is told.
const PICKLE: &str = "this is a Python pickle (what gensim's KeyedVectors.save() writes, a .kv or .model file), not a vectors file: load it with gensim and write it with save_word2vec_format(path, binary=True), which wordvec opens";

/// Whether `data` starts as a pickle of protocol 2 to 5 does (`0x80`, the protocol). No vectors
/// file starts so: word2vec files start with digits, GloVe text with a word (and `0x80` is never
/// the first byte of UTF-8), native and fastText files with their magic.
fn is_pickle(data: &[u8]) -> bool {
    matches!(data, [0x80, 2..=5, ..])
}

/// Guesses the format of (decompressed) file contents.
///
/// Native files start with their magic. word2vec files start with a `count dims` line; the bytes
/// after the first word then tell text (digits, signs, points, spaces) from binary (anything).
/// Everything else is taken as GloVe text.
pub fn detect(data: &[u8]) -> Format {
    if data.starts_with(native::MAGIC) {
        return Format::Native;
    }
    if fasttext::is_fasttext(data) {
        return Format::FastText;
    }
    let Some((_, dims, header_len)) = parse_header_line(data) else {
        return Format::GloveText;
    };
    let rest = &data[header_len..];
    let rest = &rest[rest.iter().take_while(|&&b| b == b'\n').count()..];
    let Some(space) = rest.iter().take(4096).position(|&b| b == b' ') else {
        return Format::Word2VecBinary;
    };
    // Text: the rest of the first line is `dims` numbers. Binary floats practically never form
    // a run of `dims` number-looking tokens ended by a newline.
    let after = &rest[space + 1..];
    let Some(nl) = after.iter().take(1 << 16).position(|&b| b == b'\n') else {
        return Format::Word2VecBinary;
    };
    let line = &after[..nl];
    let texty = |b: &u8| b.is_ascii_digit() || b".-+eE \t\rnaifNAIF".contains(b);
    let tokens = line
        .split(|b| b.is_ascii_whitespace())
        .filter(|t| !t.is_empty())
        .count();
    if line.iter().all(texty) && tokens as u64 == dims {
        Format::Word2VecText
    } else {
        Format::Word2VecBinary
    }
}

/// Parses a word2vec header line `"<count> <dims>\n"`; returns the two numbers and the length of
/// the line including its newline.
pub(crate) fn parse_header_line(data: &[u8]) -> Option<(u64, u64, usize)> {
    let nl = data.iter().take(128).position(|&b| b == b'\n')?;
    let line = std::str::from_utf8(&data[..nl]).ok()?;
    let mut it = line.split_ascii_whitespace();
    let n = it.next()?.parse().ok()?;
    let d = it.next()?.parse().ok()?;
    it.next().is_none().then_some((n, d, nl + 1))
}

/// The largest dimension accepted; beyond it a header is taken as corrupt.
pub const MAX_DIMS: u64 = crate::limits::MAX_DIMS as u64;

/// Checks a header's dimension.
pub(crate) fn check_dims(path: &Path, dims: u64) -> Result<usize> {
    if dims == 0 {
        return Err(Error::format(
            path,
            None,
            0,
            "header gives a vector dimension of 0",
        ));
    }
    if dims > MAX_DIMS {
        return Err(Error::format(
            path,
            None,
            0,
            format!("header gives a vector dimension of {dims}, above the limit of {MAX_DIMS}: corrupt header?"),
        ));
    }
    Ok(dims as usize)
}

/// Writes `emb` to `path` in `format`, atomically.
pub fn save(emb: &Embeddings, path: &Path, format: Format, opts: &SaveOptions) -> Result<()> {
    // A mapped native file is not read whole when opened: a corrupt row must stop here, not
    // travel into a file that the readers would then refuse.
    {
        use rayon::prelude::*;
        let bad = (0..emb.len())
            .into_par_iter()
            .with_min_len(1024)
            .find_first(|&i| {
                let row = emb.storage().row_bytes(i);
                row.chunks_exact(4)
                    .any(|c| !f32::from_le_bytes([c[0], c[1], c[2], c[3]]).is_finite())
            });
        if let Some(row) = bad {
            return Err(emb.corrupt_row(row));
        }
    }
    let progress = progress::or_silent(&opts.progress);
    progress.start("", emb.len() as u64);
    let res = match format {
        Format::Word2VecBinary => {
            let newline = opts.newline_after_vector.unwrap_or_else(|| {
                emb.metadata().format != Some(Format::Word2VecBinary)
                    || emb.metadata().newline_after_vector
            });
            io::write_atomically(path, |w| word2vec_bin::write(emb, w, newline, progress))
        }
        Format::Word2VecText | Format::GloveText => {
            let header = format == Format::Word2VecText;
            io::write_atomically(path, |w| {
                text::write(emb, w, header, opts.decimals, progress)
            })
        }
        Format::Native => io::write_atomically(path, |w| native::write(emb, w, progress)),
        Format::FastText => Err(Error::invalid(
            "wordvec does not write fastText models: convert to native (.wvec), which keeps the n-grams, or to a word2vec format",
        )),
    };
    progress.finish();
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection_by_content() {
        assert_eq!(
            detect(b"2 3\nab 0.1 0.2 0.3 \ncd 1 2 3 \n"),
            Format::Word2VecText
        );
        let mut bin = b"1 2\nab ".to_vec();
        bin.extend(1.5f32.to_le_bytes());
        bin.extend((-2.25f32).to_le_bytes());
        assert_eq!(detect(&bin), Format::Word2VecBinary);
        assert_eq!(detect(b"the 0.1 0.2\nof 0.3 0.4\n"), Format::GloveText);
        assert_eq!(detect(native::MAGIC), Format::Native);
    }

    #[test]
    fn foreign_files_say_what_they_are() {
        let dir = tempfile::tempdir().unwrap();
        let kv = dir.path().join("model.kv");
        std::fs::write(&kv, b"\x80\x04\x95\x10\x00gensim.models.keyedvectors").unwrap();
        let e = load(&kv, &LoadOptions::default()).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Data);
        assert!(e.to_string().contains("Python pickle"), "{e}");
        assert!(e.to_string().contains("save_word2vec_format"), "{e}");
        let wvec = dir.path().join("m.wvec");
        let emb = crate::default_model::load().unwrap();
        save(&emb, &wvec, Format::Native, &SaveOptions::default()).unwrap();
        let asked = LoadOptions::default().format(Some(Format::Word2VecBinary));
        match load(&wvec, &asked).unwrap_err() {
            Error::WrongFormat { asked, found, .. } => {
                assert_eq!((asked, found), (Format::Word2VecBinary, Format::Native))
            }
            other => panic!("expected WrongFormat, got {other}"),
        }
        assert!(load(&wvec, &LoadOptions::default()).is_ok());
    }

    #[test]
    fn header_line() {
        assert_eq!(parse_header_line(b"4642 32\nxyz"), Some((4642, 32, 8)));
        assert_eq!(parse_header_line(b"4642 32 1\n"), None);
        assert_eq!(parse_header_line(b"4642\n"), None);
        assert_eq!(parse_header_line(b"4642 32"), None);
    }

    #[test]
    fn output_format_from_extension() {
        assert_eq!(Format::from_extension(Path::new("a.wvec")), Format::Native);
        assert_eq!(
            Format::from_extension(Path::new("a.TXT")),
            Format::Word2VecText
        );
        assert_eq!(
            Format::from_extension(Path::new("a.bin")),
            Format::Word2VecBinary
        );
        assert_eq!("glove".parse::<Format>().unwrap(), Format::GloveText);
        assert!("xml".parse::<Format>().is_err());
    }
}
