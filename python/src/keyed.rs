//! [`KeyedBase`]: the compiled base class of the Python package's `KeyedVectors`. gensim's
//! everyday calls (`kv[word]`, `word in kv`, `len(kv)`, `kv.get_index(word)`,
//! `kv.get_vecattr(word, attr)`) cost a Python frame each when written in Python, which is most
//! of their time; here they are type slots and methods of the class itself. They handle the
//! common case (a `str` key, float32 vectors) and hand everything else to the Python class
//! (`_getitem`, `_get_index`, `_get_vecattr`), which decides as gensim does. A key is read where Python stores it (the `str`'s own UTF-8), not copied.

use std::sync::{Mutex, OnceLock, PoisonError};

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PySequence, PyString, PyTuple};

use crate::vectors::Vectors;

/// What `kv[word]` reads a row from (see [`KeyedBase::__getitem__`]).
enum Raw {
    /// Not decided since the last write: ask the Python class (`_raw_rows`).
    Unknown,
    /// The raw rows as a NumPy array over the stored floats: `kv[word]` is a view of a row.
    Matrix(Py<PyAny>),
    /// Rows not stored raw and back to back: `kv[word]` copies the row's bytes into an array.
    Copy,
    /// Not float32 vectors (`datatype=`): the Python class answers.
    Python,
}

/// The base class of `wordvec.KeyedVectors`.
#[pyclass(subclass, frozen, module = "wordvec._wordvec")]
pub struct KeyedBase {
    v: OnceLock<Py<Vectors>>,
    raw: Mutex<Raw>,
    /// The Python class's per-key attributes (`_attrs`: name to an array by row), shared.
    attrs: OnceLock<Py<PyDict>>,
}

/// `numpy.frombuffer` and the little-endian float32 dtype, looked up once.
static FROMBUFFER: PyOnceLock<(Py<PyAny>, Py<PyAny>)> = PyOnceLock::new();

impl KeyedBase {
    fn handle(&self) -> PyResult<&Py<Vectors>> {
        self.v
            .get()
            .ok_or_else(|| PyRuntimeError::new_err("KeyedVectors.__init__ was not called"))
    }

    /// How `kv[word]` reads a row now (one look at the lock), asking the Python class after a
    /// write.
    fn read(slf: &Bound<'_, Self>) -> PyResult<Read> {
        let py = slf.py();
        let this = slf.get();
        let known = match &*this.raw.lock().unwrap_or_else(PoisonError::into_inner) {
            Raw::Matrix(m) => Some(Read::View(m.clone_ref(py))),
            Raw::Copy => Some(Read::Copy),
            Raw::Python => Some(Read::Python),
            Raw::Unknown => None,
        };
        if let Some(k) = known {
            return Ok(k);
        }
        let m = slf.call_method1("_raw_rows", ())?;
        let (raw, read) = if m.is_instance_of::<pyo3::types::PyBool>() {
            (Raw::Copy, Read::Copy)
        } else {
            (Raw::Matrix(m.clone().unbind()), Read::View(m.unbind()))
        };
        *this.raw.lock().unwrap_or_else(PoisonError::into_inner) = raw;
        Ok(read)
    }
}

/// `array[i]` through the sequence protocol (`PySequence_GetItem`): NumPy answers it as the
/// subscript does (a row view of a matrix, a scalar of a vector) without turning `i` into a
/// Python int and parsing it as an index (`get_vecattr`: 0.38 us a call before, 0.32 after, on
/// the 94,532-word benchmark model).
fn item<'py>(array: &Bound<'py, PyAny>, i: usize) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: the cast only skips pyo3's check that the type is registered as a
    // `collections.abc.Sequence` (NumPy's arrays are not); `PySequenceMethods::get_item` calls
    // `PySequence_GetItem`, which takes any object and raises `TypeError` for one without
    // `sq_item`, so no method of `PySequence` relies on what the check would have proved.
    unsafe { array.cast_unchecked::<PySequence>() }.get_item(i)
}

/// What [`KeyedBase::read`] decided for one `kv[word]`.
enum Read {
    /// A view of the row in this array.
    View(Py<PyAny>),
    /// An array of a copy of the row's bytes.
    Copy,
    /// The Python class's `_getitem`.
    Python,
}

