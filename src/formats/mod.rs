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

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use indicatif::ProgressBar;

use crate::bytes::Backing;
use crate::embeddings::Embeddings;
use crate::error::{Error, Result};
use crate::io;
use crate::vocab::UnicodeErrors;

/// A file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// word2vec binary: header line, then `word ' ' f32 x dims` per record.
    Word2VecBinary,
    /// word2vec text: header line, then `word v1 ... vdims` per line.
    Word2VecText,
    /// GloVe text: like word2vec text without the header.
    GloveText,
    /// wordvec's native memory-mappable format (see [`native`]).
    Native,
    /// A fastText model (`.bin`, read only; see [`fasttext`]).
    FastText,
}

impl Format {
    /// A short name (`bin`, `txt`, `glove`, `native`).
    pub fn name(self) -> &'static str {
        match self {
            Format::Word2VecBinary => "bin",
            Format::Word2VecText => "txt",
            Format::GloveText => "glove",
            Format::Native => "native",
            Format::FastText => "fasttext",
        }
    }

    /// The format a file name asks for when written: `.wvec` native, `.txt`/`.vec` word2vec
    /// text, `.glove` GloVe, anything else word2vec binary (a trailing `.gz` is not supported
    /// for output).
    pub fn from_extension(path: &Path) -> Format {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("wvec") => Format::Native,
            Some("txt") | Some("vec") => Format::Word2VecText,
            Some("glove") => Format::GloveText,
            _ => Format::Word2VecBinary,
        }
    }
}

impl std::str::FromStr for Format {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "bin" | "binary" | "word2vec" => Format::Word2VecBinary,
            "txt" | "text" => Format::Word2VecText,
            "glove" => Format::GloveText,
            "native" | "wvec" => Format::Native,
            "fasttext" | "ft" => Format::FastText,
            other => {
                return Err(Error::invalid(format!(
                    "unknown format {other:?} (bin, txt, glove, native, fasttext)"
                )))
            }
        })
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How to read a file.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Force a format instead of detecting it.
    pub format: Option<Format>,
    /// What to do with words that are not UTF-8.
    pub unicode_errors: UnicodeErrors,
    /// Read only the first `limit` words (as gensim's `limit`).
    pub limit: Option<usize>,
    /// Progress for long loads (hidden by default).
    pub progress: Option<ProgressBar>,
}

impl LoadOptions {
    pub(crate) fn progress(&self) -> ProgressBar {
        self.progress.clone().unwrap_or_else(ProgressBar::hidden)
    }
}

/// How to write a file.
#[derive(Debug, Clone, Default)]
pub struct SaveOptions {
    /// word2vec binary only: write `\n` after each vector. `None` keeps what the source file did
    /// (and writes it for embeddings that came from elsewhere, as the C tool does).
    pub newline_after_vector: Option<bool>,
    /// Progress for long writes (hidden by default).
    pub progress: Option<ProgressBar>,
}

/// Reads embeddings from `path`, detecting the format unless `opts.format` forces one.
pub fn load(path: &Path, opts: &LoadOptions) -> Result<Embeddings> {
    let start = Instant::now();
    let mut backing = io::map_file(path)?;
    if (*backing).as_ref().starts_with(&io::GZIP_MAGIC) {
        backing = io::gunzip_file(path, &opts.progress())?;
    }
    let emb = load_backing(backing, path, opts)?;
    tracing::debug!(path = %path.display(), words = emb.len(), dims = emb.dims(), elapsed = ?start.elapsed(), "loaded");
    Ok(emb)
}

/// Reads embeddings from bytes already in memory (`name` is used in error messages).
pub fn load_bytes(bytes: &'static [u8], name: &Path, opts: &LoadOptions) -> Result<Embeddings> {
    load_backing(Arc::new(Backing::Static(bytes)), name, opts)
}

fn load_backing(backing: Arc<Backing>, path: &Path, opts: &LoadOptions) -> Result<Embeddings> {
    let format = match opts.format {
        Some(f) => f,
        None => detect((*backing).as_ref()),
    };
    let mut emb = match format {
        Format::Native => native::read(backing, path)?,
        Format::FastText => fasttext::read(backing, path, opts)?,
        Format::Word2VecBinary => word2vec_bin::read(backing, path, opts)?,
        Format::Word2VecText | Format::GloveText => {
            text::read((*backing).as_ref(), path, format, opts)?
        }
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
    let progress = opts.progress.clone().unwrap_or_else(ProgressBar::hidden);
    progress.set_length(emb.len() as u64);
    let res = match format {
        Format::Word2VecBinary => {
            let newline = opts.newline_after_vector.unwrap_or_else(|| {
                emb.metadata().format != Some(Format::Word2VecBinary)
                    || emb.metadata().newline_after_vector
            });
            io::write_atomically(path, |w| word2vec_bin::write(emb, w, newline, &progress))
        }
        Format::Word2VecText => {
            io::write_atomically(path, |w| text::write(emb, w, true, &progress))
        }
        Format::GloveText => io::write_atomically(path, |w| text::write(emb, w, false, &progress)),
        Format::Native => io::write_atomically(path, |w| native::write(emb, w, &progress)),
        Format::FastText => Err(Error::invalid(
            "wordvec does not write fastText models: convert to native (.wvec), which keeps the n-grams, or to a word2vec format",
        )),
    };
    progress.finish_and_clear();
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
