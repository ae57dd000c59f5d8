//! The library's error type.
//!
//! Every error that comes from reading a file says which file, and where in it (record number and
//! byte offset) the problem was found, so that a user can open the file at that spot. Query errors
//! name the words or arguments at fault. Binaries wrap these in `anyhow`; a server maps them to its
//! own status codes by matching on the variant (see [`Error::kind`]).

use std::path::PathBuf;

/// Result alias used throughout the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An operating-system error while opening, mapping, reading or writing a file.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done ("cannot open", "cannot write", ...).
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The file's contents do not follow its format. `offset` is the byte offset in the
    /// (decompressed) file where the problem starts; `record` is the 0-based record (word) number
    /// when the problem is inside a record.
    #[error("{path}: {}byte offset {offset}: {message}", record.map(|r| format!("record {r}, ")).unwrap_or_default())]
    Format {
        /// The file being read.
        path: PathBuf,
        /// The 0-based record (word) number, if the error is inside a record.
        record: Option<u64>,
        /// Byte offset from the start of the (decompressed) file.
        offset: u64,
        /// What is wrong.
        message: String,
    },

    /// A vector holds NaN or an infinity.
    #[error(
        "{path}: record {record} ({word:?}), byte offset {offset}: value {value} is not finite"
    )]
    NonFinite {
        /// The file being read.
        path: PathBuf,
        /// The 0-based record number.
        record: u64,
        /// The word whose vector holds the value.
        word: String,
        /// Byte offset of the bad value.
        offset: u64,
        /// The value itself (NaN or +-inf).
        value: f32,
    },

    /// Words that are not in the vocabulary. The message shows at most 10 words of at most 64
    /// characters each (a client's 1 MB "word" is not echoed back); the vector holds them all.
    #[error("{} not in the vocabulary: {}", if .0.len() == 1 { "word" } else { "words" }, list_words(.0))]
    UnknownWords(Vec<String>),

    /// The work was cancelled (its deadline passed or its caller went away) before it finished.
    #[error("cancelled: {0}")]
    Cancelled(String),

    /// A compute device (GPU) is missing, failed, or is not compiled in.
    #[error("device: {0}")]
    Device(String),

    /// A query or option that cannot be answered as asked (empty word list, wrong vector
    /// dimension, NaN in a query vector, ...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

/// Coarse classes of [`Error`], for callers that map errors to their own codes (exit codes,
/// gRPC statuses) without matching every variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The file system failed.
    Io,
    /// A file is malformed.
    Data,
    /// One or more words are unknown.
    NotFound,
    /// The caller asked for something invalid.
    InvalidArgument,
    /// A device (GPU) is not available.
    Unavailable,
    /// The work was cancelled.
    Cancelled,
}

/// Words for a message: each cut to 64 characters, at most 10, with counts of the rest.
fn list_words(words: &[String]) -> String {
    const WORDS: usize = 10;
    const CHARS: usize = 64;
    let mut out: Vec<String> = words
        .iter()
        .take(WORDS)
        .map(|w| match w.char_indices().nth(CHARS) {
            Some((cut, _)) => format!("{:?}... ({} bytes)", &w[..cut], w.len()),
            None => format!("{w:?}"),
        })
        .collect();
    if words.len() > WORDS {
        out.push(format!("and {} more", words.len() - WORDS));
    }
    out.join(", ")
}

impl Error {
    /// The coarse class of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Io { .. } => ErrorKind::Io,
            Error::Format { .. } | Error::NonFinite { .. } => ErrorKind::Data,
            Error::UnknownWords(_) => ErrorKind::NotFound,
            Error::InvalidArgument(_) => ErrorKind::InvalidArgument,
            Error::Device(_) => ErrorKind::Unavailable,
            Error::Cancelled(_) => ErrorKind::Cancelled,
        }
    }

    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn format(
        path: impl Into<PathBuf>,
        record: Option<u64>,
        offset: u64,
        message: impl Into<String>,
    ) -> Self {
        Error::Format {
            path: path.into(),
            record,
            offset,
            message: message.into(),
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Error::InvalidArgument(message.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_words_are_not_echoed_whole() {
        let huge = "x".repeat(1 << 20);
        let msg = Error::UnknownWords(vec![huge]).to_string();
        assert!(msg.len() < 200, "{}", msg.len());
        assert!(msg.contains("(1048576 bytes)"), "{msg}");
        let many: Vec<String> = (0..25).map(|i| format!("w{i}")).collect();
        let msg = Error::UnknownWords(many).to_string();
        assert!(msg.ends_with("and 15 more"), "{msg}");
        let msg = Error::UnknownWords(vec!["\u{e9}".repeat(100)]).to_string();
        assert!(msg.contains("(200 bytes)"), "{msg}");
    }
}