#[pymethods]
impl KeyedBase {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> KeyedBase {
        KeyedBase {
            v: OnceLock::new(),
            raw: Mutex::new(Raw::Unknown),
            attrs: OnceLock::new(),
        }
    }

    /// Binds the vectors and the per-key attributes' dict (once, from `KeyedVectors.__init__`);
    /// `fast` is false for vectors read with another `datatype` than float32, whose rows the
    /// Python class converts.
    fn _bind(&self, handle: Py<Vectors>, fast: bool, attrs: Py<PyDict>) -> PyResult<()> {
        let once = || PyRuntimeError::new_err("KeyedVectors are bound once");
        self.v.set(handle).map_err(|_| once())?;
        self.attrs.set(attrs).map_err(|_| once())?;
        self._reset(fast);
        Ok(())
    }

    /// Forgets how rows are read (after a write, or a change of `datatype`).
    fn _reset(&self, fast: bool) {
        *self.raw.lock().unwrap_or_else(PoisonError::into_inner) =
            if fast { Raw::Unknown } else { Raw::Python };
    }

    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        Ok(self.handle()?.get().len_now(py))
    }

    fn __contains__(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        match key.cast::<PyString>() {
            Ok(s) => Ok(self.handle()?.get().contains_now(py, s.to_str()?)),
            Err(_) => Ok(false),
        }
    }

    /// `kv[word]`: a view of the stored row, or an array of its bytes; anything else (other
    /// keys, lists, words outside the vocabulary) is the Python class's `_getitem`.
    fn __getitem__<'py>(
        slf: &Bound<'py, Self>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        if let Ok(s) = key.cast_exact::<PyString>() {
            let v = slf.get().handle()?.get();
            let word = s.to_str()?;
            match Self::read(slf)? {
                Read::View(m) => {
                    if let Some(i) = v.index_now(py, word) {
                        return item(m.bind(py), i);
                    }
                }
                Read::Copy => {
                    if let Some(bytes) = v.row_bytes_now(word, false) {
                        let (frombuffer, dtype) = FROMBUFFER.get_or_try_init(py, || {
                            let np = py.import("numpy")?;
                            let dtype = np.getattr("dtype")?.call1(("<f4",))?;
                            PyResult::Ok((np.getattr("frombuffer")?.unbind(), dtype.unbind()))
                        })?;
                        return frombuffer
                            .bind(py)
                            .call1((PyBytes::new(py, &bytes), dtype.bind(py)));
                    }
                }
                Read::Python => {}
            }
        }
        slf.call_method1("_getitem", (key,))
    }

    /// The row of `key`; `KeyError` when absent (unless `default` is given). A word in the
    /// vocabulary is answered here, everything else by the Python class's `_get_index`.
    #[pyo3(signature = (key, default=None))]
    fn get_index<'py>(
        slf: &Bound<'py, Self>,
        key: &Bound<'py, PyAny>,
        default: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        if let Ok(s) = key.cast::<PyString>() {
            if let Some(i) = slf.get().handle()?.get().index_now(py, s.to_str()?) {
                return Ok(i.into_pyobject(py)?.into_any());
            }
        }
        slf.call_method1("_get_index", (key, default))
    }

    /// `get_vecattr(key, attr)`: a word of the vocabulary whose attribute array is made is
    /// answered here (its entry, as gensim's `expandos[attr][index]`); everything else (the
    /// first read of `count`, rows added since, other keys) by the Python class's
    /// `_get_vecattr`.
    fn get_vecattr<'py>(
        slf: &Bound<'py, Self>,
        key: &Bound<'py, PyAny>,
        attr: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let this = slf.get();
        if let (Ok(s), Some(attrs)) = (key.cast_exact::<PyString>(), this.attrs.get()) {
            if let Some(values) = attrs.bind(py).get_item(attr)? {
                if let Some(i) = this.handle()?.get().index_now(py, s.to_str()?) {
                    if i < values.len()? {
                        return item(&values, i);
                    }
                }
            }
        }
        slf.call_method1("_get_vecattr", (key, attr))
    }
}
