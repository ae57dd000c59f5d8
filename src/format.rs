//! [`Format`]: the name of a file format, which [`crate::formats`] reads and writes and which
//! [`crate::embeddings::Metadata`] records. It lives apart from the readers so that embeddings can
//! say where they came from without depending on the code that read them.

use std::path::Path;

use crate::error::{Error, Result};

/// A file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// word2vec binary: header line, then `word ' ' f32 x dims` per record.
    Word2VecBinary,
    /// word2vec text: header line, then `word v1 ... vdims` per line.
    Word2VecText,
    /// GloVe text: like word2vec text without the header.
    GloveText,
    /// wordvec's native memory-mappable format (see [`crate::formats::native`]).
    Native,
    /// A fastText model (`.bin`, read only; see [`crate::formats::fasttext`]).
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

    /// The name people use (`word2vec binary`, `fastText model`), for messages.
    pub fn long_name(self) -> &'static str {
        match self {
            Format::Word2VecBinary => "word2vec binary",
            Format::Word2VecText => "word2vec text",
            Format::GloveText => "GloVe text",
            Format::Native => "wordvec native",
            Format::FastText => "fastText model",
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
