//! [`KeyedBase`]: the compiled base class of the Python package's `KeyedVectors`. gensim's
//! everyday calls (`kv[word]`, `word in kv`, `len(kv)`, `kv.get_index(word)`) cost a Python
//! frame each when written in Python, which is most of their time; here they are type slots
//! and methods of the class itself. They handle the common case (a `str` key, float32 vectors)
//! and hand everything else to the Python class (`_getitem`, `_get_index`), which decides as
//! gensim does.

use std::sync::{Mutex, OnceLock, PoisonError};

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyString, PyTuple};

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
}

/// `numpy.frombuffer` and the little-endian float32 dtype, looked up once.
static FROMBUFFER: PyOnceLock<(Py<PyAny>, Py<PyAny>)> = PyOnceLock::new();

impl KeyedBase {
    fn handle(&self) -> PyResult<&Py<Vectors>> {
        self.v
            .get()
            .ok_or_else(|| PyRuntimeError::new_err("KeyedVectors.__init__ was not called"))
    }

    /// How `kv[word]` reads a row now, asking the Python class after a write.
    fn raw(slf: &Bound<'_, Self>) -> PyResult<Option<Py<PyAny>>> {
        let py = slf.py();
        let this = slf.get();
        let known = match &*this.raw.lock().unwrap_or_else(PoisonError::into_inner) {
            Raw::Matrix(m) => Some(Some(m.clone_ref(py))),
            Raw::Copy | Raw::Python => Some(None),
            Raw::Unknown => None,
        };
        if let Some(k) = known {
            return Ok(k);
        }
        let m = slf.call_method0("_raw_rows")?;
        let is_matrix = !m.is_instance_of::<pyo3::types::PyBool>();
        let m = is_matrix.then(|| m.unbind());
        *this.raw.lock().unwrap_or_else(PoisonError::into_inner) = match &m {
            Some(m) => Raw::Matrix(m.clone_ref(py)),
            None => Raw::Copy,
        };
        Ok(m)
    }
}

#[pymethods]
impl KeyedBase {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> KeyedBase {
        KeyedBase {
            v: OnceLock::new(),
            raw: Mutex::new(Raw::Unknown),
        }
    }

    /// Binds the vectors (once, from `KeyedVectors.__init__`); `fast` is false for vectors read
    /// with another `datatype` than float32, whose rows the Python class converts.
    fn _bind(&self, handle: Py<Vectors>, fast: bool) -> PyResult<()> {
        self.v
            .set(handle)
            .map_err(|_| PyRuntimeError::new_err("KeyedVectors are bound once"))?;
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
            Ok(s) => Ok(self.handle()?.get().contains_now(py, &s.to_cow()?)),
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
            let this = slf.get();
            let v = this.handle()?.get();
            let word = &s.to_cow()?;
            if !matches!(
                *this.raw.lock().unwrap_or_else(PoisonError::into_inner),
                Raw::Python
            ) {
                match Self::raw(slf)? {
                    Some(m) => {
                        if let Some(i) = v.index_now(py, word) {
                            return m.bind(py).get_item(i);
                        }
                    }
                    None => {
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
                }
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
            if let Some(i) = slf.get().handle()?.get().index_now(py, &s.to_cow()?) {
                return Ok(i.into_pyobject(py)?.into_any());
            }
        }
        slf.call_method1("_get_index", (key, default))
    }
}
