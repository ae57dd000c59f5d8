//! The library's error type.
//!
//! Every error that comes from reading a file says which file, and where in it (record number and
//! byte offset) the problem was found, so that a user can open the file at that spot. Query errors
//! name the words or arguments at fault. Binaries wrap these in `anyhow`; a server maps them to its
//! own status codes by their [`ErrorKind`] (see [`Error::kind`]).
//!
//! The kinds keep the caller's mistakes apart from everything else:
//!
//! | kind | whose fault | variants | gRPC status |
//! |---|---|---|---|
//! | [`ErrorKind::InvalidArgument`] | the caller's: a request, flag or option that cannot be answered | [`Error::InvalidArgument`] | `INVALID_ARGUMENT` |
//! | [`ErrorKind::NotFound`] | the caller's: words not in the vocabulary | [`Error::UnknownWords`] | `NOT_FOUND` |
//! | [`ErrorKind::Data`] | a file's: corrupt, truncated, not what it claims | [`Error::Format`], [`Error::NonFinite`], [`Error::NotUtf8`], [`Error::WrongFormat`] | `DATA_LOSS` |
//! | [`ErrorKind::Io`] | the system's: a file or socket operation failed | [`Error::Io`], [`Error::Network`], `Error::Database` (feature `postgres`) | `UNAVAILABLE` |
//! | [`ErrorKind::Unavailable`] | the machine's: no usable GPU | [`Error::Device`] | `UNAVAILABLE` |
//! | [`ErrorKind::Cancelled`] | nobody's: the deadline passed or the caller left | [`Error::Cancelled`] | `CANCELLED` |
//! | [`ErrorKind::Internal`] | wordvec's (or a library's it uses): a bug | [`Error::Internal`] | `INTERNAL` |
//!
//! [`Error::Context`] wraps another error with what was being done, and has its kind.

use std::path::PathBuf;

/// Result alias used throughout the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the library.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
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

    /// A word that is not valid UTF-8, read with [`crate::UnicodeErrors::Strict`]. Its own
    /// variant so that front ends can raise their language's decoding error (Python's
    /// `UnicodeDecodeError`) with the bytes and the position of the first bad one.
    #[error("{path}: record {record}, byte offset {offset}: word {:?} is not valid UTF-8 (use --unicode-errors replace or ignore to load it anyway)", String::from_utf8_lossy(.bytes))]
    NotUtf8 {
        /// The file being read.
        path: PathBuf,
        /// The 0-based record (word) number.
        record: u64,
        /// Byte offset of the first invalid byte in the (decompressed) file.
        offset: u64,
        /// The word's bytes as stored.
        bytes: Vec<u8>,
        /// Index in `bytes` of the first invalid byte.
        valid_up_to: usize,
    },

    /// A file read as one format that, by its magic number, is another (a fastText model opened
    /// as word2vec binary, say): the reader's own error would only say where the bytes stop
    /// making sense, this says what the file is and how to open it.
    #[error("{path}: this is a {} file, not {}: open it as {found} (format {:?})", .found.long_name(), .asked.long_name(), .found.name())]
    WrongFormat {
        /// The file.
        path: PathBuf,
        /// The format it was read as.
        asked: crate::format::Format,
        /// The format its contents say it is.
        found: crate::format::Format,
    },

    /// Words that are not in the vocabulary. The message shows at most 10 words of at most 64
    /// bytes each ([`crate::limits::echo_list`]: a client's 1 MB "word" is not echoed back); the
    /// vector holds them all.
    #[error("{} not in the vocabulary: {}", if .0.len() == 1 { "word" } else { "words" }, crate::limits::echo_list(.0))]
    UnknownWords(Vec<String>),

    /// A network operation failed (listening, accepting, serving): the address, not a file.
    #[error("{action} {address}: {source}")]
    Network {
        /// What was being done ("cannot listen on", "server failed on", ...).
        action: &'static str,
        /// The socket address.
        address: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// A PostgreSQL operation failed (feature `postgres`): connecting, authenticating, a
    /// statement or a COPY. `target` names the server (without a password) or the table.
    #[cfg(feature = "postgres")]
    #[error("{action} {target}: {source}")]
    Database {
        /// What was being done ("cannot connect to", "cannot copy rows into", ...).
        action: &'static str,
        /// The server or table.
        target: String,
        /// The client library's error (the server's message and SQLSTATE, when it sent one).
        #[source]
        source: ::postgres::Error,
    },

    /// A fault of wordvec itself or of a library it calls (a panic caught at the boundary, an
    /// encoder that failed on values it was built to take). Not the caller's mistake, and not
    /// the data's: worth a bug report.
    #[error("internal error: {0}")]
    Internal(String),

    /// Another error, with what was being done when it happened ("opening the int8 copy
    /// PATH"). Its kind is the inner error's.
    #[error("{context}: {source}")]
    Context {
        /// What was being done.
        context: String,
        /// The error itself.
        #[source]
        source: Box<Error>,
    },

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
/// gRPC statuses) without matching every variant: see the table in the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The file system or the network failed.
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
    /// A bug in wordvec or a library it uses.
    Internal,
}

impl ErrorKind {
    /// Whether the caller caused it (and must change the request), as opposed to the data, the
    /// system or wordvec.
    pub fn is_caller_mistake(self) -> bool {
        matches!(self, ErrorKind::InvalidArgument | ErrorKind::NotFound)
    }
}

impl Error {
    /// The coarse class of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Io { .. } | Error::Network { .. } => ErrorKind::Io,
            #[cfg(feature = "postgres")]
            Error::Database { .. } => ErrorKind::Io,
            Error::Internal(_) => ErrorKind::Internal,
            Error::Context { source, .. } => source.kind(),
            Error::Format { .. }
            | Error::NonFinite { .. }
            | Error::NotUtf8 { .. }
            | Error::WrongFormat { .. } => ErrorKind::Data,
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

    /// [`Error::NotUtf8`] for the word `bytes` of `record`, which starts at byte `start` of the
    /// file and whose first invalid byte is `bytes[valid_up_to]`.
    pub(crate) fn not_utf8(
        path: impl Into<PathBuf>,
        record: u64,
        start: usize,
        bytes: &[u8],
        valid_up_to: usize,
    ) -> Self {
        Error::NotUtf8 {
            path: path.into(),
            record,
            offset: (start + valid_up_to) as u64,
            bytes: bytes.to_vec(),
            valid_up_to,
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Error::InvalidArgument(message.into())
    }

    /// This error, saying what was being done when it happened.
    pub fn context(self, context: impl Into<String>) -> Self {
        Error::Context {
            context: context.into(),
            source: Box::new(self),
        }
    }

    // The core alone has no internal fault to report; the layers do.
    #[cfg_attr(
        not(any(feature = "index", feature = "train", feature = "classify")),
        allow(dead_code)
    )]
    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Error::Internal(message.into())
    }

    #[cfg(feature = "postgres")]
    pub(crate) fn database(
        action: &'static str,
        target: impl Into<String>,
        source: ::postgres::Error,
    ) -> Self {
        Error::Database {
            action,
            target: target.into(),
            source,
        }
    }

    #[cfg(feature = "server")]
    pub(crate) fn network(
        action: &'static str,
        address: impl std::fmt::Display,
        source: std::io::Error,
    ) -> Self {
        Error::Network {
            action,
            address: address.to_string(),
            source,
        }
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
