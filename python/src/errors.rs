//! wordvec's errors as Python exceptions, and the argument conversions that can fail the same
//! way: one place decides which exception a caller sees.

use pyo3::exceptions::{
    PyFileNotFoundError, PyKeyError, PyOSError, PyRuntimeError, PyUnicodeDecodeError, PyValueError,
};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};
use wordvec::search::Mode;
use wordvec::{Error, ErrorKind, Format, Term, UnicodeErrors};

/// wordvec's errors as Python exceptions: unknown words are `KeyError` (as gensim's), caller
/// mistakes and corrupt data `ValueError`, a missing file `FileNotFoundError`, other I/O
/// `OSError`, the rest `RuntimeError`. The message is wordvec's, which names the file, record and
/// byte offset.
///
/// Two errors are raised as gensim raises them: a word that is not valid UTF-8 is a
/// `UnicodeDecodeError` (a `ValueError` too) holding the word's bytes and the position of the
/// first bad one, and a fastText model opened as a word2vec file says to open it with
/// `load_facebook_vectors`.
pub(crate) fn py_err(e: Error) -> PyErr {
    let msg = e.to_string();
    let mut inner = &e;
    while let Error::Context { source, .. } = inner {
        inner = source;
    }
    match inner {
        Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            return PyFileNotFoundError::new_err(msg);
        }
        Error::NotUtf8 {
            bytes, valid_up_to, ..
        } => {
            let args = (
                "utf-8",
                PyBytesArg(bytes.clone()),
                *valid_up_to,
                valid_up_to + 1,
                msg,
            );
            return PyUnicodeDecodeError::new_err(args);
        }
        Error::WrongFormat {
            found: Format::FastText,
            ..
        } => {
            return PyValueError::new_err(format!(
                "{msg}; in Python: wordvec.load_facebook_vectors(path), as gensim's"
            ));
        }
        _ => {}
    }
    match e.kind() {
        ErrorKind::NotFound => PyKeyError::new_err(msg),
        ErrorKind::InvalidArgument | ErrorKind::Data => PyValueError::new_err(msg),
        ErrorKind::Io => PyOSError::new_err(msg),
        _ => PyRuntimeError::new_err(msg),
    }
}

/// Bytes that go to Python as `bytes` (a `Vec<u8>` would go as a list).
struct PyBytesArg(Vec<u8>);

impl<'py> IntoPyObject<'py> for PyBytesArg {
    type Target = PyBytes;
    type Output = Bound<'py, PyBytes>;
    type Error = std::convert::Infallible;

    fn into_pyobject(self, py: Python<'py>) -> Result<Self::Output, Self::Error> {
        Ok(PyBytes::new(py, &self.0))
    }
}

/// A term of a query: a word (`str`) or a vector (`bytes` of little-endian float32).
pub(crate) enum PyTerm {
    Word(String),
    Vector(Vec<f32>),
}

/// Little-endian float32 bytes as floats (the caller has checked the length).
pub(crate) fn floats(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// Query terms from Python values: words (`str`) and vectors (float32 `bytes`).
pub(crate) fn terms(items: &[Bound<'_, PyAny>]) -> PyResult<Vec<PyTerm>> {
    items
        .iter()
        .map(|t| {
            if t.is_instance_of::<PyString>() {
                Ok(PyTerm::Word(t.extract::<String>()?))
            } else if let Ok(b) = t.cast::<PyBytes>() {
                let bytes = b.as_bytes();
                if bytes.len() % 4 != 0 {
                    return Err(PyValueError::new_err(
                        "a vector term must be float32 bytes (a multiple of 4)",
                    ));
                }
                Ok(PyTerm::Vector(floats(bytes)))
            } else {
                Err(PyValueError::new_err(
                    "a query term is a word (str) or a vector (float32 bytes)",
                ))
            }
        })
        .collect()
}

/// The library's terms, borrowing `t`.
pub(crate) fn as_terms(t: &[PyTerm]) -> Vec<Term<'_>> {
    t.iter()
        .map(|t| match t {
            PyTerm::Word(w) => Term::Word(w),
            PyTerm::Vector(v) => Term::Vector(v),
        })
        .collect()
}

/// `unicode_errors`, as gensim spells it.
pub(crate) fn unicode_errors(s: &str) -> PyResult<UnicodeErrors> {
    match s {
        "strict" => Ok(UnicodeErrors::Strict),
        "replace" => Ok(UnicodeErrors::Replace),
        "ignore" => Ok(UnicodeErrors::Ignore),
        other => Err(PyValueError::new_err(format!(
            "unicode_errors must be 'strict', 'replace' or 'ignore', not {other:?}"
        ))),
    }
}

/// A file format's name, when one is given.
pub(crate) fn format_arg(s: Option<&str>) -> PyResult<Option<Format>> {
    s.map(|s| s.parse::<Format>().map_err(py_err)).transpose()
}

/// A search mode: `auto`, `exact` or `index` (the [`wordvec::search::Searcher`] decides what
/// `auto` means).
pub(crate) fn mode(s: &str) -> PyResult<Mode> {
    match s {
        "auto" => Ok(Mode::Auto),
        "exact" => Ok(Mode::Exact),
        "index" => Ok(Mode::Index),
        other => Err(PyValueError::new_err(format!(
            "mode must be 'auto', 'exact' or 'index', not {other:?}"
        ))),
    }
}
